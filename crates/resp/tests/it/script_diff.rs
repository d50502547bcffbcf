//! Random Lua scripts run by our server and by a real `redis-server`, which must reply the
//! same: the conversions between Lua and RESP both ways (numbers truncated, arrays cut at the
//! first nil, status and error tables, `false` as a null), `redis.call` raising and
//! `redis.pcall` returning errors, the error texts of Lua's own runtime errors, and the `bit`
//! library's results and argument errors.
//!
//! Runs only when `BYO_REDIS_SERVER` names a `redis-server` binary (CI sets it); otherwise it
//! says so and passes. The scripts come from a small grammar over two keys, so that they
//! collide often: a string incremented, a list read as a hash, a score that is not a number.

use byo_resp::Frame;
use proptest::prelude::*;
use sha1::{Digest, Sha1};

use crate::real_redis::differential;
use crate::server::Conn;

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
        // RESP3 maps, doubles and nulls once the script has called `redis.setresp(3)`.
        key().prop_map(|k| format!("'HGETALL', {k}")),
        key().prop_map(|k| format!("'SMEMBERS', {k}")),
        (key(), arg()).prop_map(|(k, w)| format!("'INCRBYFLOAT', {k}, {w}")),
        Just("'MGET', 'a', 'b'".to_owned()),
        Just("'NOSUCHCOMMAND'".to_owned()),
        Just("'GET'".to_owned()),
        Just("'SET', 'a', 'v', 'EX', '0'".to_owned()),
        Just(String::new()),
    ];
    (calls, pick(&["call", "pcall"])).prop_map(|(call, how)| format!("redis.{how}({call})"))
}

/// A call into the `bit` library, on numbers where LuaBitOp's conversion is delicate
/// (halves, the edges of 32 and 53 bits, infinities, strings Lua reads as numbers) and on
/// arguments that are not numbers or are missing.
fn bit_op() -> impl Strategy<Value = String> {
    let operation = pick(&[
        "tobit", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift", "rol", "ror",
        "bswap", "tohex",
    ]);
    let number = pick(&[
        "0",
        "-1",
        "1.5",
        "2.5",
        "-1.5",
        "0xffffffff",
        "2^31",
        "-2^31",
        "2^32 + 7",
        "2^52",
        "2^53 + 2",
        "-2^60",
        "1/0",
        "0/0",
        "33",
        "-9",
        "'12'",
        "' 0x10 '",
        "'x'",
        "nil",
        "{}",
    ]);
    (operation, prop::collection::vec(number, 0..4))
        .prop_map(|(operation, args)| format!("bit.{operation}({})", args.join(", ")))
}

/// A Lua expression: literals, calls, tables (arrays with holes, status and error tables),
/// the reply helpers, `bit` operations, and arithmetic and length operators that Lua may
/// refuse.
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
        bit_op(),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("{{{}}}", items.join(", "))),
            arg().prop_map(|w| format!("{{ok = {w}}}")),
            arg().prop_map(|w| format!("{{err = {w}}}")),
            arg().prop_map(|w| format!("redis.status_reply({w})")),
            arg().prop_map(|w| format!("redis.error_reply({w})")),
            // The tables a script returns RESP3 types with, whole or not.
            inner.clone().prop_map(|e| format!("{{double = {e}}}")),
            // Digits only: Redis writes any string as a big number, which no RESP3 client
            // (nor this test's) can read.
            pick(&["'123456789012345678901234567890'", "'-7'", "12"])
                .prop_map(|e| format!("{{big_number = {e}}}")),
            inner
                .clone()
                .prop_map(|e| format!("{{verbatim_string = {{format = 'mkd', string = {e}}}}}")),
            (word(), inner.clone()).prop_map(|(k, e)| format!("{{map = {{[{k}] = {e}, z = 1}}}}")),
            inner.clone().prop_map(|e| format!("{{set = {{[{e}] = true}}}}")),
            inner.clone().prop_map(|e| format!("(({e}) or {{}}).map")),
            inner.clone().prop_map(|e| format!("type({e})")),
            inner.clone().prop_map(|e| format!("(tonumber({e}) or 0) + 0.5")),
            inner.clone().prop_map(|e| format!("#{e}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{{{a}, nil, {b}}}")),
        ]
    })
}

/// Writes, then a value returned, in RESP2 (the default) or RESP3 (`redis.setresp`).
fn script() -> impl Strategy<Value = String> {
    let resp = pick(&["", "redis.setresp(2)", "redis.setresp(3)"]);
    (resp, prop::collection::vec(write(), 0..5), expr()).prop_map(|(resp, writes, value)| {
        let mut lines = vec![resp];
        lines.extend(writes);
        lines.push(format!("return {value}"));
        lines.join("\n")
    })
}

/// Runs `script` on an empty keyspace, then again by its SHA-1 on what the first run left
/// (our server then runs the bytecode it kept instead of compiling the source), from a RESP2
/// client, then by its SHA-1 from a RESP3 client; returns the replies and what was left
/// under the keys after each.
fn outcome(conn: &mut Conn, script: &str) -> Vec<Frame> {
    assert_eq!(conn.call(&["FLUSHALL"]), Frame::Simple("OK".into()));
    let sha: String = Sha1::digest(script.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let mut outcome = Vec::new();
    for (call, resp3) in [
        (["EVAL", script, "0"], false),
        (["EVALSHA", &sha, "0"], false),
        (["EVALSHA", &sha, "0"], true),
    ] {
        if resp3 {
            conn.call(&["HELLO", "3"]); // its reply (the server's version and ids) differs
        }
        outcome.push(conn.call(&call));
        outcome.extend(["a", "b"].map(|key| conn.call(&["TYPE", key])));
        if resp3 {
            conn.call(&["HELLO", "2"]);
        }
    }
    outcome
}

#[test]
fn random_scripts_reply_as_redis_does() {
    differential(
        script(),
        |conn, script| outcome(conn, script),
        |script| format!("script:\n{script}"),
    );
}

#[test]
fn random_bit_operations_reply_as_redis_does() {
    differential(
        bit_op().prop_map(|call| format!("return {call}")),
        |conn, script| outcome(conn, script),
        |script| format!("script:\n{script}"),
    );
}
