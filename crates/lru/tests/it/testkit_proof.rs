//! The testkit proves itself: every cache in this crate passes it, a deliberately naive LRU
//! written differently from the kit's oracle passes it, and a deliberately broken one (no
//! promotion on `get`) fails it.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use byo_lru::testkit::{self, VecLru};
use byo_lru::{Cache, Evicted, LruCache, Put, S3FifoCache, SieveCache};

#[test]
fn lru_cache_passes_the_whole_kit() {
    testkit::check(LruCache::new);
}

#[test]
fn weighted_lru_with_unit_weights_passes_the_whole_kit() {
    testkit::check(|capacity| LruCache::with_weigher(capacity as u64, |_: &u64, _: &u64| 1));
}

#[test]
fn the_oracle_passes_its_own_kit() {
    testkit::check(VecLru::new);
}

#[test]
fn sieve_and_s3fifo_pass_the_policy_checks() {
    testkit::check_policy(SieveCache::new, 512);
    testkit::check_policy(S3FifoCache::new, 512);
}

#[test]
fn sieve_and_s3fifo_are_not_lru() {
    assert!(fails(|| testkit::check_against_model(SieveCache::new, 256)));
    assert!(fails(|| testkit::check_against_model(S3FifoCache::new, 256)));
}

/// A naive LRU: a map from key to (value, last-use tick); eviction scans for the oldest tick.
struct TickLru {
    entries: HashMap<u64, (u64, u64)>,
    tick: u64,
    capacity: usize,
    promote_on_get: bool,
}

impl TickLru {
    fn new(capacity: usize, promote_on_get: bool) -> Self {
        TickLru { entries: HashMap::new(), tick: 0, capacity, promote_on_get }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

impl Cache<u64, u64> for TickLru {
    fn get(&mut self, key: &u64) -> Option<&u64> {
        let tick = self.next_tick();
        let promote = self.promote_on_get;
        let (value, used) = self.entries.get_mut(key)?;
        if promote {
            *used = tick;
        }
        Some(value)
    }

    fn peek(&self, key: &u64) -> Option<&u64> {
        self.entries.get(key).map(|(value, _)| value)
    }

    fn put(&mut self, key: u64, value: u64) -> Put<u64, u64> {
        let tick = self.next_tick();
        if let Some((old, used)) = self.entries.get_mut(&key) {
            *used = tick;
            return Put::Replaced(std::mem::replace(old, value));
        }
        let mut result = Put::Inserted;
        if self.entries.len() == self.capacity {
            let oldest = *self.entries.iter().min_by_key(|(_, (_, used))| *used).unwrap().0;
            let (old, _) = self.entries.remove(&oldest).unwrap();
            result = Put::Evicted(evicted(oldest, old));
        }
        self.entries.insert(key, (value, tick));
        result
    }

    fn remove(&mut self, key: &u64) -> Option<u64> {
        self.entries.remove(key).map(|(value, _)| value)
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

/// `Evicted` has no public constructor; get one the way a user would, from a real cache.
fn evicted(key: u64, value: u64) -> Evicted<u64, u64> {
    let mut one = LruCache::new(1);
    let _ = one.put(key, value);
    match one.put(key.wrapping_add(1), 0) {
        Put::Evicted(gone) => gone,
        other => unreachable!("a full cache of one evicts: {other:?}"),
    }
}

fn fails(check: impl FnOnce()) -> bool {
    catch_unwind(AssertUnwindSafe(check)).is_err()
}

fn failure_message(check: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(check)).expect_err("the check should fail");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_naive_lru_passes() {
    testkit::check(|capacity| TickLru::new(capacity, true));
}

#[test]
fn an_lru_that_does_not_promote_on_get_fails_and_is_told_why() {
    let message = failure_message(|| testkit::check_lru_order(|c| TickLru::new(c, false)));
    assert!(message.contains("get promotes"), "unexpected message: {message}");
    // The random model test finds the same bug on its own.
    assert!(fails(|| testkit::check_against_model(|c| TickLru::new(c, false), 256)));
    // The policy checks are right not to care: it is still a correct bounded map.
    testkit::check_policy(|c| TickLru::new(c, false), 256);
}
