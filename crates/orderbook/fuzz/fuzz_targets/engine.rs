//! Arbitrary bytes as a workload, run under every testkit configuration: decoding never
//! panics, the engine agrees with the naive matcher and its own events after every command,
//! and a snapshot taken at the end restores to the same book.
#![no_main]

use byo_orderbook::testkit::{self, Differential};
use byo_orderbook::{OrderBook, snapshot, workload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = workload::decode(data);
    let Some((&which, data)) = data.split_first() else { return };
    let configs = testkit::configs();
    let config = &configs[which as usize % configs.len()];
    // The same bytes as records under a valid header.
    let records = data.len() / workload::RECORD;
    let mut bytes = workload::MAGIC.to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&(records as u32).to_le_bytes());
    bytes.extend_from_slice(&data[..records * workload::RECORD]);
    let Ok(commands) = workload::decode(&bytes) else { return };
    let mut run = Differential::new(OrderBook::with_config(config.clone()), config);
    for command in &commands {
        if let Err(broken) = run.step(command) {
            panic!("after {command:?}: {broken}");
        }
    }
    let mut saved = Vec::new();
    snapshot::write(&run.engine, &mut saved);
    let restored = snapshot::restore(&saved, config.clone()).expect("own snapshot restores");
    let mut again = Vec::new();
    snapshot::write(&restored, &mut again);
    assert_eq!(saved, again);
});
