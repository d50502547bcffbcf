//! What the benches share: the `normal` workload, decoded.

use byo_orderbook::{Command, workload};

/// The `normal` workload from `BYO_MATCHING`, or `None` when that is unset.
pub(crate) fn load() -> Option<Vec<Command>> {
    let dir = std::env::var_os("BYO_MATCHING")?;
    let path = std::path::Path::new(&dir).join("orders_normal_s23_n1000000.bin.xz");
    let mut compressed = std::io::BufReader::new(std::fs::File::open(path).expect("workload"));
    let mut bytes = Vec::new();
    lzma_rs::xz_decompress(&mut compressed, &mut bytes).expect("xz");
    Some(workload::decode(&bytes).expect("decode"))
}
