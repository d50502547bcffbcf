//! The testkit proves itself: byo-bitcask passes it, so does a naive store that fsyncs every
//! write, and a store that keeps acknowledged writes in a user-space buffer fails the crash
//! test.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use byo_bitcask::testkit::{self, BoxError, KvEngine, crash};
use byo_bitcask::{Bitcask, Durability, Options};

/// byo-bitcask with small files, so crash cycles cross rotations and merges.
struct SmallBitcask(Bitcask);

impl KvEngine for SmallBitcask {
    fn open(dir: &Path) -> Result<Self, BoxError> {
        let options = Options::default()
            .durability(Durability::GroupCommit)
            .max_file_size(16 << 10)
            .max_key_size(64)
            .max_value_size(1024);
        Ok(SmallBitcask(Bitcask::open(dir, options)?))
    }
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, BoxError> {
        Ok(self.0.get(key)?)
    }
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), BoxError> {
        Ok(self.0.put(key, value)?)
    }
    fn remove(&mut self, key: &[u8]) -> Result<bool, BoxError> {
        Ok(self.0.delete(key)?)
    }
    fn maintain(&mut self) -> Result<(), BoxError> {
        self.0.merge()?;
        Ok(())
    }
}

/// A naive store: one log of `[op][key len][value len][key][value]` records, rewritten into
/// memory on open; every write is one `write` call and an fsync.
struct NaiveLog {
    file: File,
    map: Map,
}

/// The naive store's defect: it acknowledges writes that are still in its `BufWriter`.
struct BufferedLog {
    file: BufWriter<File>,
    map: Map,
}

fn log_path(dir: &Path) -> std::path::PathBuf {
    dir.join("naive.log")
}

type Map = HashMap<Vec<u8>, Vec<u8>>;

/// Replays the log, stopping at the first incomplete record (a torn tail).
fn replay(dir: &Path) -> Result<(File, Map), BoxError> {
    let path = log_path(dir);
    let mut file = OpenOptions::new().create(true).read(true).append(true).open(&path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let mut map = HashMap::new();
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let key_len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into()?) as usize;
        let value_len = u32::from_le_bytes(bytes[at + 5..at + 9].try_into()?) as usize;
        let end = at + 9 + key_len + value_len;
        if end > bytes.len() {
            break;
        }
        let key = bytes[at + 9..at + 9 + key_len].to_vec();
        if bytes[at] == b'S' {
            map.insert(key, bytes[at + 9 + key_len..end].to_vec());
        } else {
            map.remove(&key);
        }
        at = end;
    }
    file.set_len(at as u64)?;
    Ok((file, map))
}

fn record(op: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = vec![op];
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    out
}

impl KvEngine for NaiveLog {
    fn open(dir: &Path) -> Result<Self, BoxError> {
        let (file, map) = replay(dir)?;
        Ok(NaiveLog { file, map })
    }
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, BoxError> {
        Ok(self.map.get(key).cloned())
    }
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), BoxError> {
        self.file.write_all(&record(b'S', key, value))?;
        self.file.sync_data()?;
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }
    fn remove(&mut self, key: &[u8]) -> Result<bool, BoxError> {
        self.file.write_all(&record(b'R', key, &[]))?;
        self.file.sync_data()?;
        Ok(self.map.remove(key).is_some())
    }
}

impl KvEngine for BufferedLog {
    fn open(dir: &Path) -> Result<Self, BoxError> {
        let (file, map) = replay(dir)?;
        Ok(BufferedLog { file: BufWriter::with_capacity(1 << 20, file), map })
    }
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, BoxError> {
        Ok(self.map.get(key).cloned())
    }
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), BoxError> {
        self.file.write_all(&record(b'S', key, value))?;
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }
    fn remove(&mut self, key: &[u8]) -> Result<bool, BoxError> {
        self.file.write_all(&record(b'R', key, &[]))?;
        Ok(self.map.remove(key).is_some())
    }
}

#[test]
#[ignore = "the child process of the crash tests; run by them, not alone"]
fn crash_child_bitcask() {
    crash::child::<SmallBitcask>();
}

#[test]
#[ignore = "the child process of the crash tests; run by them, not alone"]
fn crash_child_naive() {
    crash::child::<NaiveLog>();
}

#[test]
#[ignore = "the child process of the crash tests; run by them, not alone"]
fn crash_child_buffered() {
    crash::child::<BufferedLog>();
}

/// Cycles of the kill -9 loop: 200 in CI, more with `BYO_CRASH_CYCLES` for a long run.
fn cycles() -> u32 {
    std::env::var("BYO_CRASH_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(200)
}

#[test]
fn bitcask_survives_kill_9() {
    crash::check::<SmallBitcask>(&crash::Config::new("kit::crash_child_bitcask", cycles()));
}

#[test]
fn bitcask_passes_the_behavioural_suite() {
    testkit::check::<SmallBitcask>();
    testkit::check::<Bitcask>();
}

#[test]
fn a_naive_fsyncing_log_passes() {
    testkit::check::<NaiveLog>();
    crash::check::<NaiveLog>(&crash::Config::new("kit::crash_child_naive", 50));
}

#[test]
fn a_store_that_buffers_acknowledged_writes_is_caught() {
    // It behaves like a map while it lives...
    testkit::check_cases::<BufferedLog>();
    // ...but loses acknowledged writes when killed.
    let killed = catch_unwind(AssertUnwindSafe(|| {
        crash::check::<BufferedLog>(&crash::Config::new("kit::crash_child_buffered", 20));
    }));
    let message = killed.expect_err("the crash test must catch a buffering store");
    let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("acknowledged state says"), "unexpected failure: {message}");
}
