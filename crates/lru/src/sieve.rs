//! SIEVE: a FIFO queue, one "visited" bit per entry, and a moving hand.
//!
//! From Zhang et al., "SIEVE is Simpler than LRU: an Efficient Turn-Key Eviction Algorithm for
//! Web Caches", NSDI 2024. New entries go in at the head of a FIFO queue and never move. A hit
//! only sets the entry's visited bit. To evict, a hand walks from where it last stopped toward
//! the head (wrapping to the tail): a visited entry has its bit cleared and is passed over, the
//! first unvisited one is evicted, and the hand stays at its neighbour toward the head.
//!
//! ```text
//!   head (newest) ─▶ [e,0] [d,1] [c,0] [b,1] [a,1] ◀─ tail (oldest)
//!                                        ▲ hand: clears b, evicts c, stops at d
//! ```
//!
//! Because a hit writes one bit and moves nothing, SIEVE is cheaper per hit than LRU and, on
//! web-like workloads with one-hit wonders, often keeps more of the popular keys. Entries that
//! survive a pass of the hand keep their place, so "lazy promotion" replaces LRU's eager one.
//!
//! This follows the reference simulator (libCacheSim's `Sieve.c`) step for step, so hit ratios
//! on a trace match it exactly; the crate's trace test checks that.
//!
//! The visited bit is an [`AtomicBool`], which costs the same as a `bool` here: it lets
//! [`ShardedCache`](crate::ShardedCache) record hits while holding only a *shared* lock, since
//! marking an entry visited is the only write a SIEVE hit makes. It is written only when not
//! already set, so a hit on a hot entry writes nothing at all: no cache line changes hands
//! between cores.
//!
//! Invariants: `queue` links every slot; `hand` is `NIL` (start at the tail) or a linked slot.

use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::list::List;
use crate::put::{Evicted, Put};
use crate::store::{MAX_ENTRIES, NIL, Store};
use crate::{Cache, DefaultHashBuilder};

/// A SIEVE cache holding at most `capacity` entries.
///
/// ```
/// use byo_lru::SieveCache;
///
/// let mut cache = SieveCache::new(2);
/// cache.put("a", 1);
/// cache.put("b", 2);
/// cache.get(&"a"); // marks "a" visited
/// cache.put("c", 3); // the hand passes over "a" and evicts "b"
/// assert!(cache.contains(&"a") && !cache.contains(&"b"));
/// ```
#[derive(Clone)]
pub struct SieveCache<K, V, S = DefaultHashBuilder> {
    /// Entries; each slot's `meta` is its visited bit.
    store: Store<K, V, Visited, S>,
    /// Insertion order: head is the newest.
    queue: List,
    /// Where the next eviction scan starts; `NIL` means the tail.
    hand: u32,
    capacity: usize,
}

impl<K: Hash + Eq, V> SieveCache<K, V> {
    /// A cache holding at most `capacity` entries (0 caches nothing).
    pub fn new(capacity: usize) -> Self {
        Self::with_hasher(capacity, DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> SieveCache<K, V, S> {
    /// A cache with a chosen hasher.
    pub fn with_hasher(capacity: usize, hasher: S) -> Self {
        SieveCache {
            store: Store::with_hasher(hasher),
            queue: List::default(),
            hand: NIL,
            capacity: capacity.min(MAX_ENTRIES),
        }
    }

    /// The value for `key`, marking it visited.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_shared(self.store.hash(key), key)
    }

    /// [`get`](Self::get) through a shared reference, for a caller that already hashed `key`
    /// with this cache's hasher: the visited bit is atomic.
    #[inline]
    pub(crate) fn get_shared<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slot = self.store.slot(self.store.find(hash, key)?);
        slot.meta.mark();
        Some(&slot.value)
    }

    /// The value for `key`, without marking it visited.
    pub fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.peek_hashed(self.store.hash(key), key)
    }

    pub(crate) fn peek_hashed<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.store.value(hash, key)
    }

    /// Whether `key` is cached (without marking it visited).
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.peek(key).is_some()
    }

    /// Caches `value` under `key`. A new key enters unvisited at the head, evicting one entry
    /// when the cache is full; an existing key keeps its place, takes the new value and counts
    /// as visited.
    pub fn put(&mut self, key: K, value: V) -> Put<K, V> {
        let hash = self.store.hash(&key);
        self.put_hashed(hash, key, value)
    }

    pub(crate) fn put_hashed(&mut self, hash: u64, key: K, value: V) -> Put<K, V> {
        if let Some(index) = self.store.find(hash, &key) {
            let slot = self.store.slot_mut(index);
            slot.meta.set(true);
            return Put::Replaced(core::mem::replace(&mut slot.value, value));
        }
        if self.capacity == 0 {
            return Put::Rejected(key, value);
        }
        if self.store.len() < self.capacity {
            let index = self.store.push(hash, key, value, Visited::default(), self.capacity);
            self.queue.push_front(&mut self.store.slots, index);
            return Put::Inserted;
        }
        let victim = self.find_victim();
        // The victim's slot becomes the new entry, moved to the head. The hand already points
        // past it, so moving it does not disturb the scan.
        let (old_key, old_value) = self.store.replace(victim, hash, key, value);
        self.store.slot_mut(victim).meta.set(false);
        self.queue.move_to_front(&mut self.store.slots, victim);
        Put::Evicted(Evicted::one(old_key, old_value))
    }

    /// Runs the hand to the first unvisited entry, clearing visited bits on the way, and
    /// leaves the hand on the victim's neighbour toward the head.
    ///
    /// Terminates within one full lap plus one step: a lap clears every bit.
    fn find_victim(&mut self) -> u32 {
        debug_assert!(self.queue.len > 0);
        let mut at = if self.hand == NIL { self.queue.tail } else { self.hand };
        while self.store.slot_mut(at).meta.take() {
            let slot = self.store.slot(at);
            at = if slot.prev == NIL { self.queue.tail } else { slot.prev };
        }
        self.hand = self.store.slot(at).prev;
        at
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_hashed(self.store.hash(key), key)
    }

    pub(crate) fn remove_hashed<Q>(&mut self, hash: u64, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let index = self.store.find(hash, key)?;
        if self.hand == index {
            self.hand = self.store.slot(index).prev;
        }
        self.queue.unlink(&mut self.store.slots, index);
        let removed = self.store.swap_remove(index);
        if let Some((from, to)) = removed.moved {
            self.queue.slot_moved(from, to);
            if self.hand == from {
                self.hand = to;
            }
        }
        Some(removed.value)
    }
}

impl<K, V, S> SieveCache<K, V, S> {
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

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.store.clear();
        self.queue = List::default();
        self.hand = NIL;
    }

    /// The entries from newest to oldest insertion.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        let slots = &self.store.slots;
        self.queue.iter(slots).map(move |i| (&slots[i as usize].key, &slots[i as usize].value))
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Cache<K, V> for SieveCache<K, V, S> {
    fn get(&mut self, key: &K) -> Option<&V> {
        SieveCache::get(self, key)
    }
    fn peek(&self, key: &K) -> Option<&V> {
        SieveCache::peek(self, key)
    }
    fn put(&mut self, key: K, value: V) -> Put<K, V> {
        SieveCache::put(self, key, value)
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        SieveCache::remove(self, key)
    }
    fn len(&self) -> usize {
        SieveCache::len(self)
    }
    fn capacity(&self) -> u64 {
        self.capacity as u64
    }
    fn clear(&mut self) {
        SieveCache::clear(self)
    }
}

/// A SIEVE visited bit that a hit can set through a shared reference.
#[derive(Debug, Default)]
pub(crate) struct Visited(AtomicBool);

impl Visited {
    /// Marks the entry visited. Reads first: a hot entry is already marked, and skipping the
    /// store keeps its cache line clean, so cores reading it do not invalidate each other.
    /// `Relaxed` is enough: the bit orders nothing, and the shard lock orders the rest.
    #[inline]
    fn mark(&self) {
        if !self.0.load(Ordering::Relaxed) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    fn set(&mut self, visited: bool) {
        *self.0.get_mut() = visited;
    }

    /// Clears the bit, returning whether it was set.
    fn take(&mut self) -> bool {
        core::mem::take(self.0.get_mut())
    }
}

impl Clone for Visited {
    fn clone(&self) -> Self {
        Visited(AtomicBool::new(self.0.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cache: &SieveCache<u32, u32>) {
        cache.store.debug_assert_valid();
        cache.queue.debug_assert_valid(&cache.store.slots);
        assert!(cache.hand == NIL || (cache.hand as usize) < cache.store.len());
    }

    #[test]
    fn hand_skips_visited_and_stops_past_the_victim() {
        let mut cache = SieveCache::new(4);
        for k in 1..=4 {
            cache.put(k, k);
        }
        cache.get(&1);
        cache.get(&2);
        // Tail is 1: 1 and 2 are visited and cleared, 3 is evicted, the hand rests on 4.
        assert_eq!(cache.put(5, 5), Put::Evicted(Evicted::one(3, 3)));
        let keys: Vec<u32> = cache.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, [5, 4, 2, 1]);
        // Next scan starts at 4 (unvisited): it goes.
        assert_eq!(cache.put(6, 6), Put::Evicted(Evicted::one(4, 4)));
        check(&cache);
    }

    #[test]
    fn a_full_lap_evicts_even_when_everything_was_visited() {
        let mut cache = SieveCache::new(3);
        for k in 1..=3 {
            cache.put(k, k);
            cache.get(&k);
        }
        assert_eq!(cache.put(4, 4), Put::Evicted(Evicted::one(1, 1)));
        check(&cache);
    }

    #[test]
    fn removing_the_slot_under_the_hand_moves_the_hand() {
        let mut cache = SieveCache::new(3);
        for k in 1..=3 {
            cache.put(k, k);
        }
        cache.put(4, 4); // evicts 1, hand on 2
        assert_eq!(cache.remove(&2), Some(2));
        check(&cache);
        cache.put(5, 5);
        cache.put(6, 6);
        check(&cache);
        assert_eq!(cache.len(), 3);
    }
}
