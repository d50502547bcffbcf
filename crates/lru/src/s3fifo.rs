//! S3-FIFO: a small probationary FIFO, a main FIFO, and a ghost queue of recently evicted keys.
//!
//! From Yang et al., "FIFO Queues are All You Need for Cache Eviction", SOSP 2023. Most objects
//! in real traces are requested once and never again ("one-hit wonders"). S3-FIFO filters them
//! out with a small queue (10% of the capacity) that new keys enter first; only keys hit again
//! while there move on to the main queue (90%). Keys evicted from the small queue are
//! remembered, without their values, in a ghost queue; a key that comes back while still a
//! ghost skips probation and goes straight to main.
//!
//! ```text
//!   new key ──▶ small (10%) ──freq ≥ 2──▶ main (90%) ──freq > 0: reinsert, freq - 1──┐
//!       │            │                       ▲   │                                  │
//!       │            └─freq < 2─▶ ghost ──hit┘   └──────────◀───────────────────────┘
//!       └─ ghost hit ────────────────────────┘            freq = 0: evict
//! ```
//!
//! Each entry carries a two-bit access counter (saturating at 3). A hit only increments it:
//! like SIEVE, nothing moves on a hit, which is what makes S3-FIFO cheap and scalable.
//!
//! Details follow libCacheSim's `S3FIFO.c`, the authors' simulator: the ghost holds 90% of
//! the capacity in keys; an entry moving from small to main starts main with a zero counter;
//! until the first eviction, keys that find the small queue full go to main directly. Ghost
//! entries are 64-bit key hashes (as the paper suggests), so a hash collision could admit a
//! key to main early: harmless, and vanishingly rare.
//!
//! Invariants: every slot is in exactly one of `small` and `main`, as its `meta.queue` says;
//! `small.len + main.len == store.len() <= capacity`.

use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use std::collections::VecDeque;

use hashbrown::HashMap;

use crate::list::List;
use crate::put::{Evicted, Put};
use crate::store::{MAX_ENTRIES, Store};
use crate::{Cache, DefaultHashBuilder};

/// Which queue a slot is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queue {
    Small,
    Main,
}

/// Per-entry state: the queue and a saturating access counter (0..=3).
#[derive(Clone, Copy, Debug)]
struct Meta {
    queue: Queue,
    freq: u8,
}

/// The frequency at which an entry leaving the small queue is promoted to main.
const PROMOTE_AT: u8 = 2;
/// The counter saturates here: two bits.
const MAX_FREQ: u8 = 3;

/// An S3-FIFO cache holding at most `capacity` entries.
///
/// ```
/// use byo_lru::S3FifoCache;
///
/// let mut cache = S3FifoCache::new(100);
/// cache.put(1, "one");
/// assert_eq!(cache.get(&1), Some(&"one"));
/// ```
#[derive(Clone)]
pub struct S3FifoCache<K, V, S = DefaultHashBuilder> {
    store: Store<K, V, Meta, S>,
    small: List,
    main: List,
    ghost: Ghost,
    capacity: usize,
    small_capacity: usize,
    /// Set by the first eviction; before it, keys that find `small` full go to `main`.
    has_evicted: bool,
}

impl<K: Hash + Eq, V> S3FifoCache<K, V> {
    /// A cache holding at most `capacity` entries (0 caches nothing).
    pub fn new(capacity: usize) -> Self {
        Self::with_hasher(capacity, DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> S3FifoCache<K, V, S> {
    /// A cache with a chosen hasher.
    pub fn with_hasher(capacity: usize, hasher: S) -> Self {
        let capacity = capacity.min(MAX_ENTRIES);
        S3FifoCache {
            store: Store::with_hasher(hasher),
            small: List::default(),
            main: List::default(),
            ghost: Ghost::new(capacity / 10 * 9 + capacity % 10 * 9 / 10),
            capacity,
            small_capacity: (capacity / 10).max(1),
            has_evicted: false,
        }
    }

    /// The value for `key`, counting the access.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let index = self.store.find(self.store.hash(key), key)?;
        let slot = self.store.slot_mut(index);
        slot.meta.freq = (slot.meta.freq + 1).min(MAX_FREQ);
        Some(&slot.value)
    }

    /// The value for `key`, without counting an access.
    pub fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let index = self.store.find(self.store.hash(key), key)?;
        Some(&self.store.slot(index).value)
    }

    /// Whether `key` is cached (without counting an access).
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.peek(key).is_some()
    }

    /// Caches `value` under `key`. A new key enters the small queue, or main if it is a
    /// ghost; an existing key keeps its place, takes the new value and counts an access.
    pub fn put(&mut self, key: K, value: V) -> Put<K, V> {
        let hash = self.store.hash(&key);
        if let Some(index) = self.store.find(hash, &key) {
            let slot = self.store.slot_mut(index);
            slot.meta.freq = (slot.meta.freq + 1).min(MAX_FREQ);
            return Put::Replaced(core::mem::replace(&mut slot.value, value));
        }
        if self.capacity == 0 {
            return Put::Rejected(key, value);
        }
        let mut evicted = None;
        while self.store.len() >= self.capacity {
            if let Some((k, v)) = self.evict() {
                evicted = Some(Evicted::append(evicted, k, v));
            }
        }
        // A returning ghost skips probation. So does every key that finds the small queue
        // full before the first eviction: it fills main instead of waiting (libCacheSim).
        let small_full = self.small.len as usize >= self.small_capacity;
        let queue = if self.ghost.remove(hash) || (!self.has_evicted && small_full) {
            Queue::Main
        } else {
            Queue::Small
        };
        let index = self.store.push(hash, key, value, Meta { queue, freq: 0 }, self.capacity);
        let list = match queue {
            Queue::Small => &mut self.small,
            Queue::Main => &mut self.main,
        };
        list.push_front(&mut self.store.slots, index);
        match evicted {
            None => Put::Inserted,
            Some(evicted) => Put::Evicted(evicted),
        }
    }

    /// One eviction step: from main when it is over its share (or small is empty), else from
    /// small. A step from small may only promote entries and evict nothing; the caller loops.
    fn evict(&mut self) -> Option<(K, V)> {
        self.has_evicted = true;
        let main_capacity = self.capacity - self.small_capacity;
        if self.main.len as usize > main_capacity || self.small.len == 0 {
            Some(self.evict_main())
        } else {
            self.evict_small()
        }
    }

    /// Takes entries from small's tail: promotes the ones hit at least twice to main, evicts
    /// the first that was not (remembering it as a ghost). Stops at one eviction, or when
    /// small is empty. At most `small.len` steps.
    fn evict_small(&mut self) -> Option<(K, V)> {
        while self.small.len > 0 {
            let tail = self.small.tail;
            self.small.unlink(&mut self.store.slots, tail);
            if self.store.slot(tail).meta.freq >= PROMOTE_AT {
                self.store.slot_mut(tail).meta = Meta { queue: Queue::Main, freq: 0 };
                self.main.push_front(&mut self.store.slots, tail);
            } else {
                let hash = self.store.hash(&self.store.slot(tail).key);
                self.ghost.insert(hash);
                return Some(self.remove_unlinked(tail));
            }
        }
        None
    }

    /// Main is a CLOCK with two-bit counters: an entry at the tail with a non-zero counter is
    /// reinserted at the head one lower; the first with zero is evicted. At most
    /// `3 * main.len + 1` steps, since every pass lowers each counter.
    fn evict_main(&mut self) -> (K, V) {
        loop {
            let tail = self.main.tail;
            let freq = self.store.slot(tail).meta.freq;
            if freq == 0 {
                self.main.unlink(&mut self.store.slots, tail);
                return self.remove_unlinked(tail);
            }
            self.store.slot_mut(tail).meta.freq = freq - 1;
            self.main.move_to_front(&mut self.store.slots, tail);
        }
    }

    /// Removes `key`, returning its value. It does not become a ghost.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let index = self.store.find(self.store.hash(key), key)?;
        let queue = self.store.slot(index).meta.queue;
        let list = match queue {
            Queue::Small => &mut self.small,
            Queue::Main => &mut self.main,
        };
        list.unlink(&mut self.store.slots, index);
        Some(self.remove_unlinked(index).1)
    }

    fn remove_unlinked(&mut self, index: u32) -> (K, V) {
        let removed = self.store.swap_remove(index);
        if let Some((from, to)) = removed.moved {
            self.small.slot_moved(from, to);
            self.main.slot_moved(from, to);
        }
        (removed.key, removed.value)
    }
}

impl<K, V, S> S3FifoCache<K, V, S> {
    /// The number of cached entries.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// The most entries the cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Removes every entry and forgets every ghost.
    pub fn clear(&mut self) {
        self.store.clear();
        self.small = List::default();
        self.main = List::default();
        self.ghost.clear();
        self.has_evicted = false;
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Cache<K, V> for S3FifoCache<K, V, S> {
    fn get(&mut self, key: &K) -> Option<&V> {
        S3FifoCache::get(self, key)
    }
    fn peek(&self, key: &K) -> Option<&V> {
        S3FifoCache::peek(self, key)
    }
    fn put(&mut self, key: K, value: V) -> Put<K, V> {
        S3FifoCache::put(self, key, value)
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        S3FifoCache::remove(self, key)
    }
    fn len(&self) -> usize {
        S3FifoCache::len(self)
    }
    fn capacity(&self) -> u64 {
        self.capacity as u64
    }
    fn clear(&mut self) {
        S3FifoCache::clear(self)
    }
}

/// A FIFO of key hashes with O(1) insert, membership and removal from the middle.
///
/// Removal only forgets the hash in `live`; its stale copy in `order` is skipped when it
/// reaches the front. `order` is compacted when stale copies outnumber live ones, so it never
/// holds more than `2 * capacity + 1` hashes.
#[derive(Clone, Debug)]
struct Ghost {
    /// hash → the sequence number of its live copy in `order`.
    live: HashMap<u64, u64>,
    order: VecDeque<(u64, u64)>,
    next_seq: u64,
    capacity: usize,
}

impl Ghost {
    fn new(capacity: usize) -> Self {
        Ghost { live: HashMap::new(), order: VecDeque::new(), next_seq: 0, capacity }
    }

    fn insert(&mut self, hash: u64) {
        if self.capacity == 0 || self.live.contains_key(&hash) {
            return;
        }
        self.live.insert(hash, self.next_seq);
        self.order.push_back((hash, self.next_seq));
        self.next_seq += 1;
        while self.live.len() > self.capacity {
            let Some((oldest, seq)) = self.order.pop_front() else { break };
            if self.live.get(&oldest) == Some(&seq) {
                self.live.remove(&oldest);
            }
        }
        if self.order.len() > 2 * self.capacity {
            let live = &self.live;
            self.order.retain(|(hash, seq)| live.get(hash) == Some(seq));
        }
    }

    /// Forgets `hash`; true if it was a ghost.
    fn remove(&mut self, hash: u64) -> bool {
        self.live.remove(&hash).is_some()
    }

    fn clear(&mut self) {
        self.live.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cache: &S3FifoCache<u32, u32>) {
        cache.store.debug_assert_valid();
        cache.small.debug_assert_valid(&cache.store.slots);
        cache.main.debug_assert_valid(&cache.store.slots);
        for i in cache.small.iter(&cache.store.slots) {
            assert_eq!(cache.store.slot(i).meta.queue, Queue::Small);
        }
        for i in cache.main.iter(&cache.store.slots) {
            assert_eq!(cache.store.slot(i).meta.queue, Queue::Main);
        }
        assert_eq!((cache.small.len + cache.main.len) as usize, cache.store.len());
        assert!(cache.store.len() <= cache.capacity);
        assert!(cache.ghost.order.len() <= 2 * cache.ghost.capacity + 1);
    }

    #[test]
    fn one_hit_wonders_leave_through_small_and_return_via_the_ghost() {
        let mut cache = S3FifoCache::new(10); // small 1, main 9, ghost 9
        for k in 0..10 {
            cache.put(k, k);
        }
        check(&cache);
        // Key 0 filled small; the rest went to main before the first eviction.
        cache.put(10, 10); // evicts 0 from small into the ghost
        assert!(!cache.contains(&0));
        cache.put(0, 0); // a ghost: goes to main
        let index = cache.store.find(cache.store.hash(&0), &0).unwrap();
        assert_eq!(cache.store.slot(index).meta.queue, Queue::Main);
        check(&cache);
    }

    #[test]
    fn frequently_hit_keys_survive_a_scan() {
        let mut cache = S3FifoCache::new(100);
        for k in 0..50 {
            cache.put(k, k);
            cache.get(&k);
            cache.get(&k);
        }
        for k in 1000..3000 {
            cache.put(k, k);
            check(&cache);
        }
        let survivors = (0..50).filter(|k| cache.contains(k)).count();
        assert!(survivors >= 45, "only {survivors} of 50 hot keys survived a scan");
    }

    #[test]
    fn ghost_stays_bounded_under_churn() {
        let mut ghost = Ghost::new(4);
        for round in 0..1000u64 {
            ghost.insert(round % 7);
            ghost.remove(round % 5);
            assert!(ghost.live.len() <= 4);
            assert!(ghost.order.len() <= 9);
        }
    }

    #[test]
    fn tiny_capacities_work() {
        for capacity in 1..12 {
            let mut cache = S3FifoCache::new(capacity);
            for k in 0..100u32 {
                cache.put(k % 13, k);
                cache.get(&(k % 3));
                check(&cache);
            }
        }
    }
}
