//! A book with one million resting orders: heap bytes per order, snapshot restore time, and
//! what journaling every command costs in throughput.
//!
//! - Memory: a counting global allocator (`stats_alloc`) records the live heap bytes left by
//!   building the book; divided by the number of orders. The id index and the slabs grow in
//!   powers of two, so the figure includes their spare room.
//! - Restore: the median of 5 restores of the 1M-order snapshot (decode, validate, rebuild).
//! - Journal: the `normal` workload (`BYO_MATCHING`), in batches of 4096 commands, applied
//!   alone; journaled on the matching thread (each batch one record, written and fsynced
//!   before it is matched), with and without the fsync; and on a `JournalThread`, each batch's
//!   events released once it is durable. 25 interleaved rounds. Two figures for each way:
//!   its fastest run against the fastest unjournaled run, and the median of its runs each
//!   divided by the unjournaled run of the same round. On a shared virtual machine the speed
//!   of a core changes by up to half for a second or so at a time (the unjournaled replay
//!   alone takes 53 ms in one run and 77-88 ms in the next); such a spell only ever slows a
//!   run, so the fastest runs are the best estimate of what the code costs, while the median
//!   ratio shows the spread a pair of runs straddling a spell adds.
//! - Journal thread placement: the same comparison (without a journal, on a journal thread)
//!   with the matching thread pinned to one core and the journal thread to the other, both
//!   ways round. The disk's completion interrupts go to one core, chosen by the kernel;
//!   whichever thread runs there handles them. The bench prints where the busiest interrupt
//!   line's interrupts went during the unpinned journal thread runs.
//!
//! Run: `BYO_MATCHING=../shared/suites/matching cargo bench -p byo-orderbook --bench resting`

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use byo_orderbook::journal::{self, JournalFile, JournalThread, JournalWriter};
use byo_orderbook::testkit::Rng;
use byo_orderbook::{Command, Config, NewOrder, OrderBook, Side, snapshot};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

mod common;
use common::load;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ORDERS: u64 = 1_000_000;

/// Interleaved rounds of the four ways of journaling.
const ROUNDS: usize = 25;

/// One million orders that do not cross: bids at 1..=5000, asks at 5001..=10000.
fn resting_book() -> OrderBook {
    let mut rng = Rng::new(11);
    let mut book = OrderBook::with_config(Config::canonical());
    let mut events = Vec::new();
    for id in 0..ORDERS {
        let (side, price) = if rng.below(2) == 0 {
            (Side::Buy, 1 + rng.below(5000) as i64)
        } else {
            (Side::Sell, 5001 + rng.below(5000) as i64)
        };
        events.clear();
        book.apply(
            &Command::New(NewOrder::limit(id, id, side, price, 1 + rng.below(500))),
            &mut events,
        );
    }
    assert_eq!(book.len(), ORDERS as usize);
    book
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The journal's writes without the fsync: what encoding and writing cost alone.
struct NoSync(std::fs::File);

impl JournalFile for NoSync {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.0, data)
    }

    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The workload as it would arrive from a gateway: batches of 4096 commands, shared by the
/// matching thread and the journal.
fn batches(commands: &[Command]) -> Vec<Arc<[Command]>> {
    commands.chunks(4096).map(Arc::from).collect()
}

fn replay<F: JournalFile>(
    batches: &[Arc<[Command]>],
    mut journal: Option<&mut JournalWriter<F>>,
) -> usize {
    let mut book = OrderBook::with_config(Config::canonical());
    let mut events = Vec::with_capacity(16);
    let mut count = 0;
    for batch in batches {
        if let Some(journal) = journal.as_deref_mut() {
            // Write-ahead: the batch is durable before any of it is acted on.
            batch.iter().for_each(|c| journal.append(c));
            journal.commit().expect("journal commit");
        }
        for command in batch.iter() {
            events.clear();
            book.apply(command, &mut events);
            count += events.len();
        }
    }
    count
}

/// Matching runs ahead of the journal thread; each batch's events are released (counted)
/// only once the journal says the batch is durable.
fn replay_pipelined(batches: &[Arc<[Command]>], mut journal: JournalThread) -> usize {
    let mut book = OrderBook::with_config(Config::canonical());
    let mut events = Vec::with_capacity(16);
    let mut held: std::collections::VecDeque<(u64, usize)> = Default::default();
    let mut published = 0;
    for batch in batches {
        let ticket = journal.submit(Arc::clone(batch)).expect("journal thread");
        let mut count = 0;
        for command in batch.iter() {
            events.clear();
            book.apply(command, &mut events);
            count += events.len();
        }
        held.push_back((ticket, count));
        let durable = journal.durable().expect("journal");
        while held.front().is_some_and(|&(t, _)| t <= durable) {
            published += held.pop_front().map_or(0, |(_, n)| n);
        }
    }
    if let Some(&(last, _)) = held.back() {
        journal.wait(last).expect("journal");
    }
    published + held.iter().map(|&(_, n)| n).sum::<usize>()
}

/// Per-CPU counts of each numbered interrupt line (by its name), from `/proc/interrupts`.
type Interrupts = Vec<(String, Vec<u64>)>;

/// The counts now (empty where `/proc/interrupts` cannot be read).
fn interrupts() -> Interrupts {
    let text = std::fs::read_to_string("/proc/interrupts").unwrap_or_default();
    let cpus = text.lines().next().map_or(0, |header| header.split_whitespace().count());
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let irq = fields.next()?.strip_suffix(':')?;
            irq.parse::<u32>().ok()?;
            let counts: Vec<u64> =
                fields.by_ref().take(cpus).map_while(|f| f.parse().ok()).collect();
            let name = fields.last().unwrap_or(irq).to_string();
            Some((name, counts))
        })
        .collect()
}

/// Adds what each line and CPU counted between `before` and `after` to `total`.
fn add_interrupts(total: &mut Interrupts, before: &Interrupts, after: &Interrupts) {
    if total.is_empty() {
        *total = before.iter().map(|(name, c)| (name.clone(), vec![0; c.len()])).collect();
    }
    for ((_, into), ((_, then), (_, now))) in total.iter_mut().zip(before.iter().zip(after)) {
        for (sum, (a, b)) in into.iter_mut().zip(then.iter().zip(now)) {
            *sum += b - a;
        }
    }
}

/// The line that counted the most in `total`, with its per-CPU counts.
fn busiest_line(total: &Interrupts) -> Option<String> {
    let (name, per_cpu) = total.iter().max_by_key(|(_, c)| c.iter().sum::<u64>())?;
    let shares: Vec<String> =
        per_cpu.iter().enumerate().map(|(cpu, n)| format!("CPU {cpu}: {n}")).collect();
    Some(format!("{name}, {} interrupts ({})", per_cpu.iter().sum::<u64>(), shares.join(", ")))
}

/// Each way's fastest run against the fastest run without a journal, and the median of its
/// ratios to the run without a journal of the same round.
fn slower(runs: &[Duration], plain: &[Duration]) -> String {
    let best = |r: &[Duration]| r.iter().min().expect("rounds").as_secs_f64();
    let fastest = (best(runs) / best(plain) - 1.0) * 100.0;
    let mut ratios: Vec<f64> =
        runs.iter().zip(plain).map(|(d, p)| d.as_secs_f64() / p.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    let median = (ratios[ratios.len() / 2] - 1.0) * 100.0;
    format!("{fastest:.0}% slower (fastest runs; median of the rounds' ratios {median:.0}%)")
}

fn main() {
    let region = Region::new(GLOBAL);
    let book = resting_book();
    let stats = region.change();
    let live = stats.bytes_allocated as isize - stats.bytes_deallocated as isize;
    println!("memory: {:.1} heap bytes per resting order (1M orders)", live as f64 / ORDERS as f64);

    let mut bytes = Vec::new();
    snapshot::write(&book, &mut bytes);
    drop(book);
    let restores: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let book = snapshot::restore(&bytes, Config::canonical()).expect("restore");
            let elapsed = start.elapsed();
            black_box(book.len());
            elapsed
        })
        .collect();
    println!(
        "restore: {:.0} ms for 1M resting orders ({} MB snapshot), median of 5",
        median(restores).as_secs_f64() * 1e3,
        bytes.len() / 1_000_000
    );

    let Some(commands) = load() else {
        eprintln!("journal: skipped: set BYO_MATCHING to the directory of the matching workloads");
        return;
    };
    let batches = batches(&commands);
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut plain, mut synced, mut written, mut threaded) = (vec![], vec![], vec![], vec![]);
    // Each file is deleted as soon as its run is timed, so that no run's dirty pages are
    // written back during the next one.
    let path = dir.path().join("journal");
    let mut threaded_interrupts = Interrupts::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        black_box(replay::<std::fs::File>(&batches, None));
        plain.push(start.elapsed());

        let mut journal = JournalWriter::create(&path).expect("journal");
        let start = Instant::now();
        black_box(replay(&batches, Some(&mut journal)));
        synced.push(start.elapsed());
        std::fs::remove_file(&path).expect("remove");

        let journal = JournalThread::spawn(JournalWriter::create(&path).expect("journal"));
        let before = interrupts();
        let start = Instant::now();
        black_box(replay_pipelined(&batches, journal));
        threaded.push(start.elapsed());
        add_interrupts(&mut threaded_interrupts, &before, &interrupts());
        std::fs::remove_file(&path).expect("remove");

        drop(JournalWriter::create(&path).expect("journal"));
        let file = std::fs::OpenOptions::new().append(true).open(&path).expect("open");
        let mut journal = JournalWriter::from_file(NoSync(file));
        let start = Instant::now();
        black_box(replay(&batches, Some(&mut journal)));
        written.push(start.elapsed());
        std::fs::remove_file(&path).expect("remove");
    }
    let rate = |d: Duration| commands.len() as f64 / d.as_secs_f64() / 1e6;
    let mut journal_bytes = Vec::new();
    batches.iter().for_each(|batch| journal::encode_records(batch, &mut journal_bytes));
    println!(
        "journal: {:.1} M msg/s without a journal (median of {ROUNDS}); the journal is {:.1} MB, {:.1} bytes a command",
        rate(median(plain.clone())),
        journal_bytes.len() as f64 / 1e6,
        journal_bytes.len() as f64 / commands.len() as f64
    );
    println!(
        "journal: write + fsync per 4096 commands, on the matching thread: {}",
        slower(&synced, &plain)
    );
    println!(
        "journal: write per 4096 commands without fsync, on the matching thread: {}",
        slower(&written, &plain)
    );
    println!(
        "journal: on a journal thread (group commit, events released after their fsync): {}",
        slower(&threaded, &plain)
    );
    if let Some(line) = busiest_line(&threaded_interrupts) {
        println!("journal: busiest interrupt line during the journal thread's runs: {line}");
    }

    // Placement: the matching thread on one core for a whole set of rounds, the journal
    // thread on the other (a thread starts with its spawner's affinity).
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if cores.len() < 2 {
        eprintln!("journal placement: skipped: fewer than two cores to pin to");
        return;
    }
    for (matching, journaling) in [(cores[0], cores[1]), (cores[1], cores[0])] {
        let (mut plain, mut threaded) = (vec![], vec![]);
        for _ in 0..ROUNDS {
            assert!(core_affinity::set_for_current(matching), "pin");
            let start = Instant::now();
            black_box(replay::<std::fs::File>(&batches, None));
            plain.push(start.elapsed());

            assert!(core_affinity::set_for_current(journaling), "pin");
            let journal = JournalThread::spawn(JournalWriter::create(&path).expect("journal"));
            assert!(core_affinity::set_for_current(matching), "pin");
            let start = Instant::now();
            black_box(replay_pipelined(&batches, journal));
            threaded.push(start.elapsed());
            std::fs::remove_file(&path).expect("remove");
        }
        println!(
            "journal: on a journal thread, matching pinned to CPU {}, journal to CPU {}: {}",
            matching.id,
            journaling.id,
            slower(&threaded, &plain)
        );
    }
}
