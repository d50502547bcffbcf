//! Arbitrary bytes as a workload: decoding never panics, and when it succeeds (the header is
//! rewritten to match, so most inputs decode), every command applied to the engine leaves
//! the book's invariants intact.
#![no_main]

use byo_orderbook::{OrderBook, workload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = workload::decode(data);
    // The same bytes as records under a valid header.
    let records = data.len() / workload::RECORD;
    let mut bytes = workload::MAGIC.to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&(records as u32).to_le_bytes());
    bytes.extend_from_slice(&data[..records * workload::RECORD]);
    let Ok(commands) = workload::decode(&bytes) else { return };
    let mut book = OrderBook::new();
    let mut events = Vec::new();
    for command in &commands {
        events.clear();
        book.apply(command, &mut events);
        if let Err(broken) = book.check_invariants() {
            panic!("after {command:?}: {broken}");
        }
    }
});
