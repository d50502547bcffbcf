//! The published workloads (`BYO_MATCHING`, normally `../shared/suites/matching`): each of
//! the three scenarios replayed in the canonical mode must produce a report stream whose
//! SHA-256 equals the published one.

use std::path::PathBuf;

use byo_orderbook::{Config, OrderBook, snapshot, workload};
use sha2::{Digest, Sha256};

fn suite() -> Option<PathBuf> {
    match std::env::var_os("BYO_MATCHING") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("skipped: set BYO_MATCHING to the directory of the matching workloads");
            None
        }
    }
}

/// The expected hash of each scenario, from `expected_sha256.txt`.
fn expected(dir: &std::path::Path, scenario: &str) -> String {
    let listing = std::fs::read_to_string(dir.join("expected_sha256.txt")).unwrap();
    let wanted = format!("{scenario}_seed23_count1000000_reports.txt");
    listing
        .lines()
        .find_map(|line| {
            let (hash, name) = line.split_once(char::is_whitespace)?;
            (name.trim() == wanted).then(|| hash.to_string())
        })
        .unwrap_or_else(|| panic!("no expected hash for {scenario}"))
}

fn replay(scenario: &str) {
    let Some(dir) = suite() else { return };
    let path = dir.join(format!("orders_{scenario}_s23_n1000000.bin.xz"));
    let mut compressed = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let mut bytes = Vec::new();
    lzma_rs::xz_decompress(&mut compressed, &mut bytes).unwrap();
    let commands = workload::decode(&bytes).unwrap();
    let mut book = OrderBook::with_config(Config::canonical());
    let mut events = Vec::new();
    let mut hasher = Sha256::new();
    let mut chunk = Vec::new();
    let mut first = true;
    let mut reports = 0usize;
    for (n, command) in commands.iter().enumerate() {
        if n == commands.len() / 2 {
            let mut bytes = Vec::new();
            snapshot::write(&book, &mut bytes);
            book = snapshot::restore(&bytes, Config::canonical()).unwrap();
        }
        events.clear();
        book.apply(command, &mut events);
        reports += events.len();
        workload::write_reports(&mut events, &mut first, &mut chunk);
        if chunk.len() > 1 << 16 {
            hasher.update(&chunk);
            chunk.clear();
        }
    }
    hasher.update(&chunk);
    let got: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    eprintln!(
        "{scenario}: {} messages, {reports} reports, {} resting at the end",
        commands.len(),
        book.len()
    );
    book.check_invariants().unwrap();
    assert_eq!(got, expected(&dir, scenario), "{scenario}: report stream hash");
}

#[test]
fn normal() {
    replay("normal");
}

#[test]
fn static_book() {
    replay("static");
}

#[test]
fn swing_25() {
    replay("swing-25");
}
