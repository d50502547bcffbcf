//! Check your own key-value store with the suite this crate checks itself with.
//!
//! Implement [`KvEngine`] for your store, then:
//!
//! ```no_run
//! # use byo_bitcask::testkit::{self, KvEngine};
//! # type MyStore = byo_bitcask::Bitcask;
//! #[test]
//! fn behaves_like_a_map() {
//!     testkit::check::<MyStore>();
//! }
//! ```
//!
//! [`check`] runs hand-written cases (overwrite, delete, empty and binary values, reopen) and
//! a proptest model test: random sets, removes, gets and reopens against a `BTreeMap`.
//!
//! The crash suite, [`crash`], drives your store in a child process and kills it with
//! SIGKILL at random moments, then checks that every write your store acknowledged is there.
//! A store that keeps acknowledged writes in a user-space buffer fails it; see that module for
//! the two-function setup it needs.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

pub mod crash;

/// The error type the kit accepts from an engine.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A persistent key-value store, as the kit drives it.
///
/// `open` on a directory must find everything a previous instance acknowledged there (the
/// previous instance is always dropped first, or killed).
pub trait KvEngine: Sized {
    /// Opens or creates the store in `dir`.
    fn open(dir: &Path) -> Result<Self, BoxError>;
    /// The value for `key`.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, BoxError>;
    /// Stores `value` under `key`. Returning `Ok` acknowledges the write: it must survive a
    /// crash from then on.
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), BoxError>;
    /// Removes `key`, returning whether it was present. `Ok` acknowledges the removal.
    fn remove(&mut self, key: &[u8]) -> Result<bool, BoxError>;
    /// Housekeeping the crash suite runs now and then, so that crashes hit it too
    /// (compaction, for a log-structured store). Nothing by default.
    fn maintain(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl KvEngine for crate::Bitcask {
    fn open(dir: &Path) -> Result<Self, BoxError> {
        Ok(crate::Bitcask::open(dir, crate::Options::default())?)
    }
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, BoxError> {
        Ok(crate::Bitcask::get(self, key)?)
    }
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), BoxError> {
        Ok(self.put(key, value)?)
    }
    fn remove(&mut self, key: &[u8]) -> Result<bool, BoxError> {
        Ok(self.delete(key)?)
    }
    fn maintain(&mut self) -> Result<(), BoxError> {
        self.merge()?;
        Ok(())
    }
}

/// Runs the behavioural cases and the model test (256 cases); panics naming what broke.
pub fn check<E: KvEngine>() {
    check_cases::<E>();
    check_model::<E>(256);
}

fn fresh() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("byo-bitcask testkit: temp dir: {e}"))
}

fn ok<T>(result: Result<T, BoxError>, doing: &str) -> T {
    result.unwrap_or_else(|e| panic!("byo-bitcask testkit: {doing} failed: {e}"))
}

/// Hand-written cases, each checking one promise of a key-value store.
pub fn check_cases<E: KvEngine>() {
    let dir = fresh();
    let mut store = ok(E::open(dir.path()), "open of an empty directory");
    assert_eq!(ok(store.get(b"missing"), "get"), None, "a new store is empty");
    ok(store.set(b"k", b"v1"), "set");
    ok(store.set(b"k", b"v2"), "set");
    assert_eq!(ok(store.get(b"k"), "get"), Some(b"v2".to_vec()), "the last set wins");
    assert!(ok(store.remove(b"k"), "remove"), "remove of a present key returns true");
    assert!(!ok(store.remove(b"k"), "remove"), "remove of an absent key returns false");
    assert_eq!(ok(store.get(b"k"), "get"), None, "a removed key is gone");
    ok(store.set(b"empty", b""), "set of an empty value");
    assert_eq!(ok(store.get(b"empty"), "get"), Some(vec![]), "empty values are values");
    // 64 bytes spanning 0x00 to 0xFF: within the key limits of most stores.
    let mut binary: Vec<u8> = (0..=255).step_by(4).collect();
    binary[63] = 255;
    ok(store.set(&binary, &binary), "set of binary key and value");
    ok(store.set(b"gone", b"soon"), "set");
    ok(store.remove(b"gone"), "remove");
    drop(store);
    let mut store = ok(E::open(dir.path()), "reopen");
    assert_eq!(ok(store.get(b"empty"), "get"), Some(vec![]), "values survive reopen");
    assert_eq!(ok(store.get(&binary), "get"), Some(binary.clone()), "binary survives reopen");
    assert_eq!(ok(store.get(b"gone"), "get"), None, "removals survive reopen");
    assert_eq!(ok(store.get(b"k"), "get"), None, "removals survive reopen");
    for i in 0..1000u32 {
        ok(store.set(&i.to_be_bytes(), &i.to_le_bytes().repeat(5)), "set");
    }
    drop(store);
    let mut store = ok(E::open(dir.path()), "reopen");
    for i in (0..1000u32).step_by(37) {
        let want = Some(i.to_le_bytes().repeat(5));
        assert_eq!(ok(store.get(&i.to_be_bytes()), "get"), want, "key {i} after reopen");
    }
}

#[derive(Clone, Debug)]
enum Op {
    Set(u8, Vec<u8>),
    Remove(u8),
    Get(u8),
    Reopen,
    Maintain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0u8..16, prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(k, v)| Op::Set(k, v)),
        3 => (0u8..16).prop_map(Op::Remove),
        6 => (0u8..16).prop_map(Op::Get),
        1 => Just(Op::Reopen),
        1 => Just(Op::Maintain),
    ]
}

/// Random sets, removes, gets, reopens and maintenance against a `BTreeMap`, `cases` times.
pub fn check_model<E: KvEngine>(cases: u32) {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let strategy = prop::collection::vec(op(), 1..80);
    let result = runner.run(&strategy, |ops| {
        let fail = |e: BoxError| TestCaseError::fail(e.to_string());
        let dir = fresh();
        let mut store = E::open(dir.path()).map_err(fail)?;
        let mut model = BTreeMap::new();
        for op in ops {
            match op {
                Op::Set(k, v) => {
                    store.set(&[k], &v).map_err(fail)?;
                    model.insert(k, v);
                }
                Op::Remove(k) => {
                    let removed = store.remove(&[k]).map_err(fail)?;
                    prop_assert_eq!(removed, model.remove(&k).is_some(), "remove({})", k);
                }
                Op::Get(k) => {
                    prop_assert_eq!(store.get(&[k]).map_err(fail)?, model.get(&k).cloned());
                }
                Op::Reopen => {
                    drop(store);
                    store = E::open(dir.path()).map_err(fail)?;
                }
                Op::Maintain => store.maintain().map_err(fail)?,
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("byo-bitcask testkit model test: {failure}");
    }
}
