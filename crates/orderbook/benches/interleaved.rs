//! The comparison of `orderbook.rs`, measured so that the machine's changes of speed do not
//! decide it. On a shared or frequency-scaled machine, a run of two seconds can be a third
//! slower than the same run a few seconds later, and criterion measures each engine at a
//! different time. Here every round runs one peer replay between two spells of
//! byo-orderbook replays, each spell half as long as the peer's previous replay, so that
//! both engines are timed over the same stretch of time; the round's ratio is the peer's
//! time over byo-orderbook's mean time in those spells. The median of the rounds is the
//! figure (and the smallest and largest are printed beside it).
//!
//! Run: `BYO_MATCHING=../shared/suites/matching cargo bench -p byo-orderbook --bench interleaved`
//! (`BYO_ROUNDS` rounds per peer, 7 by default; about three minutes with the default).

#![allow(clippy::expect_used)] // a bench that cannot set up should stop loudly

use std::hint::black_box;
use std::time::{Duration, Instant};

use byo_orderbook::Command;

mod common;
mod engines;
use common::load;
use engines::{ENGINES, Replay};

/// One replay's wall time.
fn time(engine: Replay, commands: &[Command]) -> Duration {
    let start = Instant::now();
    black_box(engine(black_box(commands)));
    start.elapsed()
}

/// Replays through `engine` for at least `spell`; returns the replays' times.
fn spell(engine: Replay, commands: &[Command], spell: Duration) -> Vec<Duration> {
    let start = Instant::now();
    let mut times = vec![time(engine, commands)];
    while start.elapsed() < spell {
        times.push(time(engine, commands));
    }
    times
}

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / times.len() as u32
}

fn median(sorted: &[f64]) -> f64 {
    sorted[sorted.len() / 2]
}

fn main() {
    let Some(commands) = load() else {
        eprintln!("skipped: set BYO_MATCHING to the directory of the matching workloads");
        return;
    };
    let rounds: usize = std::env::var("BYO_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(7);
    let (_, byo) = ENGINES[0];
    println!("{} messages, {rounds} rounds per peer", commands.len());
    for &(name, peer) in &ENGINES[1..] {
        let mut previous = time(peer, &commands); // also a warm-up
        let (mut ratios, mut peer_times, mut byo_times) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let mut ours = spell(byo, &commands, previous / 2);
            let theirs = time(peer, &commands);
            ours.extend(spell(byo, &commands, previous / 2));
            let ours = mean(&ours);
            ratios.push(theirs.as_secs_f64() / ours.as_secs_f64());
            peer_times.push(theirs.as_secs_f64());
            byo_times.push(ours.as_secs_f64());
            previous = theirs;
        }
        for list in [&mut ratios, &mut peer_times, &mut byo_times] {
            list.sort_by(f64::total_cmp);
        }
        println!(
            "{name:>13}: byo-orderbook is {:.1}x faster (median of rounds; {:.1}x to {:.1}x); \
             {name} {:.3} s, byo-orderbook {:.1} ms (medians)",
            median(&ratios),
            ratios[0],
            ratios[ratios.len() - 1],
            median(&peer_times),
            median(&byo_times) * 1e3,
        );
    }
}
