//! The append-only file: what a restart replays, torn and damaged tails, rewrites, and a
//! server killed with SIGKILL while clients write.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use byo_resp::Frame;
use byo_resp::server::{Config, Server};

use crate::blocking::wait_blocked;
use crate::server::{Conn, TestServer};

fn config(dir: &Path, fsync: &str) -> Config {
    let mut config = Config::default();
    config.set("dir", dir.to_str().unwrap()).unwrap();
    config.set("appendonly", "yes").unwrap();
    config.set("appendfsync", fsync).unwrap();
    config
}

fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

/// The incr part logging goes to (the manifest's last line).
fn current_incr(dir: &Path) -> PathBuf {
    let manifest = std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).unwrap();
    let last = manifest.lines().last().unwrap();
    aof_dir(dir).join(last.split_whitespace().nth(1).unwrap())
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn bulk(text: &str) -> Frame {
    Frame::bulk(text)
}

/// Everything in database 0 as sorted text lines, to compare two servers' datasets.
fn dump(conn: &mut Conn) -> Vec<String> {
    let Frame::Array(keys) = conn.call(&["KEYS", "*"]) else { panic!("KEYS is an array") };
    let mut lines = Vec::new();
    for key in keys {
        let Frame::Bulk(key) = key else { panic!("keys are bulks") };
        let key = String::from_utf8_lossy(&key).into_owned();
        let Frame::Simple(kind) = conn.call(&["TYPE", &key]) else { panic!("TYPE is simple") };
        let kind = String::from_utf8_lossy(&kind).into_owned();
        let value = match kind.as_str() {
            "string" => conn.call(&["GET", &key]),
            "list" => conn.call(&["LRANGE", &key, "0", "-1"]),
            "hash" => conn.call(&["HGETALL", &key]),
            "zset" => conn.call(&["ZRANGE", &key, "0", "-1", "WITHSCORES"]),
            "set" => {
                let Frame::Array(mut members) = conn.call(&["SMEMBERS", &key]) else {
                    panic!("SMEMBERS is an array")
                };
                members.sort_by_key(|m| format!("{m:?}"));
                Frame::Array(members)
            }
            "stream" => stream_state(conn, &key),
            _ => panic!("unknown type {kind}"),
        };
        let ttl = conn.call(&["PEXPIRETIME", &key]);
        lines.push(format!("{key} {kind} {value:?} {ttl:?}"));
    }
    lines.sort();
    lines
}

/// What a replay must reproduce of a stream: `XINFO STREAM FULL` without the node layout
/// (deleted entries leave holes in nodes that a replay does not recreate) and without the
/// consumers' seen times (a replayed consumer is seen when it is recreated).
fn stream_state(conn: &mut Conn, key: &str) -> Frame {
    fn strip(frame: Frame) -> Frame {
        let Frame::Array(items) = frame else { return frame };
        let mut kept = Vec::new();
        let mut items = items.into_iter();
        while let Some(item) = items.next() {
            let skip = matches!(&item, Frame::Bulk(name)
                if [&b"radix-tree-keys"[..], b"radix-tree-nodes", b"seen-time"].contains(&&name[..]));
            if skip {
                items.next();
                continue;
            }
            kept.push(strip(item));
        }
        Frame::Array(kept)
    }
    strip(conn.call(&["XINFO", "STREAM", key, "FULL", "COUNT", "0"]))
}

/// Stream commands whose logging needs care: generated IDs, approximate trims, group reads
/// logged as claims, a blocked group reader served by another client's `XADD`.
fn write_streams(server: &TestServer) {
    let mut conn = server.connect();
    conn.call(&["CONFIG", "SET", "stream-node-max-entries", "4"]);
    for i in 0..20 {
        conn.call(&["XADD", "events", "MAXLEN", "~", "10", "*", "n", &i.to_string()]);
    }
    conn.call(&["XADD", "events", "99999999999999-*", "n", "last"]);
    conn.call(&["XDEL", "events", "99999999999999-0"]);
    conn.call(&["XGROUP", "CREATE", "events", "workers", "0"]);
    conn.call(&["XREADGROUP", "GROUP", "workers", "alice", "COUNT", "3", "STREAMS", "events", ">"]);
    conn.call(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "bob",
        "NOACK",
        "COUNT",
        "2",
        "STREAMS",
        "events",
        ">",
    ]);
    conn.call(&["XREADGROUP", "GROUP", "workers", "alice", "STREAMS", "events", "0"]);
    conn.call(&["XGROUP", "CREATECONSUMER", "events", "workers", "idle"]);
    let Frame::Array(pending) = conn.call(&["XPENDING", "events", "workers", "-", "+", "1"]) else {
        panic!("XPENDING is an array")
    };
    let Frame::Array(first) = &pending[0] else { panic!("an entry") };
    let Frame::Bulk(id) = &first[0] else { panic!("an ID") };
    let id = String::from_utf8_lossy(id).into_owned();
    conn.call(&["XCLAIM", "events", "workers", "carol", "0", &id, "RETRYCOUNT", "7"]);
    conn.call(&["XGROUP", "CREATE", "quiet", "g", "$", "MKSTREAM"]);
    let mut waiting = server.connect();
    waiting.send(&["XREADGROUP", "GROUP", "g", "dave", "BLOCK", "0", "STREAMS", "quiet", ">"]);
    wait_blocked(&mut conn, 1);
    conn.call(&["XADD", "quiet", "5-5", "f", "v"]);
    assert!(matches!(waiting.read(), Some(Frame::Array(_))));
}

#[test]
fn streams_and_their_groups_survive_a_restart_and_a_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let server = TestServer::start(config(dir.path(), "always"));
        write_streams(&server);
        dump(&mut server.connect())
    };
    assert!(before.len() == 2 && before[0].contains("alice") && before[0].contains("carol"));
    {
        let server = TestServer::start(config(dir.path(), "always"));
        let mut conn = server.connect();
        assert_eq!(dump(&mut conn), before, "replayed from the log");
        conn.call(&["BGREWRITEAOF"]);
        wait_rewrite(&mut conn);
    }
    let server = TestServer::start(config(dir.path(), "always"));
    assert_eq!(dump(&mut server.connect()), before, "replayed from the rewrite");
}

/// Commands of every kind whose logging needs care: relative times, floats, random pops,
/// transactions, blocked clients served by another client's push.
fn write_everything(server: &TestServer) {
    let mut conn = server.connect();
    assert_eq!(conn.call(&["SET", "plain", "v"]), ok());
    assert_eq!(conn.call(&["SET", "ttl", "v", "EX", "1000"]), ok());
    assert_eq!(conn.call(&["EXPIRE", "plain", "5000"]), Frame::Integer(1));
    conn.call(&["INCRBYFLOAT", "float", "0.1"]);
    conn.call(&["INCRBYFLOAT", "float", "0.2"]);
    conn.call(&["HINCRBYFLOAT", "hash", "f", "1.5"]);
    conn.call(&["SADD", "set", "a", "b", "c", "d", "e"]);
    conn.call(&["SPOP", "set", "2"]);
    conn.call(&["ZADD", "zset", "1.5", "x", "-2", "y"]);
    conn.call(&["RPUSH", "list", "a", "b", "c"]);
    conn.call(&["LMOVE", "list", "other", "LEFT", "RIGHT"]);
    conn.call(&["SET", "gone", "x", "PX", "1"]);
    conn.call(&["MULTI"]);
    conn.call(&["INCR", "counter"]);
    conn.call(&["SELECT", "0"]);
    conn.call(&["INCR", "counter"]);
    conn.call(&["EXEC"]);
    // A client blocked on a key is served by a push; the pop it got must be logged.
    let mut waiting = server.connect();
    waiting.send(&["BLPOP", "queue", "0"]);
    wait_blocked(&mut conn, 1);
    conn.call(&["RPUSH", "queue", "first", "second"]);
    assert_eq!(waiting.read(), Some(Frame::Array(vec![bulk("queue"), bulk("first")])));
    conn.call(&["SELECT", "5"]);
    conn.call(&["SET", "elsewhere", "1"]);
    // Commands across databases: the key ends in database 8 with its TTL.
    conn.call(&["SELECT", "6"]);
    conn.call(&["SET", "moved", "x", "EX", "1000"]);
    assert_eq!(conn.call(&["MOVE", "moved", "7"]), Frame::Integer(1));
    assert_eq!(conn.call(&["SWAPDB", "7", "8"]), ok());
}

#[test]
fn a_restart_replays_exactly_the_acknowledged_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let server = TestServer::start(config(dir.path(), "always"));
        write_everything(&server);
        dump(&mut server.connect())
    };
    let server = TestServer::start(config(dir.path(), "always"));
    let mut conn = server.connect();
    assert_eq!(dump(&mut conn), before);
    assert_eq!(conn.call(&["SELECT", "5"]), ok());
    assert_eq!(conn.call(&["GET", "elsewhere"]), bulk("1"));
    assert_eq!(conn.call(&["SELECT", "8"]), ok());
    assert_eq!(conn.call(&["GET", "moved"]), bulk("x"));
    assert!(matches!(conn.call(&["TTL", "moved"]), Frame::Integer(t) if t > 900));
    for db in ["6", "7"] {
        assert_eq!(conn.call(&["SELECT", db]), ok());
        assert_eq!(conn.call(&["DBSIZE"]), Frame::Integer(0));
    }
}

#[test]
fn a_torn_tail_is_cut_off_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let server = TestServer::start(config(dir.path(), "always"));
        let mut conn = server.connect();
        conn.call(&["SET", "kept", "1"]);
    }
    let incr = current_incr(dir.path());
    let whole = std::fs::metadata(&incr).unwrap().len();
    // Half a command, as a crash in the middle of a write leaves it.
    let mut file = std::fs::OpenOptions::new().append(true).open(&incr).unwrap();
    file.write_all(b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$2\r\nv").unwrap();
    drop(file);
    let server = TestServer::start(config(dir.path(), "always"));
    let mut conn = server.connect();
    assert_eq!(conn.call(&["GET", "kept"]), bulk("1"));
    assert_eq!(conn.call(&["EXISTS", "lost"]), Frame::Integer(0));
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), whole, "truncated to the last command");
    // Logging continues after the cut.
    conn.call(&["SET", "after", "2"]);
    drop(conn);
    drop(server);
    let server = TestServer::start(config(dir.path(), "always"));
    assert_eq!(server.connect().call(&["GET", "after"]), bulk("2"));
}

#[test]
fn damage_before_the_end_stops_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    {
        let server = TestServer::start(config(dir.path(), "always"));
        let mut conn = server.connect();
        conn.call(&["SET", "a", "1"]);
        conn.call(&["SET", "b", "2"]);
    }
    let incr = current_incr(dir.path());
    let mut bytes = std::fs::read(&incr).unwrap();
    // Flip the first command's array marker: the file no longer starts with a command.
    bytes[0] ^= 0x01;
    std::fs::write(&incr, &bytes).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Server::new(config(dir.path(), "always")).serve(listener).await
    });
    let error = result.expect_err("a damaged log must not be served");
    assert!(error.to_string().contains("Bad file format"), "{error}");
}

/// Waits until `INFO persistence` says no rewrite is running.
fn wait_rewrite(conn: &mut Conn) {
    let start = Instant::now();
    loop {
        let Frame::Bulk(info) = conn.call(&["INFO", "persistence"]) else { panic!() };
        if info.windows(25).any(|w| w == b"aof_rewrite_in_progress:0") {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the rewrite never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_rewrite_compacts_the_log_and_keeps_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let server = TestServer::start(config(dir.path(), "everysec"));
        let mut conn = server.connect();
        for _ in 0..2000 {
            conn.call(&["INCR", "n"]);
        }
        conn.call(&["RPUSH", "l", "a", "b"]);
        let size = |dir: &Path| std::fs::metadata(current_incr(dir)).unwrap().len();
        let grown = size(dir.path());
        assert_eq!(
            conn.call(&["BGREWRITEAOF"]),
            Frame::Simple("Background append only file rewriting started".into())
        );
        // Writes during the rewrite go to the new incr part.
        conn.call(&["SET", "during", "1"]);
        wait_rewrite(&mut conn);
        let manifest =
            std::fs::read_to_string(aof_dir(dir.path()).join("appendonly.aof.manifest")).unwrap();
        assert_eq!(manifest.lines().count(), 2, "one base, one incr part: {manifest}");
        assert!(size(dir.path()) < grown / 10, "the incr part starts over");
        let files = std::fs::read_dir(aof_dir(dir.path())).unwrap().count();
        assert_eq!(files, 3, "old parts deleted");
        dump(&mut conn)
    };
    let server = TestServer::start(config(dir.path(), "everysec"));
    assert_eq!(dump(&mut server.connect()), before);
}

#[test]
fn appendonly_can_be_turned_on_and_off_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut off = config(dir.path(), "always");
    off.set("appendonly", "no").unwrap();
    {
        let server = TestServer::start(off);
        let mut conn = server.connect();
        conn.call(&["SET", "before", "1"]);
        assert_eq!(conn.call(&["CONFIG", "SET", "appendonly", "yes"]), ok());
        conn.call(&["SET", "while", "2"]);
        assert_eq!(conn.call(&["CONFIG", "SET", "appendonly", "no"]), ok());
        conn.call(&["SET", "after", "3"]);
    }
    let server = TestServer::start(config(dir.path(), "always"));
    let mut conn = server.connect();
    assert_eq!(
        conn.call(&["MGET", "before", "while", "after"]),
        Frame::Array(vec![bulk("1"), bulk("2"), Frame::NullBulk])
    );
}

/// Run by [`acknowledged_writes_survive_sigkill`] in a child process: a server with
/// `appendfsync always` in `BYO_AOF_CHILD_DIR`, printing its port.
#[test]
#[ignore = "a helper the SIGKILL test runs in a child process"]
fn aof_child_server() {
    let Ok(dir) = std::env::var("BYO_AOF_CHILD_DIR") else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        Server::new(config(Path::new(&dir), "always")).serve(listener).await.unwrap();
    });
}

fn spawn_child(dir: &Path) -> (Child, u16) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "aof::aof_child_server", "--ignored", "--nocapture", "--test-threads=1"])
        .env("BYO_AOF_CHILD_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines.next().expect("the child prints its port").unwrap();
        // The test harness prints its own words before the child's on the same line.
        if let Some((_, port)) = line.split_once("PORT ") {
            break port.trim().parse().unwrap();
        }
    };
    (child, port)
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let (mut child, port) = spawn_child(dir.path());
        let addr = format!("127.0.0.1:{port}");
        // Writers pipeline INCRs and count the replies they got; the server is killed while
        // they write.
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    let stream = std::net::TcpStream::connect(&addr).unwrap();
                    let mut conn = Conn::from_stream(stream);
                    let key = format!("counter:{w}");
                    let mut acknowledged = 0u64;
                    loop {
                        for _ in 0..16 {
                            if !conn.try_send(&["INCR", &key]) {
                                return (key, acknowledged);
                            }
                        }
                        for _ in 0..16 {
                            match conn.read() {
                                Some(Frame::Integer(n)) => acknowledged = n as u64,
                                _ => return (key, acknowledged),
                            }
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + 50 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acknowledged: Vec<(String, u64)> =
            writers.into_iter().map(|w| w.join().unwrap()).collect();
        let total: u64 = acknowledged.iter().map(|(_, acked)| acked).sum();
        assert!(total > 0, "round {round}: nothing was acknowledged before the kill");
        let server = TestServer::start(config(dir.path(), "always"));
        let mut conn = server.connect();
        for (key, acked) in acknowledged {
            let Frame::Bulk(value) = conn.call(&["GET", &key]) else {
                assert_eq!(acked, 0, "{key} lost");
                continue;
            };
            let value: u64 = String::from_utf8_lossy(&value).parse().unwrap();
            // Every acknowledged INCR is there; at most the unacknowledged tail beyond.
            assert!(value >= acked, "round {round}: {key} is {value}, {acked} were acknowledged");
        }
    }
}
