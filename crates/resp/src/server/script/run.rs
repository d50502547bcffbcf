//! Running one script: a fresh Lua state, Redis's `redis` library, the time-limit hook, and
//! the reply.
//!
//! Each call gets its own Lua state, so nothing a script leaves behind can reach the next one,
//! and the state borrows the store only for the call. Redis keeps one state for the server's
//! life and protects its globals instead; a script cannot tell the difference, since writing a
//! global is refused in both. The price is time: opening a state with its libraries takes
//! about 50 µs, more than Redis spends on a whole short `EVAL` (see the README). Parsing is
//! not paid again: a script's bytecode is kept by SHA-1 (`ScriptCache`) and loaded into the
//! new state, and so is the prelude's.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::chunk::ChunkMode;
use mlua::{
    Function, HookTriggers, Lua, LuaOptions, LuaString, MultiValue, StdLib, Value, VmState,
};

use super::convert::{error_table, lua_to_reply, reply_to_lua, to_argument};
use super::watch::ScriptWatch;
use super::{MEMORY_LIMIT, sha1_hex};
use crate::server::REDIS_VERSION;
use crate::server::client::Client;
use crate::server::cmd::{Ctx, call_from_script};
use crate::server::reply::Reply;
use crate::server::store::{Lockless, Store};

/// How many Lua instructions run between two looks at the clock and the kill flag (Redis's
/// figure: about a millisecond of a tight loop).
const HOOK_EVERY: u32 = 100_000;

/// One invocation.
pub(crate) struct Script<'a> {
    /// The body, shebang line included.
    pub(crate) body: &'a [u8],
    /// The body's SHA-1, in lower-case hex.
    pub(crate) sha: &'a str,
    pub(crate) keys: &'a [Bytes],
    pub(crate) argv: &'a [Bytes],
    /// `EVAL_RO`, `EVALSHA_RO`: write commands are refused.
    pub(crate) read_only: bool,
}

/// Why a script could not be compiled: the error reply, ready to send.
#[derive(Debug)]
pub(crate) struct CompileError(pub(crate) String);

/// Compiles `body` in a throwaway state, as `SCRIPT LOAD` does to refuse a broken script.
pub(crate) fn check_compiles(body: &[u8]) -> Result<(), CompileError> {
    let (_, body) = shebang(body)?;
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::new())
        .map_err(|e| CompileError(format!("ERR {e}")))?;
    compile(&lua, body).map(drop)
}

/// Runs `script` for the client in `ctx` and writes its reply. Returns false, with the
/// compilation error as the reply, if the body does not compile.
pub(crate) fn run_script(ctx: &mut Ctx<'_>, script: Script<'_>) -> bool {
    let (flags, body) = match shebang(script.body) {
        Ok(parsed) => parsed,
        Err(CompileError(text)) => {
            ctx.error(&text);
            return false;
        }
    };
    let lua = match new_state() {
        Ok(lua) => lua,
        Err(e) => {
            ctx.error(&format!("ERR {e}"));
            return true;
        }
    };
    let sha = script.sha;
    let function = match ctx.store.scripts.compiled(sha) {
        Some(bytecode) => load_compiled(&lua, bytecode),
        None => compile(&lua, body).inspect(|function| {
            ctx.store.scripts.remember_compiled(sha.to_owned(), function.dump(false));
        }),
    };
    let function = match function {
        Ok(function) => function,
        Err(CompileError(text)) => {
            ctx.error(&text);
            return false;
        }
    };
    let limit = u64::try_from(ctx.store.config.get_int("lua-time-limit")).unwrap_or(0);
    let lockless = Arc::clone(&ctx.store.lockless);
    let Ctx { store, client, out, now } = ctx;
    let caller = RefCell::new(Caller {
        store,
        client: script_client(client),
        now: *now,
        read_only: script.read_only || flags.no_writes,
        watch: &lockless.script,
    });
    let began = caller.borrow_mut().store.aof.as_mut().is_some_and(|aof| aof.begin_script());
    let result = lua.scope(|scope| {
        let pcall =
            scope.create_function(|lua, args: MultiValue| caller.borrow_mut().call(lua, args))?;
        // A function of our own rather than Lua over `redis.pcall`: a Lua function would be
        // left by a tail call (`return redis.call(...)`), and its error by the script's line.
        let call = scope.create_function(|lua, args: MultiValue| {
            let reply = caller.borrow_mut().call(lua, args)?;
            match error_text(&reply) {
                Some(text) => Err(mlua::Error::external(CallError(text))),
                None => Ok(reply),
            }
        })?;
        let xpcall = install(&lua, &script, call, pcall, Arc::clone(&lockless), limit)?;
        let handler = lua.create_function(error_handler)?;
        let (ok, value): (bool, Value) = xpcall.call((function, handler))?;
        let mut reply = bytes::BytesMut::new();
        let mut writer = Reply::new(&mut reply, out.is_resp3());
        if ok {
            lua_to_reply(&value, &mut writer);
        } else {
            writer.error(&failure_text(&value, sha));
        }
        Ok(reply)
    });
    lua.remove_hook();
    let store = caller.into_inner().store;
    if began && let Some(aof) = &mut store.aof {
        aof.end_exec();
    }
    match result {
        Ok(reply) => {
            store.stats.count_if_error(&reply);
            out.encoded(&reply);
        }
        Err(e) => {
            let text = format!("ERR Error running script {sha}, {e}");
            store.stats.count_error(text.as_bytes());
            out.error(&text);
        }
    }
    true
}

/// The script's own client: the caller's database, RESP2, and never blocking (as in `EXEC`).
fn script_client(caller: &Client) -> Client {
    let mut client = Client::new(caller.id, true, Arc::clone(&caller.wake));
    client.db = caller.db;
    client.in_exec = true;
    client
}

/// The libraries Redis gives scripts: base (without `loadfile` and `dofile`), `table`,
/// `string`, `math`; no `io`, `os` or `debug`.
fn new_state() -> mlua::Result<Lua> {
    let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::new())?;
    lua.set_memory_limit(MEMORY_LIMIT)?;
    let globals = lua.globals();
    globals.raw_set("loadfile", Value::Nil)?;
    globals.raw_set("dofile", Value::Nil)?;
    globals.raw_set("print", Value::Nil)?;
    // `load` takes its chunk in pieces, which could be bytecode; `loadstring` is kept, for
    // source text only (see `GUARDS`).
    globals.raw_set("load", Value::Nil)?;
    Ok(lua)
}

/// Source text only: precompiled Lua 5.1 bytecode is not verified and can crash the VM.
fn compile(lua: &Lua, body: &[u8]) -> Result<Function, CompileError> {
    lua.load(body).set_name("@user_script").set_mode(ChunkMode::Text).into_function().map_err(|e| {
        let message = match e {
            mlua::Error::SyntaxError { message, .. } => message,
            other => other.to_string(),
        };
        CompileError(format!("ERR Error compiling script (new function): {message}"))
    })
}

/// Loads bytecode that `compile` produced in this process (see `ScriptCache`), with its
/// debug information, so that errors name the same lines as the source would.
fn load_compiled(lua: &Lua, bytecode: &[u8]) -> Result<Function, CompileError> {
    lua.load(bytecode)
        .set_mode(ChunkMode::Binary)
        .into_function()
        .map_err(|e| CompileError(format!("ERR Error compiling script (new function): {e}")))
}

/// `GUARDS` compiled once, by a state of its own, for every script's state to load.
static GUARDS_COMPILED: LazyLock<Result<Vec<u8>, String>> = LazyLock::new(|| {
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::new()).map_err(|e| e.to_string())?;
    let guards = lua.load(GUARDS).set_name("=guards").set_mode(ChunkMode::Text);
    guards.into_function().map(|function| function.dump(false)).map_err(|e| e.to_string())
});

/// Flags a `#!lua flags=...` first line can set.
#[derive(Clone, Copy, Debug, Default)]
struct ShebangFlags {
    no_writes: bool,
}

/// Splits off a `#!lua` line, keeping its newline so that line numbers stay right.
fn shebang(body: &[u8]) -> Result<(ShebangFlags, &[u8]), CompileError> {
    let mut flags = ShebangFlags::default();
    if !body.starts_with(b"#!") {
        return Ok((flags, body));
    }
    let fail = |text: String| CompileError(format!("ERR {text}"));
    let end = body
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| fail("Invalid script shebang".into()))?;
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or_default();
    if engine != "#!lua" {
        return Err(fail(format!("Unexpected engine in script shebang: {engine}")));
    }
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(fail(format!("Unknown lua shebang option: {part}")));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => return Err(fail(format!("Unexpected flag in script shebang: {other}"))),
            }
        }
    }
    Ok((flags, &body[end..]))
}

/// The `redis` library, `KEYS` and `ARGV`, the guards on globals and on `pcall`, and the hook
/// that watches the clock and the kill flag.
fn install(
    lua: &Lua,
    script: &Script<'_>,
    call: Function,
    pcall: Function,
    lockless: Arc<Lockless>,
    limit_ms: u64,
) -> mlua::Result<Function> {
    let globals = lua.globals();
    let redis = lua.create_table()?;
    redis.raw_set("call", call)?;
    redis.raw_set("pcall", pcall)?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| match args.front() {
            Some(Value::String(text)) if args.len() == 1 => {
                let text = text.to_string_lossy();
                let text = if text.starts_with('-') { text } else { format!("-{text}") };
                error_table(lua, &error_code_and_message(&text))
            }
            _ => error_table(lua, "ERR wrong number or type of arguments"),
        })?,
    )?;
    // Like `error_reply`, only a string is taken (not a number, which Lua would convert):
    // anything else gives the error table, as Redis's does.
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| match args.front() {
            Some(Value::String(text)) if args.len() == 1 => {
                let table = lua.create_table()?;
                table.raw_set("ok", text)?;
                Ok(Value::Table(table))
            }
            _ => error_table(lua, "ERR wrong number or type of arguments"),
        })?,
    )?;
    // Redis's checks: exactly one argument, or the error `redis.call` would raise; a string or
    // a number (as Lua prints it) is hashed, anything else hashes as the empty string.
    redis.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| {
            let [value] = Vec::from(args).try_into().map_err(|_| {
                mlua::Error::external(CallError("ERR wrong number of arguments".into()))
            })?;
            let text = lua.coerce_string(value)?.map(|text| text.as_bytes().to_vec());
            Ok(sha1_hex(&text.unwrap_or_default()))
        })?,
    )?;
    // The server keeps no log file; messages are accepted and dropped.
    redis.raw_set(
        "log",
        lua.create_function(|_, args: MultiValue| {
            if args.len() < 2 {
                return Err(mlua::Error::runtime("redis.log() requires two arguments or more."));
            }
            Ok(())
        })?,
    )?;
    for (name, level) in
        [("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3)]
    {
        redis.raw_set(name, level)?;
    }
    redis.raw_set("REDIS_VERSION", REDIS_VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", version_number())?;
    globals.raw_set("redis", redis)?;
    globals.raw_set(
        "KEYS",
        lua.create_sequence_from(
            script.keys.iter().map(|k| lua.create_string(k)).collect::<mlua::Result<Vec<_>>>()?,
        )?,
    )?;
    globals.raw_set(
        "ARGV",
        lua.create_sequence_from(
            script.argv.iter().map(|a| lua.create_string(a)).collect::<mlua::Result<Vec<_>>>()?,
        )?,
    )?;
    let killed = {
        let lockless = Arc::clone(&lockless);
        lua.create_function(move |_, ()| Ok(lockless.script.kill_requested()))?
    };
    let as_table = lua.create_function(|lua, raised: Value| as_error_table(lua, raised))?;
    let as_text = lua.create_function(|lua, raised: Value| as_error_text(lua, raised))?;
    // The untouched `xpcall`, to run the script with: not reachable from the script.
    let guards = GUARDS_COMPILED.as_ref().map_err(|e| mlua::Error::runtime(e.clone()))?;
    let xpcall: Function =
        lua.load(&guards[..]).set_mode(ChunkMode::Binary).call((killed, as_table, as_text))?;
    let started = Instant::now();
    let limit = Duration::from_millis(limit_ms);
    if limit_ms > 0 {
        lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |_, _| {
            if lockless.script.kill_requested() {
                return Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."));
            }
            if started.elapsed() >= limit {
                lockless.script.set_busy();
            }
            Ok(VmState::Continue)
        })?;
    }
    Ok(xpcall)
}

/// Lua run once per state before the script.
///
/// - `pcall` and `xpcall` re-raise once `SCRIPT KILL` has asked the script to stop, or a
///   script could catch the kill forever.
/// - An error raised by `redis.call` is the table `{err = ...}` to an `xpcall` handler, but
///   `pcall` returns its text, as Redis 7's own `pcall` does for any error table (for the
///   sake of scripts written when errors were strings).
/// - `loadstring` refuses precompiled bytecode, which Lua 5.1 does not verify.
/// - Reading a global that does not exist, or creating one, is an error.
///
/// It returns the original `xpcall`, which the script is then run with.
const GUARDS: &str = r#"
local killed, as_table, as_text = ...
local error, pcall, xpcall = error, pcall, xpcall
local function check(caught, ok, ...)
  if ok then return ok, ... end
  if killed() then error((...), 0) end
  return ok, caught((...))
end
local loadstring, byte, type = loadstring, string.byte, type
rawset(_G, 'loadstring', function(chunk, name)
  if type(chunk) == 'string' and byte(chunk, 1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  return loadstring(chunk, name)
end)
rawset(_G, 'pcall', function(...) return check(as_text, pcall(...)) end)
rawset(_G, 'xpcall', function(f, h)
  return check(as_table, xpcall(f, function(e) return h(as_table(e)) end))
end)
setmetatable(_G, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 0)
  end,
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
  __metatable = false,
})
return xpcall
"#;

/// An error text as Redis's `luaPushErrorBuff` shapes it: `-CODE message` keeps its code, a
/// code alone or a bare message gets `ERR` in front, and a trailing CR or LF goes.
fn error_code_and_message(text: &str) -> String {
    let (code, message) = match text.strip_prefix('-') {
        Some(rest) => rest.split_once(' ').unwrap_or(("ERR", rest)),
        None => ("ERR", text),
    };
    format!("{code} {}", message.trim_end_matches(['\r', '\n']))
}

/// `7.0.15` as `0x00070f`.
fn version_number() -> i64 {
    REDIS_VERSION
        .split('.')
        .map(|part| part.parse::<i64>().unwrap_or(0))
        .fold(0, |acc, part| (acc << 8) | part)
}

/// The message handler: whatever was raised becomes an error table `{err = ...}`, and the
/// script's line is recorded, as Redis's `__redis__err__handler` does.
fn error_handler(lua: &Lua, raised: Value) -> mlua::Result<Value> {
    let table = match as_error_table(lua, raised)? {
        Value::Table(table) if error_text(&Value::Table(table.clone())).is_some() => table,
        other => {
            let table = lua.create_table()?;
            table.raw_set("err", format!("ERR {}", describe(&other)))?;
            table
        }
    };
    if let Some(line) = script_line(lua) {
        table.raw_set("source", "@user_script")?;
        table.raw_set("line", line)?;
    }
    Ok(Value::Table(table))
}

/// The error `redis.call` raised, as the table `{err = ...}` it stands for; any other value
/// as it is.
fn as_error_table(lua: &Lua, raised: Value) -> mlua::Result<Value> {
    if let Value::Error(e) = &raised
        && let Some(CallError(text)) = e.chain().find_map(|cause| cause.downcast_ref::<CallError>())
    {
        return error_table(lua, text);
    }
    Ok(raised)
}

/// What Redis's `pcall` returns for what it caught: the `err` field of an error table (one
/// that `redis.call` raised, or any table whose `err` is a string or a number), any other
/// value as it is.
fn as_error_text(lua: &Lua, raised: Value) -> mlua::Result<Value> {
    let raised = as_error_table(lua, raised)?;
    if let Value::Table(table) = &raised {
        let err: Value = table.raw_get("err")?;
        if matches!(err, Value::String(_) | Value::Number(_) | Value::Integer(_)) {
            return Ok(err);
        }
    }
    Ok(raised)
}

/// The text of an error table `{err = "..."}`.
fn error_text(value: &Value) -> Option<String> {
    let Value::Table(table) = value else { return None };
    match table.raw_get::<Value>("err") {
        Ok(Value::String(text)) => Some(text.to_string_lossy()),
        _ => None,
    }
}

/// What `redis.call` raises for an error reply or a refused command: the reply's text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CallError(String);

/// What Lua's `tostring` would say of a raised value, with Rust errors as their message.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string_lossy(),
        Value::Number(n) => n.to_string(),
        Value::Integer(n) => n.to_string(),
        Value::Error(e) => match e.as_ref() {
            mlua::Error::RuntimeError(message) => message.clone(),
            mlua::Error::CallbackError { cause, .. } => match cause.as_ref() {
                mlua::Error::RuntimeError(message) => message.clone(),
                other => other.to_string(),
            },
            other => other.to_string(),
        },
        Value::Nil => "nil".into(),
        _ => "execution failure".into(),
    }
}

/// The current line of the innermost frame of the script itself.
fn script_line(lua: &Lua) -> Option<usize> {
    (1..32).find_map(|level| {
        lua.inspect_stack(level, |debug| {
            let source = debug.source();
            (source.source.as_deref() == Some("@user_script")).then(|| debug.current_line())
        })?
    })?
}

/// The error reply for a script that failed: the error's text, then where.
fn failure_text(value: &Value, sha: &str) -> String {
    let Value::Table(table) = value else {
        return format!("ERR Error running script {sha}, {}", describe(value));
    };
    let err: String = table
        .raw_get::<Option<LuaString>>("err")
        .ok()
        .flatten()
        .map_or_else(|| "ERR execution failure".to_string(), |s| s.to_string_lossy());
    let err = err.strip_prefix('-').unwrap_or(&err).to_string();
    let source = table.raw_get::<Option<LuaString>>("source").ok().flatten();
    let line = table.raw_get::<Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(source), Some(line)) => {
            format!("{err} script: {sha}, on {}:{line}.", source.to_string_lossy())
        }
        _ => err,
    }
}

/// The script's side of `redis.call`: the store, and a client of its own.
struct Caller<'s> {
    store: &'s mut Store,
    client: Client,
    now: i64,
    read_only: bool,
    watch: &'s ScriptWatch,
}

impl Caller<'_> {
    /// `redis.pcall(...)`: runs the command; its reply, or a rejection, as a Lua value.
    fn call(&mut self, lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
        if args.is_empty() {
            return error_table(
                lua,
                "ERR Please specify at least one argument for this redis lib call",
            );
        }
        let Some(args) = args.iter().map(to_argument).collect::<Option<Vec<_>>>() else {
            return error_table(
                lua,
                "ERR Lua redis lib command arguments must be strings or integers",
            );
        };
        match call_from_script(self.store, &mut self.client, args, self.now, self.read_only, || {
            self.watch.set_wrote()
        }) {
            Ok(reply) => reply_to_lua(lua, reply),
            Err(text) => error_table(lua, &format!("ERR {text}")),
        }
    }
}
