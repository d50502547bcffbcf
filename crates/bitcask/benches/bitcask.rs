//! byo-bitcask against redb, sled and fjall on identical seeded inputs: 16-byte keys,
//! 100-byte values.
//!
//! - `buffered_put`: one put per iteration, nothing fsynced (byo `Durability::Never`, redb a
//!   write transaction per put with `Durability::None`, sled and fjall without flush/persist);
//! - `random_get_1m`: gets of random keys from a store of 1M keys;
//! - `open_1m`: opening a store of 1M keys (byo from hint files after a merge, and by
//!   scanning, without hints).
//!
//! Run: `cargo bench -p byo-bitcask --bench bitcask` (about 10 minutes, 3 GB of temporary files).

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use byo_bitcask::{Bitcask, Durability, Options};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redb::ReadableDatabase;

const KEYS: u64 = 1_000_000;

fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Key `i`: 16 bytes, scattered so that stores ordered by key see random inserts.
fn key(i: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&mix(i).to_be_bytes());
    key[8..].copy_from_slice(&i.to_be_bytes());
    key
}

/// Value `i`: 100 bytes.
fn value(i: u64) -> [u8; 100] {
    let mut value = [0; 100];
    for (j, chunk) in value.chunks_mut(8).enumerate() {
        let word = mix(i ^ (j as u64) << 40).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    value
}

/// A store as the benches drive it.
trait Kv {
    fn put(&self, key: &[u8], value: &[u8]);
    fn get(&self, key: &[u8]) -> bool;
}

fn byo_options() -> Options {
    Options::default().durability(Durability::Never)
}

impl Kv for Bitcask {
    fn put(&self, key: &[u8], value: &[u8]) {
        Bitcask::put(self, key, value).expect("put");
    }
    fn get(&self, key: &[u8]) -> bool {
        Bitcask::get(self, key).expect("get").is_some()
    }
}

const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");

impl Kv for redb::Database {
    fn put(&self, key: &[u8], value: &[u8]) {
        let mut tx = self.begin_write().expect("begin");
        tx.set_durability(redb::Durability::None).expect("durability");
        tx.open_table(TABLE).expect("table").insert(key, value).expect("insert");
        tx.commit().expect("commit");
    }
    fn get(&self, key: &[u8]) -> bool {
        let tx = self.begin_read().expect("begin");
        tx.open_table(TABLE).expect("table").get(key).expect("get").is_some()
    }
}

impl Kv for sled::Db {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.insert(key, value).expect("insert");
    }
    fn get(&self, key: &[u8]) -> bool {
        sled::Tree::get(self, key).expect("get").is_some()
    }
}

struct Fjall {
    _db: fjall::Database,
    items: fjall::Keyspace,
}

impl Fjall {
    fn open(path: &Path) -> Fjall {
        let db = fjall::Database::builder(path).open().expect("open");
        let items = db.keyspace("kv", fjall::KeyspaceCreateOptions::default).expect("keyspace");
        Fjall { _db: db, items }
    }
}

impl Kv for Fjall {
    fn put(&self, key: &[u8], value: &[u8]) {
        self.items.insert(key, value).expect("insert");
    }
    fn get(&self, key: &[u8]) -> bool {
        self.items.get(key).expect("get").is_some()
    }
}

fn open_redb(path: &Path) -> redb::Database {
    redb::Database::create(path.join("redb")).expect("create")
}

/// Fills a store with keys `0..KEYS`; redb in one transaction (a transaction per key would
/// take minutes and is not what is measured).
fn fill(kv: &dyn Kv) {
    for i in 0..KEYS {
        kv.put(&key(i), &value(i));
    }
}

fn fill_redb(db: &redb::Database) {
    let tx = db.begin_write().expect("begin");
    {
        let mut table = tx.open_table(TABLE).expect("table");
        for i in 0..KEYS {
            table.insert(&key(i)[..], &value(i)[..]).expect("insert");
        }
    }
    tx.commit().expect("commit");
}

fn buffered_put(c: &mut Criterion) {
    let mut group = c.benchmark_group("buffered_put");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |group: &mut criterion::BenchmarkGroup<'_, _>, name: &str, kv: &dyn Kv| {
        let mut i = 0u64;
        group.bench_function(BenchmarkId::new(name, "16B/100B"), |b| {
            b.iter(|| {
                // Keys cycle through 1M, so long runs overwrite rather than grow forever.
                kv.put(&key(i % KEYS), &value(i));
                i += 1;
            })
        });
    };
    let byo = Bitcask::open(dir.path().join("byo"), byo_options()).expect("open");
    run(&mut group, "byo-bitcask", &byo);
    drop(byo);
    run(&mut group, "redb", &open_redb(dir.path()));
    run(&mut group, "sled", &sled::open(dir.path().join("sled")).expect("open"));
    run(&mut group, "fjall", &Fjall::open(&dir.path().join("fjall")));
    group.finish();
}

fn random_get(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let byo = Bitcask::open(dir.path().join("byo"), byo_options()).expect("open");
    fill(&byo);
    let redb = open_redb(dir.path());
    fill_redb(&redb);
    let sled = sled::open(dir.path().join("sled")).expect("open");
    fill(&sled);
    let fjall = Fjall::open(&dir.path().join("fjall"));
    fill(&fjall);
    let mut group = c.benchmark_group("random_get_1m");
    group.throughput(Throughput::Elements(1));
    let stores: [(&str, &dyn Kv); 4] =
        [("byo-bitcask", &byo), ("redb", &redb), ("sled", &sled), ("fjall", &fjall)];
    for (name, kv) in stores {
        let mut i = 0u64;
        group.bench_function(BenchmarkId::new(name, "1M"), |b| {
            b.iter(|| {
                i += 1;
                assert!(kv.get(&key(mix(i) % KEYS)));
            })
        });
    }
    group.finish();
}

fn open_time(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hinted, scanned) = (dir.path().join("byo-hints"), dir.path().join("byo-scan"));
    for path in [&hinted, &scanned] {
        let store = Bitcask::open(path, byo_options()).expect("open");
        fill(&store);
        if path == &hinted {
            // Roll to a fresh active file so the merge takes everything, and leaves hints.
            drop(store);
            let store =
                Bitcask::open(path, byo_options().max_file_size(u32::MAX.into())).expect("open");
            store.put(b"roll", b"over").expect("put");
            store.merge().expect("merge");
        }
    }
    fill_redb(&open_redb(dir.path()));
    fill(&sled::open(dir.path().join("sled")).expect("open"));
    fill(&Fjall::open(&dir.path().join("fjall")));
    let mut group = c.benchmark_group("open_1m");
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("byo-bitcask/hints", "1M"), |b| {
        b.iter_custom(|iters| {
            time(iters, || drop(black_box(Bitcask::open(&hinted, byo_options()))))
        })
    });
    group.bench_function(BenchmarkId::new("byo-bitcask/scan", "1M"), |b| {
        b.iter_custom(|iters| {
            time(iters, || drop(black_box(Bitcask::open(&scanned, byo_options()))))
        })
    });
    group.bench_function(BenchmarkId::new("redb", "1M"), |b| {
        b.iter_custom(|iters| time(iters, || drop(black_box(open_redb(dir.path())))))
    });
    group.bench_function(BenchmarkId::new("sled", "1M"), |b| {
        b.iter_custom(|iters| time(iters, || drop(black_box(sled::open(dir.path().join("sled"))))))
    });
    group.bench_function(BenchmarkId::new("fjall", "1M"), |b| {
        b.iter_custom(|iters| {
            time(iters, || drop(black_box(Fjall::open(&dir.path().join("fjall")))))
        })
    });
    group.finish();
}

/// Total time of `iters` runs of `f`, each including the drop of what it opened.
fn time(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = buffered_put, random_get, open_time
}
criterion_main!(benches);
