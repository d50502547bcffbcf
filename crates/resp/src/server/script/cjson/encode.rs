//! `cjson.encode`: a Lua value to JSON text, as Lua CJSON writes it.
//!
//! - A table is an array when every key is a positive integer, written from 1 to the
//!   largest key with `null` in the holes; any other table is an object, and so is the empty
//!   table (`{}`). An array whose largest key is more than `ratio` times its number of keys,
//!   and more than `safe`, is "excessively sparse": an error, or an object if
//!   `encode_sparse_array` says to convert it.
//! - An object's members come in the order Lua's `next` gives them, numeric keys written as
//!   strings (`{"1":true}`); a key of any other type is an error.
//! - Numbers are `%.14g` (the precision is `encode_number_precision`); NaN and the infinities
//!   are an error unless `encode_invalid_numbers` allows them.
//! - Strings are escaped byte by byte: `"`, `\`, `/`, the control characters and DEL, the
//!   last two as `\u00XX` except for `\b \t \n \f \r`. Other bytes, UTF-8 or not, are kept.
//!
//! As in the decoder, nesting is tracked on a vector, not on the thread's stack.

use mlua::{Function, Lua, Table, Value};

use super::{Config, LUA_STACK_SLOTS};
use crate::server::reply::format_g;
use crate::server::script::lauxlib::{lua_type_name, raw_number};

/// The escape for each byte that needs one (CJSON's `char2escape`).
fn escape(byte: u8) -> Option<&'static [u8]> {
    const CONTROL: [&[u8]; 32] = [
        b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006",
        b"\\u0007", b"\\b", b"\\t", b"\\n", b"\\u000b", b"\\f", b"\\r", b"\\u000e", b"\\u000f",
        b"\\u0010", b"\\u0011", b"\\u0012", b"\\u0013", b"\\u0014", b"\\u0015", b"\\u0016",
        b"\\u0017", b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c", b"\\u001d",
        b"\\u001e", b"\\u001f",
    ];
    match byte {
        0..=31 => Some(CONTROL[usize::from(byte)]),
        b'"' => Some(b"\\\""),
        b'/' => Some(b"\\/"),
        b'\\' => Some(b"\\\\"),
        0x7f => Some(b"\\u007f"),
        _ => None,
    }
}

/// A table being written, and how far the writing has got: an array by index up to `len`,
/// an object in `next`'s order.
///
/// The tables themselves, and an object's current key, are kept in a Lua table (`path`),
/// not as handles here: each handle holds a slot of the Lua stack mlua keeps them on, and
/// an object of ten thousand strings, or ten thousand levels of nesting, would run it out.
enum Level {
    Array { len: i64, next: i64 },
    Object { written: usize },
}

impl Level {
    /// The Lua stack slots CJSON holds for this level while it writes a value inside it:
    /// the element for an array, the key and the value for an object.
    fn slots(&self) -> usize {
        match self {
            Level::Array { .. } => 1,
            Level::Object { .. } => 2,
        }
    }
}

/// What went wrong: CJSON's message, or Lua's own error (out of memory).
pub(super) enum EncodeError {
    Message(String),
    Lua(mlua::Error),
}

impl From<mlua::Error> for EncodeError {
    fn from(e: mlua::Error) -> EncodeError {
        EncodeError::Lua(e)
    }
}

/// "Cannot serialise TYPE: REASON".
fn cannot(value: &Value, reason: &str) -> EncodeError {
    EncodeError::Message(format!("Cannot serialise {}: {reason}", lua_type_name(value)))
}

/// The error Lua gives when an allocation is refused.
fn out_of_memory() -> EncodeError {
    EncodeError::Lua(mlua::Error::MemoryError("not enough memory".into()))
}

/// The writer: the settings, the text so far, and the levels open.
struct Writer<'a> {
    config: &'a Config,
    out: Vec<u8>,
    levels: Vec<Level>,
    /// Level `d`'s table at `2d - 1`, an object's current key at `2d`.
    path: Table,
    /// The Lua stack slots CJSON would be using: the argument, and each level's.
    slots: usize,
    /// The most the text may grow to (what the script's Lua state could still hold).
    limit: usize,
}

/// Encodes `value` with `config`'s settings; `next` is Lua's own (raw) `next`.
pub(super) fn encode(
    lua: &Lua,
    next: &Function,
    config: &Config,
    value: Value,
    limit: usize,
) -> Result<Vec<u8>, EncodeError> {
    let path = lua.create_table()?;
    let mut writer = Writer { config, out: Vec::new(), levels: Vec::new(), path, slots: 1, limit };
    writer.value(value)?;
    // Each turn writes the next member of the innermost open table, or closes that table.
    loop {
        let at = 2 * writer.levels.len() as i64;
        let Some(level) = writer.levels.last_mut() else { break };
        let table: Table = writer.path.raw_get(at - 1)?;
        let item = match level {
            Level::Array { len, next } => {
                let index = *next;
                *next += 1;
                (index <= *len)
                    .then(|| table.raw_get::<Value>(index).map(|v| (None, v, index == 1)))
            }
            Level::Object { written } => {
                let key: Value = writer.path.raw_get(at)?;
                let (key, value): (Value, Value) = next.call((table, key))?;
                writer.path.raw_set(at, &key)?;
                *written += 1;
                (!key.is_nil()).then_some(Ok((Some(key), value, *written == 1)))
            }
        };
        let Some((key, value, first)) = item.transpose()? else {
            let closing = if matches!(level, Level::Array { .. }) { b']' } else { b'}' };
            if let Some(done) = writer.levels.pop() {
                writer.slots -= done.slots();
            }
            writer.path.raw_set(at - 1, Value::Nil)?;
            writer.out.push(closing);
            continue;
        };
        if !first {
            writer.out.push(b',');
        }
        if let Some(key) = key {
            writer.key(&key)?;
        }
        writer.value(value)?;
        writer.check_size()?;
    }
    Ok(writer.out)
}

impl Writer<'_> {
    /// Writes a scalar, or opens a table (its elements are written by [`encode`]'s loop).
    fn value(&mut self, value: Value) -> Result<(), EncodeError> {
        match &value {
            Value::String(text) => self.string(&text.as_bytes())?,
            Value::Number(number) => self.number(*number, &value)?,
            Value::Integer(number) => self.number(*number as f64, &value)?,
            Value::Boolean(true) => self.out.extend_from_slice(b"true"),
            Value::Boolean(false) => self.out.extend_from_slice(b"false"),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(data) if data.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Table(table) => self.open(table)?,
            _ => return Err(cannot(&value, "type not supported")),
        }
        Ok(())
    }

    /// An object's key: a string, or a number written as a string, then the colon.
    fn key(&mut self, key: &Value) -> Result<(), EncodeError> {
        match key {
            Value::String(text) => self.string(&text.as_bytes())?,
            Value::Number(_) | Value::Integer(_) => {
                self.out.push(b'"');
                self.number(raw_number(key).unwrap_or_default(), key)?;
                self.out.push(b'"');
            }
            _ => return Err(cannot(key, "table key must be a number or string")),
        }
        self.out.push(b':');
        Ok(())
    }

    fn number(&mut self, number: f64, value: &Value) -> Result<(), EncodeError> {
        let invalid = number.is_nan() || number.is_infinite();
        match self.config.encode_invalid_numbers {
            0 if invalid => return Err(cannot(value, "must not be NaN or Inf")),
            // "on": NaN as `nan` whatever its sign; the infinities as `%g` prints them.
            1 if number.is_nan() => {
                self.out.extend_from_slice(b"nan");
                return Ok(());
            }
            2 if invalid => {
                self.out.extend_from_slice(b"null");
                return Ok(());
            }
            _ => {}
        }
        let precision = self.config.encode_number_precision as usize;
        self.out.extend_from_slice(format_g(number, precision).as_bytes());
        Ok(())
    }

    fn string(&mut self, text: &[u8]) -> Result<(), EncodeError> {
        let escaped: usize = text.iter().map(|&b| escape(b).map_or(1, <[u8]>::len)).sum();
        if self.out.len() + escaped + 2 > self.limit {
            return Err(out_of_memory());
        }
        self.out.reserve(escaped + 2);
        self.out.push(b'"');
        for &byte in text {
            match escape(byte) {
                Some(escaped) => self.out.extend_from_slice(escaped),
                None => self.out.push(byte),
            }
        }
        self.out.push(b'"');
        Ok(())
    }

    /// Checks the nesting, decides array or object, and opens the table.
    fn open(&mut self, table: &Table) -> Result<(), EncodeError> {
        let depth = self.levels.len() + 1;
        if depth > self.config.encode_max_depth as usize || self.slots + 3 > LUA_STACK_SLOTS {
            return Err(EncodeError::Message(format!(
                "Cannot serialise, excessive nesting ({depth})"
            )));
        }
        let level = match self.array_length(table)? {
            Some(len) if len > 0 => {
                self.out.push(b'[');
                Level::Array { len: i64::from(len), next: 1 }
            }
            _ => {
                self.out.push(b'{');
                Level::Object { written: 0 }
            }
        };
        self.path.raw_set(2 * self.levels.len() as i64 + 1, table)?;
        self.slots += level.slots();
        self.levels.push(level);
        Ok(())
    }

    /// CJSON's `lua_array_length`: the largest key if every key is an integer from 1 up and
    /// the array is not too sparse, `None` for an object.
    ///
    /// The arithmetic is C's on 32-bit `int`s, overflow included: a key past 2^31 - 1
    /// converts to -2^31 (what x86's conversion gives), which makes the table an object.
    fn array_length(&self, table: &Table) -> Result<Option<i32>, EncodeError> {
        let mut max: i32 = 0;
        let mut items: i32 = 0;
        let mut array = true;
        table.for_each::<Value, Value>(|key, _| {
            let number = raw_number(&key).unwrap_or(f64::NAN);
            if number == 0.0 || number.floor() != number || number < 1.0 {
                array = false;
            } else if array {
                if number > f64::from(max) {
                    max = if number <= f64::from(i32::MAX) { number as i32 } else { i32::MIN };
                }
                items = items.wrapping_add(1);
            }
            Ok(())
        })?;
        if !array {
            return Ok(None);
        }
        let config = self.config;
        if config.encode_sparse_ratio > 0
            && max > items.wrapping_mul(config.encode_sparse_ratio)
            && max > config.encode_sparse_safe
        {
            if config.encode_sparse_convert == 0 {
                return Err(EncodeError::Message(
                    "Cannot serialise table: excessively sparse array".into(),
                ));
            }
            return Ok(None);
        }
        Ok(Some(max))
    }

    /// Fails once the text is longer than the script's state could hold as a string.
    fn check_size(&self) -> Result<(), EncodeError> {
        if self.out.len() > self.limit {
            return Err(out_of_memory());
        }
        Ok(())
    }
}
