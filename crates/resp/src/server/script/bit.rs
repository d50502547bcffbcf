//! The `bit` library Redis gives scripts: LuaBitOp 1.0's bitwise operations on 32-bit
//! integers, in a Lua whose only numbers are doubles.
//!
//! Every argument is first made a 32-bit pattern the way LuaBitOp does it: add 2^52 + 2^51
//! to the double and take the low 32 bits of the sum's representation. At that magnitude
//! a double's last mantissa bit is worth 1, so the addition rounds to the nearest integer
//! (ties to even) and the low 32 bits are that integer modulo 2^32, negative numbers
//! included, with no branch and no undefined overflow:
//!
//! ```text
//!   bit.tobit(0xffffffff) == -1      bit.tobit(2^32 + 5) == 5      bit.tobit(1.5) == 2
//! ```
//!
//! Results are read back as signed 32-bit integers, so `bit.bnot(0) == -1`. Strings that
//! Lua would take as numbers are taken; anything else is "number expected", after the
//! calling line as a C function's `luaL_error` gives it.

use mlua::{Lua, MultiValue, Table};

use super::lauxlib::check_number;

/// 2^52 + 2^51: added to a double, it leaves the integer nearest to it in the low bits.
const ROUNDING_BIAS: f64 = 6_755_399_441_055_744.0;

/// A 32-bit pattern as LuaBitOp reads it from a double.
fn bits_of(number: f64) -> u32 {
    (number + ROUNDING_BIAS).to_bits() as u32
}

/// The result as Lua sees it: the pattern as a signed integer.
fn number_of(bits: u32) -> f64 {
    f64::from(bits as i32)
}

/// Argument `index` (from 1) of a call to `bit.<name>`, as a 32-bit pattern.
fn arg(lua: &Lua, name: &str, args: &MultiValue, index: usize) -> mlua::Result<u32> {
    check_number(lua, name, args, index).map(bits_of)
}

/// The `bit` table (to be made read-only with the other libraries).
pub(super) fn library(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    let one = |name: &'static str, op: fn(u32) -> u32| {
        lua.create_function(move |lua, args: MultiValue| {
            Ok(number_of(op(arg(lua, name, &args, 1)?)))
        })
    };
    bit.raw_set("tobit", one("tobit", |b| b)?)?;
    bit.raw_set("bnot", one("bnot", |b| !b)?)?;
    bit.raw_set("bswap", one("bswap", u32::swap_bytes)?)?;

    // The first argument is required; the rest, any number of them, are folded in from the
    // last one down, as LuaBitOp does: of two bad arguments, the later one is reported.
    let fold = |name: &'static str, op: fn(u32, u32) -> u32| {
        lua.create_function(move |lua, args: MultiValue| {
            let mut bits = arg(lua, name, &args, 1)?;
            for index in (2..=args.len()).rev() {
                bits = op(bits, arg(lua, name, &args, index)?);
            }
            Ok(number_of(bits))
        })
    };
    bit.raw_set("band", fold("band", |a, b| a & b)?)?;
    bit.raw_set("bor", fold("bor", |a, b| a | b)?)?;
    bit.raw_set("bxor", fold("bxor", |a, b| a ^ b)?)?;

    // Shift counts are taken modulo 32, as LuaBitOp masks them.
    let shift = |name: &'static str, op: fn(u32, u32) -> u32| {
        lua.create_function(move |lua, args: MultiValue| {
            let bits = arg(lua, name, &args, 1)?;
            let count = arg(lua, name, &args, 2)? & 31;
            Ok(number_of(op(bits, count)))
        })
    };
    bit.raw_set("lshift", shift("lshift", |b, n| b << n)?)?;
    bit.raw_set("rshift", shift("rshift", |b, n| b >> n)?)?;
    bit.raw_set("arshift", shift("arshift", |b, n| ((b as i32) >> n) as u32)?)?;
    bit.raw_set("rol", shift("rol", u32::rotate_left)?)?;
    bit.raw_set("ror", shift("ror", u32::rotate_right)?)?;

    // `tohex(x [, n])`: the low |n| hex digits (8 if n is absent, at most 8), upper case if n
    // is negative.
    bit.raw_set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| {
            let bits = arg(lua, "tohex", &args, 1)?;
            let wanted = if args.len() < 2 { 8 } else { arg(lua, "tohex", &args, 2)? as i32 };
            let digits = wanted.unsigned_abs().min(8) as usize;
            let hex = if wanted < 0 { format!("{bits:08X}") } else { format!("{bits:08x}") };
            Ok(hex[8 - digits..].to_string())
        })?,
    )?;
    Ok(bit)
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    use super::library;
    use crate::server::script::lauxlib::eval_text;

    /// Runs `code` in a fresh state with `bit`: its value as text, or its error.
    fn eval(code: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("bit", library(&lua).unwrap()).unwrap();
        eval_text(&lua, code)
    }

    /// Each value as redis-server 7.0.15's `bit` library gives it (checked by `EVAL`).
    #[test]
    fn luabitop_reference_values() {
        for (code, want) in [
            ("return bit.tobit(0xffffffff)", "-1"),
            ("return bit.tobit(0xffffffff + 1)", "0"),
            ("return bit.tobit(2^40 + 1234)", "1234"),
            ("return bit.tobit(1.5)", "2"),
            ("return bit.tobit(2.5)", "2"),
            ("return bit.tobit(-1.5)", "-2"),
            ("return bit.tobit('12')", "12"),
            ("return bit.bnot(0)", "-1"),
            ("return bit.band(0x12345678, 0xff)", "120"),
            ("return bit.bor(1, 2, 4, 8, 16, 32, 64, 128)", "255"),
            ("return bit.bxor(1, 2)", "3"),
            ("return bit.band(1)", "1"),
            ("return bit.lshift(1, 0)", "1"),
            ("return bit.lshift(1, 8)", "256"),
            ("return bit.lshift(1, 40)", "256"),
            ("return bit.lshift(1, 31)", "-2147483648"),
            ("return bit.rshift(256, 8)", "1"),
            ("return bit.rshift(-256, 8)", "16777215"),
            ("return bit.arshift(-256, 8)", "-1"),
            ("return bit.rol(0x12345678, 12)", "1164411171"),
            ("return bit.ror(0x12345678, 12)", "1736516421"),
            ("return bit.bswap(0x12345678)", "2018915346"),
            ("return bit.tohex(1)", "00000001"),
            ("return bit.tohex(-1)", "ffffffff"),
            ("return bit.tohex(0xffffffff)", "ffffffff"),
            ("return bit.tohex(-1, -8)", "FFFFFFFF"),
            ("return bit.tohex(0x21, 4)", "0021"),
            ("return bit.tohex(0x87654321, 4)", "4321"),
            ("return bit.tohex(0x87654321, 12)", "87654321"),
        ] {
            assert_eq!(eval(code), want, "{code}");
        }
    }

    #[test]
    fn non_numbers_are_refused_by_position_and_type() {
        let lua = Lua::new();
        lua.globals().set("bit", library(&lua).unwrap()).unwrap();
        let chunk =
            lua.load("local x = 1\nreturn bit.bnot(x, 2), bit.bnot({})").set_name("@user_script");
        let error = chunk.exec().unwrap_err().to_string();
        assert!(
            error.contains("user_script:2: bad argument #1 to 'bnot' (number expected, got table)"),
            "{error}"
        );
        for (code, want) in [
            ("return bit.band()", "bad argument #1 to 'band' (number expected, got no value)"),
            ("return bit.band(1, 'x')", "bad argument #2 to 'band' (number expected, got string)"),
            ("return bit.bor(0, 'x', {})", "bad argument #3 to 'bor' (number expected, got table)"),
            ("return bit.lshift(1)", "bad argument #2 to 'lshift' (number expected, got no value)"),
            ("return bit.tobit({})", "bad argument #1 to 'tobit' (number expected, got table)"),
            ("return bit.tohex(1, nil)", "bad argument #2 to 'tohex' (number expected, got nil)"),
        ] {
            let got = eval(code);
            assert!(got.starts_with("error: ") && got.contains(want), "{code}: {got}");
        }
    }
}
