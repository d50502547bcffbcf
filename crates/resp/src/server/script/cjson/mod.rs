//! The `cjson` library Redis gives scripts: Lua CJSON 2.1.0, JSON to Lua values and back.
//!
//! | module   | what it is                                                               |
//! |----------|--------------------------------------------------------------------------|
//! | `encode` | Lua value to JSON: arrays or objects, number format, escapes, limits     |
//! | `decode` | JSON to Lua values: CJSON's tokens, its leniencies and its error texts   |
//! | `strtod` | C's `strtod`, which is what CJSON's number syntax really is              |
//!
//! The global module's settings last as long as the server's script state does, as in
//! Redis: a script that calls `cjson.encode_max_depth(5)` changes it for the scripts after
//! it, until `SCRIPT FLUSH`. They are kept with the server's scripts ([`Config`] in
//! `ScriptCache`) and lent to the engine that runs each call, since a server may run its
//! scripts on more than one thread. `cjson.new()` gives a module of its own, with the
//! defaults.
//! Each setting function sets what it is given (nothing if its argument is absent or `nil`)
//! and returns the setting:
//!
//! | function                                     | default                           |
//! |----------------------------------------------|-----------------------------------|
//! | `encode_sparse_array(convert, ratio, safe)`  | `false, 2, 10`                    |
//! | `encode_max_depth(n)`, `decode_max_depth(n)` | `1000`                            |
//! | `encode_number_precision(n)` (1 to 14)       | `14`                              |
//! | `encode_invalid_numbers(on/off/"null")`      | `false`                           |
//! | `decode_invalid_numbers(on/off)`             | `true`                            |
//! | `encode_keep_buffer(on/off)`                 | `true` (no effect: a C buffer's)  |
//!
//! JSON's `null` decodes to `cjson.null`, a light userdata holding NULL, because a `nil`
//! would delete the key it was stored under; it encodes back to `null`.

mod decode;
mod encode;
mod strtod;

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Function, LightUserData, Lua, MultiValue, Table, Value};

use super::LUA_STACK_SLOTS;
use super::lauxlib::{argument_error, check_integer, check_string, library_error};
use encode::EncodeError;

/// One module's settings, as CJSON's `json_config_t` (C `int`s, including the enums).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    encode_sparse_convert: i32,
    encode_sparse_ratio: i32,
    encode_sparse_safe: i32,
    encode_max_depth: i32,
    /// 0 refuses NaN and the infinities, 1 writes them (`nan`, `inf`), 2 writes `null`.
    encode_invalid_numbers: i32,
    encode_number_precision: i32,
    encode_keep_buffer: i32,
    decode_invalid_numbers: i32,
    decode_max_depth: i32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            encode_sparse_convert: 0,
            encode_sparse_ratio: 2,
            encode_sparse_safe: 10,
            encode_max_depth: 1000,
            encode_invalid_numbers: 0,
            encode_number_precision: 14,
            encode_keep_buffer: 1,
            decode_invalid_numbers: 1,
            decode_max_depth: 1000,
        }
    }
}

/// The settings one module's functions share.
pub(super) type Shared = Rc<RefCell<Config>>;

/// A new `cjson` table with the defaults, and a handle on its settings (the global one is
/// made read-only with the other libraries).
///
/// Call it while the globals are still Lua's own: it keeps their `next`, which the encoder
/// walks objects with.
pub(super) fn library(lua: &Lua) -> mlua::Result<(Table, Shared)> {
    let config: Shared = Rc::default();
    let next: Function = lua.globals().raw_get("next")?;
    Ok((module(lua, &config, next)?, config))
}

/// The `cjson` table whose functions use `config`.
fn module(lua: &Lua, config: &Shared, next: Function) -> mlua::Result<Table> {
    let cjson = lua.create_table()?;
    let add = |name: &'static str,
               f: fn(&Lua, &Shared, &MultiValue) -> mlua::Result<MultiValue>| {
        let config = config.clone();
        let function = lua.create_function(move |lua, args: MultiValue| f(lua, &config, &args))?;
        cjson.raw_set(name, function)
    };
    let config_for_encode = config.clone();
    let next_for_encode = next.clone();
    let encode = lua.create_function(move |lua, args: MultiValue| {
        encode(lua, &next_for_encode, &config_for_encode, &args)
    })?;
    cjson.raw_set("encode", encode)?;
    add("decode", decode)?;
    add("encode_sparse_array", |lua, config, args| {
        const NAME: &str = "encode_sparse_array";
        arg_count(lua, NAME, args, 3)?;
        let config = &mut *config.borrow_mut();
        Ok(MultiValue::from_vec(vec![
            enum_option(lua, NAME, args, 1, &mut config.encode_sparse_convert, BOOLEAN)?,
            integer_option(lua, NAME, args, 2, &mut config.encode_sparse_ratio, 0, i32::MAX)?,
            integer_option(lua, NAME, args, 3, &mut config.encode_sparse_safe, 0, i32::MAX)?,
        ]))
    })?;
    add("encode_max_depth", |lua, config, args| {
        let setting = &mut config.borrow_mut().encode_max_depth;
        integer_setting(lua, "encode_max_depth", args, setting, 1, i32::MAX)
    })?;
    add("decode_max_depth", |lua, config, args| {
        let setting = &mut config.borrow_mut().decode_max_depth;
        integer_setting(lua, "decode_max_depth", args, setting, 1, i32::MAX)
    })?;
    add("encode_number_precision", |lua, config, args| {
        let setting = &mut config.borrow_mut().encode_number_precision;
        integer_setting(lua, "encode_number_precision", args, setting, 1, 14)
    })?;
    add("encode_keep_buffer", |lua, config, args| {
        let setting = &mut config.borrow_mut().encode_keep_buffer;
        enum_setting(lua, "encode_keep_buffer", args, setting, BOOLEAN)
    })?;
    add("encode_invalid_numbers", |lua, config, args| {
        let setting = &mut config.borrow_mut().encode_invalid_numbers;
        enum_setting(lua, "encode_invalid_numbers", args, setting, &["off", "on", "null"])
    })?;
    add("decode_invalid_numbers", |lua, config, args| {
        let setting = &mut config.borrow_mut().decode_invalid_numbers;
        enum_setting(lua, "decode_invalid_numbers", args, setting, BOOLEAN)
    })?;
    let new = lua.create_function(move |lua, ()| module(lua, &Shared::default(), next.clone()))?;
    cjson.raw_set("new", new)?;
    cjson.raw_set("null", Value::LightUserData(LightUserData(std::ptr::null_mut())))?;
    cjson.raw_set("_NAME", "cjson")?;
    cjson.raw_set("_VERSION", "2.1.0")?;
    Ok(cjson)
}

fn encode(
    lua: &Lua,
    next: &Function,
    config: &Shared,
    args: &MultiValue,
) -> mlua::Result<MultiValue> {
    if args.len() != 1 {
        return Err(argument_error(lua, "encode", 1, "expected 1 argument"));
    }
    let config = *config.borrow();
    let value = args.front().cloned().unwrap_or(Value::Nil);
    let room = super::MEMORY_LIMIT.saturating_sub(lua.used_memory());
    match encode::encode(lua, next, &config, value, room) {
        Ok(json) => Ok(MultiValue::from_vec(vec![Value::String(lua.create_string(json)?)])),
        Err(EncodeError::Message(message)) => Err(library_error(lua, message)),
        Err(EncodeError::Lua(e)) => Err(e),
    }
}

fn decode(lua: &Lua, config: &Shared, args: &MultiValue) -> mlua::Result<MultiValue> {
    if args.len() != 1 {
        return Err(argument_error(lua, "decode", 1, "expected 1 argument"));
    }
    let config = *config.borrow();
    let text = check_string(lua, "decode", args, 1)?;
    let value =
        decode::decode(lua, &config, &text.as_bytes()).map_err(|e| library_error(lua, e))?;
    Ok(MultiValue::from_vec(vec![value]))
}

/// A setting function takes at most `most` arguments.
fn arg_count(lua: &Lua, name: &str, args: &MultiValue, most: usize) -> mlua::Result<()> {
    if args.len() > most {
        return Err(argument_error(lua, name, most + 1, "found too many arguments"));
    }
    Ok(())
}

/// Argument `index` (from 1), absent or `nil` being the same.
fn argument(args: &MultiValue, index: usize) -> Option<&Value> {
    args.get(index - 1).filter(|value| !value.is_nil())
}

/// A function of one integer setting.
fn integer_setting(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> mlua::Result<MultiValue> {
    arg_count(lua, name, args, 1)?;
    Ok(MultiValue::from_vec(vec![integer_option(lua, name, args, 1, setting, min, max)?]))
}

/// CJSON's `json_integer_option`: argument `index`, if given, must be a number whose
/// integer part (truncated to a C `int`) lies in `min..=max`; it is stored. The setting is
/// returned either way.
fn integer_option(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    index: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> mlua::Result<Value> {
    if argument(args, index).is_some() {
        // `lua_tointeger`'s 64 bits, of which the assignment to an `int` keeps the low 32.
        let value = check_integer(lua, name, args, index)? as i32;
        if !(min..=max).contains(&value) {
            // CJSON reports the range against argument 1, whichever argument it was.
            let what = format!("expected integer between {min} and {max}");
            return Err(argument_error(lua, name, 1, &what));
        }
        *setting = value;
    }
    Ok(Value::Number(f64::from(*setting)))
}

/// The options of a setting that is on or off.
const BOOLEAN: &[&str] = &["off", "on"];

/// A function of one enumerated setting.
fn enum_setting(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    setting: &mut i32,
    options: &[&str],
) -> mlua::Result<MultiValue> {
    arg_count(lua, name, args, 1)?;
    Ok(MultiValue::from_vec(vec![enum_option(lua, name, args, 1, setting, options)?]))
}

/// CJSON's `json_enum_option`: argument `index`, if given, is a boolean or the name of an
/// option; the setting is returned as a boolean when it is off or on, else as its name.
fn enum_option(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    index: usize,
    setting: &mut i32,
    options: &[&str],
) -> mlua::Result<Value> {
    if let Some(value) = argument(args, index) {
        if let Value::Boolean(on) = value {
            *setting = i32::from(*on);
        } else {
            let text = check_string(lua, name, args, index)?;
            let text = text.to_string_lossy();
            let Some(chosen) = options.iter().position(|option| *option == text) else {
                return Err(argument_error(lua, name, index, &format!("invalid option '{text}'")));
            };
            *setting = chosen as i32;
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Boolean(*setting == 1),
        other => Value::String(lua.create_string(options[other as usize])?),
    })
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    use super::library;
    use crate::server::script::lauxlib::eval_text as eval;

    fn state() -> Lua {
        let lua = Lua::new();
        let (cjson, _) = library(&lua).unwrap();
        lua.globals().set("cjson", cjson).unwrap();
        lua
    }

    /// Each result as redis-server 7.0.15 gives it (checked by `EVAL`).
    #[test]
    fn results_as_redis_gives_them() {
        let lua = state();
        for (code, want) in [
            ("return cjson.encode({1, 2, nil, 4})", "[1,2,null,4]"),
            ("return cjson.encode({})", "{}"),
            ("return cjson.encode({[1] = 1, [2] = 2, [4] = 4})", "[1,2,null,4]"),
            ("return cjson.encode({[0] = 1})", r#"{"0":1}"#),
            ("return cjson.encode({[1.5] = 1})", r#"{"1.5":1}"#),
            ("return cjson.encode({[3e9] = 1})", r#"{"3000000000":1}"#),
            ("return cjson.encode(2^-21)", "4.7683715820312e-07"),
            ("return cjson.encode(123456789012345678)", "1.2345678901235e+17"),
            ("return cjson.encode(-0.0)", "-0"),
            ("return cjson.encode(cjson.null)", "null"),
            (
                "return cjson.encode('a/b\"\\\\\\1\\127\\128')",
                "\"a\\/b\\\"\\\\\\u0001\\u007f\u{fffd}\"",
            ),
            ("return cjson.encode({a = {b = {}}})", r#"{"a":{"b":{}}}"#),
            (
                "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')",
                "0 -5000 -1 0.0003 1023.2 0",
            ),
            ("return cjson.decode('[1]\\0junk')[1]", "1"),
            ("return cjson.decode(123)", "123"),
            ("return cjson.decode('\"\\\\ud83d\\\\ude00\\\\u00e9\"')", "😀é"),
            (
                "local t = cjson.decode('[0x10, +5, 007, -.5, 1.]') return table.concat(t, ' ')",
                "16 5 7 -0.5 1",
            ),
            ("return tostring(cjson.decode('[-Infinity]')[1])", "-inf"),
            ("return tostring(cjson.decode('null') == cjson.null)", "true"),
            ("return cjson.encode_sparse_array(nil, 3)", "false"),
            ("return cjson.encode_invalid_numbers('null')", "null"),
            ("return cjson.encode({1/0, 0/0})", "[null,null]"),
            ("return cjson.encode_invalid_numbers(true)", "true"),
            ("return cjson.encode(0/0)", "nan"),
            ("cjson.encode_invalid_numbers(false) return cjson.encode_number_precision(3.9)", "3"),
            ("return cjson.encode(math.pi)", "3.14"),
            ("return cjson.new().encode(math.pi)", "3.1415926535898"),
            ("return cjson._NAME .. ' ' .. cjson._VERSION", "cjson 2.1.0"),
        ] {
            assert_eq!(eval(&lua, code), want, "{code}");
        }
    }

    /// Each error as redis-server 7.0.15 words it, after the calling line.
    #[test]
    fn errors_as_redis_words_them() {
        let lua = state();
        for (code, want) in [
            ("return cjson.decode('[')", "Expected value but found T_END at character 2"),
            ("return cjson.decode('[1,}')", "Expected value but found T_OBJ_END at character 4"),
            (
                "return cjson.decode('{\"a\" 1}')",
                "Expected colon but found T_NUMBER at character 6",
            ),
            (
                "return cjson.decode('{\"a\":1,}')",
                "Expected object key string but found T_OBJ_END at character 8",
            ),
            (
                "return cjson.decode('[1 2]')",
                "Expected comma or array end but found T_NUMBER at character 4",
            ),
            (
                "return cjson.decode('[1,2] x')",
                "Expected the end but found invalid token at character 7",
            ),
            (
                "return cjson.decode('\"\\\\x\"')",
                "Expected value but found invalid escape code at character 2",
            ),
            (
                "return cjson.decode('\"\\\\ud800\"')",
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "return cjson.decode('\"abc')",
                "Expected value but found unexpected end of string at character 5",
            ),
            ("return cjson.decode('tru')", "Expected value but found invalid token at character 1"),
            (
                "return cjson.decode('- 1')",
                "Expected value but found invalid number at character 1",
            ),
            ("return cjson.decode('\\0[')", "JSON parser does not support UTF-16 or UTF-32"),
            ("return cjson.decode({})", "bad argument #1 to 'decode' (string expected, got table)"),
            ("return cjson.decode()", "bad argument #1 to 'decode' (expected 1 argument)"),
            ("return cjson.encode(1, 2)", "bad argument #1 to 'encode' (expected 1 argument)"),
            (
                "return cjson.encode({[1] = 1, [2] = 2, [40] = 4})",
                "Cannot serialise table: excessively sparse array",
            ),
            (
                "return cjson.encode({[true] = 1})",
                "Cannot serialise boolean: table key must be a number or string",
            ),
            ("return cjson.encode({[1/0] = 1})", "Cannot serialise number: must not be NaN or Inf"),
            (
                "return cjson.encode(function() end)",
                "Cannot serialise function: type not supported",
            ),
            (
                "return cjson.encode_max_depth(0)",
                "bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)",
            ),
            (
                "return cjson.encode_max_depth(1, 2)",
                "bad argument #2 to 'encode_max_depth' (found too many arguments)",
            ),
            (
                "return cjson.encode_sparse_array(nil, nil, -1)",
                "bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)",
            ),
            (
                "return cjson.encode_number_precision({})",
                "bad argument #1 to 'encode_number_precision' (number expected, got table)",
            ),
            (
                "return cjson.encode_invalid_numbers('maybe')",
                "bad argument #1 to 'encode_invalid_numbers' (invalid option 'maybe')",
            ),
            (
                "return cjson.decode(string.rep('[', 1001))",
                "Found too many nested data structures (1001) at character 1001",
            ),
            (
                "local t = {} local c = t for i = 1, 1001 do c[1] = {} c = c[1] end return cjson.encode(t)",
                "Cannot serialise, excessive nesting (1001)",
            ),
        ] {
            let got = eval(&lua, code);
            assert_eq!(got, format!("error: runtime error: user_script:1: {want}"), "{code}");
        }
    }

    /// Past the configured depth, Lua's stack is the limit, at the depths where CJSON's
    /// requests for stack slots fail on Redis; and neither side holds a handle per level or
    /// per member, so wide and deep values do not run out of mlua's slots.
    #[test]
    fn deep_and_wide_values() {
        let lua = state();
        lua.load("cjson.decode_max_depth(100000) cjson.encode_max_depth(100000)").exec().unwrap();
        for (code, want) in [
            (
                "return cjson.decode(string.rep('[', 10000))",
                "error: runtime error: user_script:1: Found too many nested data structures (7999) at character 7999",
            ),
            (
                "return cjson.decode(string.rep('{\"a\":', 10000))",
                "error: runtime error: user_script:1: Found too many nested data structures (4000) at character 19996",
            ),
            (
                "local t = {} local c = t for i = 1, 10000 do c[1] = {} c = c[1] end return cjson.encode(t)",
                "error: runtime error: user_script:1: Cannot serialise, excessive nesting (7998)",
            ),
            (
                "return #cjson.encode(cjson.decode(string.rep('[', 7997) .. string.rep(']', 7997)))",
                "15994",
            ),
            (
                "local t = {} for i = 1, 20000 do t['k' .. i] = 'v' .. i end return #cjson.encode(t)",
                "337789",
            ),
            (
                "return #cjson.encode(cjson.decode('{' .. string.rep('\"abc\":{},', 20000) .. '\"x\":1}'))",
                "16",
            ),
        ] {
            assert_eq!(eval(&lua, code), want, "{code}");
        }
    }
}
