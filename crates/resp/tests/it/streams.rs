//! Streams over real sockets: blocked readers woken by `XADD` and told when their group goes,
//! node-wise approximate trimming, consumer groups, and hostile arguments.

use std::time::{Duration, Instant};

use byo_resp::Frame;
use byo_resp::check::render;
use byo_resp::server::Config;
use proptest::prelude::*;

use crate::blocking::{blocked_clients, wait_blocked};
use crate::server::{Conn, TestServer};

/// A reply as one line, in the notation of `byo check`.
fn call(conn: &mut Conn, args: &[&str]) -> String {
    render(&conn.call(args))
}

#[test]
fn a_blocked_reader_gets_only_what_is_added_after_it_blocked() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    assert_eq!(call(&mut admin, &["XADD", "s", "1", "f", "old"]), "\"1-0\"");
    let mut reader = server.connect();
    reader.send(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["XADD", "s", "2", "f", "new"]), "\"2-0\"");
    assert_eq!(render(&reader.read().unwrap()), "[[\"s\", [[\"2-0\", [\"f\", \"new\"]]]]]");
    assert_eq!(blocked_clients(&mut admin), 0);
}

#[test]
fn a_reader_that_times_out_gets_a_null() {
    let server = TestServer::start(Config::default());
    let mut reader = server.connect();
    let start = Instant::now();
    assert_eq!(call(&mut reader, &["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]), "*-1");
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn group_readers_share_new_entries_and_learn_when_the_group_goes() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    assert_eq!(call(&mut admin, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]), "+OK");
    let mut alice = server.connect();
    let mut bob = server.connect();
    alice.send(&["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"]);
    wait_blocked(&mut admin, 1);
    bob.send(&["XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">"]);
    wait_blocked(&mut admin, 2);
    // One entry: the first reader to block gets it, the other keeps waiting.
    admin.call(&["XADD", "s", "1", "f", "v"]);
    assert_eq!(render(&alice.read().unwrap()), "[[\"s\", [[\"1-0\", [\"f\", \"v\"]]]]]");
    wait_blocked(&mut admin, 1);
    let pending = call(&mut admin, &["XPENDING", "s", "g", "-", "+", "10"]);
    assert!(pending.starts_with("[[\"1-0\", \"alice\""), "{pending}");
    assert_eq!(call(&mut admin, &["DEL", "s"]), ":1");
    assert_eq!(
        render(&bob.read().unwrap()),
        "-NOGROUP the consumer group this client was blocked on no longer exists"
    );
}

#[test]
fn a_list_pop_behind_a_stream_reader_on_the_same_key_is_served() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut reader = server.connect();
    let mut popper = server.connect();
    reader.send(&["XREAD", "BLOCK", "0", "STREAMS", "k", "$"]);
    wait_blocked(&mut admin, 1);
    popper.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 2);
    admin.call(&["LPUSH", "k", "x"]);
    assert_eq!(render(&popper.read().unwrap()), "[\"k\", \"x\"]");
    // The stream reader is still waiting for a stream.
    assert_eq!(blocked_clients(&mut admin), 1);
}

#[test]
fn approximate_trimming_removes_whole_nodes_only() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    assert_eq!(call(&mut conn, &["CONFIG", "SET", "stream-node-max-entries", "10"]), "+OK");
    for i in 1..=35 {
        conn.call(&["XADD", "s", &i.to_string(), "f", "v"]);
    }
    // 4 nodes: 10, 10, 10 and 5 entries. Keeping 22 allows dropping one node only.
    assert_eq!(call(&mut conn, &["XTRIM", "s", "MAXLEN", "~", "22"]), ":10");
    assert_eq!(call(&mut conn, &["XLEN", "s"]), ":25");
    assert_eq!(call(&mut conn, &["XTRIM", "s", "MAXLEN", "~", "22", "LIMIT", "5"]), ":0");
    assert_eq!(call(&mut conn, &["XTRIM", "s", "MAXLEN", "=", "22"]), ":3");
    assert_eq!(
        call(&mut conn, &["XRANGE", "s", "-", "+", "COUNT", "1"]),
        "[[\"14-0\", [\"f\", \"v\"]]]"
    );
    let Frame::Array(info) = conn.call(&["XINFO", "STREAM", "s"]) else { panic!("a map") };
    assert_eq!(render(&info[2]), "\"radix-tree-keys\"");
    assert_eq!(render(&info[3]), ":3");
}

#[test]
fn xinfo_full_shows_groups_consumers_and_pending_entries() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    for i in 1..=3 {
        conn.call(&["XADD", "s", &i.to_string(), "f", "v"]);
    }
    conn.call(&["XGROUP", "CREATE", "s", "g", "0"]);
    conn.call(&["XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">"]);
    let full = call(&mut conn, &["XINFO", "STREAM", "s", "FULL"]);
    assert!(full.contains("\"entries-added\", :3"), "{full}");
    assert!(
        full.contains("\"last-delivered-id\", \"2-0\", \"entries-read\", :2, \"lag\", :1"),
        "{full}"
    );
    assert!(full.contains("\"pel-count\", :2"), "{full}");
    assert_eq!(
        call(&mut conn, &["XINFO", "GROUPS", "s"]),
        "[[\"name\", \"g\", \"consumers\", :1, \"pending\", :2, \"last-delivered-id\", \"2-0\", \
         \"entries-read\", :2, \"lag\", :1]]"
    );
    // A deletion before the cursor makes the lag unknowable.
    conn.call(&["XDEL", "s", "3"]);
    conn.call(&["XADD", "s", "4", "f", "v"]);
    assert!(call(&mut conn, &["XINFO", "GROUPS", "s"]).ends_with("\"lag\", $-1]]"));
}

#[test]
fn watch_sees_xadd_but_not_xread() {
    let server = TestServer::start(Config::default());
    let mut a = server.connect();
    let mut b = server.connect();
    a.call(&["XADD", "s", "1", "f", "v"]);
    a.call(&["WATCH", "s"]);
    b.call(&["XREAD", "STREAMS", "s", "0"]);
    b.call(&["XRANGE", "s", "-", "+"]);
    a.call(&["MULTI"]);
    a.call(&["XLEN", "s"]);
    assert_eq!(call(&mut a, &["EXEC"]), "[:1]");
    a.call(&["WATCH", "s"]);
    b.call(&["XADD", "s", "2", "f", "v"]);
    a.call(&["MULTI"]);
    a.call(&["XLEN", "s"]);
    assert_eq!(call(&mut a, &["EXEC"]), "*-1");
}

/// Words stream commands are made of, valid and not.
const WORDS: &[&str] = &[
    "s",
    "g",
    "c",
    "*",
    "$",
    ">",
    "-",
    "+",
    "0",
    "1",
    "1-1",
    "1-*",
    "(1",
    "(0-0",
    "18446744073709551615-18446744073709551615",
    "-1",
    "99999999999999999999",
    "f",
    "v",
    "MAXLEN",
    "MINID",
    "~",
    "=",
    "LIMIT",
    "COUNT",
    "BLOCK",
    "STREAMS",
    "GROUP",
    "NOACK",
    "MKSTREAM",
    "ENTRIESREAD",
    "IDLE",
    "TIME",
    "RETRYCOUNT",
    "FORCE",
    "JUSTID",
    "LASTID",
    "FULL",
    "NOMKSTREAM",
    "ENTRIESADDED",
    "MAXDELETEDID",
    "",
];

const COMMANDS: &[&str] = &[
    "XADD",
    "XRANGE",
    "XREVRANGE",
    "XLEN",
    "XDEL",
    "XTRIM",
    "XSETID",
    "XREAD",
    "XREADGROUP",
    "XACK",
    "XPENDING",
    "XCLAIM",
    "XAUTOCLAIM",
    "XINFO STREAM",
    "XINFO GROUPS",
    "XINFO CONSUMERS",
    "XGROUP CREATE",
    "XGROUP SETID",
    "XGROUP DESTROY",
    "XGROUP CREATECONSUMER",
    "XGROUP DELCONSUMER",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any sequence of stream commands with arbitrary arguments gets a reply each (`BLOCK`
    /// is left out: a reader may rightly wait forever), and the server stays up.
    #[test]
    fn hostile_stream_commands_never_break_the_server(
        script in proptest::collection::vec(
            (0..COMMANDS.len(), proptest::collection::vec(0..WORDS.len(), 0..10)),
            1..60,
        )
    ) {
        let server = TestServer::start(Config::default());
        let mut conn = server.connect();
        conn.call(&["XADD", "s", "1-1", "f", "v"]);
        conn.call(&["XGROUP", "CREATE", "s", "g", "0"]);
        for (command, words) in script {
            let mut args: Vec<&str> = COMMANDS[command].split(' ').collect();
            args.extend(words.iter().map(|&w| WORDS[w]).filter(|w| *w != "BLOCK"));
            let reply = conn.call(&args);
            prop_assert!(!matches!(reply, Frame::Error(ref e) if e.starts_with(b"ERR unknown command")));
        }
        prop_assert_eq!(server.connect().call(&["PING"]), Frame::simple("PONG"));
    }
}
