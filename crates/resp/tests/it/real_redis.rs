//! A real `redis-server` for the differential tests, started when `BYO_REDIS_SERVER` names
//! the binary (CI sets it). `BYO_DIFF_CASES` sets how many random cases each test runs (512
//! by default), for longer searches by hand.

use std::cell::RefCell;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use byo_resp::Frame;
use byo_resp::server::Config;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

use crate::server::{Conn, TestServer};

/// Runs random cases of `strategy` on our server and on the real one: `outcome` says what a
/// server made of a case, which must be the same on both, and `show` writes a failing case
/// for the message. Without `BYO_REDIS_SERVER` it says so and returns.
pub(crate) fn differential<S: Strategy>(
    strategy: S,
    outcome: impl Fn(&mut Conn, &S::Value) -> Vec<Frame>,
    show: impl Fn(&S::Value) -> String,
) {
    let Some((_redis, theirs)) = RealRedis::from_env() else { return };
    let ours = TestServer::start(Config::default());
    // The runner's closure is `Fn`; the two connections are used by one case at a time.
    let theirs = RefCell::new(theirs);
    let mine = RefCell::new(ours.connect());
    let mut runner = TestRunner::new(RunnerConfig { cases: cases(512), ..RunnerConfig::default() });
    let result = runner.run(&strategy, |case| {
        let expected = outcome(&mut theirs.borrow_mut(), &case);
        let got = outcome(&mut mine.borrow_mut(), &case);
        prop_assert_eq!(got, expected, "{}", show(&case));
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// How many random cases a test against a server runs: `BYO_DIFF_CASES`, or `default`.
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("BYO_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A failing sequence of commands, one per line, each word quoted (so that an empty word
/// shows).
pub(crate) fn show_commands(commands: &[Vec<String>]) -> String {
    let shown: Vec<String> = commands.iter().map(|c| format!("{c:?}")).collect();
    format!("commands:\n{}", shown.join("\n"))
}

/// A `redis-server` on a free port, killed when dropped.
pub(crate) struct RealRedis {
    child: Child,
}

impl RealRedis {
    /// The server and a connection to it, or `None` (with a message) when `BYO_REDIS_SERVER`
    /// is not set.
    fn from_env() -> Option<(RealRedis, Conn)> {
        let Ok(binary) = std::env::var("BYO_REDIS_SERVER") else {
            eprintln!("skipped: set BYO_REDIS_SERVER to a redis-server binary");
            return None;
        };
        Some(RealRedis::start(&binary))
    }

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
