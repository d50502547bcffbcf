//! Crash tests: a child process writes and reports each acknowledged write; the parent kills
//! it with SIGKILL at a random moment, reopens the store, and checks that every acknowledged
//! write is there and that no value is anything but one that was written whole.
//!
//! The child is your test binary, run again with one ignored test selected. You add two tests:
//!
//! ```no_run
//! # type MyStore = byo_bitcask::Bitcask;
//! use byo_bitcask::testkit::crash;
//!
//! /// Not a test: the body of the child process (it does nothing unless run by `survives`).
//! #[test]
//! #[ignore = "run by crash tests as their child process"]
//! fn crash_child() {
//!     crash::child::<MyStore>();
//! }
//!
//! #[test]
//! fn survives_kill_9() {
//!     // The child's test name, as the harness knows it (module path included).
//!     crash::check::<MyStore>(&crash::Config::new("crash_child", 200));
//! }
//! ```
//!
//! The child performs operation 0, 1, 2, ... of a fixed sequence (sets of 200 keys, with a
//! removal every fifth operation and `maintain` every 97th), printing `byo-crash-ack N` after
//! operation N returns `Ok`. Each cycle resumes after the last acknowledged operation. After a
//! kill, exactly one operation may have been in flight: for its key, the parent accepts the
//! state before or after it. Every value is derived from its operation number, so a partial
//! or stale value cannot pass for a right one.
//!
//! SIGKILL loses what the process held in memory, not what it handed to the kernel: this
//! catches a store that acknowledges writes still in a user-space buffer. Losing what the
//! kernel held (power loss) needs fsync, which the fault-injection tests of this crate cover.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{KvEngine, ok};

const DIR_VAR: &str = "BYO_CRASH_DIR";
const START_VAR: &str = "BYO_CRASH_START";
const ACK: &str = "byo-crash-ack ";
const READY: &str = "byo-crash-ready";
const KEYS: u64 = 200;

/// How the crash test runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The name of the test that calls [`child`], as `--exact` matches it (`crash_child`, or
    /// `module::crash_child` in a multi-module test binary).
    pub child_test: String,
    /// How many times to start and kill the child.
    pub cycles: u32,
    /// The longest the child runs before it is killed; each cycle picks a time below it.
    pub max_run: Duration,
    /// Seeds the kill times, so a failing run can be repeated.
    pub seed: u64,
}

impl Config {
    /// `cycles` kills of the child test `child_test`, each within 30 ms of its start.
    pub fn new(child_test: &str, cycles: u32) -> Self {
        Config {
            child_test: child_test.into(),
            cycles,
            max_run: Duration::from_millis(30),
            seed: 1,
        }
    }
}

/// What operation `n` of the sequence does.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CrashOp {
    Set(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
}

/// A reversible mix of `n`, so keys are scattered but reproducible.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

fn key_of(n: u64) -> Vec<u8> {
    format!("key-{:03}", mix(n) % KEYS).into_bytes()
}

/// The value of operation `n`: its number, then filler whose length and content depend on it.
fn value_of(n: u64) -> Vec<u8> {
    let mut value = format!("op-{n}:").into_bytes();
    let filler = (mix(n) >> 8) % 300;
    value.extend((0..filler).map(|i| b'a' + ((n + i) % 26) as u8));
    value
}

fn op_at(n: u64) -> CrashOp {
    if n % 5 == 4 { CrashOp::Remove(key_of(n)) } else { CrashOp::Set(key_of(n), value_of(n)) }
}

fn apply(model: &mut BTreeMap<Vec<u8>, Vec<u8>>, op: CrashOp) {
    match op {
        CrashOp::Set(key, value) => {
            model.insert(key, value);
        }
        CrashOp::Remove(key) => {
            model.remove(&key);
        }
    }
}

/// The body of the child process: does nothing unless the crash parent started this process.
/// Then it opens the store in the directory it was given and runs the sequence until killed.
pub fn child<E: KvEngine>() {
    let (Some(dir), Some(start)) = (std::env::var_os(DIR_VAR), std::env::var_os(START_VAR)) else {
        return;
    };
    let start: u64 = start.to_string_lossy().parse().unwrap_or(0);
    let mut store = ok(E::open(Path::new(&dir)), "open in the crash child");
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock<'_>, line: String| {
        // A line per acknowledgement, flushed at once: the parent may kill us any moment.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    };
    say(&mut out, READY.to_string());
    for n in start.. {
        match op_at(n) {
            CrashOp::Set(key, value) => ok(store.set(&key, &value), "set in the crash child"),
            CrashOp::Remove(key) => {
                ok(store.remove(&key), "remove in the crash child");
            }
        }
        say(&mut out, format!("{ACK}{n}"));
        if n % 97 == 96 {
            ok(store.maintain(), "maintain in the crash child");
        }
    }
}

/// Starts and kills the child `config.cycles` times, checking the store after each kill.
/// Panics with the cycle, the key and what was found if an acknowledged write is missing.
pub fn check<E: KvEngine>(config: &Config) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("crash test: temp dir: {e}"));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("crash test: own path: {e}"));
    let mut model = BTreeMap::new();
    // Every operation before `next` is acknowledged and in `model`.
    let mut next = 0u64;
    let mut total_acks = 0u64;
    for cycle in 0..config.cycles {
        let run_for = Duration::from_micros(
            mix(config.seed ^ u64::from(cycle)) % config.max_run.as_micros().max(1) as u64,
        );
        let mut child = Command::new(&exe)
            .args([&config.child_test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(DIR_VAR, dir.path())
            .env(START_VAR, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("crash test: spawn the child: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("crash test: no child stdout"));
        let (lines, received) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the child to have opened the store (or to have died trying), then let it
        // write for a while and kill it.
        // Markers are found inside lines: with --nocapture the harness starts a line with the
        // test's name and leaves it unfinished.
        let ready = received.iter().any(|line| line.contains(READY));
        assert!(ready, "crash test cycle {cycle}: the child exited before opening the store");
        std::thread::sleep(run_for);
        let _ = child.kill();
        let _ = child.wait();
        let _ = reader.join();
        let mut acked = None;
        for line in received.try_iter() {
            let number = line.find(ACK).map(|at| &line[at + ACK.len()..]);
            if let Some(n) = number.and_then(|n| n.parse::<u64>().ok()) {
                acked = Some(n);
            }
        }
        if let Some(last) = acked {
            for n in next..=last {
                apply(&mut model, op_at(n));
            }
            total_acks += last + 1 - next;
            next = last + 1;
        }
        verify::<E>(dir.path(), &model, next, cycle);
    }
    assert!(
        total_acks >= u64::from(config.cycles),
        "crash test: only {total_acks} writes were acknowledged in {} cycles; the child is too \
         slow for the kill window, so the test proves little",
        config.cycles
    );
}

/// After a kill: every key holds the model's value, except that the one operation that may
/// have been in flight (`next`) may have happened.
fn verify<E: KvEngine>(dir: &Path, model: &BTreeMap<Vec<u8>, Vec<u8>>, next: u64, cycle: u32) {
    let mut store = ok(E::open(dir), "reopen after the kill");
    let in_flight = op_at(next);
    let mut after = model.clone();
    apply(&mut after, in_flight.clone());
    for k in 0..KEYS {
        let key = format!("key-{k:03}").into_bytes();
        let found = ok(store.get(&key), "get after the kill");
        let before_op = model.get(&key);
        let after_op = after.get(&key);
        assert!(
            found.as_ref() == before_op || found.as_ref() == after_op,
            "crash test cycle {cycle}: {} holds {:?}, but the acknowledged state says {:?} \
             (or {:?} if operation {next} landed before the kill)",
            String::from_utf8_lossy(&key),
            found.as_deref().map(String::from_utf8_lossy),
            before_op.map(|v| String::from_utf8_lossy(v)),
            after_op.map(|v| String::from_utf8_lossy(v)),
        );
    }
}
