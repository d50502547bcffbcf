//! Heap bytes the keydir costs per key, beyond the key itself.
//!
//! Method: a counting global allocator (`stats_alloc`) records the live heap bytes left by
//! opening a store of `n` keys (16-byte keys, 100-byte values), which is the keydir plus a few
//! hundred bytes of file handles. Dividing by `n` and subtracting the 16 key bytes gives the
//! overhead per key. Hash tables grow in powers of two, so two sizes are shown.
//!
//! Goal: at most 45 bytes per key plus the key.
//!
//! Run: `cargo bench -p byo-bitcask --bench keydir_memory`

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::alloc::System;

use byo_bitcask::{Bitcask, Durability, Options};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    println!("{:>10} {:>22}", "keys", "keydir bytes/key + key");
    for n in [100_000u64, 1_000_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = Options::default().durability(Durability::Never);
        {
            let store = Bitcask::open(dir.path(), options.clone()).expect("open");
            for i in 0..n {
                let mut key = [0u8; 16];
                key[8..].copy_from_slice(&i.to_be_bytes());
                store.put(&key, &[1; 100]).expect("put");
            }
        }
        let region = Region::new(GLOBAL);
        let store = Bitcask::open(dir.path(), options).expect("open");
        let stats = region.change();
        let live = stats.bytes_allocated as f64 - stats.bytes_deallocated as f64;
        assert_eq!(store.len() as u64, n);
        println!("{n:>10} {:>17.1} + 16", live / n as f64 - 16.0);
    }
}
