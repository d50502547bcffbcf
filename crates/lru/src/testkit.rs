//! Check your own cache with the suite this crate checks itself with.
//!
//! Implement [`Cache<u64, u64>`](crate::Cache) for your type, then call [`check`] with a
//! function that builds one of a given capacity:
//!
//! ```
//! use byo_lru::LruCache;
//!
//! byo_lru::testkit::check(|capacity| LruCache::new(capacity));
//! ```
//!
//! [`check`] runs everything an exact LRU must pass: [`check_policy`] (the map-like guarantees
//! any bounded cache owes its caller), [`check_lru_order`] (hand-written cases that each pin
//! down one LRU rule and say which in their failure message), and [`check_against_model`] (a
//! proptest run of random operations compared, result by result, with [`VecLru`], an LRU
//! simple enough to be obviously right). A failure panics with a message naming the broken
//! rule, or, for the model test, the shortest operation sequence proptest found that breaks it.
//!
//! SIEVE, S3-FIFO or any other policy evicts different entries than LRU, so check those with
//! [`check_policy`] alone.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::{Cache, Evicted, Put};

/// An obviously-correct LRU: a `Vec` of entries, most recently used first, searched linearly.
///
/// O(n) per operation and meant only as the oracle for tests.
#[derive(Clone, Debug)]
pub struct VecLru<K, V> {
    entries: Vec<(K, V)>,
    capacity: usize,
}

impl<K: PartialEq, V> VecLru<K, V> {
    /// An empty oracle holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        VecLru { entries: Vec::new(), capacity }
    }

    fn position(&self, key: &K) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    /// Keys from most to least recently used.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }
}

impl<K: PartialEq, V> Cache<K, V> for VecLru<K, V> {
    fn get(&mut self, key: &K) -> Option<&V> {
        let at = self.position(key)?;
        let entry = self.entries.remove(at);
        self.entries.insert(0, entry);
        Some(&self.entries[0].1)
    }

    fn peek(&self, key: &K) -> Option<&V> {
        self.position(key).map(|at| &self.entries[at].1)
    }

    fn put(&mut self, key: K, value: V) -> Put<K, V> {
        if let Some(at) = self.position(&key) {
            let (_, old) = self.entries.remove(at);
            self.entries.insert(0, (key, value));
            return Put::Replaced(old);
        }
        if self.capacity == 0 {
            return Put::Rejected(key, value);
        }
        let evicted = (self.entries.len() == self.capacity).then(|| self.entries.pop());
        self.entries.insert(0, (key, value));
        match evicted.flatten() {
            Some((k, v)) => Put::Evicted(Evicted::one(k, v)),
            None => Put::Inserted,
        }
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        let at = self.position(key)?;
        Some(self.entries.remove(at).1)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn capacity(&self) -> u64 {
        self.capacity as u64
    }

    fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Everything an exact LRU cache must pass: [`check_policy`], [`check_lru_order`] and
/// [`check_against_model`] with 256 cases.
pub fn check<C: Cache<u64, u64>>(make: impl Fn(usize) -> C) {
    check_policy(&make, 256);
    check_lru_order(&make);
    check_against_model(&make, 256);
}

/// Hand-written cases, each pinning down one rule of LRU eviction.
pub fn check_lru_order<C: Cache<u64, u64>>(make: impl Fn(usize) -> C) {
    let filled = |capacity: u64| {
        let mut cache = make(capacity as usize);
        for k in 1..=capacity {
            let put = cache.put(k, k * 10);
            assert!(
                matches!(put, Put::Inserted),
                "put of new key {k} into a cache of capacity {capacity} holding {} entries \
                 should be Put::Inserted, was {put:?}",
                k - 1
            );
        }
        cache
    };
    let expect_evicts = |cache: &mut C, new: u64, victim: u64, rule: &str| {
        let put = cache.put(new, new * 10);
        let want = Put::Evicted(Evicted::one(victim, victim * 10));
        assert!(put == want, "{rule}: put({new}) should evict {victim}, got {put:?}");
    };

    let mut cache = filled(3);
    expect_evicts(&mut cache, 4, 1, "the least recently inserted entry goes first");

    let mut cache = filled(3);
    assert_eq!(cache.get(&1), Some(&10), "get(1) after put(1, 10)");
    expect_evicts(&mut cache, 4, 2, "get promotes: after get(1), 2 is least recently used");

    let mut cache = filled(3);
    assert_eq!(cache.peek(&1), Some(&10), "peek(1) after put(1, 10)");
    expect_evicts(&mut cache, 4, 1, "peek does not promote");

    let mut cache = filled(3);
    assert!(cache.contains(&1), "contains(1) after put(1, 10)");
    expect_evicts(&mut cache, 4, 1, "contains does not promote");

    let mut cache = filled(3);
    let put = cache.put(1, 11);
    assert!(put == Put::Replaced(10), "put on a present key replaces, got {put:?}");
    assert_eq!(cache.len(), 3, "an update never evicts");
    expect_evicts(&mut cache, 4, 2, "an update promotes");

    let mut cache = filled(3);
    assert_eq!(cache.remove(&2), Some(20), "remove returns the value");
    let put = cache.put(4, 40);
    assert!(matches!(put, Put::Inserted), "remove frees room, so put(4) evicts nothing: {put:?}");
    expect_evicts(&mut cache, 5, 1, "removal keeps the order of the others");

    let mut cache = filled(1);
    expect_evicts(&mut cache, 2, 1, "capacity 1 holds the newest entry");
    assert_eq!(cache.get(&2), Some(&20), "capacity 1 keeps what was just put");

    let mut cache = filled(3);
    cache.clear();
    assert_eq!(cache.len(), 0, "clear empties the cache");
    assert_eq!(cache.get(&1), None, "nothing survives clear");
}

/// Guarantees any bounded cache owes its caller, whatever it evicts: checked after every step
/// of `cases` random operation sequences, against a plain map of the last value written.
///
/// - `len() <= capacity()`, and `len()` counts exactly the keys `contains` reports;
/// - `get`/`peek` return the last value put for a key, or nothing (never a stale value);
/// - `put` on a cached key is `Replaced(last value)`; on a new key it is `Inserted` or
///   `Evicted` of entries that were cached with their last values and are gone afterwards;
/// - after `put(k, v)`, `peek(k)` is `v`; after `remove(k)`, `k` is gone.
pub fn check_policy<C: Cache<u64, u64>>(make: impl Fn(usize) -> C, cases: u32) {
    run(cases, |capacity, ops| {
        let mut cache = make(capacity);
        let mut written = std::collections::BTreeMap::new();
        for (step, op) in ops.iter().enumerate() {
            let at = format!("step {step} ({op:?})");
            match *op {
                Op::Get(k) | Op::Peek(k) => {
                    let got = if matches!(op, Op::Get(_)) { cache.get(&k) } else { cache.peek(&k) };
                    if let Some(v) = got {
                        prop_assert_eq!(Some(v), written.get(&k), "{}: stale value", at);
                    }
                }
                Op::Put(k, v) => {
                    let was_cached = cache.contains(&k);
                    match cache.put(k, v) {
                        Put::Replaced(old) => {
                            prop_assert!(was_cached, "{}: Replaced for an uncached key", at);
                            prop_assert_eq!(Some(&old), written.get(&k), "{}", at);
                        }
                        Put::Inserted => prop_assert!(!was_cached, "{}: Inserted a cached key", at),
                        Put::Evicted(gone) => {
                            for (gk, gv) in gone {
                                prop_assert_eq!(Some(&gv), written.get(&gk), "{}: evicted", at);
                                prop_assert!(gk != k && !cache.contains(&gk), "{}: {}", at, gk);
                            }
                        }
                        Put::Rejected(..) => prop_assert!(false, "{}: rejected a unit entry", at),
                    }
                    written.insert(k, v);
                    prop_assert_eq!(cache.peek(&k), Some(&v), "{}: put value not readable", at);
                }
                Op::Remove(k) => {
                    let removed = cache.remove(&k);
                    if let Some(v) = removed {
                        prop_assert_eq!(Some(&v), written.get(&k), "{}: removed stale", at);
                    }
                    prop_assert!(!cache.contains(&k), "{}: still there after remove", at);
                }
                Op::Clear => {
                    cache.clear();
                    prop_assert_eq!(cache.len(), 0, "{}", at);
                }
            }
            let present = (0..KEYS).filter(|k| cache.contains(k)).count();
            prop_assert_eq!(cache.len(), present, "{}: len() disagrees with contains()", at);
            prop_assert!(cache.len() as u64 <= cache.capacity(), "{}: over capacity", at);
        }
        Ok(())
    });
}

/// Random operation sequences applied to the cache and to [`VecLru`] side by side: every
/// result and the length must agree at every step.
pub fn check_against_model<C: Cache<u64, u64>>(make: impl Fn(usize) -> C, cases: u32) {
    run(cases, |capacity, ops| {
        let mut cache = make(capacity);
        let mut model = VecLru::new(capacity);
        for (step, op) in ops.iter().enumerate() {
            let at = format!("step {step} ({op:?}); LRU order before it was {:?}", model.entries);
            match *op {
                Op::Get(k) => prop_assert_eq!(cache.get(&k), model.get(&k), "{}", at),
                Op::Peek(k) => prop_assert_eq!(cache.peek(&k), model.peek(&k), "{}", at),
                Op::Put(k, v) => prop_assert_eq!(cache.put(k, v), model.put(k, v), "{}", at),
                Op::Remove(k) => prop_assert_eq!(cache.remove(&k), model.remove(&k), "{}", at),
                Op::Clear => {
                    cache.clear();
                    model.clear();
                }
            }
            prop_assert_eq!(cache.len(), model.len(), "len after {}", at);
        }
        Ok(())
    });
}

/// Keys are drawn from `0..KEYS`: few enough that hits, updates and evictions are common.
const KEYS: u64 = 12;

/// One step of a generated test.
#[derive(Clone, Copy, Debug)]
enum Op {
    Get(u64),
    Peek(u64),
    Put(u64, u64),
    Remove(u64),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS;
    prop_oneof![
        8 => key.clone().prop_map(Op::Get),
        2 => key.clone().prop_map(Op::Peek),
        8 => (key.clone(), any::<u64>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => key.prop_map(Op::Remove),
        1 => Just(Op::Clear),
    ]
}

/// Runs `test` on `cases` random (capacity, operations) pairs; panics with the shrunk
/// counterexample on failure.
fn run(cases: u32, test: impl Fn(usize, &[Op]) -> Result<(), TestCaseError>) {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let strategy = (1usize..=8, proptest::collection::vec(op(), 1..120));
    if let Err(failure) = runner.run(&strategy, |(capacity, ops)| test(capacity, &ops)) {
        panic!("byo-lru testkit: {failure}");
    }
}
