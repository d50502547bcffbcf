//! The `normal` workload (`BYO_MATCHING`), decoded once, replayed through byo-orderbook with
//! its events collected. The first 100k messages also go through a naive matcher (sorted
//! `Vec`s, a linear scan per match), for the ratio against the obviously-right design.
//!
//! Run: `BYO_MATCHING=../shared/suites/matching cargo bench -p byo-orderbook`

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::hint::black_box;

use byo_orderbook::{Command, Config, Event, NewOrder, OrderBook, Side, TimeInForce, workload};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn load() -> Option<Vec<Command>> {
    let dir = std::env::var_os("BYO_MATCHING")?;
    let path = std::path::Path::new(&dir).join("orders_normal_s23_n1000000.bin.xz");
    let mut compressed = std::io::BufReader::new(std::fs::File::open(path).expect("workload"));
    let mut bytes = Vec::new();
    lzma_rs::xz_decompress(&mut compressed, &mut bytes).expect("xz");
    Some(workload::decode(&bytes).expect("decode"))
}

/// Resting orders oldest first; each match scans them all. As naive as it gets.
fn naive_replay(commands: &[Command]) -> usize {
    let mut orders: Vec<(u64, Side, i64, u64)> = Vec::new();
    let mut events = 0;
    for command in commands {
        events += 1;
        match *command {
            Command::New(NewOrder { id, side, price: Some(price), mut qty, tif, .. }) => {
                while qty > 0 {
                    let best = orders
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| o.1 != side && side.crosses(price, o.2))
                        .min_by_key(|(i, o)| (if side == Side::Buy { o.2 } else { -o.2 }, *i))
                        .map(|(i, _)| i);
                    let Some(i) = best else { break };
                    let fill = qty.min(orders[i].3);
                    qty -= fill;
                    orders[i].3 -= fill;
                    events += 1;
                    if orders[i].3 == 0 {
                        orders.remove(i);
                    }
                }
                if qty > 0 && tif == TimeInForce::Gtc {
                    orders.push((id, side, price, qty));
                }
            }
            Command::New(_) => {}
            Command::Cancel { id, .. } => {
                if let Some(i) = orders.iter().position(|o| o.0 == id) {
                    orders.remove(i);
                }
            }
            Command::Modify { id, price, qty, .. } => {
                if let Some(i) = orders.iter().position(|o| o.0 == id) {
                    let side = orders.remove(i).1;
                    orders.push((id, side, price, qty));
                }
            }
        }
    }
    events
}

fn replay(c: &mut Criterion) {
    let Some(commands) = load() else {
        eprintln!("skipped: set BYO_MATCHING to the directory of the matching workloads");
        return;
    };
    let prefix = &commands[..100_000];
    let mut group = c.benchmark_group("normal_workload");
    group.sample_size(10);
    group.throughput(Throughput::Elements(prefix.len() as u64));
    group.bench_function(BenchmarkId::new("byo-orderbook", "100k"), |b| {
        b.iter(|| {
            let mut book = OrderBook::with_config(Config::canonical());
            let mut events: Vec<Event> = Vec::with_capacity(8);
            let mut count = 0;
            for command in prefix {
                events.clear();
                book.apply(command, &mut events);
                count += events.len();
            }
            black_box(count)
        })
    });
    group.bench_function(BenchmarkId::new("naive", "100k"), |b| {
        b.iter(|| black_box(naive_replay(prefix)))
    });
    group.throughput(Throughput::Elements(commands.len() as u64));
    group.bench_function(BenchmarkId::new("byo-orderbook", "all"), |b| {
        b.iter(|| {
            let mut book = OrderBook::with_config(Config::canonical());
            let mut events: Vec<Event> = Vec::with_capacity(8);
            for command in &commands {
                events.clear();
                book.apply(command, &mut events);
            }
            black_box(book.len())
        })
    });
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
