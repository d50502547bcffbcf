//! The server over real sockets: pipelining, split reads, protocol errors, limits, expiry.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use byo_resp::server::{Config, Server};
use byo_resp::{Decoder, Frame};
use bytes::BytesMut;
use proptest::prelude::*;

/// A server on a port of its own, on its own runtime thread, stopped when dropped.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub(crate) fn start(config: Config) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let server = Server::new(config);
                tokio::spawn(async move { server.serve(listener).await });
                let _ = stopped.await;
            });
        });
        TestServer { addr, stop: Some(stop), thread: Some(thread) }
    }

    pub(crate) fn connect(&self) -> Conn {
        Conn::from_stream(TcpStream::connect(self.addr).unwrap())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A blocking client connection that reads replies with the crate's own decoder.
pub(crate) struct Conn {
    server: SocketAddr,
    stream: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
}

impl Conn {
    /// A connection over an already connected stream.
    pub(crate) fn from_stream(stream: TcpStream) -> Conn {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let server = stream.peer_addr().unwrap();
        Conn { server, stream, buf: BytesMut::new(), decoder: Decoder::default() }
    }

    /// Replaces the connection with a fresh one to the same server.
    pub(crate) fn reconnect(&mut self) {
        *self = Conn::from_stream(TcpStream::connect(self.server).unwrap());
    }

    pub(crate) fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends a command; false if the connection is gone.
    pub(crate) fn try_send(&mut self, args: &[&str]) -> bool {
        let mut out = Vec::new();
        Frame::command(args).encode(&mut out);
        self.stream.write_all(&out).is_ok()
    }

    pub(crate) fn send(&mut self, args: &[&str]) {
        let mut out = Vec::new();
        Frame::command(args).encode(&mut out);
        self.send_raw(&out);
    }

    /// The next reply, or `None` once the server has closed the connection.
    pub(crate) fn read(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf).unwrap() {
                return Some(frame);
            }
            let mut chunk = [0; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    pub(crate) fn call(&mut self, args: &[&str]) -> Frame {
        self.send(args);
        self.read().expect("a reply")
    }
}

fn bulk(text: &str) -> Frame {
    Frame::bulk(text)
}

fn error(text: &str) -> Frame {
    Frame::error(text)
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    let mut batch = Vec::new();
    for i in 0..2000 {
        Frame::command(["SET", &format!("k{i}"), &format!("v{i}")]).encode(&mut batch);
        Frame::command(["GET", &format!("k{i}")]).encode(&mut batch);
    }
    conn.send_raw(&batch);
    for i in 0..2000 {
        assert_eq!(conn.read(), Some(Frame::simple("OK")));
        assert_eq!(conn.read(), Some(bulk(&format!("v{i}"))));
    }
    assert_eq!(conn.call(&["DBSIZE"]), Frame::Integer(2000));
}

#[test]
fn a_command_split_into_single_bytes_is_understood() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    let mut request = Vec::new();
    Frame::command(["SET", "key", "a value with\r\nCRLF inside"]).encode(&mut request);
    request.extend_from_slice(b"GET key\r\n");
    for byte in &request {
        conn.send_raw(std::slice::from_ref(byte));
        conn.stream.flush().unwrap();
    }
    assert_eq!(conn.read(), Some(Frame::simple("OK")));
    assert_eq!(conn.read(), Some(bulk("a value with\r\nCRLF inside")));
}

#[test]
fn a_protocol_error_is_answered_after_earlier_replies_and_closes() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    conn.send_raw(b"PING\r\n*1\r\n$3\r\nGET\r\n*x\r\nPING\r\n");
    assert_eq!(conn.read(), Some(Frame::simple("PONG")));
    assert_eq!(conn.read(), Some(error("ERR wrong number of arguments for 'get' command")));
    assert_eq!(conn.read(), Some(error("ERR Protocol error: invalid multibulk length")));
    assert_eq!(conn.read(), None);
    // The server itself is unaffected.
    assert_eq!(server.connect().call(&["PING"]), Frame::simple("PONG"));
}

#[test]
fn error_texts_match_redis() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    assert_eq!(
        conn.call(&["NOPE", "a", "b"]),
        error("ERR unknown command 'NOPE', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(
        conn.call(&["CONFIG", "nope"]),
        error("ERR unknown subcommand 'nope'. Try CONFIG HELP.")
    );
    assert_eq!(conn.call(&["config"]), error("ERR wrong number of arguments for 'config' command"));
    assert_eq!(
        conn.call(&["SET", "k", "v", "EX", "0"]),
        error("ERR invalid expire time in 'set' command")
    );
    assert_eq!(conn.call(&["SET", "k", "v", "NX", "XX"]), error("ERR syntax error"));
    assert_eq!(conn.call(&["SELECT", "16"]), error("ERR DB index is out of range"));
    conn.call(&["SET", "n", "9223372036854775807"]);
    assert_eq!(conn.call(&["INCR", "n"]), error("ERR increment or decrement would overflow"));
}

#[test]
fn hello_3_switches_to_resp3_replies() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    assert_eq!(conn.call(&["GET", "missing"]), Frame::NullBulk);
    let Frame::Map(pairs) = conn.call(&["HELLO", "3"]) else {
        panic!("HELLO 3 replies with a map")
    };
    assert!(pairs.contains(&(bulk("proto"), Frame::Integer(3))));
    assert_eq!(conn.call(&["GET", "missing"]), Frame::Null);
    assert_eq!(conn.call(&["HELLO", "4"]), error("NOPROTO unsupported protocol version"));
}

#[test]
fn requirepass_gates_commands_and_the_unauthenticated_limits() {
    let mut config = Config::default();
    config.set("requirepass", "sesame").unwrap();
    let server = TestServer::start(config);
    let mut conn = server.connect();
    assert_eq!(conn.call(&["GET", "k"]), error("NOAUTH Authentication required."));
    assert_eq!(
        conn.call(&["AUTH", "wrong"]),
        error("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(conn.call(&["AUTH", "sesame"]), Frame::simple("OK"));
    assert_eq!(conn.call(&["GET", "k"]), Frame::NullBulk);
    let mut other = server.connect();
    other.send_raw(b"*11\r\n");
    assert_eq!(other.read(), Some(error("ERR Protocol error: unauthenticated multibulk length")));
    assert_eq!(other.read(), None);
}

#[test]
fn maxclients_refuses_the_extra_connection() {
    let mut config = Config::default();
    config.set("maxclients", "1").unwrap();
    let server = TestServer::start(config);
    let mut first = server.connect();
    assert_eq!(first.call(&["PING"]), Frame::simple("PONG"));
    let mut second = server.connect();
    assert_eq!(second.read(), Some(error("ERR max number of clients reached")));
    assert_eq!(second.read(), None);
}

#[test]
fn a_query_buffer_over_the_limit_closes_the_connection() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    assert_eq!(
        admin.call(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]),
        Frame::simple("OK")
    );
    let mut greedy = server.connect();
    greedy.send_raw(b"*2\r\n$3\r\nGET\r\n$5000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    // The server closes once a little over 1 MB is buffered; writes then fail or go unread.
    for _ in 0..40 {
        if greedy.stream.write_all(&chunk).is_err() {
            break;
        }
    }
    assert_eq!(greedy.read(), None);
    assert_eq!(admin.call(&["PING"]), Frame::simple("PONG"));
}

#[test]
fn keys_expire_lazily_and_actively() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    for i in 0..200 {
        conn.call(&["SET", &format!("k{i}"), "v", "PX", "30"]);
    }
    conn.call(&["SET", "lazy", "v", "PX", "30"]);
    conn.call(&["SET", "kept", "v"]);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(conn.call(&["GET", "lazy"]), Frame::NullBulk);
    // Nobody reads the others: the active cycle must remove them.
    let deadline = Instant::now() + Duration::from_secs(5);
    while conn.call(&["DBSIZE"]) != Frame::Integer(1) {
        assert!(Instant::now() < deadline, "active expiry did not run");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(conn.call(&["GET", "kept"]), bulk("v"));
}

#[test]
fn scan_returns_every_key_that_stays() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    for i in 0..1000 {
        conn.call(&["SET", &format!("key:{i}"), "v"]);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut added = 0;
    loop {
        let Frame::Array(reply) = conn.call(&["SCAN", &cursor, "COUNT", "7"]) else {
            panic!("SCAN replies with an array")
        };
        let [Frame::Bulk(next), Frame::Array(keys)] = &reply[..] else { panic!("cursor and keys") };
        seen.extend(
            keys.iter().map(|k| String::from_utf8(k.as_bytes().unwrap().to_vec()).unwrap()),
        );
        // Keys added during the scan force the table to grow under the cursor.
        if added < 3000 {
            for _ in 0..100 {
                conn.call(&["SET", &format!("new:{added}"), "v"]);
                added += 1;
            }
        }
        cursor = String::from_utf8(next.to_vec()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert!((0..1000).all(|i| seen.contains(&format!("key:{i}"))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever bytes a client sends, the server answers, closes that connection at worst, and
    /// keeps serving others.
    #[test]
    fn garbage_never_takes_the_server_down(garbage in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let server = TestServer::start(Config::default());
        let mut conn = server.connect();
        conn.send_raw(&garbage);
        conn.stream.shutdown(std::net::Shutdown::Write).unwrap();
        // Drain whatever the server answers until it closes.
        let mut sink = Vec::new();
        let _ = conn.stream.read_to_end(&mut sink);
        prop_assert_eq!(server.connect().call(&["PING"]), Frame::simple("PONG"));
    }
}

#[test]
fn watch_sees_another_clients_write_and_disconnecting_unwatches() {
    let server = TestServer::start(Config::default());
    let mut a = server.connect();
    let mut b = server.connect();
    assert_eq!(a.call(&["WATCH", "balance"]), Frame::simple("OK"));
    assert_eq!(b.call(&["SET", "balance", "10"]), Frame::simple("OK"));
    assert_eq!(a.call(&["MULTI"]), Frame::simple("OK"));
    assert_eq!(a.call(&["SET", "balance", "0"]), Frame::simple("QUEUED"));
    assert_eq!(a.call(&["EXEC"]), Frame::NullArray);
    assert_eq!(b.call(&["GET", "balance"]), bulk("10"));
    // A client that disconnects while watching leaves nothing behind: a new watcher of the
    // same key is unaffected by the old one's count.
    let mut c = server.connect();
    assert_eq!(c.call(&["WATCH", "balance"]), Frame::simple("OK"));
    drop(c);
    assert_eq!(a.call(&["WATCH", "balance"]), Frame::simple("OK"));
    assert_eq!(a.call(&["MULTI"]), Frame::simple("OK"));
    assert_eq!(a.call(&["INCR", "balance"]), Frame::simple("QUEUED"));
    assert_eq!(a.call(&["EXEC"]), Frame::Array(vec![Frame::Integer(11)]));
}

#[test]
fn client_kill_disconnects_idle_blocked_and_self_and_serves_the_killed_nothing() {
    let server = TestServer::start(Config::default());
    let mut admin = server.connect();
    let mut idle = server.connect();
    let Frame::Integer(idle_id) = idle.call(&["CLIENT", "ID"]) else { panic!("an id") };
    let mut waiting = server.connect();
    waiting.send(&["BLPOP", "queue", "0"]);
    crate::blocking::wait_blocked(&mut admin, 1);
    let id = idle_id.to_string();
    assert_eq!(admin.call(&["CLIENT", "KILL", "ID", &id]), Frame::Integer(1));
    // Gone from the list at once; its next command gets no reply but the close.
    assert_eq!(admin.call(&["CLIENT", "KILL", "ID", &id]), Frame::Integer(0));
    assert!(!idle.try_send(&["PING"]) || idle.read().is_none());
    // The blocked client is disconnected without being served: the element stays.
    assert_eq!(admin.call(&["CLIENT", "KILL", "TYPE", "normal"]), Frame::Integer(1));
    assert_eq!(waiting.read(), None);
    assert_eq!(admin.call(&["RPUSH", "queue", "job"]), Frame::Integer(1));
    assert_eq!(admin.call(&["LLEN", "queue"]), Frame::Integer(1));
    // SKIPME no: the caller is disconnected too, after its reply.
    assert_eq!(
        admin.call(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]),
        Frame::Integer(1)
    );
    assert_eq!(admin.read(), None);
}

#[test]
fn info_errorstats_counts_error_replies_by_code_and_resetstat_clears_them() {
    let server = TestServer::start(Config::default());
    let mut conn = server.connect();
    conn.call(&["SET", "s", "x"]);
    conn.call(&["LPUSH", "s", "x"]);
    conn.call(&["NOSUCHCOMMAND"]);
    conn.call(&["EVALSHA", "0000000000000000000000000000000000000000", "0"]);
    conn.call(&["MULTI"]);
    conn.call(&["GET"]);
    conn.call(&["EXEC"]);
    let errorstats = |conn: &mut Conn| match conn.call(&["INFO", "errorstats"]) {
        Frame::Bulk(text) => String::from_utf8_lossy(&text).into_owned(),
        other => panic!("INFO is a bulk, not {other:?}"),
    };
    assert_eq!(
        errorstats(&mut conn),
        "# Errorstats\r\nerrorstat_ERR:count=2\r\nerrorstat_EXECABORT:count=1\r\n\
         errorstat_NOSCRIPT:count=1\r\nerrorstat_WRONGTYPE:count=1\r\n"
    );
    assert_eq!(conn.call(&["CONFIG", "RESETSTAT"]), Frame::simple("OK"));
    assert_eq!(errorstats(&mut conn), "# Errorstats\r\n");
}
