//! Reading the ARC block-access traces (`OLTP.lis.zst`, `P3.lis.zst`).
//!
//! Each line of a `.lis` file is `start count 0 0`: blocks `start .. start + count` were read
//! in order. The directory comes from `BYO_TRACES` (CI points it at `../shared/traces`).
//! Shared with the benches through `#[path]`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// The trace directory, or `None` (after saying why) when `BYO_TRACES` is unset.
pub fn dir() -> Option<PathBuf> {
    match std::env::var_os("BYO_TRACES") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!(
                "skipped: set BYO_TRACES to the directory holding OLTP.lis.zst and P3.lis.zst"
            );
            None
        }
    }
}

/// Every block access of trace `name` (e.g. "OLTP"), in order.
pub fn load(dir: &std::path::Path, name: &str) -> Vec<u64> {
    let path = dir.join(format!("{name}.lis.zst"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoder = ruzstd::decoding::StreamingDecoder::new(BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: not zstd: {e}", path.display()));
    let mut accesses = Vec::new();
    for (number, line) in BufReader::new(decoder).lines().enumerate() {
        let line = line.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut fields = line.split_ascii_whitespace().map(str::parse::<u64>);
        let (Some(Ok(start)), Some(Ok(count))) = (fields.next(), fields.next()) else {
            panic!("{}:{}: expected `start count ...`, got {line:?}", path.display(), number + 1);
        };
        accesses.extend(start..start + count);
    }
    accesses
}
