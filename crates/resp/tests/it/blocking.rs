//! Blocking list commands over real sockets: FIFO wake-up, timeouts, disconnects, chains.

use std::time::{Duration, Instant};

use byo_resp::Frame;
use byo_resp::server::Config;

use crate::server::{Conn, TestServer};

fn bulk(text: &str) -> Frame {
    Frame::bulk(text)
}

fn popped(key: &str, element: &str) -> Frame {
    Frame::Array(vec![bulk(key), bulk(element)])
}

/// `blocked_clients` from `INFO clients`.
pub(crate) fn blocked_clients(conn: &mut Conn) -> usize {
    let Frame::Bulk(info) = conn.call(&["INFO", "clients"]) else { panic!("INFO is a bulk") };
    let info = String::from_utf8_lossy(&info).into_owned();
    let line = info.lines().find_map(|l| l.strip_prefix("blocked_clients:")).expect("the field");
    line.trim().parse().expect("a count")
}

/// Waits until `n` clients are blocked (a blocking command is sent, not yet executed, when
/// `send` returns).
pub(crate) fn wait_blocked(conn: &mut Conn, n: usize) {
    let start = Instant::now();
    while blocked_clients(conn) != n {
        assert!(start.elapsed() < Duration::from_secs(5), "never saw {n} blocked clients");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn the_client_that_blocked_first_is_served_first() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut waiting: Vec<Conn> = (0..3).map(|_| server.connect()).collect();
    for (i, conn) in waiting.iter_mut().enumerate() {
        conn.send(&["BLPOP", "queue", "0"]);
        wait_blocked(&mut admin, i + 1);
    }
    // Two elements for three clients: the first two in arrival order get one each.
    assert_eq!(admin.call(&["RPUSH", "queue", "a", "b"]), Frame::Integer(2));
    assert_eq!(waiting[0].read(), Some(popped("queue", "a")));
    assert_eq!(waiting[1].read(), Some(popped("queue", "b")));
    assert_eq!(admin.call(&["EXISTS", "queue"]), Frame::Integer(0));
    assert_eq!(blocked_clients(&mut admin), 1);
    assert_eq!(admin.call(&["LPUSH", "queue", "c"]), Frame::Integer(1));
    assert_eq!(waiting[2].read(), Some(popped("queue", "c")));
    assert_eq!(blocked_clients(&mut admin), 0);
}

#[test]
fn a_variadic_push_serves_the_element_a_pop_would_see() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut left = server.connect();
    left.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.call(&["LPUSH", "k", "1", "2", "3"]), Frame::Integer(3));
    assert_eq!(left.read(), Some(popped("k", "3")));
    assert_eq!(admin.call(&["LRANGE", "k", "0", "-1"]), Frame::Array(vec![bulk("2"), bulk("1")]));
}

#[test]
fn a_timeout_answers_null_and_later_commands_run() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut conn = server.connect();
    let start = Instant::now();
    // Pipelined behind the blocking pop: must wait for it, then run.
    let mut batch = Vec::new();
    Frame::command(["BRPOP", "none", "0.05"]).encode(&mut batch);
    Frame::command(["PING"]).encode(&mut batch);
    conn.send_raw(&batch);
    assert_eq!(conn.read(), Some(Frame::NullArray));
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(conn.read(), Some(Frame::simple("PONG")));
    assert_eq!(blocked_clients(&mut admin), 0);
}

#[test]
fn commands_pipelined_behind_a_blocked_pop_wait_for_it() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut conn = server.connect();
    let mut batch = Vec::new();
    Frame::command(["BLPOP", "k", "0"]).encode(&mut batch);
    Frame::command(["LLEN", "k"]).encode(&mut batch);
    conn.send_raw(&batch);
    wait_blocked(&mut admin, 1);
    admin.call(&["RPUSH", "k", "x", "y"]);
    assert_eq!(conn.read(), Some(popped("k", "x")));
    assert_eq!(conn.read(), Some(Frame::Integer(1)));
}

#[test]
fn a_client_that_disconnects_while_blocked_takes_nothing() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut gone = server.connect();
    gone.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    drop(gone);
    wait_blocked(&mut admin, 0);
    let mut next = server.connect();
    next.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    admin.call(&["RPUSH", "k", "only"]);
    assert_eq!(next.read(), Some(popped("k", "only")));
}

#[test]
fn a_served_blmove_can_serve_a_client_blocked_on_its_destination() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut mover = server.connect();
    let mut reader = server.connect();
    mover.send(&["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut admin, 1);
    reader.send(&["BLPOP", "dst", "0"]);
    wait_blocked(&mut admin, 2);
    admin.call(&["RPUSH", "src", "job"]);
    assert_eq!(mover.read(), Some(bulk("job")));
    assert_eq!(reader.read(), Some(popped("dst", "job")));
    assert_eq!(admin.call(&["EXISTS", "src", "dst"]), Frame::Integer(0));
}

#[test]
fn inside_exec_a_blocking_pop_does_not_block() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    conn.call(&["MULTI"]);
    conn.call(&["BLPOP", "k", "0"]);
    conn.call(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0"]);
    assert_eq!(conn.call(&["EXEC"]), Frame::Array(vec![Frame::NullArray, Frame::NullArray]));
}

#[test]
fn client_unblock_ends_the_wait_with_a_timeout_or_an_error() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut conn = server.connect();
    let Frame::Integer(id) = conn.call(&["CLIENT", "ID"]) else { panic!("an id") };
    let id = id.to_string();
    conn.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &id]), Frame::Integer(1));
    assert_eq!(conn.read(), Some(Frame::NullArray));
    conn.send(&["BRPOP", "k", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &id, "ERROR"]), Frame::Integer(1));
    assert_eq!(conn.read(), Some(Frame::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")));
    assert_eq!(admin.call(&["CLIENT", "UNBLOCK", &id]), Frame::Integer(0));
}

#[test]
fn bad_timeouts_are_refused_before_blocking() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    assert_eq!(conn.call(&["BLPOP", "k", "-1"]), Frame::error("ERR timeout is negative"));
    assert_eq!(
        conn.call(&["BLPOP", "k", "soon"]),
        Frame::error("ERR timeout is not a float or out of range")
    );
    conn.call(&["SET", "s", "x"]);
    assert_eq!(
        conn.call(&["BLPOP", "none", "s", "0"]),
        Frame::error("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
}

#[test]
fn a_list_pop_behind_a_sorted_set_pop_on_the_same_key_is_served() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut zpop = server.connect();
    let mut lpop = server.connect();
    zpop.send(&["BZPOPMIN", "k", "0"]);
    wait_blocked(&mut admin, 1);
    lpop.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut admin, 2);
    admin.call(&["RPUSH", "k", "x"]);
    assert_eq!(lpop.read(), Some(popped("k", "x")));
    // The sorted-set pop keeps waiting for a sorted set.
    assert_eq!(blocked_clients(&mut admin), 1);
}
