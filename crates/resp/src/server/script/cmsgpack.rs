//! The `cmsgpack` library Redis gives scripts: lua-cmsgpack 0.4.0, Lua values to MessagePack
//! and back.
//!
//! `pack(v1, v2, ...)` writes each value and concatenates them; `unpack(s)` reads every value
//! in `s` and returns them all; `unpack_one(s [, offset])` and `unpack_limit(s, n [, offset])`
//! read one or `n` values from a byte offset and return, first, the offset after them (`-1`
//! once the input is used up).
//!
//! Writing follows the C library, which knows only Lua 5.1's types:
//!
//! | Lua value                                       | MessagePack                      |
//! |-------------------------------------------------|----------------------------------|
//! | a number equal to a 64-bit integer              | the smallest int or uint for it  |
//! | any other number                                | float 32 if exact, else float 64 |
//! | a string                                        | fixstr, str 8, str 16, str 32    |
//! | a table whose keys are exactly `1..n`           | array (the empty table too)      |
//! | any other table                                 | map, in `next`'s order           |
//! | nil, a table 16 deep, a function, a userdata... | nil                              |
//!
//! The depth cut is what lets a table that contains itself be packed. Reading takes the
//! types the writer produces (and uint 64, read as a signed integer's value, as in C); `bin`,
//! `ext` and the byte `0xc1` are "Bad data format in input.", a value cut short is "Missing
//! bytes in input.". Reading is not depth-limited except by Lua's stack, and the C code's
//! requests for slots are counted here so that it fails where Redis does; its open tables
//! are kept in a Lua table, not as handles, like `cjson`'s.

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::LUA_STACK_SLOTS;
use super::convert::c_cast;
use super::lauxlib::{
    argument_error, check_integer, check_string, library_error, opt_integer, raw_number,
};

/// Tables nested deeper than this are written as nil.
const MAX_NESTING: usize = 16;

/// The `cmsgpack` table (to be made read-only with the other libraries). `next` is Lua's
/// own, which maps are walked with.
pub(super) fn library(lua: &Lua) -> mlua::Result<Table> {
    let next: Function = lua.globals().raw_get("next")?;
    let cmsgpack = lua.create_table()?;
    cmsgpack.raw_set(
        "pack",
        lua.create_function(move |lua, args: MultiValue| pack(lua, &next, args))?,
    )?;
    cmsgpack.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let text = check_string(lua, "unpack", &args, 1)?;
            unpack(lua, &text.as_bytes(), 0, 0)
        })?,
    )?;
    cmsgpack.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let offset = opt_integer(lua, "unpack_one", &args, 2)?;
            let text = check_string(lua, "unpack_one", &args, 1)?;
            unpack(lua, &text.as_bytes(), 1, offset)
        })?,
    )?;
    cmsgpack.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let limit = check_integer(lua, "unpack_limit", &args, 2)?;
            let offset = opt_integer(lua, "unpack_limit", &args, 3)?;
            let text = check_string(lua, "unpack_limit", &args, 1)?;
            unpack(lua, &text.as_bytes(), limit, offset)
        })?,
    )?;
    cmsgpack.raw_set("_NAME", "cmsgpack")?;
    cmsgpack.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    cmsgpack.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    cmsgpack.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(cmsgpack)
}

// ---------------------------------------------------------------------------------------
// Writing

fn pack(lua: &Lua, next: &Function, args: MultiValue) -> mlua::Result<mlua::LuaString> {
    if args.is_empty() {
        return Err(argument_error(lua, "pack", 0, "MessagePack pack needs input."));
    }
    let limit = super::MEMORY_LIMIT.saturating_sub(lua.used_memory());
    let mut writer = Writer { out: Vec::new(), next, limit };
    for value in args {
        writer.value(&value, 0)?;
    }
    lua.create_string(writer.out)
}

/// The packed bytes so far, and what writing them needs.
struct Writer<'a> {
    out: Vec<u8>,
    next: &'a Function,
    /// The most the bytes may grow to (what the script's Lua state could still hold).
    limit: usize,
}

impl Writer<'_> {
    fn value(&mut self, value: &Value, level: usize) -> mlua::Result<()> {
        match value {
            Value::String(text) => self.string(&text.as_bytes()),
            Value::Boolean(b) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Number(n) => self.number(*n),
            Value::Integer(n) => self.number(*n as f64),
            Value::Table(table) if level < MAX_NESTING => self.table(table, level)?,
            _ => self.out.push(0xc0),
        }
        if self.out.len() > self.limit {
            return Err(mlua::Error::MemoryError("not enough memory".into()));
        }
        Ok(())
    }

    /// An integer if the number is one that fits 64 bits (C's `(int64_t)n == n`, where an
    /// out-of-range conversion gives `i64::MIN`), else a float.
    fn number(&mut self, n: f64) {
        let integer = c_cast(n);
        if integer as f64 == n {
            self.integer(integer);
        } else if f64::from(n as f32) == n {
            self.out.push(0xca);
            self.out.extend_from_slice(&(n as f32).to_be_bytes());
        } else {
            self.out.push(0xcb);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn integer(&mut self, n: i64) {
        let out = &mut self.out;
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            0x1_0000_0000.. => {
                out.push(0xcf);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
            -32..=-1 => out.push(n as i8 as u8),
            -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
            -32768..=-129 => {
                out.push(0xd1);
                out.extend_from_slice(&(n as i16).to_be_bytes());
            }
            -2_147_483_648..=-32769 => {
                out.push(0xd2);
                out.extend_from_slice(&(n as i32).to_be_bytes());
            }
            _ => {
                out.push(0xd3);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
    }

    fn string(&mut self, text: &[u8]) {
        let len = text.len();
        match len {
            0..=31 => self.out.push(0xa0 | len as u8),
            32..=0xff => self.out.extend_from_slice(&[0xd9, len as u8]),
            0x100..=0xffff => {
                self.out.push(0xda);
                self.out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                // As in C, a length past 32 bits is written modulo 2^32 (a Lua string that
                // long is past the state's memory limit here anyway).
                self.out.push(0xdb);
                self.out.extend_from_slice(&(len as u32).to_be_bytes());
            }
        }
        self.out.extend_from_slice(text);
    }

    /// An array header (fix, 16 or 32 bits) when `fix` is 0x90, a map header when it is 0x80.
    fn header(&mut self, fix: u8, len: usize) {
        match len {
            0..=15 => self.out.push(fix | len as u8),
            16..=0xffff => {
                self.out.push(if fix == 0x90 { 0xdc } else { 0xde });
                self.out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                self.out.push(if fix == 0x90 { 0xdd } else { 0xdf });
                self.out.extend_from_slice(&(len as u32).to_be_bytes());
            }
        }
    }

    fn table(&mut self, table: &Table, level: usize) -> mlua::Result<()> {
        // An array when the keys are numbers that are C `int`s above zero and the largest
        // equals their count: then they are exactly 1..n.
        let (mut count, mut max, mut array) = (0usize, 0i64, true);
        table.for_each::<Value, Value>(|key, _| {
            count += 1;
            let n = raw_number(&key).unwrap_or(f64::NAN);
            if n > 0.0 && n <= f64::from(i32::MAX) && n.trunc() == n {
                max = max.max(n as i64);
            } else {
                array = false;
            }
            Ok(())
        })?;
        if array && max == count as i64 {
            let len = table.raw_len();
            self.header(0x90, len);
            for index in 1..=len {
                let item: Value = table.raw_get(index)?;
                self.value(&item, level + 1)?;
            }
            return Ok(());
        }
        self.header(0x80, count);
        let mut key = Value::Nil;
        loop {
            let (k, v): (Value, Value) = self.next.call((table, key))?;
            if k.is_nil() {
                return Ok(());
            }
            self.value(&k, level + 1)?;
            self.value(&v, level + 1)?;
            key = k;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// Why reading stopped.
enum Failure {
    /// The input ends inside a value.
    Eof,
    /// A byte that starts no type this library reads.
    BadFormat,
    /// The C code would have been refused Lua stack slots (the text says where).
    Overflow(&'static str),
    Lua(mlua::Error),
}

impl From<mlua::Error> for Failure {
    fn from(e: mlua::Error) -> Failure {
        Failure::Lua(e)
    }
}

/// What one header read: a whole value, or the start of an array or a map of `len` items.
enum Item {
    Value(Value),
    Array(u64),
    Map(u64),
}

/// An array or map being filled (its table is in the reader's `path`).
enum Level {
    Array {
        left: u64,
        index: f64,
    },
    /// `key`: whether the key of the pair in progress has been read (it waits in `path`).
    Map {
        left: u64,
        key: bool,
    },
}

impl Level {
    /// The Lua stack slots the C code holds for this level while it reads the next item:
    /// the table, and the index or the key.
    fn slots(&self) -> usize {
        match self {
            Level::Array { .. } | Level::Map { key: true, .. } => 2,
            Level::Map { key: false, .. } => 1,
        }
    }
}

/// The input, where reading has got to, and the stack slots the C code would be using.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    slots: usize,
    /// Level `d`'s table at `2d - 1`, a map's key waiting for its value at `2d`.
    path: Table,
}

impl Reader<'_> {
    /// The `len` bytes from `at`, or EOF.
    fn take(&mut self, len: usize) -> Result<&[u8], Failure> {
        let end =
            self.at.checked_add(len).filter(|&end| end <= self.data.len()).ok_or(Failure::Eof)?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn check_slots(&self, extra: usize, what: &'static str) -> Result<(), Failure> {
        if self.slots + extra > LUA_STACK_SLOTS {
            return Err(Failure::Overflow(what));
        }
        Ok(())
    }

    /// One header, and the scalar it holds if it is one.
    fn item(&mut self, lua: &Lua) -> Result<Item, Failure> {
        let &first = self.data.get(self.at).ok_or(Failure::Eof)?;
        self.check_slots(
            1,
            "too many return values at once; use unpack_one or unpack_limit instead.",
        )?;
        let size = |bytes: &[u8]| bytes.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
        let item = match first {
            0x00..=0x7f => {
                self.at += 1;
                Item::Value(Value::Number(f64::from(first)))
            }
            0xe0..=0xff => {
                self.at += 1;
                Item::Value(Value::Number(f64::from(first as i8)))
            }
            0xc0 | 0xc2 | 0xc3 => {
                self.at += 1;
                Item::Value(match first {
                    0xc0 => Value::Nil,
                    other => Value::Boolean(other == 0xc3),
                })
            }
            0xca..=0xd3 => {
                let width = match first {
                    0xcc | 0xd0 => 1,
                    0xcd | 0xd1 => 2,
                    0xce | 0xd2 | 0xca => 4,
                    _ => 8,
                };
                let bytes = self.take(1 + width)?;
                let raw = size(&bytes[1..]);
                let number = match first {
                    0xcc..=0xce => raw as f64,
                    // uint 64 is pushed as a signed 64-bit integer in C.
                    0xcf | 0xd3 => raw as i64 as f64,
                    0xd0 => f64::from(raw as u8 as i8),
                    0xd1 => f64::from(raw as u16 as i16),
                    0xd2 => f64::from(raw as u32 as i32),
                    0xca => f64::from(f32::from_bits(raw as u32)),
                    _ => f64::from_bits(raw),
                };
                Item::Value(Value::Number(number))
            }
            0xa0..=0xbf | 0xd9 | 0xda | 0xdb => {
                let header = match first {
                    0xd9 => 1,
                    0xda => 2,
                    0xdb => 4,
                    _ => 0,
                };
                let len = if header == 0 {
                    self.at += 1;
                    u64::from(first & 0x1f)
                } else {
                    size(&self.take(1 + header)?[1..])
                };
                let len = usize::try_from(len).map_err(|_| Failure::Eof)?;
                let text = self.take(len)?;
                Item::Value(Value::String(lua.create_string(text)?))
            }
            0x80..=0x9f => {
                self.at += 1;
                let len = u64::from(first & 0x0f);
                if first & 0xf0 == 0x90 { Item::Array(len) } else { Item::Map(len) }
            }
            0xdc..=0xdf => {
                let width = if first & 1 == 0 { 2 } else { 4 };
                let len = size(&self.take(1 + width)?[1..]);
                if first <= 0xdd { Item::Array(len) } else { Item::Map(len) }
            }
            _ => return Err(Failure::BadFormat),
        };
        Ok(item)
    }

    /// One whole value, its arrays and maps filled.
    fn value(&mut self, lua: &Lua) -> Result<Value, Failure> {
        let mut levels: Vec<Level> = Vec::new();
        loop {
            let mut value = match self.item(lua)? {
                Item::Value(value) => value,
                Item::Array(len) => {
                    // The C code asks for a slot once it has made an array's table, even
                    // an empty one's.
                    let table = lua.create_table()?;
                    self.check_slots(2, "in function mp_decode_to_lua_array")?;
                    if len == 0 {
                        Value::Table(table)
                    } else {
                        let level = Level::Array { left: len, index: 1.0 };
                        self.open(levels.len(), table, level, &mut levels)?;
                        continue;
                    }
                }
                Item::Map(0) => Value::Table(lua.create_table()?),
                Item::Map(len) => {
                    let table = lua.create_table()?;
                    self.open(
                        levels.len(),
                        table,
                        Level::Map { left: len, key: false },
                        &mut levels,
                    )?;
                    continue;
                }
            };
            // Put the value where it belongs, closing every level it completes.
            loop {
                let depth = levels.len() as i64;
                let Some(level) = levels.last_mut() else { return Ok(value) };
                let table: Table = self.path.raw_get(2 * depth - 1)?;
                self.slots -= level.slots();
                let left = match level {
                    Level::Array { left, index } => {
                        table.raw_set(*index, value)?;
                        *index += 1.0;
                        *left -= 1;
                        *left
                    }
                    Level::Map { key, .. } if !*key => {
                        self.path.raw_set(2 * depth, value)?;
                        *key = true;
                        self.slots += level.slots();
                        break;
                    }
                    Level::Map { left, key } => {
                        let name: Value = self.path.raw_get(2 * depth)?;
                        match &name {
                            Value::Nil => {
                                return Err(mlua::Error::runtime("table index is nil").into());
                            }
                            Value::Number(n) if n.is_nan() => {
                                return Err(mlua::Error::runtime("table index is NaN").into());
                            }
                            _ => {}
                        }
                        table.raw_set(name, value)?;
                        self.path.raw_set(2 * depth, Value::Nil)?;
                        *key = false;
                        *left -= 1;
                        *left
                    }
                };
                if left > 0 {
                    self.slots += level.slots();
                    break;
                }
                levels.pop();
                self.path.raw_set(2 * depth - 1, Value::Nil)?;
                value = Value::Table(table);
            }
        }
    }

    /// Starts filling `table` as the level below the `depth` open ones.
    fn open(
        &mut self,
        depth: usize,
        table: Table,
        level: Level,
        levels: &mut Vec<Level>,
    ) -> mlua::Result<()> {
        self.path.raw_set(2 * depth as i64 + 1, table)?;
        self.slots += level.slots();
        levels.push(level);
        Ok(())
    }
}

/// `mp_unpack_full`: up to `limit` values from `offset` (0 and 0: all of them, without the
/// offset in front).
fn unpack(lua: &Lua, data: &[u8], limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    if offset < 0 || limit < 0 {
        // The C code prints the input's length where it means the limit.
        return Err(library_error(
            lua,
            format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as i32,
                data.len() as i32
            ),
        ));
    }
    if offset as u64 > data.len() as u64 {
        let text = format!(
            "Start offset {} greater than input length {}.",
            offset as i32,
            data.len() as i32
        );
        return Err(library_error(lua, text));
    }
    let all = limit == 0 && offset == 0;
    let limit = if all { i64::from(i32::MAX) } else { limit };
    let mut reader = Reader { data, at: offset as usize, slots: 1, path: lua.create_table()? };
    let mut values = Vec::new();
    while reader.at < data.len() && (values.len() as i64) < limit {
        match reader.value(lua) {
            Ok(value) => values.push(value),
            Err(failure) => {
                return Err(match failure {
                    Failure::Eof => library_error(lua, "Missing bytes in input.".into()),
                    Failure::BadFormat => library_error(lua, "Bad data format in input.".into()),
                    Failure::Overflow(what) => {
                        library_error(lua, format!("stack overflow ({what})"))
                    }
                    Failure::Lua(e) => e,
                });
            }
        }
        // The value stays on the C function's stack, to be returned.
        reader.slots += 1;
    }
    if !all {
        if reader.slots + 1 > LUA_STACK_SLOTS {
            return Err(library_error(lua, "stack overflow (in function mp_unpack_full)".into()));
        }
        let next = if reader.at == data.len() { -1.0 } else { reader.at as f64 };
        values.insert(0, Value::Number(next));
    }
    Ok(MultiValue::from_vec(values))
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    use super::library;
    use crate::server::script::lauxlib::eval_text;

    /// Runs `code` in a state with `cmsgpack` (and a `hex` helper), named as a script's
    /// chunk is (`lauxlib::eval_text`).
    fn eval(lua: &Lua, code: &str) -> String {
        let code = format!(
            "local function hex(s) return (string.gsub(s, '.', function(c) \
             return string.format('%02x', string.byte(c)) end)) end\n{code}"
        );
        eval_text(lua, &code)
    }

    fn state() -> Lua {
        let lua = Lua::new();
        lua.globals().set("cmsgpack", library(&lua).unwrap()).unwrap();
        lua
    }

    /// Each result as redis-server 7.0.15 gives it (checked by `EVAL`).
    #[test]
    fn packs_and_unpacks_as_redis() {
        let lua = state();
        for (code, want) in [
            ("return hex(cmsgpack.pack(0.1))", "cb3fb999999999999a"),
            ("return hex(cmsgpack.pack(-1099511627776))", "d3ffffff0000000000"),
            (
                "return hex(cmsgpack.pack(1.5, 0/0, 1/0, -0.0))",
                "ca3fc00000cbfff8000000000000ca7f80000000",
            ),
            (
                "return hex(cmsgpack.pack(2^63, -2^63, 2^32, -129))",
                "ca5f000000d38000000000000000cf0000000100000000d1ff7f",
            ),
            (
                "return hex(cmsgpack.pack({}, {1,2}, {1,nil,3}, {[1]=1,[3]=3}, {[0]=1}))",
                "9092010282010103038201010303810001",
            ),
            ("return hex(cmsgpack.pack(true, false, nil, function() end, 'ab'))", "c3c2c0c0a26162"),
            ("return cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')", "-1"),
            ("return cmsgpack.unpack('\\202\\64\\32\\0\\0')", "2.5"),
            ("return cmsgpack.unpack('\\209\\255\\128')", "-128"),
            ("return table.concat({cmsgpack.unpack_limit('\\1\\2\\3', 2)}, ' ')", "2 1 2"),
            ("return table.concat({cmsgpack.unpack_limit('\\1\\2\\3', 2, 1)}, ' ')", "-1 2 3"),
            ("return table.concat({cmsgpack.unpack_limit('\\1\\2\\3', 0, 0)}, ' ')", "1 2 3"),
            ("return select('#', cmsgpack.unpack(''))", "0"),
            // A table that holds itself is cut at 16 levels.
            (
                "local t = {} t[1] = t return hex(cmsgpack.pack(t))",
                "91919191919191919191919191919191c0",
            ),
        ] {
            assert_eq!(eval(&lua, code), want, "{code}");
        }
    }

    /// Each error as redis-server 7.0.15 words it, at the depths where Redis's stack runs out.
    #[test]
    fn errors_as_redis_words_them() {
        let lua = state();
        let at_line = |text: &str| format!("error: runtime error: user_script:2: {text}");
        for (code, want) in [
            (
                "return cmsgpack.pack()",
                at_line("bad argument #0 to 'pack' (MessagePack pack needs input.)"),
            ),
            ("return cmsgpack.unpack('\\193')", at_line("Bad data format in input.")),
            ("return cmsgpack.unpack('\\205\\1')", at_line("Missing bytes in input.")),
            (
                "return cmsgpack.unpack('\\221\\255\\255\\255\\255\\1\\2')",
                at_line("Missing bytes in input."),
            ),
            (
                "return cmsgpack.unpack()",
                at_line("bad argument #1 to 'unpack' (string expected, got no value)"),
            ),
            (
                "return cmsgpack.unpack_limit('x')",
                at_line("bad argument #2 to 'unpack_limit' (number expected, got no value)"),
            ),
            (
                "return cmsgpack.unpack_one('\\1\\2', 5)",
                at_line("Start offset 5 greater than input length 2."),
            ),
            (
                "return cmsgpack.unpack_one('\\1\\2', -1)",
                at_line("Invalid request to unpack with offset of -1 and limit of 2."),
            ),
            (
                "return cmsgpack.unpack('\\129\\192\\1')",
                "error: runtime error: table index is nil".into(),
            ),
            (
                "return #{cmsgpack.unpack(string.rep('\\1', 8000))}",
                at_line(
                    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
                ),
            ),
            (
                "return #{cmsgpack.unpack(string.rep('\\145', 5000))}",
                at_line("stack overflow (in function mp_decode_to_lua_array)"),
            ),
            (
                "return #{cmsgpack.unpack(string.rep('\\129\\1', 5000))}",
                at_line(
                    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
                ),
            ),
        ] {
            assert_eq!(eval(&lua, code), want, "{code}");
        }
        // Just inside the limits, and 6,000 strings returned at once.
        for (code, want) in [
            ("return #{cmsgpack.unpack(string.rep('\\145', 3998) .. '\\1')}", "1"),
            ("return #{cmsgpack.unpack(string.rep('\\129\\1', 3999) .. '\\1')}", "1"),
            ("return #{cmsgpack.unpack(string.rep('\\161a', 6000))}", "6000"),
        ] {
            assert_eq!(eval(&lua, code), want, "{code}");
        }
    }
}
