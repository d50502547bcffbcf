//! Arbitrary bytes as a journal and as a snapshot: an error or a valid result, never a
//! panic; a restored book satisfies its invariants; a scanned journal re-encodes to the
//! bytes it was read from. The bytes are also tried as the body of one record with correct
//! checksums, so that the command decoder sees them (random bytes almost never pass a CRC).
#![no_main]

use byo_orderbook::{Config, journal, snapshot};
use libfuzzer_sys::fuzz_target;

/// Scans `bytes` (a journal) and, if it reads, checks that it re-encodes to what was read.
fn scan_and_reencode(bytes: &[u8]) -> Option<journal::Scan> {
    let scan = journal::scan(bytes).ok()?;
    let mut again = journal::MAGIC.to_vec();
    let mut rest = &scan.commands[..];
    for &n in &scan.records {
        let (group, tail) = rest.split_at(n);
        journal::encode_records(group, &mut again);
        rest = tail;
    }
    assert_eq!(again, bytes[..scan.valid_len as usize]);
    Some(scan)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(book) = snapshot::restore(data, Config::default()) {
        book.check_invariants().expect("a restored book is valid");
    }
    let mut bytes = journal::MAGIC.to_vec();
    bytes.extend_from_slice(data);
    scan_and_reencode(&bytes);

    if (journal::MIN_BODY..=journal::MAX_BODY).contains(&data.len()) {
        let mut record = journal::MAGIC.to_vec();
        record.extend_from_slice(&(data.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        let check = crc32fast::hash(&record[journal::MAGIC.len()..]);
        record.extend_from_slice(&check.to_le_bytes());
        record.extend_from_slice(data);
        // It decodes whole, or it is a torn tail; or, if its body holds a valid record header,
        // recovery must call it corruption (it cannot tell that header from a later record).
        if let Some(scan) = scan_and_reencode(&record) {
            assert!(scan.torn || scan.records == [scan.commands.len()]);
        }
    }
});
