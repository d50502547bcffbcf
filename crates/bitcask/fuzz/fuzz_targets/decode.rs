//! Arbitrary bytes through every decoder: no panic, and an accepted item never claims more
//! bytes than it was given.
#![no_main]

use byo_bitcask::format::{self, Decoded, Limits};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits { max_key: 1024, max_value: 1 << 20 };

fuzz_target!(|data: &[u8]| {
    if let Decoded::Item(record, used) = format::decode_record(data, LIMITS) {
        assert!(used <= data.len());
        assert_eq!(record.encoded_len(), used);
    }
    if let Decoded::Item(_, used) = format::decode_hint(data, LIMITS) {
        assert!(used <= data.len());
    }
    let _ = format::decode_manifest(data);
});
