//! Integration tests of the `byo` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// `byo serve redis` on a free port; killed when dropped.
struct Served {
    child: Child,
    addr: String,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_byo"))
            .args(["serve", "redis", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().rsplit(' ').next().unwrap().to_string();
        Served { child, addr }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exchange(addr: &str, request: &[u8], reply_len: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    let mut reply = vec![0; reply_len];
    stream.read_exact(&mut reply).unwrap();
    reply
}

#[test]
fn serve_redis_answers_on_the_port_it_prints() {
    let served = Served::start(&[]);
    assert_eq!(exchange(&served.addr, b"PING\r\n", 7), b"+PONG\r\n");
}

#[test]
fn configuration_parameters_are_taken_from_the_command_line() {
    let served = Served::start(&["--requirepass", "sesame", "--threads", "2"]);
    assert_eq!(exchange(&served.addr, b"GET k\r\n", 34), b"-NOAUTH Authentication required.\r\n");
    assert_eq!(exchange(&served.addr, b"AUTH sesame\r\nGET k\r\n", 10), b"+OK\r\n$-1\r\n");
}

#[test]
fn bad_command_lines_exit_with_the_usage_code() {
    for args in
        [&["serve", "redis", "--nope", "1"][..], &["serve", "redis", "--port"], &["frobnicate"]]
    {
        let output = Command::new(env!("CARGO_BIN_EXE_byo")).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        assert!(output.stdout.is_empty());
        assert!(String::from_utf8_lossy(&output.stderr).contains("usage: byo"));
    }
}

#[test]
fn check_redis_passes_against_our_server_and_reports_counts() {
    let served = Served::start(&[]);
    let output = Command::new(env!("CARGO_BIN_EXE_byo"))
        .args(["check", "redis", &served.addr])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");
}

#[test]
fn check_redis_fails_on_a_case_the_server_does_not_meet() {
    let served = Served::start(&[]);
    let dir = std::env::temp_dir().join(format!("byo-cases-{}", std::process::id()));
    std::fs::write(&dir, "## wrong on purpose\n> PING\n+PANG\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_byo"))
        .args(["check", "redis", &served.addr, "--cases", dir.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  wrong on purpose: step 1 (PING): expected +PANG, got +PONG"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}
