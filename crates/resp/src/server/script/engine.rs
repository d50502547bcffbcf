//! The Lua state that scripts run in, kept from one call to the next, and what stops a script
//! from leaving anything in it for the next.
//!
//! Opening a state with its libraries costs more than a whole short script, so a thread that
//! runs scripts keeps one (`with_engine`), as Redis keeps one for the server's life. What a
//! script could leave behind is then a leak between scripts, and Redis's Lua (patched to have
//! read-only tables) refuses every write to the globals and the library tables. Stock Lua 5.1
//! has no read-only tables, so here every table a script can reach is a *proxy*: an empty
//! table whose metatable reads through to the real one and refuses writes.
//!
//! ```text
//!   script's environment  G (empty) ──__index──► real globals ──__index──► "nonexistent global"
//!                                                  string = proxy ──__index──► real string library
//!                                                  redis  = proxy ──__index──► real redis table
//!   any write into a proxy: __newindex ──► "Attempt to modify a readonly table"
//! ```
//!
//! The invariant: no real table is ever handed to a script. The guards below keep it where
//! Lua's builtins would break it: `rawset`, `setmetatable` and `table.insert` would write
//! into a proxy past `__newindex`, the strings' metatable reads the real `string` library,
//! and `getfenv` would give the real globals (it is gone, as on Redis 7.0, with `setfenv`).
//! After every call ([`Engine::finish_call`]) the proxies must still be empty: if a way
//! around the guards was missed, or the engine itself failed, the state is dropped and the
//! next call opens a fresh one. The collector is restarted with its default pace, in case the
//! script stopped or slowed it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mlua::chunk::ChunkMode;
use mlua::state::{GcIncParams, GcMode};
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

use super::MEMORY_LIMIT;
use super::cjson::Config as CjsonConfig;
use super::convert::error_table;
use super::run::{
    CallError, CompileError, as_error_table, as_error_text, error_code_and_message, error_handler,
    version_number,
};
use crate::server::REDIS_VERSION;
use crate::server::store::Lockless;

/// How many scripts' functions one engine keeps; past it, all are dropped and loaded again.
const FUNCTIONS_KEPT: usize = 1_000;

/// Bumped by every `SCRIPT FLUSH`, in any server of the process: an engine that sees it
/// change drops the functions it keeps, as Redis drops its whole Lua state.
static FLUSHES: AtomicU64 = AtomicU64::new(0);

/// Tells every engine to forget the scripts' functions it keeps (`SCRIPT FLUSH`).
pub(crate) fn forget_functions() {
    FLUSHES.fetch_add(1, Ordering::Relaxed);
}

thread_local! {
    /// This thread's engine, opened by its first script.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's engine, opening one if there is none (or the last was
/// discarded). `f` returns whether the engine may be kept.
pub(crate) fn with_engine<R>(f: impl FnOnce(&mut Engine) -> (R, bool)) -> mlua::Result<R> {
    ENGINE.with(|cell| {
        // Taken out while it runs: a script cannot reach this thread's engine again (a script
        // does not run scripts), and a panic inside leaves no half-used engine behind.
        let mut engine = match cell.borrow_mut().take() {
            Some(engine) => engine,
            None => Engine::new()?,
        };
        let (result, keep) = f(&mut engine);
        if keep {
            *cell.borrow_mut() = Some(engine);
        }
        Ok(result)
    })
}

/// The per-call state the engine's lasting functions read: which server's kill flag to obey.
struct CallContext {
    lockless: Arc<Lockless>,
}

/// One Lua state with Redis's libraries, guarded so that scripts leave nothing in it.
pub(crate) struct Engine {
    pub(crate) lua: Lua,
    /// The real globals, where `KEYS` and `ARGV` are set for each call.
    real_globals: Table,
    /// The real `redis` table, where `redis.call` and `redis.pcall` are set for each call.
    pub(crate) redis: Table,
    /// The untouched `xpcall`, which scripts cannot reach, to run a script with.
    pub(crate) xpcall: Function,
    /// The message handler that records the script's line.
    pub(crate) handler: Function,
    /// Every proxy: each must still be empty after a call.
    proxies: Vec<Table>,
    /// Scripts' functions by SHA-1, loaded once.
    functions: HashMap<String, Function>,
    /// [`FLUSHES`] when `functions` was last emptied.
    flushes: u64,
    /// The global `cjson` module's settings, lent by the server for each call.
    cjson: super::cjson::Shared,
}

impl Engine {
    /// Opens a state with the libraries Redis gives scripts (base without `loadfile`,
    /// `dofile`, `print`, `load` and `newproxy`; `table`, `string`, `math`, `bit`, `cjson`,
    /// `cmsgpack`) and guards it.
    fn new() -> mlua::Result<Engine> {
        let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::new())?;
        lua.set_memory_limit(MEMORY_LIMIT)?;
        let real_globals = lua.globals();
        // `newproxy` too: Redis 7.0 does not have it.
        for name in ["loadfile", "dofile", "print", "load", "newproxy"] {
            real_globals.raw_set(name, Value::Nil)?;
        }
        let redis = redis_library(&lua)?;
        real_globals.raw_set("redis", redis.clone())?;
        real_globals.raw_set("bit", super::bit::library(&lua)?)?;
        let (cjson, cjson_settings) = super::cjson::library(&lua)?;
        real_globals.raw_set("cjson", cjson)?;
        real_globals.raw_set("cmsgpack", super::cmsgpack::library(&lua)?)?;
        let killed = lua.create_function(|lua, ()| {
            Ok(lua
                .app_data_ref::<CallContext>()
                .is_some_and(|call| call.lockless.script.kill_requested()))
        })?;
        let as_table = lua.create_function(|lua, raised: Value| as_error_table(lua, raised))?;
        let as_text = lua.create_function(|lua, raised: Value| as_error_text(lua, raised))?;
        let guards = lua.load(GUARDS).set_name("=guards").set_mode(ChunkMode::Text);
        let (globals, xpcall, proxies): (Table, Function, Table) =
            guards.call((killed, as_table, as_text))?;
        lua.set_globals(globals)?;
        let proxies = proxies.sequence_values::<Table>().collect::<mlua::Result<Vec<_>>>()?;
        let handler = lua.create_function(error_handler)?;
        Ok(Engine {
            lua,
            real_globals,
            redis,
            xpcall,
            handler,
            proxies,
            functions: HashMap::new(),
            flushes: FLUSHES.load(Ordering::Relaxed),
            cjson: cjson_settings,
        })
    }

    /// The function of the script with SHA-1 `sha`: kept from an earlier call, or made by
    /// `load` in this engine's state (which is then kept).
    pub(crate) fn function(
        &mut self,
        sha: &str,
        load: impl FnOnce(&Lua) -> Result<Function, CompileError>,
    ) -> Result<Function, CompileError> {
        let flushes = FLUSHES.load(Ordering::Relaxed);
        if flushes != self.flushes || self.functions.len() >= FUNCTIONS_KEPT {
            self.functions.clear();
            self.flushes = flushes;
        }
        if let Some(function) = self.functions.get(sha) {
            return Ok(function.clone());
        }
        let function = load(&self.lua)?;
        self.functions.insert(sha.to_owned(), function.clone());
        Ok(function)
    }

    /// Sets what one call needs: `KEYS`, `ARGV`, the server whose kill flag to obey, and
    /// the server's `cjson` settings.
    pub(crate) fn start_call(
        &self,
        keys: &[bytes::Bytes],
        argv: &[bytes::Bytes],
        lockless: Arc<Lockless>,
        cjson: CjsonConfig,
    ) -> mlua::Result<()> {
        *self.cjson.borrow_mut() = cjson;
        let lua = &self.lua;
        let strings = |items: &[bytes::Bytes]| {
            lua.create_sequence_from(
                items
                    .iter()
                    .map(|item| lua.create_string(item))
                    .collect::<mlua::Result<Vec<_>>>()?,
            )
        };
        self.real_globals.raw_set("KEYS", strings(keys)?)?;
        self.real_globals.raw_set("ARGV", strings(argv)?)?;
        lua.set_app_data(CallContext { lockless });
        Ok(())
    }

    /// The `cjson` settings as the call left them, for the server to keep.
    pub(crate) fn cjson_settings(&self) -> CjsonConfig {
        *self.cjson.borrow()
    }

    /// Undoes what a script may have changed outside the proxies, and checks the proxies.
    /// Returns whether the engine may serve another call.
    pub(crate) fn finish_call(&self) -> bool {
        let lua = &self.lua;
        lua.remove_hook();
        lua.remove_app_data::<CallContext>();
        lua.gc_restart();
        lua.gc_set_mode(GcMode::Incremental(
            GcIncParams::default().pause(DEFAULT_GC_PAUSE).step_multiplier(DEFAULT_GC_STEPMUL),
        ));
        let cleared = self.real_globals.raw_set("KEYS", Value::Nil).is_ok()
            && self.real_globals.raw_set("ARGV", Value::Nil).is_ok()
            && self.redis.raw_set("call", Value::Nil).is_ok()
            && self.redis.raw_set("pcall", Value::Nil).is_ok()
            && self.redis.raw_set("setresp", Value::Nil).is_ok();
        // Every write a proxy's metatable or a guard sees is refused. This is for one that
        // none of them sees: the state is dropped rather than handed to the next script.
        cleared && self.proxies.iter().all(Table::is_empty)
    }
}

/// Lua 5.1's defaults (`LUAI_GCPAUSE`, `LUAI_GCMUL`), restored after each call.
const DEFAULT_GC_PAUSE: i32 = 200;
const DEFAULT_GC_STEPMUL: i32 = 200;

/// The parts of the `redis` table that do not change between calls.
fn redis_library(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
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
            Ok(super::sha1_hex(&text.unwrap_or_default()))
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
    Ok(redis)
}

/// Lua run once per engine, with the real globals as its environment. It returns `G`, the
/// untouched `xpcall`, and the list of proxies.
///
/// - Every library table, the globals and the strings' metatable are replaced by proxies
///   (`protect`); the real tables stay reachable only through the proxies' `__index`.
/// - `rawget`, `next` and `pairs` read through a proxy, so that `pairs(string)` lists the
///   library as on Redis.
/// - `rawset`, `setmetatable`, `table.insert`, `table.remove` and `table.sort` refuse a
///   proxy; `getfenv` and `setfenv` are gone.
/// - `pcall` and `xpcall` re-raise once `SCRIPT KILL` has asked the script to stop, or a
///   script could catch the kill forever. An error raised by `redis.call` is the table
///   `{err = ...}` to an `xpcall` handler, but `pcall` returns its text, as Redis 7's own
///   `pcall` does for any error table (for the sake of scripts written when errors were
///   strings).
/// - `loadstring` refuses precompiled bytecode, which Lua 5.1 does not verify.
/// - Reading a global that does not exist is an error.
const GUARDS: &str = r#"
local killed, as_table, as_text = ...
local error, pcall, xpcall, type, tostring = error, pcall, xpcall, type, tostring
local rawset, rawget, next, pairs = rawset, rawget, next, pairs
local setmetatable, getmetatable = setmetatable, getmetatable
local loadstring, byte = loadstring, string.byte
local real_globals = _G

local real = setmetatable({}, {__mode = 'k'})
local proxies = {}
local readonly_text = 'Attempt to modify a readonly table'
local function readonly() error(readonly_text, 2) end
-- What `getmetatable` gives for a proxy: a table that refuses writes as well.
local metatable_view = setmetatable({}, {__newindex = readonly, __metatable = false})
real[metatable_view] = metatable_view
proxies[#proxies + 1] = metatable_view
local function protect(t)
  local proxy = setmetatable({}, {__index = t, __newindex = readonly, __metatable = metatable_view})
  real[proxy] = t
  proxies[#proxies + 1] = proxy
  return proxy
end
local function unwrap(t) return real[t] or t end
local function set(name, f) rawset(real_globals, name, f) end

local strings = getmetatable('')
for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'redis', 'bit', 'cjson', 'cmsgpack'}) do
  rawset(real_globals, name, protect(rawget(real_globals, name)))
end
rawset(strings, '__index', rawget(real_globals, 'string'))
rawset(strings, '__metatable', protect(strings))

local function check(caught, ok, ...)
  if ok then return ok, ... end
  if killed() then error((...), 0) end
  return ok, caught((...))
end
set('pcall', function(...) return check(as_text, pcall(...)) end)
set('xpcall', function(f, h)
  return check(as_table, xpcall(f, function(e) return h(as_table(e)) end))
end)
set('loadstring', function(chunk, name)
  if type(chunk) == 'string' and byte(chunk, 1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  return loadstring(chunk, name)
end)
-- Builtins that write into a table they are given: the error has no position, as on Redis,
-- where the table write inside the C function raises it (not `luaL_error`, which would add
-- the caller's line).
local function refuse_proxy(t) if real[t] then error(readonly_text, 0) end end
set('rawset', function(t, k, v)
  refuse_proxy(t)
  local result = rawset(t, k, v)
  return result
end)
set('setmetatable', function(t, meta)
  refuse_proxy(t)
  local result = setmetatable(t, meta)
  return result
end)
local tables = real[rawget(real_globals, 'table')]
local insert, remove, sort = tables.insert, tables.remove, tables.sort
rawset(tables, 'insert', function(t, ...) refuse_proxy(t); insert(t, ...) end)
rawset(tables, 'remove', function(t, ...)
  refuse_proxy(t)
  local removed = remove(t, ...)
  return removed
end)
rawset(tables, 'sort', function(t, ...) refuse_proxy(t); sort(t, ...) end)
set('rawget', function(t, k)
  local value = rawget(unwrap(t), k)
  return value
end)
local function next_through(t, k)
  local key, value = next(unwrap(t), k)
  return key, value
end
set('next', next_through)
set('pairs', function(t)
  local _ = pairs(t)
  return next_through, t, nil
end)

local G = protect(real_globals)
-- Not in Redis 7.0 either. `getfenv` would hand out the real globals (every library
-- function's environment), `setfenv` change the environment of the guards or the thread.
rawset(real_globals, 'getfenv', nil)
rawset(real_globals, 'setfenv', nil)
rawset(real_globals, '_G', G)
setmetatable(real_globals, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
  __metatable = false,
})
return G, xpcall, proxies
"#;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mlua::Value;

    use super::with_engine;
    use crate::server::Config;
    use crate::server::script::run::{compile, failure_text};
    use crate::server::script::sha1_hex;
    use crate::server::store::Store;

    /// Runs `code` as a script in this thread's engine, without a store (no `redis.call`):
    /// what it returned (`tostring` of it) or its error text, and whether the engine was kept.
    fn run(code: &str) -> (String, bool) {
        let lockless = Arc::clone(&Store::new(Config::default()).lockless);
        let sha = sha1_hex(code.as_bytes());
        with_engine(|engine| {
            let Ok(function) = engine.function(&sha, |lua| compile(lua, code.as_bytes())) else {
                return ((format!("does not compile: {code}"), true), true);
            };
            let started = engine.start_call(&[], &[], Arc::clone(&lockless), Default::default());
            assert!(started.is_ok());
            let result: mlua::Result<(bool, Value)> =
                engine.xpcall.call((function.clone(), engine.handler.clone()));
            let keep = engine.finish_call() && result.is_ok();
            let text = match result {
                Ok((true, value)) => engine
                    .lua
                    .coerce_string(value)
                    .ok()
                    .flatten()
                    .map_or_else(|| "(not a string)".to_string(), |text| text.to_string_lossy()),
                Ok((false, value)) => failure_text(&value, &sha),
                Err(e) => format!("engine error: {e}"),
            };
            ((text, keep), keep)
        })
        .unwrap_or_else(|e| (format!("cannot open an engine: {e}"), false))
    }

    /// What a script can see of the state it runs in: every library's keys, the globals'
    /// keys, and where the strings' metatable leads.
    const PROBE: &str = r#"
local parts = {}
local function keys(t)
  local names = {}
  for k, v in pairs(t) do names[#names + 1] = tostring(k) .. ':' .. type(v) end
  table.sort(names)
  return table.concat(names, ',')
end
for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'redis', 'bit', 'cjson', 'cmsgpack'}) do
  parts[#parts + 1] = name .. '=' .. keys(_G[name])
end
parts[#parts + 1] = 'G=' .. keys(_G)
parts[#parts + 1] = tostring(getmetatable('').__index == string) .. tostring(rawget(_G, 'leak'))
  .. tostring(('x'):upper()) .. tostring(string[1])
  .. tostring(pcall(function() return _G[1] end))
return table.concat(parts, ';')
"#;

    #[test]
    fn a_script_leaves_nothing_for_the_next() {
        let clean = run(PROBE);
        assert!(clean.0.contains("string=byte:function") && clean.1, "{clean:?}");
        assert!(clean.0.ends_with("truenilXnilfalse"), "{}", clean.0);
        let readonly = "Attempt to modify a readonly table";
        // Each trick, and the error it must end in (redis-server 7.0.15's, where it has one):
        // `Some(true)` for the text with the script's line, as an assignment gives it, and
        // `Some(false)` without, as a builtin gives it.
        let tricks: &[(&str, Option<bool>)] = &[
            // Redis's own "Try trick" tests (unit/scripting).
            ("setmetatable(_G, {})", Some(false)),
            ("local g = getmetatable(_G); g.__index = {}", Some(true)),
            ("redis = function() return 1 end", Some(true)),
            ("_G = {}", Some(true)),
            ("redis.call = function() return 1 end", Some(true)),
            ("bit.lshift = function() return 1 end", Some(true)),
            ("cjson.encode = function() return 1 end", Some(true)),
            ("cmsgpack.pack = function() return 1 end", Some(true)),
            // Ways around proxies.
            ("leak = 1", Some(true)),
            ("string.upper = nil", Some(true)),
            ("local s = string; s.leak = 1", Some(true)),
            ("coroutine.leak = 1", Some(true)),
            ("_G._G.leak = 1", Some(true)),
            ("getmetatable('').__index = {}", Some(true)),
            ("getmetatable('').__index.leak = 1", Some(true)),
            ("getmetatable('').__index.upper = nil", Some(true)),
            ("rawset(_G, 'leak', 1)", Some(false)),
            ("rawset(string, 'leak', 1)", Some(false)),
            ("rawset(getmetatable(_G), 'leak', 1)", Some(false)),
            ("rawset(getmetatable(''), '__index', {})", Some(false)),
            ("setmetatable(string, {})", Some(false)),
            ("table.insert(_G, 'leak')", Some(false)),
            ("table.insert(string, 'leak')", Some(false)),
            ("table.remove(_G)", Some(false)),
            ("table.sort(_G)", Some(false)),
            (
                "for _, v in pairs(_G) do if type(v) == 'table' then rawset(v, 'leak', 1) end end",
                Some(false),
            ),
            // Allowed: undone after the call.
            ("collectgarbage('stop')", None),
            ("KEYS[1] = 'leak'; ARGV[1] = 'leak'", None),
        ];
        for (trick, with_line) in tricks {
            let (text, _) = run(trick);
            match with_line {
                Some(true) => assert!(
                    text.starts_with(&format!("ERR user_script:1: {readonly}")),
                    "{trick}: {text}"
                ),
                Some(false) => {
                    assert!(text.starts_with(&format!("ERR {readonly}")), "{trick}: {text}")
                }
                None => assert!(!text.starts_with("ERR"), "{trick}: {text}"),
            }
            assert_eq!(run(PROBE), clean, "after {trick}");
        }
        // Gone from the globals, as on Redis 7.0.
        for name in ["getfenv", "setfenv", "print", "loadfile", "dofile", "debug"] {
            let (text, _) = run(&format!("return {name}"));
            assert!(text.contains("nonexistent global variable"), "{name}: {text}");
        }
    }
}

#[cfg(test)]
mod safety_net {
    use super::with_engine;

    #[test]
    fn an_engine_with_a_written_proxy_is_not_kept() {
        let kept = with_engine(|engine| {
            // As a way around the guards would: the globals the scripts see are a proxy.
            let written = engine.lua.globals().raw_set("leak", 1).is_ok();
            let kept = engine.finish_call();
            ((written, kept), kept)
        });
        assert_eq!(kept.ok(), Some((true, false)));
        let fresh = with_engine(|engine| {
            let leak: mlua::Value =
                engine.lua.globals().raw_get("leak").unwrap_or(mlua::Value::Nil);
            (leak.is_nil(), true)
        });
        assert_eq!(fresh.ok(), Some(true));
    }
}
