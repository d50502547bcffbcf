//! The end of the newest file, damaged every possible way: cut at every byte offset of its
//! last records, and every single bit of them flipped. After each, the store must open (or,
//! for damage that is not at the tail, fail as its policy says), return no wrong value, and
//! lose nothing but the damaged records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use byo_bitcask::{Bitcask, CorruptionPolicy, Durability, Error, Options};

const RECORDS: usize = 12;
/// How many records at the end of the file are damaged, one trial at a time.
const TAIL_RECORDS: usize = 3;

struct Written {
    key: Vec<u8>,
    value: Vec<u8>,
    start: u64,
    end: u64,
}

/// A store of `RECORDS` puts over 4 keys (so damaged records have older values to fall back
/// on), in one data file.
fn build(dir: &Path) -> (PathBuf, Vec<Written>) {
    let store = Bitcask::open(dir, Options::default().durability(Durability::Always)).unwrap();
    let mut written = Vec::new();
    let mut offset = 8; // after the file magic
    for i in 0..RECORDS {
        let key = format!("key{}", i % 4).into_bytes();
        let value = format!("value-{i}-{}", "x".repeat(i)).into_bytes();
        store.put(&key, &value).unwrap();
        let end = offset + 20 + (key.len() + value.len()) as u64;
        written.push(Written { key, value, start: offset, end });
        offset = end;
    }
    store.close().unwrap();
    let data = dir.join("0000000000.data");
    assert_eq!(std::fs::metadata(&data).unwrap().len(), offset);
    (data, written)
}

/// The map after applying every record except those in `lost`.
fn expected(written: &[Written], lost: impl Fn(usize) -> bool) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    for (i, w) in written.iter().enumerate().filter(|(i, _)| !lost(*i)) {
        let _ = i;
        map.insert(w.key.clone(), w.value.clone());
    }
    map
}

fn contents(store: &Bitcask) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    for key in 0..4 {
        let key = format!("key{key}").into_bytes();
        if let Some(value) = store.get(&key).unwrap() {
            map.insert(key, value);
        }
    }
    map
}

fn options(policy: CorruptionPolicy) -> Options {
    Options::default().corruption(policy)
}

#[test]
fn a_cut_anywhere_in_the_last_records_loses_only_the_cut_records() {
    let base = tempfile::tempdir().unwrap();
    let (data, written) = build(base.path());
    let first = written[RECORDS - TAIL_RECORDS].start;
    let len = written[RECORDS - 1].end;
    for cut in first..len {
        let trial = crate::copy_dir(base.path());
        let file = trial.path().join(data.file_name().unwrap());
        std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(cut).unwrap();
        let store = Bitcask::open(trial.path(), options(CorruptionPolicy::Fail))
            .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let whole = |i: usize| written[i].end <= cut;
        assert_eq!(contents(&store), expected(&written, |i| !whole(i)), "cut at {cut}");
        let boundary = written.iter().any(|w| w.end == cut);
        assert_eq!(store.recovery_report().torn_tail.is_some(), !boundary, "cut at {cut}");
        // The cut is repaired before anything is appended: a new write and a reopen work.
        store.put(b"key0", b"after").unwrap();
        drop(store);
        let store = Bitcask::open(trial.path(), options(CorruptionPolicy::Fail)).unwrap();
        assert_eq!(store.get(b"key0").unwrap(), Some(b"after".to_vec()), "cut at {cut}");
    }
}

#[test]
fn a_flipped_bit_anywhere_in_the_last_records_is_caught() {
    let base = tempfile::tempdir().unwrap();
    let (data, written) = build(base.path());
    let bytes = std::fs::read(&data).unwrap();
    for damaged in RECORDS - TAIL_RECORDS..RECORDS {
        let w = &written[damaged];
        for byte in w.start..w.end {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[byte as usize] ^= 1 << bit;
                let at = format!("record {damaged}, byte {byte}, bit {bit}");
                for policy in [CorruptionPolicy::Fail, CorruptionPolicy::Skip] {
                    let trial = crate::copy_dir(base.path());
                    std::fs::write(trial.path().join(data.file_name().unwrap()), &flipped).unwrap();
                    let opened = Bitcask::open(trial.path(), options(policy));
                    let want = expected(&written, |i| i == damaged);
                    if damaged == RECORDS - 1 {
                        // The last record: indistinguishable from a torn write, so cut off.
                        let store = opened.unwrap_or_else(|e| panic!("{at}: {e}"));
                        assert_eq!(contents(&store), want, "{at}");
                        let torn = store.recovery_report().torn_tail.clone().unwrap();
                        assert_eq!(torn.offset, w.start, "{at}");
                    } else if policy == CorruptionPolicy::Fail {
                        match opened {
                            Err(Error::Corrupt { offset, .. }) => {
                                assert_eq!(offset, w.start, "{at}")
                            }
                            Err(e) => panic!("{at}: wrong error {e}"),
                            Ok(_) => panic!("{at}: damage in the middle was not reported"),
                        }
                    } else {
                        let store = opened.unwrap_or_else(|e| panic!("{at}: {e}"));
                        assert_eq!(contents(&store), want, "{at}");
                        let skipped = &store.recovery_report().skipped;
                        assert_eq!(skipped.len(), 1, "{at}");
                        assert_eq!(
                            (skipped[0].offset, skipped[0].bytes),
                            (w.start, w.end - w.start)
                        );
                    }
                }
            }
        }
    }
}
