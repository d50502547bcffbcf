//! The `normal` workload (`BYO_MATCHING`), decoded once and replayed, side by side, through
//! byo-orderbook, the crate's naive reference matcher (`testkit::NaiveBook`: the same rules,
//! resting orders in one `Vec`, a scan per match), `orderbook-rs` and `lobster`. Every
//! engine produces its own form of events or results, and the bench keeps them.
//!
//! How each peer is fed is in `engines/mod.rs`. On a machine whose speed changes from one
//! second to the next, `interleaved.rs` gives the steadier ratios.
//!
//! Run: `BYO_MATCHING=../shared/suites/matching cargo bench -p byo-orderbook --bench orderbook`

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

mod common;
mod engines;
use common::load;
use engines::ENGINES;

fn replay(c: &mut Criterion) {
    let Some(commands) = load() else {
        eprintln!("skipped: set BYO_MATCHING to the directory of the matching workloads");
        return;
    };
    // The whole workload: the peers slow down as their books fill over the two million
    // messages (orderbook-rs runs the first 100k about 25% faster per message than the
    // whole), so a prefix would flatter them.
    let mut group = c.benchmark_group("normal_workload");
    group.sample_size(10);
    group.throughput(Throughput::Elements(commands.len() as u64));
    for (name, engine) in ENGINES {
        group.bench_function(BenchmarkId::new(name, "all"), |b| {
            b.iter(|| black_box(engine(&commands)))
        });
    }
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
