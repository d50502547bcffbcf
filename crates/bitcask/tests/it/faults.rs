//! A fault-injecting storage layer under the store: every failure reaches the caller, the
//! keydir never points at unwritten data, and after a failed write or fsync the store refuses
//! writes until reopened, when recovery cleans up.

use byo_bitcask::fault::FaultyStorage;
use byo_bitcask::{Bitcask, Durability, Error, FsStorage, Options};

fn open(dir: &std::path::Path, durability: Durability) -> (Bitcask, FaultyStorage) {
    let disk = FaultyStorage::new(FsStorage);
    let options = Options::default()
        .durability(durability)
        .max_file_size(4096)
        .max_value_size(1024)
        .max_key_size(64);
    (Bitcask::open_with(dir, options, disk.clone()).unwrap(), disk)
}

#[test]
fn a_short_write_at_every_byte_of_a_record_is_reported_and_leaves_no_trace() {
    let record_len = 20 + 3 + 100;
    for cut in 0..record_len {
        let dir = tempfile::tempdir().unwrap();
        let (store, disk) = open(dir.path(), Durability::Always);
        store.put(b"old", &[1; 100]).unwrap();
        disk.short_write_after(cut);
        let err = store.put(b"new", &[2; 100]).unwrap_err();
        assert!(err.to_string().contains("short write"), "cut {cut}: {err}");
        assert_eq!(store.get(b"new").unwrap(), None, "the keydir must not point at it");
        assert!(matches!(store.put(b"x", b"y"), Err(Error::Poisoned(_))), "cut {cut}");
        assert_eq!(store.get(b"old").unwrap(), Some(vec![1; 100]), "reads still work");
        drop(store);
        let (store, _) = open(dir.path(), Durability::Always);
        assert_eq!(store.get(b"old").unwrap(), Some(vec![1; 100]));
        assert_eq!(store.get(b"new").unwrap(), None, "cut {cut}: a partial record surfaced");
        store.put(b"after", b"ok").unwrap();
    }
}

#[test]
fn a_failed_fsync_is_not_an_acknowledgement_and_stops_writes() {
    for durability in [Durability::Always, Durability::GroupCommit] {
        let dir = tempfile::tempdir().unwrap();
        let (store, disk) = open(dir.path(), durability);
        store.put(b"a", b"1").unwrap();
        disk.fail_syncs(true);
        assert!(store.put(b"b", b"2").is_err(), "{durability:?}");
        disk.fail_syncs(false);
        let err = store.put(b"c", b"3").unwrap_err();
        assert!(matches!(err, Error::Poisoned(_)), "{durability:?}: {err}");
        assert!(err.to_string().contains("fsync"), "names the first failure: {err}");
        assert!(store.merge().is_err(), "merge writes too");
        drop(store);
        let (store, _) = open(dir.path(), durability);
        assert_eq!(store.get(b"a").unwrap(), Some(b"1".to_vec()));
        store.put(b"c", b"3").unwrap();
    }
}

#[test]
fn a_full_disk_fails_the_write_and_keeps_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disk) = open(dir.path(), Durability::GroupCommit);
    disk.disk_full_after(2000);
    let mut acknowledged = 0u32;
    let err = loop {
        match store.put(&acknowledged.to_be_bytes(), &[7; 64]) {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("disk full"), "{err}");
    assert!(acknowledged > 10);
    drop(store);
    disk.heal();
    let (store, _) = open(dir.path(), Durability::GroupCommit);
    for i in 0..acknowledged {
        assert_eq!(store.get(&i.to_be_bytes()).unwrap(), Some(vec![7; 64]), "key {i}");
    }
    assert_eq!(store.len() as u32, acknowledged);
}

#[test]
fn a_failure_while_rotating_files_is_reported_and_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disk) = open(dir.path(), Durability::Never);
    let mut i = 0u32;
    // Fill the first 4 KiB file, then fail the fsync that seals it.
    while store.stats().total_bytes() < 3900 {
        store.put(&i.to_be_bytes(), &[1; 50]).unwrap();
        i += 1;
    }
    disk.fail_syncs(true);
    let mut failed = false;
    for _ in 0..10 {
        if store.put(&i.to_be_bytes(), &[1; 50]).is_err() {
            failed = true;
            break;
        }
        i += 1;
    }
    assert!(failed, "rotation's fsync failure must reach the caller");
    drop(store);
    disk.heal();
    let (store, _) = open(dir.path(), Durability::Never);
    for k in 0..i {
        assert_eq!(store.get(&k.to_be_bytes()).unwrap(), Some(vec![1; 50]), "key {k}");
    }
}

/// A merge crashed at each of its steps in turn (every append, fsync, creation, rename and
/// removal it makes): after reopening on the real disk, the store holds exactly what it held
/// before, with no key lost and no deleted key back.
#[test]
fn a_merge_crashed_at_every_step_loses_nothing_and_resurrects_nothing() {
    let base = tempfile::tempdir().unwrap();
    let options = Options::default()
        .durability(Durability::Never)
        .max_file_size(1024)
        .max_value_size(256)
        .max_key_size(8);
    let mut model = std::collections::BTreeMap::new();
    {
        let store = Bitcask::open(base.path(), options.clone()).unwrap();
        for round in 0..6u8 {
            for k in 0..12u8 {
                store.put(&[k], &[round; 40]).unwrap();
                model.insert(k, vec![round; 40]);
            }
            store.delete(&[round]).unwrap();
            model.remove(&round);
        }
        store.close().unwrap();
    }
    // How many mutating steps a whole merge takes.
    let steps = {
        let trial = crate::copy_dir(base.path());
        let disk = FaultyStorage::new(FsStorage);
        let store = Bitcask::open_with(trial.path(), options.clone(), disk.clone()).unwrap();
        let before = disk.mutations();
        store.merge().unwrap();
        disk.mutations() - before
    };
    assert!(steps > 10, "a merge of several files takes many steps, not {steps}");
    eprintln!("a merge of this store takes {steps} storage operations; crashing after each");
    let (mut finished, mut discarded) = (0, 0);
    for crash_at in 0..=steps {
        let trial = crate::copy_dir(base.path());
        let disk = FaultyStorage::new(FsStorage);
        let store = Bitcask::open_with(trial.path(), options.clone(), disk.clone()).unwrap();
        disk.crash_after(crash_at);
        let merged = store.merge();
        assert_eq!(merged.is_ok(), crash_at == steps, "crash after {crash_at} of {steps} steps");
        drop(store);
        let store = Bitcask::open(trial.path(), options.clone()).unwrap();
        finished += usize::from(store.recovery_report().finished_merge);
        discarded += usize::from(!store.recovery_report().removed.is_empty());
        for k in 0..12u8 {
            assert_eq!(
                store.get(&[k]).unwrap(),
                model.get(&k).cloned(),
                "key {k}, crash at {crash_at}"
            );
        }
        let leftovers: Vec<_> = std::fs::read_dir(trial.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp") || n == "MERGE")
            .collect();
        assert!(leftovers.is_empty(), "crash at {crash_at}: recovery left {leftovers:?}");
        store.merge().unwrap();
    }
    // Both halves of the protocol were crashed into: before the commit (outputs discarded)
    // and after it (merge finished by the next open).
    assert!(finished > 0 && discarded > 0, "finished {finished}, discarded {discarded}");
}
