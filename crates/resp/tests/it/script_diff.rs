//! Random Lua scripts run by our server and by a real `redis-server`, which must reply the
//! same: the conversions between Lua and RESP both ways (numbers truncated, arrays cut at the
//! first nil, status and error tables, `false` as a null), `redis.call` raising and
//! `redis.pcall` returning errors, and the error texts of Lua's own runtime errors.
//!
//! Runs only when `BYO_REDIS_SERVER` names a `redis-server` binary (CI sets it); otherwise it
//! says so and passes. The scripts come from a small grammar over two keys, so that they
//! collide often: a string incremented, a list read as a hash, a score that is not a number.

use std::cell::RefCell;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use byo_resp::Frame;
use byo_resp::server::Config;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

use crate::server::{Conn, TestServer};

/// A `redis-server` on a free port, killed when dropped.
struct RealRedis {
    child: Child,
}

impl RealRedis {
    /// Starts `binary` on a port below Linux's ephemeral range (32768 and up), so that no
    /// test server of this process, which binds port 0, can take it first; another port is
    /// tried if the server cannot bind. The connection made is checked to reach this very
    /// process (`INFO`'s `process_id`), not some other server on that port.
    fn start(binary: &str) -> (RealRedis, Conn) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        let seed = u64::from(std::process::id()) ^ now.map_or(0, |d| u64::from(d.subsec_nanos()));
        for attempt in 0..8u64 {
            let port = 20_000 + ((seed + attempt * 7_919) % 12_000) as u16;
            let mut child = Command::new(binary)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
                .args(["--appendonly", "no"])
                // `cargo test` points the loader at the build directories of the workspace's
                // native dependencies, one of which is a jemalloc with prefixed symbols: the
                // real server must load the system's libraries.
                .env_remove("LD_LIBRARY_PATH")
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + Duration::from_secs(10);
            let stream = loop {
                if let Ok(stream) = TcpStream::connect(addr) {
                    break Some(stream);
                }
                if child.try_wait().ok().flatten().is_some() {
                    break None; // most likely the port was taken: try another
                }
                assert!(Instant::now() < deadline, "{binary} did not listen on {addr}");
                std::thread::sleep(Duration::from_millis(20));
            };
            let redis = RealRedis { child };
            let Some(stream) = stream else { continue };
            let mut conn = Conn::from_stream(stream);
            let info = match conn.call(&["INFO", "server"]) {
                Frame::Bulk(text) => String::from_utf8_lossy(&text).into_owned(),
                _ => String::new(),
            };
            if info.contains(&format!("process_id:{}\r\n", redis.child.id())) {
                return (redis, conn);
            }
        }
        panic!("could not start {binary} on a free port");
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pick(choices: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    prop::sample::select(choices).prop_map(str::to_owned)
}

fn key() -> impl Strategy<Value = String> + Clone {
    pick(&["'a'", "'b'"])
}

/// Arguments that are sometimes numbers, sometimes not.
fn word() -> impl Strategy<Value = String> + Clone {
    pick(&["'1'", "'-7'", "'2.5'", "'10'", "'x'", "''", "'1e3'", "'-0.25'", "'inf'", "'007'"])
}

/// An argument to a call: mostly strings, sometimes a Lua number (which Redis formats) or
/// a value that is not an argument at all.
fn arg() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => word(),
        1 => pick(&["3", "2.5", "0.1", "-0.0", "1/3", "1e20", "2^63", "-7", "1e-5", "123456789012"]),
        1 => pick(&["true", "false", "nil", "{}", "{'x'}"]),
    ]
}

/// A call that may write, through `redis.pcall` so that a wrong type does not end the script.
fn write() -> impl Strategy<Value = String> {
    let one =
        |name: &'static str| (key(), arg()).prop_map(move |(k, w)| format!("'{name}', {k}, {w}"));
    let two = |name: &'static str| {
        (key(), arg(), arg()).prop_map(move |(k, v, w)| format!("'{name}', {k}, {v}, {w}"))
    };
    prop_oneof![
        one("SET"),
        one("APPEND"),
        one("INCRBY"),
        one("INCRBYFLOAT"),
        two("RPUSH"),
        two("HSET"),
        two("HINCRBYFLOAT"),
        two("ZADD"),
        key().prop_map(|k| format!("'LPOP', {k}")),
        key().prop_map(|k| format!("'DEL', {k}")),
    ]
    .prop_map(|call| format!("redis.pcall({call})"))
}

/// A call whose reply is worth returning, through `redis.call` or `redis.pcall`.
fn read() -> impl Strategy<Value = String> {
    let calls = prop_oneof![
        key().prop_map(|k| format!("'GET', {k}")),
        key().prop_map(|k| format!("'INCR', {k}")),
        key().prop_map(|k| format!("'TYPE', {k}")),
        key().prop_map(|k| format!("'LRANGE', {k}, '0', '-1'")),
        key().prop_map(|k| format!("'ZRANGE', {k}, '0', '-1', 'WITHSCORES'")),
        (key(), word()).prop_map(|(k, w)| format!("'ZSCORE', {k}, {w}")),
        (key(), word()).prop_map(|(k, w)| format!("'HGET', {k}, {w}")),
        key().prop_map(|k| format!("'STRLEN', {k}")),
        (key(), arg()).prop_map(|(k, w)| format!("'INCRBYFLOAT', {k}, {w}")),
        Just("'MGET', 'a', 'b'".to_owned()),
        Just("'NOSUCHCOMMAND'".to_owned()),
        Just("'GET'".to_owned()),
        Just("'SET', 'a', 'v', 'EX', '0'".to_owned()),
        Just(String::new()),
    ];
    (calls, pick(&["call", "pcall"])).prop_map(|(call, how)| format!("redis.{how}({call})"))
}

/// A Lua expression: literals, calls, tables (arrays with holes, status and error tables),
/// the reply helpers, and arithmetic and length operators that Lua may refuse.
fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        pick(&["0", "42", "-3", "3.99", "-3.99", "1e3", "0.5", "2^53", "1/0", "-(1/0)"]),
        pick(&["'text'", "''", "'OK'", "'12'"]),
        pick(&["true", "false", "nil"]),
        pick(&["redis.sha1hex(12)", "redis.sha1hex(true)", "redis.sha1hex('a', 'b')"]),
        // Errors raised by the script itself, and a Redis error caught by Lua's own pcall.
        pick(&["error('boom')", "error({err = 'MINE x'})", "error()"]),
        pick(&[
            "{pcall(redis.call, 'INCR', 'x', 'y')}",
            "{pcall(redis.call, 'NOSUCH')}",
            "{pcall(error, {err = 'MINE'})}",
            "{pcall(redis.sha1hex)}",
            "select(2, xpcall(function() return redis.call('GET') end, function(e) return e end))",
            "type(select(2, xpcall(function() redis.call('X') end, function(e) return e end)))",
        ]),
        read(),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("{{{}}}", items.join(", "))),
            arg().prop_map(|w| format!("{{ok = {w}}}")),
            arg().prop_map(|w| format!("{{err = {w}}}")),
            arg().prop_map(|w| format!("redis.status_reply({w})")),
            arg().prop_map(|w| format!("redis.error_reply({w})")),
            inner.clone().prop_map(|e| format!("type({e})")),
            inner.clone().prop_map(|e| format!("(tonumber({e}) or 0) + 0.5")),
            inner.clone().prop_map(|e| format!("#{e}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{{{a}, nil, {b}}}")),
        ]
    })
}

fn script() -> impl Strategy<Value = String> {
    (prop::collection::vec(write(), 0..5), expr()).prop_map(|(writes, value)| {
        let mut lines = writes;
        lines.push(format!("return {value}"));
        lines.join("\n")
    })
}

/// Runs `script` on an empty keyspace and returns its reply and what it left under the keys.
fn outcome(conn: &mut Conn, script: &str) -> Vec<Frame> {
    assert_eq!(conn.call(&["FLUSHALL"]), Frame::Simple("OK".into()));
    let reply = conn.call(&["EVAL", script, "0"]);
    let left = ["a", "b"].map(|key| conn.call(&["TYPE", key]));
    let mut outcome = vec![reply];
    outcome.extend(left);
    outcome
}

#[test]
fn random_scripts_reply_as_redis_does() {
    let Ok(binary) = std::env::var("BYO_REDIS_SERVER") else {
        eprintln!("skipped: set BYO_REDIS_SERVER to a redis-server binary");
        return;
    };
    let (_redis, theirs) = RealRedis::start(&binary);
    let ours = TestServer::start(Config::default());
    // The runner's closure is `Fn`; the two connections are used by one case at a time.
    let theirs = RefCell::new(theirs);
    let mine = RefCell::new(ours.connect());
    let mut runner = TestRunner::new(RunnerConfig { cases: 512, ..RunnerConfig::default() });
    let result = runner.run(&script(), |script| {
        let expected = outcome(&mut theirs.borrow_mut(), &script);
        let got = outcome(&mut mine.borrow_mut(), &script);
        prop_assert_eq!(got, expected, "script:\n{}", script);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
