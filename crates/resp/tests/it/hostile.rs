//! Every command the server lists in `COMMAND`, called with hostile arguments: numbers at and
//! past the ends of `i64`, `inf` and `nan`, range and id syntax where none is expected,
//! option words out of place, empty and binary strings, and keys of every type. Whatever the
//! reply, the server must give one and go on answering: a handler that panics would drop the
//! connection, and the `PING` after each command would go unanswered.
//!
//! Left out are the commands that would stop the test rather than the server: those that
//! block (`BLPOP`, `XREAD`, `WAIT`, ...), close or reset the connection, silence or queue its
//! replies (`CLIENT`, `MULTI`, `SUBSCRIBE`), or change what the next case may do (`CONFIG`,
//! `AUTH`, `SHUTDOWN`, `DEBUG`). Half the cases speak RESP3, whose replies take other shapes.

use byo_resp::Frame;
use byo_resp::server::Config;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

use crate::real_redis::cases;
use crate::server::{Conn, TestServer};

const LEFT_OUT: &[&str] = &[
    "blpop",
    "brpop",
    "blmove",
    "brpoplpush",
    "blmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
    "xread",
    "xreadgroup",
    "wait",
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "monitor",
    "quit",
    "reset",
    "client",
    "multi",
    "config",
    "auth",
    "shutdown",
    "debug",
    "hello",
];

/// Arguments, chosen to sit on every parser's edges.
const WORDS: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "2",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "0.5",
    "(1",
    "[a",
    "-",
    "+",
    "*",
    "?",
    "$",
    "#",
    "0-0",
    "1-*",
    "18446744073709551615-1",
    "str",
    "list",
    "hash",
    "set",
    "zset",
    "stream",
    "missing",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "WITHSCORES",
    "LIMIT",
    "COUNT",
    "BY",
    "GET",
    "STORE",
    "REV",
    "BYSCORE",
    "BYLEX",
    "MATCH",
    "TYPE",
    "STREAMS",
    "GROUP",
    "MKSTREAM",
    "IDLE",
    "JUSTID",
    "MAXLEN",
    "MINID",
    "~",
    "=",
    "u8",
    "i64",
    "#3",
    "OVERFLOW",
    "FAIL",
    "AND",
    "NOT",
    "EX",
    "PX",
    "KEEPTTL",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "ALPHA",
    "WEIGHTS",
    "AGGREGATE",
    "SUM",
    "MIN",
    "MAX",
    "RANK",
    "WITHVALUES",
    "IDX",
    "LEN",
    "ASYNC",
    "return 1",
    "return redis.call('get', KEYS[1])",
    "\u{0}\u{ff}",
];

/// One command: an index into the command list, indexes into `WORDS` for its arguments, and
/// now and then a few random bytes as the last one.
type Call = (usize, Vec<usize>, Option<Vec<u8>>);

/// One case: RESP3 or not, and its commands.
fn case() -> impl Strategy<Value = (bool, Vec<Call>)> {
    let args = prop::collection::vec(0..WORDS.len(), 0..8);
    let raw = prop::option::weighted(0.1, prop::collection::vec(any::<u8>(), 0..12));
    (any::<bool>(), prop::collection::vec((any::<usize>(), args, raw), 1..7))
}

/// Every key type under its own name, in database 0.
fn populate(conn: &mut Conn) {
    conn.call(&["FLUSHALL"]);
    conn.call(&["SET", "str", "10"]);
    conn.call(&["RPUSH", "list", "a", "b", "c"]);
    conn.call(&["HSET", "hash", "f", "1", "g", "x"]);
    conn.call(&["SADD", "set", "a", "1"]);
    conn.call(&["ZADD", "zset", "1", "a", "2", "b"]);
    conn.call(&["XADD", "stream", "1-1", "f", "v"]);
    conn.call(&["XGROUP", "CREATE", "stream", "GROUP", "0"]);
}

#[test]
fn every_command_answers_hostile_arguments_and_the_server_goes_on() {
    // `BGREWRITEAOF` writes an AOF even when it is off: into a directory of the test's own.
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.set("dir", dir.path().to_str().unwrap()).unwrap();
    let server = TestServer::start(config);
    let mut conn = server.connect();
    let Frame::Array(entries) = conn.call(&["COMMAND"]) else { panic!("COMMAND is an array") };
    let names: Vec<String> = entries
        .iter()
        .filter_map(|entry| match entry {
            Frame::Array(fields) => match fields.first() {
                Some(Frame::Bulk(name)) => Some(String::from_utf8_lossy(name).into_owned()),
                _ => None,
            },
            _ => None,
        })
        .filter(|name| !LEFT_OUT.contains(&name.as_str()))
        .collect();
    assert!(names.len() > 150, "COMMAND listed only {} commands", names.len());
    let conn = std::cell::RefCell::new(conn);
    let mut runner = TestRunner::new(RunnerConfig { cases: cases(256), ..RunnerConfig::default() });
    let result = runner.run(&case(), |(resp3, commands)| {
        let mut conn = conn.borrow_mut();
        // A fresh connection: nothing left in flight by a case that failed.
        conn.reconnect();
        if resp3 {
            conn.call(&["HELLO", "3"]);
        }
        populate(&mut conn);
        for (command, args, raw) in &commands {
            let mut parts: Vec<Vec<u8>> = vec![names[command % names.len()].clone().into_bytes()];
            parts.extend(args.iter().map(|&word| WORDS[word].as_bytes().to_vec()));
            parts.extend(raw.clone());
            let mut request = Vec::new();
            Frame::Array(parts.iter().map(|p| Frame::Bulk(p.clone().into())).collect())
                .encode(&mut request);
            conn.send_raw(&request);
            // Some commands reply more than once (`UNSUBSCRIBE a b`): read up to the marker.
            conn.send(&["PING", "end-of-command"]);
            let shown: Vec<String> =
                parts.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            let mut replies = 0;
            loop {
                match conn.read() {
                    Some(frame) if frame == Frame::bulk("end-of-command") => break,
                    Some(_) => replies += 1,
                    None => prop_assert!(false, "the connection closed after {:?}", shown),
                }
            }
            prop_assert!(replies > 0, "no reply to {:?}", shown);
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
