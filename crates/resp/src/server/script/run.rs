//! Running one script in this thread's engine (see `engine`): `KEYS`, `ARGV`, `redis.call`
//! bound to the store for this call only, the time-limit hook, and the reply.
//!
//! The state lasts from call to call, but the store is borrowed for one call only:
//! `redis.call` is a scoped function, dead once the call is over.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::chunk::ChunkMode;
use mlua::{
    Function, HookTriggers, Lua, LuaOptions, LuaString, MultiValue, StdLib, Value, VmState,
};

use super::convert::{c_cast, error_table, lua_to_reply, reply_to_lua, to_argument};
use super::engine::{Engine, with_engine};
use super::watch::ScriptWatch;
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
    match with_engine(|engine| run_in(engine, ctx, &script, flags, body)) {
        Ok(compiled) => compiled,
        Err(e) => {
            ctx.error(&format!("ERR {e}"));
            true
        }
    }
}

/// [`run_script`] in `engine`. Returns whether the body compiled, and whether the engine may
/// be kept for the next call.
fn run_in(
    engine: &mut Engine,
    ctx: &mut Ctx<'_>,
    script: &Script<'_>,
    flags: ShebangFlags,
    body: &[u8],
) -> (bool, bool) {
    let sha = script.sha;
    // Not kept by this engine: loaded from the bytecode another engine compiled, or compiled
    // here and its bytecode kept for the others.
    let scripts = &mut ctx.store.scripts;
    let function = engine.function(sha, |lua| match scripts.compiled(sha) {
        Some(bytecode) => load_compiled(lua, bytecode),
        None => {
            let function = compile(lua, body)?;
            scripts.remember_compiled(sha.to_owned(), function.dump(false));
            Ok(function)
        }
    });
    let function = match function {
        Ok(function) => function,
        Err(CompileError(text)) => {
            ctx.error(&text);
            return (false, true);
        }
    };
    let limit = u64::try_from(ctx.store.config.get_int("lua-time-limit")).unwrap_or(0);
    let lockless = Arc::clone(&ctx.store.lockless);
    let cjson = ctx.store.scripts.cjson;
    if let Err(e) = engine.start_call(script.keys, script.argv, Arc::clone(&lockless), cjson) {
        ctx.error(&format!("ERR Error running script {sha}, {e}"));
        return (true, false);
    }
    let Ctx { store, client, out, now } = ctx;
    let caller = RefCell::new(Caller {
        store,
        client: script_client(client),
        now: *now,
        read_only: script.read_only || flags.no_writes,
        watch: &lockless.script,
    });
    let began = caller.borrow_mut().store.aof.as_mut().is_some_and(|aof| aof.begin_script());
    let lua = &engine.lua;
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
        // `redis.setresp(2 or 3)`: the protocol the script's commands answer it in, and
        // whether its booleans are booleans when it returns; RESP2 at every call's start.
        let setresp = scope.create_function(|lua, args: MultiValue| {
            let refuse = |text: &str| Err(mlua::Error::external(CallError(text.into())));
            let Ok([value]) = <[Value; 1]>::try_from(Vec::from(args)) else {
                return refuse("ERR redis.setresp() requires one argument.");
            };
            // `lua_tonumber` (numeric strings count), then C's cast to `int`: else 0.
            let version = lua.coerce_number(value)?.map_or(0, c_cast);
            if version != 2 && version != 3 {
                return refuse("ERR RESP version must be 2 or 3.");
            }
            caller.borrow_mut().client.resp3 = version == 3;
            Ok(())
        })?;
        engine.redis.raw_set("call", call)?;
        engine.redis.raw_set("pcall", pcall)?;
        engine.redis.raw_set("setresp", setresp)?;
        watch_the_clock(lua, Arc::clone(&lockless), limit)?;
        let (ok, value): (bool, Value) =
            engine.xpcall.call((function.clone(), engine.handler.clone()))?;
        let mut reply = bytes::BytesMut::new();
        let mut writer = Reply::new(&mut reply, out.is_resp3());
        if ok {
            lua_to_reply(&value, &mut writer, caller.borrow().client.resp3);
        } else {
            writer.error(&failure_text(&value, sha));
        }
        Ok(reply)
    });
    // An error outside the script's own (the engine's, not the script's) leaves the state in
    // doubt: it is not kept.
    let keep = engine.finish_call() && result.is_ok();
    let store = caller.into_inner().store;
    store.scripts.cjson = engine.cjson_settings();
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
    (true, keep)
}

/// The hook that looks at the clock and the kill flag every [`HOOK_EVERY`] instructions:
/// past `limit_ms` the script is busy (other clients get `-BUSY`), and once `SCRIPT KILL` has
/// asked, it raises.
fn watch_the_clock(lua: &Lua, lockless: Arc<Lockless>, limit_ms: u64) -> mlua::Result<()> {
    if limit_ms == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let limit = Duration::from_millis(limit_ms);
    lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |_, _| {
        if lockless.script.kill_requested() {
            return Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."));
        }
        if started.elapsed() >= limit {
            lockless.script.set_busy();
        }
        Ok(VmState::Continue)
    })
}

/// The script's own client: the caller's database, RESP2, never blocking (as in `EXEC`), and
/// marked as a script's.
fn script_client(caller: &Client) -> Client {
    let mut client = Client::new(caller.id, true, Arc::clone(&caller.wake));
    client.db = caller.db;
    client.in_exec = true;
    client.in_script = true;
    client
}

/// Source text only: precompiled Lua 5.1 bytecode is not verified and can crash the VM.
pub(super) fn compile(lua: &Lua, body: &[u8]) -> Result<Function, CompileError> {
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

/// An error text as Redis's `luaPushErrorBuff` shapes it: `-CODE message` keeps its code, a
/// code alone or a bare message gets `ERR` in front, and a trailing CR or LF goes.
pub(super) fn error_code_and_message(text: &str) -> String {
    let (code, message) = match text.strip_prefix('-') {
        Some(rest) => rest.split_once(' ').unwrap_or(("ERR", rest)),
        None => ("ERR", text),
    };
    format!("{code} {}", message.trim_end_matches(['\r', '\n']))
}

/// `7.0.15` as `0x00070f`.
pub(super) fn version_number() -> i64 {
    REDIS_VERSION
        .split('.')
        .map(|part| part.parse::<i64>().unwrap_or(0))
        .fold(0, |acc, part| (acc << 8) | part)
}

/// The message handler: whatever was raised becomes an error table `{err = ...}`, and the
/// script's line is recorded, as Redis's `__redis__err__handler` does.
pub(super) fn error_handler(lua: &Lua, raised: Value) -> mlua::Result<Value> {
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

/// What a script catches: the error `redis.call` raised as the table `{err = ...}` it stands
/// for, a library function's error as its text, any other value as it is.
pub(super) fn as_error_table(lua: &Lua, raised: Value) -> mlua::Result<Value> {
    let Value::Error(e) = &raised else { return Ok(raised) };
    if let Some(CallError(text)) = e.chain().find_map(|cause| cause.downcast_ref::<CallError>()) {
        return error_table(lua, text);
    }
    // A library function's error (`bit`, `cjson`, `cmsgpack`), or running out of memory:
    // in C that is `luaL_error`'s string, and a script that catches it gets the string.
    let message = e.chain().find_map(|cause| match cause.downcast_ref::<mlua::Error>() {
        Some(mlua::Error::RuntimeError(text) | mlua::Error::MemoryError(text)) => Some(text),
        _ => None,
    });
    match message {
        Some(text) => Ok(Value::String(lua.create_string(text)?)),
        None => Ok(raised),
    }
}

/// What Redis's `pcall` returns for what it caught: the `err` field of an error table (one
/// that `redis.call` raised, or any table whose `err` is a string or a number), any other
/// value as it is.
pub(super) fn as_error_text(lua: &Lua, raised: Value) -> mlua::Result<Value> {
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
pub(super) struct CallError(pub(super) String);

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
pub(super) fn failure_text(value: &Value, sha: &str) -> String {
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
