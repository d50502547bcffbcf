//! Lua scripting (`EVAL`): the script cache, running a script, and the state that lets other
//! connections answer `-BUSY` while one runs too long.
//!
//! A script runs with the store's lock held from start to end, which is what makes it atomic.
//! It runs on a thread of its own, not on the connections' runtime (see `net`), so that the
//! other connections can still be answered: first by waiting, as on Redis's single thread,
//! then, once the script has run for `lua-time-limit` milliseconds, with `-BUSY` — except for
//! `SCRIPT KILL`, which stops a script that has not written anything yet.
//!
//! | module     | what it is                                                              |
//! |------------|-------------------------------------------------------------------------|
//! | `watch`    | running / busy / kill flags, readable without the store's lock          |
//! | `engine`   | the Lua 5.1 state kept from call to call, and its read-only proxies     |
//! | `run`      | one call: `KEYS`, `ARGV`, `redis.call` for this call, the hook, reply   |
//! | `convert`  | replies to Lua values and back, by Redis's table of rules               |
//! | `lauxlib`  | `luaL_error` and the argument checks, for the libraries below           |
//! | `bit`      | the `bit` library (LuaBitOp): 32-bit bitwise operations on doubles      |
//! | `cjson`    | the `cjson` library (Lua CJSON): JSON to Lua values and back            |
//! | `cmsgpack` | the `cmsgpack` library (lua-cmsgpack): MessagePack to Lua values and back |
//!
//! Effects, not scripts, are logged to the append-only file: each write command a script runs
//! is logged as it runs, all of them inside one `MULTI`/`EXEC`, so a replay does not depend on
//! the script (or on the clock and randomness it saw) and a torn log drops all of a script's
//! writes or none.

mod bit;
mod cjson;
mod cmsgpack;
mod convert;
mod engine;
mod lauxlib;
mod run;
mod watch;

use std::collections::HashMap;

use bytes::Bytes;
use sha1::{Digest, Sha1};

pub(crate) use run::{CompileError, Script, check_compiles, run_script};
pub(crate) use watch::{Kill, ScriptWatch};

/// How many stack slots Lua 5.1 lets a C function have (`LUAI_MAXCSTACK`). Redis's `cjson`
/// and `cmsgpack` ask for slots as they nest, so they stop where this runs out whatever
/// their own limits say; ours count the slots the C code would hold, to stop at the same
/// place.
const LUA_STACK_SLOTS: usize = 8000;

/// The most memory one script's Lua state may allocate; past it, the allocation fails with a
/// Lua error (`not enough memory`) that ends the script, not the server.
pub(crate) const MEMORY_LIMIT: usize = 1 << 30;

/// The bodies of the scripts seen by `EVAL` and `SCRIPT LOAD`, by SHA-1, for `EVALSHA`; and
/// the bytecode each compiled to, so that a script is parsed once, not at every call.
#[derive(Debug, Default)]
pub(crate) struct ScriptCache {
    bodies: HashMap<String, Bytes>,
    /// Lua 5.1 bytecode by the SHA-1 of the body it was compiled from, here, by this
    /// process's own compiler (`string.dump` of its function). Never anything a client sent:
    /// Lua does not verify bytecode, and a crafted chunk could crash the VM.
    compiled: HashMap<String, Vec<u8>>,
    /// The bytes held in `compiled`, at most [`COMPILED_BYTES`].
    compiled_bytes: usize,
    /// The global `cjson` module's settings, which scripts may change for the scripts
    /// after them (Redis keeps them in its one Lua state, until `SCRIPT FLUSH`).
    pub(crate) cjson: cjson::Config,
}

/// The most bytecode kept: past it, everything compiled is dropped and compiled again as the
/// scripts come back. (The bodies themselves stay until `SCRIPT FLUSH`, as in Redis 7.0.)
const COMPILED_BYTES: usize = 64 << 20;

impl ScriptCache {
    /// The body whose SHA-1 is `sha` (40 hex digits, any case), with that SHA-1 in lower
    /// case, as the cache keys it.
    pub(crate) fn get(&self, sha: &[u8]) -> Option<(String, Bytes)> {
        let sha = std::str::from_utf8(sha).ok()?.to_ascii_lowercase();
        let body = self.bodies.get(&sha)?.clone();
        Some((sha, body))
    }

    /// Remembers `body`; returns its SHA-1.
    pub(crate) fn insert(&mut self, body: Bytes) -> String {
        let sha = sha1_hex(&body);
        self.insert_hashed(sha.clone(), body);
        sha
    }

    /// Remembers `body`, whose SHA-1 the caller has computed already.
    pub(crate) fn insert_hashed(&mut self, sha: String, body: Bytes) {
        self.bodies.entry(sha).or_insert(body);
    }

    /// How many bodies are cached (`INFO`'s `number_of_cached_scripts`).
    pub(crate) fn len(&self) -> usize {
        self.bodies.len()
    }

    pub(crate) fn contains(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha)
            .is_ok_and(|sha| self.bodies.contains_key(&sha.to_ascii_lowercase()))
    }

    /// The bytecode the body with SHA-1 `sha` compiled to, if it has been compiled.
    pub(crate) fn compiled(&self, sha: &str) -> Option<&[u8]> {
        self.compiled.get(sha).map(Vec::as_slice)
    }

    /// Remembers what the body with SHA-1 `sha` compiled to (unless that alone is past the
    /// bound: such a script is compiled at every call).
    pub(crate) fn remember_compiled(&mut self, sha: String, bytecode: Vec<u8>) {
        if bytecode.len() > COMPILED_BYTES {
            return;
        }
        if self.compiled_bytes + bytecode.len() > COMPILED_BYTES {
            self.compiled.clear();
            self.compiled_bytes = 0;
        }
        self.compiled_bytes += bytecode.len();
        if let Some(old) = self.compiled.insert(sha, bytecode) {
            self.compiled_bytes -= old.len();
        }
    }

    /// `SCRIPT FLUSH`: the engines forget the scripts' functions too, and `cjson` is back
    /// to its defaults, as in Redis's new Lua state.
    pub(crate) fn clear(&mut self) {
        engine::forget_functions();
        self.cjson = cjson::Config::default();
        self.bodies.clear();
        self.compiled.clear();
        self.compiled_bytes = 0;
    }
}

/// The SHA-1 of `data` in lower-case hex, as `redis.sha1hex` and `SCRIPT LOAD` give it.
pub(crate) fn sha1_hex(data: &[u8]) -> String {
    let digest = Sha1::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{COMPILED_BYTES, ScriptCache, sha1_hex};

    #[test]
    fn the_bytecode_kept_is_bounded() {
        let mut cache = ScriptCache::default();
        let chunk = COMPILED_BYTES / 4 + 1;
        for i in 0..4 {
            cache.remember_compiled(format!("sha{i}"), vec![0; chunk]);
        }
        // The fourth would have passed the bound: the first three were dropped for it.
        assert!(cache.compiled("sha0").is_none() && cache.compiled("sha3").is_some());
        assert!(cache.compiled_bytes <= COMPILED_BYTES);
        cache.remember_compiled("sha3".into(), vec![0; 10]);
        assert_eq!(cache.compiled_bytes, 10);
        cache.remember_compiled("huge".into(), vec![0; COMPILED_BYTES + 1]);
        assert!(cache.compiled("huge").is_none() && cache.compiled("sha3").is_some());
    }

    #[test]
    fn sha1_of_the_empty_string_and_a_script() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        // `redis-cli script load "return 1"` on Redis 7.0.
        assert_eq!(sha1_hex(b"return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    }
}
