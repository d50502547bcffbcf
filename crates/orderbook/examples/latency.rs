//! Latency per message under a fixed offered load, without coordinated omission.
//!
//! The `normal` workload is replayed open-loop: message `i` is *scheduled* to arrive at
//! `start + i / rate`, whatever happened before it. The engine takes messages in order; if
//! it falls behind, later messages wait, and that wait counts. Each message's latency is
//! measured from its scheduled arrival to the moment its events are complete, so a stall
//! shows up in every message queued behind it, as a real client would see it. (Measuring
//! from when the engine *got to* a message instead hides exactly those stalls: that is
//! coordinated omission.)
//!
//! Run: `BYO_MATCHING=../shared/suites/matching cargo run --release -p byo-orderbook --example latency -- [RATE]`
//! (RATE in messages per second, default 5,000,000).

use std::time::{Duration, Instant};

use byo_orderbook::{Config, OrderBook, workload};
use hdrhistogram::Histogram;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rate: f64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 5_000_000.0,
    };
    let dir =
        std::env::var_os("BYO_MATCHING").ok_or("set BYO_MATCHING to the workload directory")?;
    let path = std::path::Path::new(&dir).join("orders_normal_s23_n1000000.bin.xz");
    let mut compressed = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut bytes = Vec::new();
    lzma_rs::xz_decompress(&mut compressed, &mut bytes)?;
    let commands = workload::decode(&bytes)?;

    let mut book = OrderBook::with_config(Config::canonical());
    let mut events = Vec::with_capacity(64);
    // Nanoseconds, 1 ns to 10 s, 3 significant digits.
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
    let interval = 1e9 / rate;
    let start = Instant::now();
    for (i, command) in commands.iter().enumerate() {
        let scheduled = start + Duration::from_nanos((i as f64 * interval) as u64);
        // Idle until the message arrives; never skip ahead of its schedule.
        while Instant::now() < scheduled {
            std::hint::spin_loop();
        }
        events.clear();
        book.apply(command, &mut events);
        let latency = Instant::now().saturating_duration_since(scheduled);
        histogram.saturating_record(latency.as_nanos().max(1) as u64);
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{} messages offered at {:.1} M msg/s, handled in {:.3} s ({:.1} M msg/s)",
        commands.len(),
        rate / 1e6,
        elapsed,
        commands.len() as f64 / elapsed / 1e6
    );
    for q in [0.5, 0.99, 0.999, 1.0] {
        println!("p{:<5} {:>8} ns", q * 100.0, histogram.value_at_quantile(q));
    }
    Ok(())
}
