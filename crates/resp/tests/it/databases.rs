//! Commands that reach across the sixteen databases: `MOVE` and `SWAPDB`, and what they do
//! to clients that watch or wait on keys of another database.

use byo_resp::Frame;
use byo_resp::server::Config;

use crate::blocking::wait_blocked;
use crate::server::TestServer;

fn ok() -> Frame {
    Frame::simple("OK")
}

#[test]
fn move_takes_the_ttl_along_and_never_overwrites() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    assert_eq!(conn.call(&["SET", "k", "v", "EX", "1000"]), ok());
    assert_eq!(
        conn.call(&["MOVE", "k", "0"]),
        Frame::error("ERR source and destination objects are the same")
    );
    assert_eq!(conn.call(&["MOVE", "k", "16"]), Frame::error("ERR DB index is out of range"));
    assert_eq!(
        conn.call(&["MOVE", "k", "x"]),
        Frame::error("ERR value is not an integer or out of range")
    );
    assert_eq!(conn.call(&["MOVE", "missing", "1"]), Frame::Integer(0));
    assert_eq!(conn.call(&["MOVE", "k", "1"]), Frame::Integer(1));
    assert_eq!(conn.call(&["EXISTS", "k"]), Frame::Integer(0));
    assert_eq!(conn.call(&["SET", "k", "second"]), ok());
    // The key exists in database 1 now: nothing moves and nothing is overwritten.
    assert_eq!(conn.call(&["MOVE", "k", "1"]), Frame::Integer(0));
    assert_eq!(conn.call(&["GET", "k"]), Frame::bulk("second"));
    assert_eq!(conn.call(&["SELECT", "1"]), ok());
    assert_eq!(conn.call(&["GET", "k"]), Frame::bulk("v"));
    assert!(matches!(conn.call(&["TTL", "k"]), Frame::Integer(t) if t > 900));
}

#[test]
fn swapdb_trades_the_keys_but_not_the_watchers() {
    let server = TestServer::start(Config::default());
    let mut a = server.connect();
    let mut b = server.connect();
    assert_eq!(a.call(&["SWAPDB", "0", "x"]), Frame::error("ERR invalid second DB index"));
    assert_eq!(a.call(&["SWAPDB", "-1", "0"]), Frame::error("ERR DB index is out of range"));
    assert_eq!(a.call(&["SET", "k", "zero"]), ok());
    assert_eq!(b.call(&["SELECT", "1"]), ok());
    assert_eq!(b.call(&["WATCH", "k"]), ok());
    assert_eq!(a.call(&["SWAPDB", "0", "1"]), ok());
    // Client b, still in database 1, sees what was database 0's; its WATCH saw the change.
    assert_eq!(b.call(&["GET", "k"]), Frame::bulk("zero"));
    assert_eq!(a.call(&["EXISTS", "k"]), Frame::Integer(0));
    assert_eq!(b.call(&["MULTI"]), ok());
    assert_eq!(b.call(&["SET", "k", "one"]), Frame::simple("QUEUED"));
    assert_eq!(b.call(&["EXEC"]), Frame::NullArray);
    // A swap of a database with itself changes nothing and aborts no transaction.
    assert_eq!(b.call(&["WATCH", "k"]), ok());
    assert_eq!(a.call(&["SWAPDB", "1", "1"]), ok());
    assert_eq!(b.call(&["MULTI"]), ok());
    assert_eq!(b.call(&["SET", "k", "one"]), Frame::simple("QUEUED"));
    assert_eq!(b.call(&["EXEC"]), Frame::Array(vec![ok()]));
}

#[test]
fn swapdb_serves_a_client_blocked_on_a_key_it_brings_in() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut waiting = server.connect();
    waiting.send(&["BLPOP", "queue", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.call(&["SELECT", "3"]), ok());
    assert_eq!(admin.call(&["RPUSH", "queue", "job"]), Frame::Integer(1));
    assert_eq!(admin.call(&["SWAPDB", "3", "0"]), ok());
    assert_eq!(waiting.read(), Some(Frame::Array(vec![Frame::bulk("queue"), Frame::bulk("job")])));
    assert_eq!(admin.call(&["EXISTS", "queue"]), Frame::Integer(0));
}
