//! Two threads reading through `&self`, all hits: byo-lru's `ShardedCache` against
//! `quick_cache::sync::Cache` and a `Mutex<lru::LruCache>`, as interleaved medians.
//!
//! On a machine with two cores, a criterion group whose measuring thread competes with the
//! two worker threads gives figures that swing by a factor of two from run to run. So this
//! bench runs each cache for a fixed number of reads, rotating between the caches for
//! `ROUNDS` rounds, and reports the median of each (with its range): background noise then hits
//! all three alike. 100k keys are cached, in caches of 200k so that no admission policy turns
//! a read into a miss; each thread reads keys from its own seeded uniform sequence.
//!
//! Run: `cargo bench -p byo-lru --bench two_threads`

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

mod common;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Instant;

const PRESENT: u64 = 100_000;
const CAPACITY: usize = 200_000;
const READS_PER_THREAD: usize = 10_000_000;
const ROUNDS: usize = 7;

/// A cache shared by threads through `&self`.
trait SharedGet: Sync {
    fn get_shared(&self, key: u64) -> Option<u64>;
}

impl SharedGet for byo_lru::ShardedCache<u64, u64> {
    fn get_shared(&self, key: u64) -> Option<u64> {
        self.get(&key)
    }
}

impl SharedGet for quick_cache::sync::Cache<u64, u64> {
    fn get_shared(&self, key: u64) -> Option<u64> {
        self.get(&key)
    }
}

impl SharedGet for Mutex<lru::LruCache<u64, u64>> {
    fn get_shared(&self, key: u64) -> Option<u64> {
        self.lock().expect("not poisoned").get(&key).copied()
    }
}

/// Millions of reads per second, both threads together.
fn run(cache: &dyn SharedGet, reads: &[Vec<u64>; 2]) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for keys in reads {
            s.spawn(move || {
                let mut sum = 0u64;
                for &key in keys {
                    sum = sum.wrapping_add(cache.get_shared(key).expect("all reads hit"));
                }
                black_box(sum)
            });
        }
    });
    (2 * READS_PER_THREAD) as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn main() {
    let reads = [
        common::uniform_keys(PRESENT, READS_PER_THREAD, 7),
        common::uniform_keys(PRESENT, READS_PER_THREAD, 8),
    ];
    let byo = byo_lru::ShardedCache::new(CAPACITY);
    let quick = quick_cache::sync::Cache::new(CAPACITY);
    let locked = Mutex::new(lru::LruCache::new(NonZeroUsize::new(CAPACITY).expect("> 0")));
    for k in 0..PRESENT {
        byo.put(k, k);
        quick.insert(k, k);
        locked.lock().expect("not poisoned").put(k, k);
    }
    let caches: [(&str, &dyn SharedGet); 3] =
        [("byo-lru/sharded", &byo), ("quick_cache", &quick), ("mutex-lru", &locked)];
    let mut rates: [Vec<f64>; 3] = Default::default();
    for _ in 0..ROUNDS {
        for ((_, cache), rate) in caches.iter().zip(&mut rates) {
            rate.push(run(*cache, &reads));
        }
    }
    let median = |rates: &mut Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let byo_median = median(&mut rates[0].clone());
    println!("two threads, all hits, {ROUNDS} interleaved rounds ({} shards)", byo.shard_count());
    for ((name, _), mut rate) in caches.iter().zip(rates) {
        let m = median(&mut rate);
        println!(
            "{name:<16} median {m:6.1} M reads/s  (range {:.1}..{:.1})  byo-lru is {:.2}x",
            rate[0],
            rate[rate.len() - 1],
            byo_median / m
        );
    }
}
