//! Heap bytes per entry of a full u64 → u64 cache, for byo-lru and its peers.
//!
//! Method: a counting global allocator (`stats_alloc`) records the live heap bytes that
//! building the cache and inserting `n` distinct keys into a cache of capacity `n` leaves
//! allocated; that figure divided by `n` is the cost per entry, including the hash table's
//! spare buckets and any per-entry allocations. Hash tables grow in powers of two, so the
//! figure depends on `n`: two sizes are shown.
//!
//! Run: `cargo bench -p byo-lru --bench memory`

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::alloc::System;
use std::hint::black_box;
use std::num::NonZeroUsize;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Live heap bytes left by `build`, per entry, with the built value still alive.
fn bytes_per_entry<T>(n: usize, build: impl FnOnce() -> T) -> f64 {
    let region = Region::new(GLOBAL);
    let built = build();
    let stats = region.change();
    // stats_alloc folds a realloc's growth or shrinkage into these two counters already.
    let live = stats.bytes_allocated as isize - stats.bytes_deallocated as isize;
    black_box(&built);
    drop(built);
    live as f64 / n as f64
}

fn main() {
    println!("{:<18} {:>14} {:>14}", "cache (u64→u64)", "bytes/entry@100k", "bytes/entry@1M");
    type Row = (&'static str, fn(usize) -> f64);
    let rows: [Row; 6] = [
        ("byo-lru", |n| {
            bytes_per_entry(n, || {
                let mut c = byo_lru::LruCache::new(n);
                (0..n as u64).for_each(|k| {
                    let _ = c.put(k, k);
                });
                c
            })
        }),
        ("byo-lru/sieve", |n| {
            bytes_per_entry(n, || {
                let mut c = byo_lru::SieveCache::new(n);
                (0..n as u64).for_each(|k| {
                    let _ = c.put(k, k);
                });
                c
            })
        }),
        ("byo-lru/sharded", |n| {
            bytes_per_entry(n, || {
                let c = byo_lru::ShardedCache::new(n);
                (0..n as u64).for_each(|k| {
                    let _ = c.put(k, k);
                });
                c
            })
        }),
        ("schnellru", |n| {
            bytes_per_entry(n, || {
                let mut c = schnellru::LruMap::new(schnellru::ByLength::new(n as u32));
                (0..n as u64).for_each(|k| {
                    c.insert(k, k);
                });
                c
            })
        }),
        ("lru", |n| {
            bytes_per_entry(n, || {
                let mut c = lru::LruCache::new(NonZeroUsize::new(n).expect("n > 0"));
                (0..n as u64).for_each(|k| {
                    let _ = c.put(k, k);
                });
                c
            })
        }),
        ("quick_cache", |n| {
            bytes_per_entry(n, || {
                let c = quick_cache::sync::Cache::new(n);
                (0..n as u64).for_each(|k| c.insert(k, k));
                c
            })
        }),
    ];
    for (name, measure) in rows {
        println!("{name:<18} {:>14.1} {:>14.1}", measure(100_000), measure(1_000_000));
    }
}
