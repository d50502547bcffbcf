//! Event sourcing: the journal gives back exactly the commands committed to it, and a
//! snapshot plus the journal's tail gives byte-identical events and the same final book as
//! replaying everything.

use std::time::Duration;

use byo_orderbook::journal::{self, JournalError, JournalFile, JournalThread, JournalWriter};
use byo_orderbook::{Command, Event, OrderBook, snapshot, testkit};

fn replay(book: &mut OrderBook, commands: &[Command]) -> Vec<Vec<Event>> {
    commands
        .iter()
        .map(|c| {
            let mut events = Vec::new();
            book.apply(c, &mut events);
            events
        })
        .collect()
}

fn snapshot_bytes(book: &OrderBook) -> Vec<u8> {
    let mut bytes = Vec::new();
    snapshot::write(book, &mut bytes);
    bytes
}

#[test]
fn journal_round_trips_through_a_file_and_replays_to_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    for (n, config) in testkit::configs().into_iter().enumerate() {
        let commands = testkit::commands(n as u64, 3000);
        let path = dir.path().join(format!("journal-{n}"));
        let mut writer = JournalWriter::create(&path).unwrap();
        for batch in commands.chunks(7) {
            batch.iter().for_each(|c| writer.append(c));
            writer.commit().unwrap();
        }
        drop(writer);
        let (_, recovered) = JournalWriter::open(&path).unwrap();
        assert_eq!(recovered, commands);
        let want = replay(&mut OrderBook::with_config(config.clone()), &commands);
        let got = replay(&mut OrderBook::with_config(config), &recovered);
        assert_eq!(got, want);
    }
}

#[test]
fn the_journal_thread_makes_batches_durable_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let commands = testkit::commands(21, 5000);
    // Sleeping at once, polling for the default, and polling longer than the whole test; the
    // pauses make the first two find the thread asleep (and wake it) now and then.
    for (n, spin) in
        [Duration::ZERO, journal::DEFAULT_SPIN, Duration::from_secs(60)].into_iter().enumerate()
    {
        let path = dir.path().join(format!("journal-{n}"));
        let writer = JournalWriter::create(&path).unwrap();
        let mut journal = JournalThread::spawn_with_spin(writer, spin);
        let mut last = 0;
        for (i, batch) in commands.chunks(64).enumerate() {
            last = journal.submit(batch.into()).unwrap();
            assert!(journal.durable().unwrap() <= last);
            if i % 16 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        journal.wait(last).unwrap();
        assert_eq!(journal.durable().unwrap(), last);
        drop(journal);
        assert_eq!(JournalWriter::open(&path).unwrap().1, commands, "spin {spin:?}");
    }
}

#[test]
fn snapshot_plus_tail_equals_full_replay_at_every_split() {
    for (n, config) in testkit::configs().into_iter().enumerate() {
        let commands = testkit::commands(100 + n as u64, 600);
        let mut full = OrderBook::with_config(config.clone());
        let want = replay(&mut full, &commands);
        let final_state = snapshot_bytes(&full);
        for split in (0..=commands.len()).step_by(37) {
            let mut head = OrderBook::with_config(config.clone());
            replay(&mut head, &commands[..split]);
            let bytes = snapshot_bytes(&head);
            let mut restored = snapshot::restore(&bytes, config.clone()).unwrap();
            restored.check_invariants().unwrap();
            assert_eq!(snapshot_bytes(&restored), bytes, "restore then write is the identity");
            let tail = replay(&mut restored, &commands[split..]);
            assert_eq!(tail, want[split..], "config {n}, split {split}");
            assert_eq!(snapshot_bytes(&restored), final_state, "config {n}, split {split}");
        }
    }
}

#[test]
fn damaged_snapshots_are_errors_never_panics_or_wrong_books() {
    let config = testkit::configs()[2].clone();
    let mut book = OrderBook::with_config(config.clone());
    replay(&mut book, &testkit::commands(7, 200));
    assert!(!book.is_empty());
    let bytes = snapshot_bytes(&book);
    for cut in 0..bytes.len() {
        assert!(snapshot::restore(&bytes[..cut], config.clone()).is_err(), "cut at {cut}");
    }
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            assert!(snapshot::restore(&damaged, config.clone()).is_err(), "flip {at}.{bit}");
        }
    }
}

/// A journal file that fails as told: after `fail_after` bytes a write stops short (what
/// came before it reaches the real file), and syncs after the first `good_syncs` fail.
struct FaultyFile {
    inner: std::fs::File,
    written: usize,
    fail_after: usize,
    good_syncs: usize,
}

impl JournalFile for FaultyFile {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        let n = self.fail_after.saturating_sub(self.written).min(data.len());
        std::io::Write::write_all(&mut self.inner, &data[..n])?;
        self.written += n;
        if n < data.len() {
            return Err(std::io::Error::other("injected: disk full"));
        }
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        if self.good_syncs == 0 {
            return Err(std::io::Error::other("injected: fsync failed"));
        }
        self.good_syncs -= 1;
        self.inner.sync_data()
    }
}

#[test]
fn a_failed_write_or_sync_loses_nothing_acknowledged_and_poisons_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let commands = testkit::commands(3, 40);
    let mut encoded = Vec::new();
    commands.chunks(3).for_each(|batch| journal::encode_records(batch, &mut encoded));
    let batches = commands.len().div_ceil(3);
    let faults = (0..=encoded.len())
        .map(|fail_after| (fail_after, usize::MAX))
        .chain((0..=batches).map(|good_syncs| (usize::MAX, good_syncs)));
    for (n, (fail_after, good_syncs)) in faults.enumerate() {
        let path = dir.path().join(format!("journal-{n}"));
        drop(JournalWriter::create(&path).unwrap());
        let inner = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        let mut writer =
            JournalWriter::from_file(FaultyFile { inner, written: 0, fail_after, good_syncs });
        let mut acknowledged = 0;
        for batch in commands.chunks(3) {
            batch.iter().for_each(|c| writer.append(c));
            match writer.commit() {
                Ok(()) => acknowledged += batch.len(),
                Err(_) => {
                    assert!(matches!(writer.commit(), Err(JournalError::Poisoned)));
                    break;
                }
            }
        }
        let (_, recovered) = JournalWriter::open(&path).unwrap();
        let case = format!("write fails after {fail_after} bytes, {good_syncs} syncs succeed");
        assert!(recovered.len() >= acknowledged, "{case}: acknowledged commands lost");
        assert_eq!(recovered, commands[..recovered.len()], "{case}: not a prefix");
    }
}

const CRASH_DIR: &str = "BYO_ORDERBOOK_CRASH_DIR";

/// The commands the crash child journals: the same stream in every run.
fn crash_stream() -> Vec<Command> {
    testkit::commands(9, 200_000)
}

/// Not a test: the body of the child process that `survives_kill_9` starts and kills. It
/// journals the stream in batches of five, printing `ack N` once the first N commands are
/// durable, and resumes after what it finds in the journal.
#[test]
#[ignore = "run by survives_kill_9 as its child process"]
fn crash_child() {
    use std::io::Write;
    let Some(dir) = std::env::var_os(CRASH_DIR) else { return };
    let path = std::path::Path::new(&dir).join("journal");
    let (mut writer, done) = match JournalWriter::open(&path) {
        Ok((writer, recovered)) => (writer, recovered.len()),
        Err(JournalError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            (JournalWriter::create(&path).unwrap(), 0)
        }
        Err(e) => panic!("{e}"),
    };
    let stream = crash_stream();
    let mut stdout = std::io::stdout().lock();
    let mut durable = done;
    for batch in stream[done..].chunks(5) {
        batch.iter().for_each(|c| writer.append(c));
        writer.commit().unwrap();
        durable += batch.len();
        writeln!(stdout, "ack {durable}").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn survives_kill_9() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let stream = crash_stream();
    let mut rng = testkit::Rng::new(5);
    let mut acknowledged = 0;
    for cycle in 0..25 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "replay::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DIR, dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        // Kill after a random number of acknowledgements: the child is mid-batch by then.
        let wanted = 1 + rng.below(300);
        let mut seen = 0;
        for line in stdout.lines() {
            let Some(n) = line.unwrap().strip_prefix("ack ").map(|n| n.parse::<usize>().unwrap())
            else {
                continue;
            };
            acknowledged = acknowledged.max(n);
            seen += 1;
            if seen == wanted {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let (_, recovered) = JournalWriter::open(&dir.path().join("journal")).unwrap();
        assert!(recovered.len() >= acknowledged, "cycle {cycle}: acknowledged commands lost");
        assert_eq!(recovered, stream[..recovered.len()], "cycle {cycle}: not a prefix");
    }
    assert!(acknowledged > 0, "the child never acknowledged anything");
}
