//! Durable writes, as interleaved medians (fsync speed varies run to run on shared disks, so
//! the three measurements alternate and each reports its median):
//!
//! - `raw fsync`: append 136 bytes (one record's size) to a plain file and `fdatasync` it;
//!   the ceiling for any store that makes each write durable on its own;
//! - `Always`: byo-bitcask puts with an fsync each, from one thread;
//! - `GroupCommit x16`: byo-bitcask puts from 16 threads, sharing fsyncs.
//!
//! Goals: `Always` within 10% of raw fsync; group commit at least 20x `Always`.
//!
//! Run: `cargo bench -p byo-bitcask --bench durability`

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::io::Write;
use std::time::Instant;

use byo_bitcask::{Bitcask, Durability, Options};

const ROUNDS: usize = 5;
const SINGLE_WRITES: u64 = 300;
const GROUP_THREADS: u64 = 16;
const GROUP_WRITES_PER_THREAD: u64 = 250;

fn key(i: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[8..].copy_from_slice(&i.to_be_bytes());
    key
}

/// Writes per second.
fn raw_fsync(dir: &std::path::Path) -> f64 {
    let path = dir.join("raw");
    let mut file = std::fs::File::create(&path).expect("create");
    let record = [7u8; 136];
    let start = Instant::now();
    for _ in 0..SINGLE_WRITES {
        file.write_all(&record).expect("write");
        file.sync_data().expect("fsync");
    }
    let rate = SINGLE_WRITES as f64 / start.elapsed().as_secs_f64();
    std::fs::remove_file(path).expect("remove");
    rate
}

fn always(dir: &std::path::Path) -> f64 {
    let path = dir.join("always");
    let store =
        Bitcask::open(&path, Options::default().durability(Durability::Always)).expect("open");
    let start = Instant::now();
    for i in 0..SINGLE_WRITES {
        store.put(&key(i), &[7; 100]).expect("put");
    }
    let rate = SINGLE_WRITES as f64 / start.elapsed().as_secs_f64();
    drop(store);
    std::fs::remove_dir_all(path).expect("remove");
    rate
}

fn group(dir: &std::path::Path) -> f64 {
    let path = dir.join("group");
    let store =
        Bitcask::open(&path, Options::default().durability(Durability::GroupCommit)).expect("open");
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..GROUP_THREADS {
            let store = &store;
            s.spawn(move || {
                for i in 0..GROUP_WRITES_PER_THREAD {
                    store.put(&key(t << 32 | i), &[7; 100]).expect("put");
                }
            });
        }
    });
    let rate = (GROUP_THREADS * GROUP_WRITES_PER_THREAD) as f64 / start.elapsed().as_secs_f64();
    drop(store);
    std::fs::remove_dir_all(path).expect("remove");
    rate
}

fn main() {
    // Beside the build, on the disk a store would use, not in a RAM-backed /tmp.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let mut rates: [Vec<f64>; 3] = Default::default();
    for _ in 0..ROUNDS {
        rates[0].push(raw_fsync(dir.path()));
        rates[1].push(always(dir.path()));
        rates[2].push(group(dir.path()));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [raw, always, group] = rates.map(median);
    println!("durable writes per second, median of {ROUNDS} interleaved rounds");
    println!("raw fsync (136 B + fdatasync)   {raw:10.0}");
    println!("byo-bitcask Always              {always:10.0}   {:.2}x raw fsync", always / raw);
    println!(
        "byo-bitcask GroupCommit x{GROUP_THREADS}     {group:10.0}   {:.1}x Always",
        group / always
    );
}
