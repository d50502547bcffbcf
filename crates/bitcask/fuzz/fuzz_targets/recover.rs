//! Arbitrary bytes as the store's newest data file (after a valid magic): opening must
//! either fail with an error or succeed, with every key it lists readable.
#![no_main]

use byo_bitcask::format::DATA_MAGIC;
use byo_bitcask::{Bitcask, CorruptionPolicy, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut file = DATA_MAGIC.to_vec();
    file.extend_from_slice(data);
    std::fs::write(dir.path().join("0000000000.data"), &file).expect("write");
    for policy in [CorruptionPolicy::Fail, CorruptionPolicy::Skip] {
        let options = Options::default().corruption(policy).max_value_size(1 << 16);
        if let Ok(store) = Bitcask::open(dir.path(), options) {
            for key in store.keys() {
                store.get(&key).expect("a listed key is readable");
            }
        }
    }
});
