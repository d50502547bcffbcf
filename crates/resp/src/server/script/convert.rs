//! Between Lua values and RESP, by Redis's rules.
//!
//! A command's reply, as a script sees it (RESP2):
//!
//! | reply                      | Lua value                    |
//! |----------------------------|------------------------------|
//! | integer                    | number                       |
//! | bulk string                | string                       |
//! | null bulk, null array      | `false`                      |
//! | array                      | table indexed from 1         |
//! | simple string `+OK`        | table `{ok = "OK"}`          |
//! | error `-ERR x`             | table `{err = "ERR x"}`      |
//!
//! What a script returns, as the client receives it: a number is truncated to an integer, a
//! string is a bulk string, `true` is `1` and `false` a null, a table with an `err` or `ok`
//! string field is an error or a status, a `double` field a double, and any other table is an
//! array of its elements from index 1 up to the first `nil`. Anything else (`nil`, functions)
//! is a null.

use bytes::{Bytes, BytesMut};
use mlua::{Lua, Table, Value};

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
        Frame::Bulk(data) | Frame::Verbatim { text: data, .. } => {
            Value::String(lua.create_string(&data)?)
        }
        Frame::NullBulk | Frame::NullArray | Frame::Null => Value::Boolean(false),
        Frame::Boolean(b) => Value::Boolean(b),
        Frame::Double(d) => Value::Number(d),
        Frame::Simple(text) => {
            let table = lua.create_table()?;
            table.raw_set("ok", lua.create_string(&text)?)?;
            Value::Table(table)
        }
        Frame::Error(text) | Frame::BlobError(text) => {
            error_table(lua, &String::from_utf8_lossy(&text))?
        }
        Frame::BigNumber(digits) => Value::String(lua.create_string(&digits)?),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                table.raw_set(i + 1, frame_to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
        Frame::Map(pairs) => {
            // Only a RESP3 client sees maps; scripts speak RESP2, where a map is flat.
            let table = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
            for (i, (key, value)) in pairs.into_iter().enumerate() {
                table.raw_set(2 * i + 1, frame_to_lua(lua, key)?)?;
                table.raw_set(2 * i + 2, frame_to_lua(lua, value)?)?;
            }
            Value::Table(table)
        }
        Frame::Attribute { value, .. } => frame_to_lua(lua, *value)?,
    })
}

/// `{err = text}`: how a script sees an error reply.
pub(super) fn error_table(lua: &Lua, text: &str) -> mlua::Result<Value> {
    let table = lua.create_table()?;
    table.raw_set("err", text)?;
    Ok(Value::Table(table))
}

/// Writes what a script returned as the reply to its client.
pub(super) fn lua_to_reply(value: &Value, out: &mut Reply<'_>) {
    if !write_value(value, out, 0) {
        out.error("ERR reached lua stack limit");
    }
}

/// Returns false, having written nothing more, if the value nests too deeply; the reply
/// written so far must then be discarded by the caller.
fn write_value(value: &Value, out: &mut Reply<'_>, depth: usize) -> bool {
    match value {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(true) => out.int(1),
        Value::Boolean(false) => out.null(),
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(c_cast(*n)),
        Value::Table(table) => return write_table(table, out, depth),
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

fn write_table(table: &Table, out: &mut Reply<'_>, depth: usize) -> bool {
    if depth >= MAX_NESTING {
        return false;
    }
    if let Ok(Value::String(err)) = table.raw_get::<Value>("err") {
        out.error(&String::from_utf8_lossy(&err.as_bytes()));
        return true;
    }
    if let Ok(Value::String(ok)) = table.raw_get::<Value>("ok") {
        out.simple(&String::from_utf8_lossy(&ok.as_bytes()).replace(['\r', '\n'], " "));
        return true;
    }
    if let Ok(Value::Number(d)) = table.raw_get::<Value>("double") {
        out.double(d);
        return true;
    }
    // An array: the elements up to the first nil. Written into a scratch buffer first, since
    // the count comes before them and a too-deep element discards the whole reply.
    let mut items = Vec::new();
    let mut index = 1;
    while let Ok(item) = table.raw_get::<Value>(index) {
        if item.is_nil() {
            break;
        }
        items.push(item);
        index += 1;
    }
    let mut scratch = BytesMut::new();
    let mut inner = Reply::new(&mut scratch, out.is_resp3());
    for item in &items {
        if !write_value(item, &mut inner, depth + 1) {
            return false;
        }
    }
    out.array_len(items.len());
    out.encoded(&scratch);
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
