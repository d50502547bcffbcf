//! byo-lru against the fastest LRU crates, on identical seeded inputs.
//!
//! - `zipf`: u64 → u64, keys drawn Zipf(1.0) from 1M, capacity 100k, read-through (a miss
//!   puts); the cache is warm before timing. Against `lru` and `schnellru`; SIEVE and S3-FIFO
//!   run too, for comparison.
//! - `oltp`: the OLTP block trace (914k accesses) replayed read-through into an empty cache of
//!   1000, when `BYO_TRACES` names the trace directory.
//! - `two_threads_all_hits`: two threads reading keys that are all cached, through `&self`.
//!   Against `quick_cache::sync::Cache` and a `Mutex<lru::LruCache>`. On a two-core machine
//!   these figures are noisy; `benches/two_threads.rs` gives interleaved medians.
//!
//! Run: `cargo bench -p byo-lru --bench lru` (add `-- --quick` for a fast pass).

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

mod common;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/trace.rs"]
mod trace;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use byo_lru::{LruCache, S3FifoCache, ShardedCache, SieveCache};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A single-threaded cache as the benches drive it: read-through, hit or miss.
trait ReadThrough {
    /// Looks `key` up; on a miss, caches it. Returns whether it hit.
    fn access(&mut self, key: u64) -> bool;
}

impl ReadThrough for LruCache<u64, u64> {
    #[inline]
    fn access(&mut self, key: u64) -> bool {
        if self.get(&key).is_some() {
            return true;
        }
        let _ = self.put(key, key);
        false
    }
}

impl ReadThrough for SieveCache<u64, u64> {
    #[inline]
    fn access(&mut self, key: u64) -> bool {
        if self.get(&key).is_some() {
            return true;
        }
        let _ = self.put(key, key);
        false
    }
}

impl ReadThrough for S3FifoCache<u64, u64> {
    #[inline]
    fn access(&mut self, key: u64) -> bool {
        if self.get(&key).is_some() {
            return true;
        }
        let _ = self.put(key, key);
        false
    }
}

impl ReadThrough for lru::LruCache<u64, u64> {
    #[inline]
    fn access(&mut self, key: u64) -> bool {
        if self.get(&key).is_some() {
            return true;
        }
        self.put(key, key);
        false
    }
}

impl ReadThrough for schnellru::LruMap<u64, u64, schnellru::ByLength> {
    #[inline]
    fn access(&mut self, key: u64) -> bool {
        if self.get(&key).is_some() {
            return true;
        }
        self.insert(key, key);
        false
    }
}

fn lru_peer(capacity: usize) -> lru::LruCache<u64, u64> {
    lru::LruCache::new(NonZeroUsize::new(capacity).expect("capacity > 0"))
}

fn schnellru_peer(capacity: usize) -> schnellru::LruMap<u64, u64, schnellru::ByLength> {
    schnellru::LruMap::new(schnellru::ByLength::new(capacity as u32))
}

/// Keys per timed iteration of the zipf group.
const CHUNK: usize = 10_000;

fn zipf(c: &mut Criterion) {
    let capacity = 100_000;
    let keys = common::zipf_keys(1_000_000, 1.0, 2_000_000, 42);
    let mut group = c.benchmark_group("zipf_1m_keys_cap_100k");
    group.throughput(Throughput::Elements(CHUNK as u64));

    fn run<C: ReadThrough>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        mut cache: C,
        keys: &[u64],
    ) {
        let hits = keys.iter().filter(|&&k| cache.access(k)).count();
        eprintln!("{name}: warm-up hit ratio {:.2}%", 100.0 * hits as f64 / keys.len() as f64);
        let mut chunks = keys.chunks_exact(CHUNK).cycle();
        group.bench_function(BenchmarkId::new(name, "100k"), |b| {
            b.iter(|| {
                let chunk = chunks.next().expect("cycle never ends");
                let mut hits = 0u32;
                for &key in chunk {
                    hits += cache.access(key) as u32;
                }
                black_box(hits)
            })
        });
    }

    run(&mut group, "byo-lru", LruCache::new(capacity), &keys);
    run(&mut group, "schnellru", schnellru_peer(capacity), &keys);
    run(&mut group, "lru", lru_peer(capacity), &keys);
    run(&mut group, "byo-lru/sieve", SieveCache::new(capacity), &keys);
    run(&mut group, "byo-lru/s3fifo", S3FifoCache::new(capacity), &keys);
    group.finish();
}

fn oltp(c: &mut Criterion) {
    let Some(dir) = trace::dir() else { return };
    let accesses = trace::load(&dir, "OLTP");
    let capacity = 1000;
    let mut group = c.benchmark_group("oltp_replay_cap_1000");
    group.throughput(Throughput::Elements(accesses.len() as u64));
    group.sample_size(10);

    fn run<C: ReadThrough>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        make: impl Fn() -> C,
        accesses: &[u64],
    ) {
        group.bench_function(BenchmarkId::new(name, "oltp"), |b| {
            b.iter(|| {
                let mut cache = make();
                black_box(accesses.iter().filter(|&&k| cache.access(k)).count())
            })
        });
    }

    run(&mut group, "byo-lru", || LruCache::new(capacity), &accesses);
    run(&mut group, "schnellru", || schnellru_peer(capacity), &accesses);
    run(&mut group, "lru", || lru_peer(capacity), &accesses);
    group.finish();
}

/// A cache shared by threads through `&self`.
trait SharedGet: Sync {
    fn get_shared(&self, key: u64) -> Option<u64>;
}

impl SharedGet for ShardedCache<u64, u64> {
    #[inline]
    fn get_shared(&self, key: u64) -> Option<u64> {
        self.get(&key)
    }
}

impl SharedGet for quick_cache::sync::Cache<u64, u64> {
    #[inline]
    fn get_shared(&self, key: u64) -> Option<u64> {
        self.get(&key)
    }
}

impl SharedGet for Mutex<lru::LruCache<u64, u64>> {
    #[inline]
    fn get_shared(&self, key: u64) -> Option<u64> {
        self.lock().expect("not poisoned").get(&key).copied()
    }
}

fn two_threads_all_hits(c: &mut Criterion) {
    // 100k keys, all cached: capacity is twice that so no policy's admission rules can turn a
    // read into a miss.
    let (present, capacity) = (100_000u64, 200_000usize);
    let reads: [Vec<u64>; 2] =
        [common::uniform_keys(present, 1 << 20, 7), common::uniform_keys(present, 1 << 20, 8)];
    let mut group = c.benchmark_group("two_threads_all_hits");
    group.throughput(Throughput::Elements(2)); // one get on each thread per iteration

    fn run<C: SharedGet>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        cache: C,
        reads: &[Vec<u64>; 2],
    ) {
        assert!(reads.iter().flatten().all(|&k| cache.get_shared(k) == Some(k)), "{name}: a miss");
        group.bench_function(BenchmarkId::new(name, "100k"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for keys in reads {
                        let cache = &cache;
                        s.spawn(move || {
                            let mut sum = 0u64;
                            for &key in keys.iter().cycle().take(iters as usize) {
                                sum = sum.wrapping_add(cache.get_shared(key).unwrap_or(0));
                            }
                            black_box(sum)
                        });
                    }
                });
                start.elapsed()
            })
        });
    }

    let byo = ShardedCache::new(capacity);
    let quick = quick_cache::sync::Cache::new(capacity);
    let locked = Mutex::new(lru_peer(capacity));
    for k in 0..present {
        byo.put(k, k);
        quick.insert(k, k);
        locked.lock().expect("not poisoned").put(k, k);
    }
    run(&mut group, "byo-lru/sharded", byo, &reads);
    run(&mut group, "quick_cache", quick, &reads);
    run(&mut group, "mutex-lru", locked, &reads);
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = zipf, oltp, two_threads_all_hits
}
criterion_main!(benches);
