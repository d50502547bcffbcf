//! What Lua's auxiliary library (`lauxlib`) gives C library functions, for the libraries
//! written here in Rust (`bit`, `cjson`, `cmsgpack`): errors raised as `luaL_error` raises
//! them, and the argument checks with their messages (`bad argument #2 to 'unpack_limit'
//! (number expected, got no value)`).

use mlua::{Lua, LuaString, MultiValue, Value};

use super::convert::c_cast;

/// An error raised the way a C library function raises it with `luaL_error`: the message
/// after the position of the Lua code that called the function (`user_script:3: ...`), or
/// alone if a C function called it.
pub(super) fn library_error(lua: &Lua, message: String) -> mlua::Error {
    let caller = lua.inspect_stack(1, |debug| {
        let line = debug.current_line()?;
        let source = debug.source().short_src?.into_owned();
        Some(format!("{source}:{line}: "))
    });
    mlua::Error::runtime(format!("{}{message}", caller.flatten().unwrap_or_default()))
}

/// `luaL_argerror`'s message, "bad argument #N to 'NAME' (WHAT)", after the caller's line.
pub(super) fn argument_error(lua: &Lua, name: &str, index: usize, what: &str) -> mlua::Error {
    library_error(lua, format!("bad argument #{index} to '{name}' ({what})"))
}

/// The type's name as Lua 5.1's `type` and `lua_typename` give it (mlua tells integers and
/// light userdata apart; Lua 5.1 does not).
pub(super) fn lua_type_name(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) | Value::Number(_) => "number",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        other => other.type_name(),
    }
}

/// A number as it is, without Lua's conversion of numeric strings (a table key, say).
pub(super) fn raw_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => Some(*n),
        Value::Integer(n) => Some(*n as f64),
        _ => None,
    }
}

/// "number expected, got T" (or "string expected"), for argument `index`.
fn type_error(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    index: usize,
    expected: &str,
) -> mlua::Error {
    let got = args.get(index - 1).map_or("no value", lua_type_name);
    argument_error(lua, name, index, &format!("{expected} expected, got {got}"))
}

/// `luaL_checknumber`: argument `index` (from 1) as a number; numeric strings are taken.
pub(super) fn check_number(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    index: usize,
) -> mlua::Result<f64> {
    let number = match args.get(index - 1) {
        Some(value) => lua.coerce_number(value.clone())?,
        None => None,
    };
    number.ok_or_else(|| type_error(lua, name, args, index, "number"))
}

/// `luaL_checkinteger`: the number truncated to 64 bits as C converts it.
pub(super) fn check_integer(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    index: usize,
) -> mlua::Result<i64> {
    check_number(lua, name, args, index).map(c_cast)
}

/// `luaL_optinteger` with 0 as the default: an absent or nil argument is 0.
pub(super) fn opt_integer(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    index: usize,
) -> mlua::Result<i64> {
    match args.get(index - 1) {
        None | Some(Value::Nil) => Ok(0),
        Some(_) => check_integer(lua, name, args, index),
    }
}

/// `luaL_checklstring`: argument `index` as a string; a number is taken as its text.
pub(super) fn check_string(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    index: usize,
) -> mlua::Result<LuaString> {
    let text = match args.get(index - 1) {
        Some(value @ (Value::String(_) | Value::Number(_) | Value::Integer(_))) => {
            lua.coerce_string(value.clone())?
        }
        _ => None,
    };
    text.ok_or_else(|| type_error(lua, name, args, index, "string"))
}

/// For the libraries' unit tests: runs `code` in `lua`, named as a script's chunk is; its
/// value as text (a boolean as `true` or `false`, anything else without text in its debug
/// form), or `error: ` and the first line of its error (without the traceback).
#[cfg(test)]
pub(super) fn eval_text(lua: &Lua, code: &str) -> String {
    match lua.load(code).set_name("@user_script").eval::<Value>() {
        Ok(Value::Boolean(b)) => b.to_string(),
        Ok(value) => match lua.coerce_string(value.clone()) {
            Ok(Some(text)) => text.to_string_lossy(),
            _ => format!("{value:?}"),
        },
        Err(e) => format!("error: {}", e.to_string().lines().next().unwrap_or_default()),
    }
}
