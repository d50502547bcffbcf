//! Between Lua values and RESP, by Redis's rules.
//!
//! A command's reply, as a script sees it. The script speaks RESP2 unless it calls
//! `redis.setresp(3)`; the RESP3 types reach it only then:
//!
//! | reply                      | Lua value                                          |
//! |----------------------------|----------------------------------------------------|
//! | integer                    | number                                             |
//! | bulk string                | string                                             |
//! | null bulk, null array      | `false`                                            |
//! | array                      | table indexed from 1                               |
//! | simple string `+OK`        | table `{ok = "OK"}`                                |
//! | error `-ERR x`             | table `{err = "ERR x"}`                            |
//! | RESP3 null                 | `nil`                                              |
//! | RESP3 boolean              | boolean                                            |
//! | RESP3 double               | table `{double = d}`                               |
//! | RESP3 big number           | table `{big_number = "digits"}`                    |
//! | RESP3 verbatim string      | table `{verbatim_string = {format =, string =}}`   |
//! | RESP3 map                  | table `{map = {key = value, ...}}`                 |
//! | RESP3 set                  | table `{set = {member = true, ...}}`               |
//!
//! What a script returns, as the client receives it: a number is truncated to an integer, a
//! string is a bulk string, `true` is `1` and `false` a null (a RESP3 boolean once the script
//! has called `redis.setresp(3)`), a table with an `err` or `ok` string field is an error or
//! a status, one with a `double`, `big_number`, `verbatim_string`, `map` or `set` field that
//! RESP3 type (in RESP2 terms for a RESP2 client), and any other table is an array of its
//! elements from index 1 up to the first `nil`. Anything else (`nil`, functions) is a null.

use bytes::{Bytes, BytesMut};
use mlua::{Lua, Table, Value};

use super::lauxlib::raw_number;
use crate::server::reply::{Reply, format_double};
use crate::{Decoder, Frame, Limits};

/// Tables nested deeper than this (or a table that contains itself) are not converted.
pub(super) const MAX_NESTING: usize = 1000;

/// A reply written by a command (RESP2) as the Lua value a script receives.
pub(super) fn reply_to_lua(lua: &Lua, reply: BytesMut) -> mlua::Result<Value> {
    let limits = Limits { max_bulk: usize::MAX, max_depth: MAX_NESTING, ..Limits::default() };
    let mut buf = reply;
    match Decoder::new(limits).decode(&mut buf) {
        Ok(Some(frame)) => frame_to_lua(lua, frame),
        // Our own commands write whole, valid replies; this is a bug, reported as an error.
        _ => error_table(lua, "ERR the command's reply could not be read"),
    }
}

fn frame_to_lua(lua: &Lua, frame: Frame) -> mlua::Result<Value> {
    Ok(match frame {
        Frame::Integer(n) => Value::Number(n as f64),
        Frame::Bulk(data) => Value::String(lua.create_string(&data)?),
        Frame::NullBulk | Frame::NullArray => Value::Boolean(false),
        Frame::Null => Value::Nil,
        Frame::Boolean(b) => Value::Boolean(b),
        Frame::Double(d) => tagged(lua, "double", Value::Number(d))?,
        Frame::Verbatim { format, text } => {
            let inner = lua.create_table()?;
            inner.raw_set("string", lua.create_string(&text)?)?;
            inner.raw_set("format", lua.create_string(format)?)?;
            tagged(lua, "verbatim_string", Value::Table(inner))?
        }
        Frame::Simple(text) => {
            let table = lua.create_table()?;
            table.raw_set("ok", lua.create_string(&text)?)?;
            Value::Table(table)
        }
        Frame::Error(text) | Frame::BlobError(text) => {
            error_table(lua, &String::from_utf8_lossy(&text))?
        }
        Frame::BigNumber(digits) => {
            tagged(lua, "big_number", Value::String(lua.create_string(&digits)?))?
        }
        Frame::Set(members) => {
            let set = lua.create_table_with_capacity(0, members.len())?;
            for member in members {
                set.raw_set(frame_to_lua(lua, member)?, true)?;
            }
            tagged(lua, "set", Value::Table(set))?
        }
        Frame::Array(items) | Frame::Push(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                table.raw_set(i + 1, frame_to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
        Frame::Map(pairs) => {
            let map = lua.create_table_with_capacity(0, pairs.len())?;
            for (key, value) in pairs {
                map.raw_set(frame_to_lua(lua, key)?, frame_to_lua(lua, value)?)?;
            }
            tagged(lua, "map", Value::Table(map))?
        }
        Frame::Attribute { value, .. } => frame_to_lua(lua, *value)?,
    })
}

/// `{name = value}`: how a script sees the RESP3 types Lua has no type for.
fn tagged(lua: &Lua, name: &str, value: Value) -> mlua::Result<Value> {
    let table = lua.create_table()?;
    table.raw_set(name, value)?;
    Ok(Value::Table(table))
}

/// `{err = text}`: how a script sees an error reply.
pub(super) fn error_table(lua: &Lua, text: &str) -> mlua::Result<Value> {
    let table = lua.create_table()?;
    table.raw_set("err", text)?;
    Ok(Value::Table(table))
}

/// Writes what a script returned as the reply to its client. `resp3_script`: the script
/// called `redis.setresp(3)`, which makes its booleans booleans.
pub(super) fn lua_to_reply(value: &Value, out: &mut Reply<'_>, resp3_script: bool) {
    let start = out.len();
    if !write_value(value, out, resp3_script, 0) {
        // What was written of the value goes: the client gets the error alone.
        out.truncate(start);
        out.error("ERR reached lua stack limit");
    }
}

/// Returns false, part of the value perhaps written, if it nests too deeply; the caller then
/// discards the whole reply.
fn write_value(value: &Value, out: &mut Reply<'_>, resp3_script: bool, depth: usize) -> bool {
    match value {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) if resp3_script => out.boolean(*b),
        Value::Boolean(true) => out.int(1),
        Value::Boolean(false) => out.null(),
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(c_cast(*n)),
        Value::Table(table) => return write_table(table, out, resp3_script, depth),
        _ => out.null(),
    }
    true
}

/// Redis's `(long long)` cast of a Lua number: truncation toward zero. Out of range (and for
/// NaN) C leaves it undefined, and x86-64's conversion gives `i64::MIN` for all of them, which
/// is what Redis replies there (`return 1/0` is -9223372036854775808); Rust's `as` would
/// saturate instead.
pub(super) fn c_cast(n: f64) -> i64 {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO_TO_63..TWO_TO_63).contains(&n) { n as i64 } else { i64::MIN }
}

/// A table by the first of its fields that Redis looks for, in Redis's order: `err`, `ok`,
/// `double`, `big_number`, `verbatim_string`, `map`, `set`; else an array.
///
/// Each level of nesting puts this function, `write_value` and one of the three writers of
/// elements on the stack, so each is kept small (a script thread's stack must hold 1,000
/// levels in a debug build): the types without elements are written by a function of their
/// own.
fn write_table(table: &Table, out: &mut Reply<'_>, resp3_script: bool, depth: usize) -> bool {
    if depth >= MAX_NESTING {
        return false;
    }
    if write_scalar_table(table, out) {
        return true;
    }
    // The count comes before the elements, so it is taken first, by a pass that only counts;
    // the elements then go straight to `out` (through a buffer per level, each level's bytes
    // were copied once per level above it).
    match (table.raw_get::<Value>("map"), table.raw_get::<Value>("set")) {
        (Ok(Value::Table(map)), _) => write_map(&map, out, resp3_script, depth),
        (_, Ok(Value::Table(set))) => write_set(&set, out, resp3_script, depth),
        _ => write_array(table, out, resp3_script, depth),
    }
}

/// The tables that stand for a reply without elements: an error, a status, and the RESP3
/// double, big number and verbatim string. Returns false, having written nothing, for any
/// other table.
fn write_scalar_table(table: &Table, out: &mut Reply<'_>) -> bool {
    let field = |name: &str| table.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(err) = field("err") {
        out.error(&String::from_utf8_lossy(&err.as_bytes()));
    } else if let Value::String(ok) = field("ok") {
        out.simple(&String::from_utf8_lossy(&ok.as_bytes()).replace(['\r', '\n'], " "));
    } else if let Some(d) = raw_number(&field("double")) {
        // mlua gives a whole number as an `Integer`, though Lua 5.1 has only doubles.
        out.double(d);
    } else if let Value::String(digits) = field("big_number") {
        let digits = digits.as_bytes();
        let digits: Vec<u8> =
            digits.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        out.big_number(&digits);
    } else if let Value::Table(verbatim) = field("verbatim_string")
        && let Ok(Value::String(format)) = verbatim.raw_get::<Value>("format")
        && let Ok(Value::String(text)) = verbatim.raw_get::<Value>("string")
    {
        // Redis copies three bytes of the format, whatever its length.
        let mut three = [0; 3];
        let format = format.as_bytes();
        let n = format.len().min(3);
        three[..n].copy_from_slice(&format[..n]);
        out.verbatim_as(three, &text.as_bytes());
    } else {
        return false;
    }
    true
}

/// `{map = {k = v, ...}}`: every pair, in `next`'s order (the same in both passes: the table
/// is not changed in between).
fn write_map(map: &Table, out: &mut Reply<'_>, resp3: bool, depth: usize) -> bool {
    let Some(pairs) = count_pairs(map) else { return false };
    out.map_len(pairs);
    for pair in map.pairs::<Value, Value>() {
        let Ok((key, value)) = pair else { return false };
        if !write_value(&key, out, resp3, depth + 1) || !write_value(&value, out, resp3, depth + 1)
        {
            return false;
        }
    }
    true
}

/// `{set = {member = true, ...}}`: every key, in `next`'s order.
fn write_set(set: &Table, out: &mut Reply<'_>, resp3: bool, depth: usize) -> bool {
    let Some(members) = count_pairs(set) else { return false };
    out.set_len(members);
    for pair in set.pairs::<Value, Value>() {
        let Ok((member, _)) = pair else { return false };
        if !write_value(&member, out, resp3, depth + 1) {
            return false;
        }
    }
    true
}

/// How many pairs `next` visits in `table`.
fn count_pairs(table: &Table) -> Option<usize> {
    let mut count = 0;
    for pair in table.pairs::<Value, Value>() {
        pair.ok()?;
        count += 1;
    }
    Some(count)
}

/// Any other table: the elements from index 1 up to the first nil.
fn write_array(table: &Table, out: &mut Reply<'_>, resp3: bool, depth: usize) -> bool {
    let mut len = 0;
    loop {
        match table.raw_get::<Value>(len + 1) {
            Ok(Value::Nil) => break,
            Ok(_) => len += 1,
            Err(_) => return false,
        }
    }
    out.array_len(len);
    for index in 1..=len {
        let Ok(item) = table.raw_get::<Value>(index) else { return false };
        if !write_value(&item, out, resp3, depth + 1) {
            return false;
        }
    }
    true
}

/// A Lua value as a command argument: strings as they are, numbers as `%.17g` prints them
/// (Lua's own `tostring` would drop digits), anything else refused.
pub(super) fn to_argument(value: &Value) -> Option<Bytes> {
    match value {
        Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Number(n) => Some(Bytes::from(format_double(*n))),
        Value::Integer(n) => Some(Bytes::from(n.to_string())),
        _ => None,
    }
}
