//! Arbitrary bytes as a journal and as a snapshot: an error or a valid result, never a
//! panic; a restored book satisfies its invariants; a scanned journal re-encodes to the
//! bytes it was read from.
#![no_main]

use byo_orderbook::{Config, journal, snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(book) = snapshot::restore(data, Config::default()) {
        book.check_invariants().expect("a restored book is valid");
    }
    let mut bytes = journal::MAGIC.to_vec();
    bytes.extend_from_slice(data);
    if let Ok(scan) = journal::scan(&bytes) {
        let mut again = journal::MAGIC.to_vec();
        let mut rest = &scan.commands[..];
        for &n in &scan.records {
            let (group, tail) = rest.split_at(n);
            journal::encode_records(group, &mut again);
            rest = tail;
        }
        assert_eq!(again, bytes[..scan.valid_len as usize]);
    }
});
