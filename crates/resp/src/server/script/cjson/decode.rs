//! `cjson.decode`: JSON text to Lua values, with Lua CJSON's tokens, leniencies and error
//! texts.
//!
//! The input is read as CJSON reads a C string: a NUL byte ends it wherever it is, so that
//! `[1]\0junk` decodes to `{1}` and a NUL inside a string is "unexpected end of string".
//! Errors name what was expected, what was found (a token's type, such as `T_END`, or what
//! was wrong with it) and where, counting bytes from 1:
//!
//! ```text
//!   cjson.decode('[1,}')   -->  Expected value but found T_OBJ_END at character 4
//! ```
//!
//! The parser keeps its open arrays and objects on a vector rather than on the thread's
//! stack, so that the nesting allowed (`decode_max_depth`, up to 2^31 - 1) cannot overflow
//! it; the limit that applies past the configured one is Lua's: CJSON asks for stack slots
//! at each level, and Lua refuses beyond 8,000 (see [`LUA_STACK_SLOTS`]).

use mlua::{LightUserData, Lua, Table, Value};

use super::strtod::strtod;
use super::{Config, LUA_STACK_SLOTS};

/// A token, as CJSON's `json_token_type_t`; errors carry what was wrong.
#[derive(Debug)]
enum Token {
    ObjectBegin,
    ObjectEnd,
    ArrayBegin,
    ArrayEnd,
    String(Vec<u8>),
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Token {
    /// The name an error message gives a token that was not expected.
    fn name(&self) -> &'static str {
        match self {
            Token::ObjectBegin => "T_OBJ_BEGIN",
            Token::ObjectEnd => "T_OBJ_END",
            Token::ArrayBegin => "T_ARR_BEGIN",
            Token::ArrayEnd => "T_ARR_END",
            Token::String(_) => "T_STRING",
            Token::Number(_) => "T_NUMBER",
            Token::Boolean(_) => "T_BOOLEAN",
            Token::Null => "T_NULL",
            Token::Colon => "T_COLON",
            Token::Comma => "T_COMMA",
            Token::End => "T_END",
            Token::Error(what) => what,
        }
    }
}

/// Reads tokens from the input; `at` is where the next one starts (or where an error is).
struct Lexer<'a> {
    data: &'a [u8],
    at: usize,
    decode_invalid_numbers: bool,
}

impl Lexer<'_> {
    /// The byte at `index`, or NUL past the end (the C string's terminator).
    fn byte(&self, index: usize) -> u8 {
        self.data.get(index).copied().unwrap_or(0)
    }

    fn starts_with(&self, word: &[u8]) -> bool {
        self.data[self.at.min(self.data.len())..].starts_with(word)
    }

    /// The next token and the offset where it starts (for errors about it).
    fn next(&mut self) -> (Token, usize) {
        while matches!(self.byte(self.at), b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
        let start = self.at;
        let single = match self.byte(start) {
            b'{' => Some(Token::ObjectBegin),
            b'}' => Some(Token::ObjectEnd),
            b'[' => Some(Token::ArrayBegin),
            b']' => Some(Token::ArrayEnd),
            b',' => Some(Token::Comma),
            b':' => Some(Token::Colon),
            0 => return (Token::End, start),
            _ => None,
        };
        if let Some(token) = single {
            self.at += 1;
            return (token, start);
        }
        let token = match self.byte(start) {
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => {
                if !self.decode_invalid_numbers && self.is_invalid_number() {
                    Token::Error("invalid number")
                } else {
                    self.number()
                }
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => self.word(),
            _ => Token::Error("invalid token"),
        };
        // An error is reported where the lexer stopped, which inside a string is the
        // offending escape or the end.
        let at = if matches!(token, Token::Error(_)) { self.at } else { start };
        (token, at)
    }

    /// `true`, `false`, `null`, or (when allowed) `inf`, `nan` or a number with a `+`.
    fn word(&mut self) -> Token {
        for (word, token) in [
            (&b"true"[..], Token::Boolean(true)),
            (b"false", Token::Boolean(false)),
            (b"null", Token::Null),
        ] {
            if self.starts_with(word) {
                self.at += word.len();
                return token;
            }
        }
        if self.decode_invalid_numbers && self.is_invalid_number() {
            return self.number();
        }
        Token::Error("invalid token")
    }

    fn number(&mut self) -> Token {
        match strtod(&self.data[self.at..]) {
            Some((value, len)) => {
                self.at += len;
                Token::Number(value)
            }
            None => Token::Error("invalid number"),
        }
    }

    /// Whether the number here is one that JSON does not allow but `strtod` reads: a leading
    /// `+`, hexadecimal, a leading zero, `inf` or `nan`.
    fn is_invalid_number(&self) -> bool {
        let mut at = self.at;
        match self.byte(at) {
            b'+' => return true,
            b'-' => at += 1,
            _ => {}
        }
        match self.byte(at) {
            b'0' => {
                let next = self.byte(at + 1);
                next | 0x20 == b'x' || next.is_ascii_digit()
            }
            byte if byte <= b'9' => false,
            _ => {
                let rest = &self.data[at.min(self.data.len())..];
                let starts = |word: &[u8]| rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(word);
                starts(b"inf") || starts(b"nan")
            }
        }
    }

    /// A string from its opening quote: escapes translated, `\u` escapes (and surrogate
    /// pairs) written as UTF-8, every other byte kept as it is.
    fn string(&mut self) -> Token {
        self.at += 1;
        let mut text = Vec::new();
        loop {
            let byte = self.byte(self.at);
            match byte {
                b'"' => break,
                0 => return Token::Error("unexpected end of string"),
                b'\\' => {
                    let translated = match self.byte(self.at + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => {
                            if self.unicode_escape(&mut text) {
                                continue;
                            }
                            return Token::Error("invalid unicode escape code");
                        }
                        _ => return Token::Error("invalid escape code"),
                    };
                    text.push(translated);
                    self.at += 2;
                }
                _ => {
                    text.push(byte);
                    self.at += 1;
                }
            }
        }
        self.at += 1;
        Token::String(text)
    }

    /// `\uXXXX` (or a surrogate pair of them) at `at`, appended as UTF-8; false if invalid.
    fn unicode_escape(&mut self, text: &mut Vec<u8>) -> bool {
        let hex4 = |from: usize| {
            (0..4).try_fold(0u32, |code, i| {
                Some(code << 4 | (self.byte(from + i) as char).to_digit(16)?)
            })
        };
        let Some(mut code) = hex4(self.at + 2) else { return false };
        let mut len = 6;
        if code & 0xF800 == 0xD800 {
            // A low surrogate first, or a high one not followed by `\u` and a low one.
            if code & 0x400 != 0
                || self.byte(self.at + 6) != b'\\'
                || self.byte(self.at + 7) != b'u'
            {
                return false;
            }
            let Some(low) = hex4(self.at + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            code = ((code & 0x3FF) << 10 | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut utf8 = [0; 4];
        // Every code here is at most 0x10FFFF and not a lone surrogate, so it is a `char`.
        let Some(ch) = char::from_u32(code) else { return false };
        text.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
        self.at += len;
        true
    }
}

/// An array or object still open, with what it needs to take its next value. The table
/// itself is kept in a Lua table (`path`), not as a handle here: each handle holds a slot of
/// the Lua stack mlua keeps them on, which ten thousand levels would run out of.
enum Open {
    Array { next: i64 },
    Object { key: Vec<u8> },
}

impl Open {
    /// The Lua stack slots CJSON holds for this level while it parses a value inside it: the
    /// table, and for an object the key too.
    fn slots(&self) -> usize {
        match self {
            Open::Array { .. } => 1,
            Open::Object { .. } => 2,
        }
    }
}

/// Decodes `data` (the whole argument) with `config`'s settings.
pub(super) fn decode(lua: &Lua, config: &Config, data: &[u8]) -> Result<Value, String> {
    let lua_error = |e: mlua::Error| e.to_string();
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err("JSON parser does not support UTF-16 or UTF-32".into());
    }
    let mut lexer =
        Lexer { data, at: 0, decode_invalid_numbers: config.decode_invalid_numbers == 1 };
    let mut open: Vec<Open> = Vec::new();
    // Level `d`'s table at `d`.
    let path = lua.create_table().map_err(lua_error)?;
    // The Lua stack slots in use: the argument, and what each open level holds.
    let mut slots = 1;
    let expected = |what: &str, token: &Token, at: usize| {
        format!("Expected {what} but found {} at character {}", token.name(), at + 1)
    };
    let mut token = lexer.next();
    loop {
        // `token` starts a value.
        let mut value = match token.0 {
            Token::String(text) => Value::String(lua.create_string(text).map_err(lua_error)?),
            Token::Number(number) => Value::Number(number),
            Token::Boolean(boolean) => Value::Boolean(boolean),
            Token::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
            Token::ObjectBegin | Token::ArrayBegin => {
                let object = matches!(token.0, Token::ObjectBegin);
                let depth = open.len() + 1;
                if depth > config.decode_max_depth as usize
                    || slots + if object { 3 } else { 2 } > LUA_STACK_SLOTS
                {
                    return Err(format!(
                        "Found too many nested data structures ({depth}) at character {}",
                        lexer.at
                    ));
                }
                let table = lua.create_table().map_err(lua_error)?;
                let (first, at) = lexer.next();
                match first {
                    Token::ObjectEnd if object => Value::Table(table),
                    Token::ArrayEnd if !object => Value::Table(table),
                    first if !object => {
                        token = (first, at);
                        path.raw_set(depth, table).map_err(lua_error)?;
                        let level = Open::Array { next: 1 };
                        slots += level.slots();
                        open.push(level);
                        continue;
                    }
                    Token::String(key) => {
                        expect_colon(&mut lexer).map_err(|(t, at)| expected("colon", &t, at))?;
                        path.raw_set(depth, table).map_err(lua_error)?;
                        let level = Open::Object { key };
                        slots += level.slots();
                        open.push(level);
                        token = lexer.next();
                        continue;
                    }
                    first => return Err(expected("object key string", &first, at)),
                }
            }
            _ => return Err(expected("value", &token.0, token.1)),
        };
        // Put the value where it belongs, and close every level that ends after it.
        loop {
            let Some(mut level) = open.pop() else {
                let end = lexer.next();
                return match end.0 {
                    Token::End => Ok(value),
                    _ => Err(expected("the end", &end.0, end.1)),
                };
            };
            token = lexer.next();
            let depth = open.len() + 1;
            let table: Table = path.raw_get(depth).map_err(lua_error)?;
            let more = match &mut level {
                Open::Array { next } => {
                    table.raw_set(*next, value).map_err(lua_error)?;
                    *next += 1;
                    match token.0 {
                        Token::ArrayEnd => false,
                        Token::Comma => true,
                        _ => return Err(expected("comma or array end", &token.0, token.1)),
                    }
                }
                Open::Object { key } => {
                    let name = lua.create_string(&*key).map_err(lua_error)?;
                    table.raw_set(name, value).map_err(lua_error)?;
                    match token.0 {
                        Token::ObjectEnd => false,
                        Token::Comma => {
                            let (next, at) = lexer.next();
                            let Token::String(name) = next else {
                                return Err(expected("object key string", &next, at));
                            };
                            *key = name;
                            expect_colon(&mut lexer)
                                .map_err(|(t, at)| expected("colon", &t, at))?;
                            true
                        }
                        _ => return Err(expected("comma or object end", &token.0, token.1)),
                    }
                }
            };
            if more {
                open.push(level);
                token = lexer.next();
                break;
            }
            // The level ended: it is the value to put into the one around it.
            slots -= level.slots();
            path.raw_set(depth, Value::Nil).map_err(lua_error)?;
            value = Value::Table(table);
        }
    }
}

/// The `:` after an object's key, or the token found instead.
fn expect_colon(lexer: &mut Lexer<'_>) -> Result<(), (Token, usize)> {
    match lexer.next() {
        (Token::Colon, _) => Ok(()),
        other => Err(other),
    }
}
