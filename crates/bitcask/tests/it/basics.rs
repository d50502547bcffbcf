//! The API, one behaviour at a time.

use byo_bitcask::{Bitcask, Durability, Error, Options};

fn small_files() -> Options {
    Options::default().max_file_size(4096).max_value_size(1024).max_key_size(64)
}

#[test]
fn values_survive_reopen_in_every_durability_mode() {
    let modes = [
        Durability::Always,
        Durability::GroupCommit,
        Durability::Interval(std::time::Duration::from_millis(5)),
        Durability::Never,
    ];
    for mode in modes {
        let dir = tempfile::tempdir().unwrap();
        let options = small_files().durability(mode);
        let store = Bitcask::open(dir.path(), options.clone()).unwrap();
        for i in 0..200u32 {
            store.put(&i.to_be_bytes(), &[i as u8; 40]).unwrap();
        }
        store.delete(&7u32.to_be_bytes()).unwrap();
        store.close().unwrap();
        let store = Bitcask::open(dir.path(), options).unwrap();
        assert_eq!(store.len(), 199, "{mode:?}");
        assert_eq!(store.get(&8u32.to_be_bytes()).unwrap(), Some(vec![8; 40]));
        assert_eq!(store.get(&7u32.to_be_bytes()).unwrap(), None);
        assert!(store.stats().files.len() > 1, "4 KiB files must have rotated");
    }
}

#[test]
fn delete_reports_whether_the_key_existed_and_writes_no_needless_tombstone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Bitcask::open(dir.path(), Options::default()).unwrap();
    assert!(!store.delete(b"never").unwrap());
    let before = store.stats().total_bytes();
    assert_eq!(store.stats().total_bytes(), before);
    store.put(b"k", b"v").unwrap();
    assert!(store.delete(b"k").unwrap());
    assert!(!store.contains(b"k"));
}

#[test]
fn sizes_are_checked_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Bitcask::open(dir.path(), small_files()).unwrap();
    let err = store.put(b"", b"v").unwrap_err();
    assert!(matches!(err, Error::Size { what: "key", len: 0, .. }), "{err}");
    let err = store.put(&[1; 65], b"v").unwrap_err();
    assert_eq!(err.to_string(), "key of 65 bytes is out of range (allowed: 1 to 64)");
    let err = store.put(b"k", &[0; 1025]).unwrap_err();
    assert!(matches!(err, Error::Size { what: "value", len: 1025, .. }));
    store.put(b"k", &[]).unwrap();
    assert_eq!(store.get(b"k").unwrap(), Some(vec![]), "empty values are values");
}

#[test]
fn options_that_do_not_fit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default().max_file_size(1000).max_value_size(2000);
    let err = Bitcask::open(dir.path(), options).err().unwrap();
    assert!(err.to_string().contains("does not fit in max_file_size"), "{err}");
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = Bitcask::open(dir.path(), Options::default()).unwrap();
    let quick = Options::default().lock_wait(std::time::Duration::from_millis(50));
    let started = std::time::Instant::now();
    let err = Bitcask::open(dir.path(), quick).err().unwrap();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(50), "it waited first");
    drop(first);
    Bitcask::open(dir.path(), Options::default()).unwrap();
}

#[test]
fn keys_and_fold_see_a_stable_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = Bitcask::open(dir.path(), small_files()).unwrap();
    for i in 0..50u8 {
        store.put(&[i], &[i; 10]).unwrap();
    }
    let mut keys = store.keys();
    keys.sort();
    assert_eq!(keys, (0..50u8).map(|i| vec![i]).collect::<Vec<_>>());
    let sum = store.fold(0u64, |acc, key, value| {
        assert_eq!(value, &[key[0]; 10]);
        acc + u64::from(key[0])
    });
    assert_eq!(sum.unwrap(), (0..50u64).sum());
}

#[test]
fn merge_reclaims_space_and_keeps_every_live_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = Bitcask::open(dir.path(), small_files()).unwrap();
    for round in 0..10u8 {
        for i in 0..40u8 {
            store.put(&[i], &[round; 50]).unwrap();
        }
    }
    for i in 0..10u8 {
        store.delete(&[i]).unwrap();
    }
    let before = store.stats();
    assert!(before.fragmentation() > 0.8, "{}", before.fragmentation());
    let report = store.merge().unwrap();
    assert!(report.bytes_after * 5 < report.bytes_before, "{report:?}");
    let after = store.stats();
    assert!(after.total_bytes() * 4 < before.total_bytes());
    for i in 10..40u8 {
        assert_eq!(store.get(&[i]).unwrap(), Some(vec![9; 50]));
    }
    drop(store);
    let store = Bitcask::open(dir.path(), small_files()).unwrap();
    assert!(store.recovery_report().from_hints > 0, "merge outputs load from hints");
    assert_eq!(store.len(), 30);
    for i in 0..10u8 {
        assert_eq!(store.get(&[i]).unwrap(), None, "deleted key {i} came back");
    }
}

#[test]
fn writes_and_reads_continue_while_merging() {
    let dir = tempfile::tempdir().unwrap();
    let store = Bitcask::open(dir.path(), small_files().durability(Durability::Never)).unwrap();
    for i in 0..500u32 {
        store.put(&i.to_be_bytes(), &i.to_le_bytes()).unwrap();
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..5 {
                store.merge().unwrap();
            }
        });
        s.spawn(|| {
            for i in 0..500u32 {
                store.put(&i.to_be_bytes(), &(i + 1).to_le_bytes()).unwrap();
                let got = store.get(&(499 - i).to_be_bytes()).unwrap().unwrap();
                let v = u32::from_le_bytes(got.try_into().unwrap());
                assert!(v == 499 - i || v == 500 - i, "read {v} for key {}", 499 - i);
            }
        });
    });
    drop(store);
    let store = Bitcask::open(dir.path(), small_files()).unwrap();
    for i in 0..500u32 {
        assert_eq!(store.get(&i.to_be_bytes()).unwrap(), Some((i + 1).to_le_bytes().to_vec()));
    }
}

#[test]
fn group_commit_with_many_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Bitcask::open(dir.path(), Options::default()).unwrap();
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let store = &store;
            s.spawn(move || {
                for i in 0..50u8 {
                    store.put(&[t, i], &[t ^ i; 16]).unwrap();
                }
            });
        }
    });
    drop(store);
    let store = Bitcask::open(dir.path(), Options::default()).unwrap();
    assert_eq!(store.len(), 400);
    assert_eq!(store.get(&[3, 4]).unwrap(), Some(vec![7; 16]));
}

#[test]
fn stray_files_are_left_alone_and_impostors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let store = Bitcask::open(dir.path(), Options::default()).unwrap();
    store.put(b"k", b"v").unwrap();
    drop(store);
    std::fs::write(dir.path().join("0000000000.data"), "not a data file at all").unwrap();
    let err = Bitcask::open(dir.path(), Options::default()).err().unwrap();
    assert!(matches!(err, Error::Foreign { .. }), "{err}");
    assert!(err.to_string().contains("0000000000.data"), "{err}");
}

#[test]
fn a_newest_file_left_empty_by_a_crash_is_removed_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = Bitcask::open(dir.path(), Options::default()).unwrap();
    store.put(b"k", b"v").unwrap();
    drop(store);
    // A crash between creating the next file and writing its header.
    let empty = dir.path().join("0000000007.data");
    std::fs::write(&empty, b"").unwrap();
    let store = Bitcask::open(dir.path(), Options::default()).unwrap();
    assert_eq!(store.recovery_report().removed, vec![empty.clone()]);
    assert!(!empty.exists());
    assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
    drop(store);
    // An empty file that is not the newest cannot come from a crash: it is refused by name.
    std::fs::write(dir.path().join("0000000000.data"), b"").unwrap();
    std::fs::write(dir.path().join("0000000009.data"), b"").unwrap();
    let err = Bitcask::open(dir.path(), Options::default()).err().unwrap();
    assert!(err.to_string().contains("0000000000.data"), "{err}");
}

#[test]
fn merge_if_needed_follows_its_trigger() {
    let dir = tempfile::tempdir().unwrap();
    let store = Bitcask::open(dir.path(), small_files()).unwrap();
    for round in 0..5u8 {
        for i in 0..30u8 {
            store.put(&[i], &[round; 50]).unwrap();
        }
    }
    let strict = byo_bitcask::MergeTrigger { fragmentation: 0.99, dead_bytes: 0 };
    assert_eq!(store.merge_if_needed(strict).unwrap(), None, "80% garbage is below 99%");
    let lenient = byo_bitcask::MergeTrigger { fragmentation: 0.5, dead_bytes: 1000 };
    let report = store.merge_if_needed(lenient).unwrap().expect("80% garbage is above 50%");
    // The live records are all in the active file, which merge leaves alone: it copies
    // nothing and reclaims every immutable file.
    assert!(report.inputs > 0 && report.bytes_after < report.bytes_before, "{report:?}");
    assert!(store.stats().fragmentation() < 0.5);
}
