//! Exact least-recently-used eviction.
//!
//! Every entry sits in one recency list: `get` and `put` move it to the head, eviction takes
//! the tail. With the list threaded through the slots of a [`Store`] by `u32` indices, each of
//! those steps is a hash lookup plus a few index writes, O(1) and allocation-free once the
//! cache is full: a miss on a full cache does not free and allocate, it rewrites the victim's
//! slot in place with the new key and value ([`Store::replace`]).
//!
//! Capacity is a total *weight*. With the default [`UnitWeigher`] every entry weighs 1, so the
//! capacity is an entry count; with your own [`Weigher`] it can be bytes or any other cost.
//!
//! Invariants (checked after every operation by the unit tests' `assert_valid`):
//! - `order` links every slot exactly once, most recently used at the head;
//! - `total_weight` is the sum of the slots' stored weights and never exceeds `capacity`;
//! - `store.len() <= MAX_ENTRIES`.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};

use crate::list::{List, ListIter};
use crate::put::{Evicted, Put};
use crate::store::{MAX_ENTRIES, Slot, Store};
use crate::weigher::{One, UnitWeigher, Weigher, Weight};
use crate::{Cache, DefaultHashBuilder};

/// An exact LRU cache with O(1) operations, bounded by entry count or by total weight.
///
/// ```
/// use byo_lru::LruCache;
///
/// let mut cache = LruCache::new(2);
/// cache.put("a", 1);
/// cache.put("b", 2);
/// cache.get(&"a"); // "a" is now the most recently used
/// cache.put("c", 3); // evicts "b", the least recently used
/// assert!(cache.contains(&"a") && !cache.contains(&"b") && cache.contains(&"c"));
/// ```
#[derive(Clone)]
pub struct LruCache<K, V, S = DefaultHashBuilder, W: Weigher<K, V> = UnitWeigher> {
    /// Entries; each slot's `meta` is its weight (zero bytes with unit weights).
    store: Store<K, V, W::Weight, S>,
    /// Recency order: head is the most recently used.
    order: List,
    capacity: u64,
    total_weight: u64,
    weigher: W,
}

impl<K: Hash + Eq, V> LruCache<K, V> {
    /// A cache holding at most `capacity` entries, with the default fast hasher.
    ///
    /// A capacity of 0 caches nothing; one above [`MAX_ENTRIES`](crate::MAX_ENTRIES) is
    /// lowered to it. Memory is allocated as entries arrive, not up front.
    pub fn new(capacity: usize) -> Self {
        Self::with_hasher(capacity, DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> LruCache<K, V, S> {
    /// A cache holding at most `capacity` entries, hashing keys with `hasher`.
    pub fn with_hasher(capacity: usize, hasher: S) -> Self {
        let capacity = capacity.min(MAX_ENTRIES) as u64;
        Self::with_weigher_and_hasher(capacity, UnitWeigher, hasher)
    }
}

impl<K: Hash + Eq, V, W: Weigher<K, V>> LruCache<K, V, DefaultHashBuilder, W> {
    /// A cache whose entries' weights, measured by `weigher`, add up to at most `capacity`.
    pub fn with_weigher(capacity: u64, weigher: W) -> Self {
        Self::with_weigher_and_hasher(capacity, weigher, DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V, S: BuildHasher, W: Weigher<K, V>> LruCache<K, V, S, W> {
    /// A weighted cache with a chosen hasher.
    pub fn with_weigher_and_hasher(capacity: u64, weigher: W, hasher: S) -> Self {
        LruCache {
            store: Store::with_hasher(hasher),
            order: List::default(),
            capacity,
            total_weight: 0,
            weigher,
        }
    }

    /// The value for `key`, marking it most recently used.
    #[inline]
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let index = self.store.find(self.store.hash(key), key)?;
        self.order.move_to_front(&mut self.store.slots, index);
        Some(&self.store.slot(index).value)
    }

    /// A mutable reference to the value for `key`, marking it most recently used.
    ///
    /// The entry's weight is not measured again; see [`Weigher`].
    ///
    /// ```
    /// let mut hits = byo_lru::LruCache::new(8);
    /// hits.put("/index.html", 0u32);
    /// if let Some(count) = hits.get_mut("/index.html") {
    ///     *count += 1;
    /// }
    /// assert_eq!(hits.peek("/index.html"), Some(&1));
    /// ```
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let index = self.store.find(self.store.hash(key), key)?;
        self.order.move_to_front(&mut self.store.slots, index);
        Some(&mut self.store.slot_mut(index).value)
    }

    /// The value for `key`, leaving the recency order as it is.
    pub fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.store.value(self.store.hash(key), key)
    }

    /// The least recently used entry (the next to be evicted), leaving the order as it is.
    ///
    /// ```
    /// let mut cache = byo_lru::LruCache::new(3);
    /// cache.put(1, "a");
    /// cache.put(2, "b");
    /// cache.get(&1);
    /// assert_eq!(cache.peek_lru(), Some((&2, &"b")));
    /// ```
    pub fn peek_lru(&self) -> Option<(&K, &V)> {
        self.order.iter(&self.store.slots).next_back().map(|i| self.entry(i))
    }

    /// Whether `key` is cached. Does not change the recency order.
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.peek(key).is_some()
    }

    /// Caches `value` under `key` as the most recently used entry, evicting least recently
    /// used entries if it does not fit. See [`Put`] for what comes back.
    pub fn put(&mut self, key: K, value: V) -> Put<K, V> {
        let hash = self.store.hash(&key);
        let weight = self.weigher.weight(&key, &value);
        let mut evicted = None;
        if let Some(index) = self.store.find(hash, &key) {
            let old_weight = self.store.slot(index).meta.get();
            if weight.get() > self.capacity {
                self.remove_at(index);
                return Put::Rejected(key, value);
            }
            // An update only needs room when it got heavier; with unit weights it never does.
            if self.total_weight - old_weight + weight.get() <= self.capacity {
                let slot = self.store.slot_mut(index);
                slot.meta = weight;
                let old = core::mem::replace(&mut slot.value, value);
                self.total_weight = self.total_weight - old_weight + weight.get();
                self.order.move_to_front(&mut self.store.slots, index);
                return Put::Replaced(old);
            }
            let (old_key, old_value) = self.remove_at(index);
            evicted = Some(Evicted::one(old_key, old_value));
        } else if weight.get() > self.capacity {
            return Put::Rejected(key, value);
        }
        self.insert_new(hash, key, value, weight, evicted)
    }

    /// Inserts a key known to be absent and to weigh at most `capacity`.
    fn insert_new(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: W::Weight,
        mut evicted: Option<Evicted<K, V>>,
    ) -> Put<K, V> {
        let new_weight = weight.get();
        // Evict from the tail until the tail alone is all that still has to go.
        loop {
            let room = self.capacity - self.total_weight;
            let full = self.store.len() >= MAX_ENTRIES;
            if new_weight <= room && !full {
                break;
            }
            let tail = self.order.tail;
            let tail_weight = self.store.slot(tail).meta.get();
            if new_weight <= room + tail_weight {
                // The common case on a full cache: the victim's slot becomes the new entry.
                let (old_key, old_value) = self.store.replace(tail, hash, key, value);
                self.store.slot_mut(tail).meta = weight;
                self.total_weight = self.total_weight - tail_weight + new_weight;
                self.order.move_to_front(&mut self.store.slots, tail);
                return Put::Evicted(Evicted::append(evicted, old_key, old_value));
            }
            let (old_key, old_value) = self.remove_at(tail);
            evicted = Some(Evicted::append(evicted, old_key, old_value));
        }
        let index = self.store.push(hash, key, value, weight, self.max_len());
        self.order.push_front(&mut self.store.slots, index);
        self.total_weight += new_weight;
        match evicted {
            None => Put::Inserted,
            Some(evicted) => Put::Evicted(evicted),
        }
    }

    /// The value for `key`, computing and caching it with `make` on a miss.
    ///
    /// `Err` hands back the new entry when it weighs more than the whole capacity, so it
    /// could not be cached (with unit weights that only happens at capacity 0).
    ///
    /// ```
    /// let mut squares = byo_lru::LruCache::new(100);
    /// let nine = squares.get_or_insert_with(3u64, || 3 * 3);
    /// assert_eq!(nine, Ok(&9));
    /// assert!(squares.contains(&3));
    /// ```
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> Result<&V, (K, V)> {
        let hash = self.store.hash(&key);
        let index = match self.store.find(hash, &key) {
            Some(index) => {
                self.order.move_to_front(&mut self.store.slots, index);
                index
            }
            None => {
                let value = make();
                let weight = self.weigher.weight(&key, &value);
                if weight.get() > self.capacity {
                    return Err((key, value));
                }
                // Evicted entries are dropped here; call `put` to receive them.
                drop(self.insert_new(hash, key, value, weight, None));
                self.order.head
            }
        };
        Ok(&self.store.slot(index).value)
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(key).map(|(_, value)| value)
    }

    /// Removes `key`, returning the stored key and its value.
    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let index = self.store.find(self.store.hash(key), key)?;
        Some(self.remove_at(index))
    }

    /// Removes and returns the least recently used entry.
    ///
    /// ```
    /// let mut cache = byo_lru::LruCache::new(3);
    /// cache.put('x', 1);
    /// cache.put('y', 2);
    /// assert_eq!(cache.pop_lru(), Some(('x', 1)));
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn pop_lru(&mut self) -> Option<(K, V)> {
        (self.order.len > 0).then(|| self.remove_at(self.order.tail))
    }

    fn remove_at(&mut self, index: u32) -> (K, V) {
        self.order.unlink(&mut self.store.slots, index);
        let removed = self.store.swap_remove(index);
        if let Some((from, to)) = removed.moved {
            self.order.slot_moved(from, to);
        }
        self.total_weight -= removed.meta.get();
        (removed.key, removed.value)
    }

    /// Changes the capacity, evicting least recently used entries until the cache fits.
    ///
    /// ```
    /// let mut cache = byo_lru::LruCache::new(3);
    /// (1..=3).for_each(|k| drop(cache.put(k, k)));
    /// cache.resize(1);
    /// assert_eq!(cache.iter().collect::<Vec<_>>(), [(&3, &3)]);
    /// ```
    pub fn resize(&mut self, capacity: u64) {
        self.capacity = capacity;
        while self.total_weight > self.capacity {
            self.pop_lru();
        }
        if self.store.len() < self.store.slots.capacity() / 2 {
            self.store.shrink_to_fit();
        }
    }

    /// The most entries this cache can ever hold: capacity over the least weight an entry
    /// can have (with unit weights, the capacity itself).
    fn max_len(&self) -> usize {
        match W::Weight::LEAST {
            0 => MAX_ENTRIES,
            least => (self.capacity / least).min(MAX_ENTRIES as u64) as usize,
        }
    }

    /// Reserves memory for `entries` entries up front, so filling the cache never reallocates.
    pub fn reserve(&mut self, entries: usize) {
        self.store.reserve(entries.min(MAX_ENTRIES));
    }
}

impl<K, V, S, W: Weigher<K, V>> LruCache<K, V, S, W> {
    /// The number of cached entries.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// The capacity: an entry count with unit weights, otherwise a total weight.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The total weight of the cached entries (their count, with unit weights).
    pub fn weight(&self) -> u64 {
        self.total_weight
    }

    /// Removes every entry, keeping the allocations for reuse.
    pub fn clear(&mut self) {
        self.store.clear();
        self.order = List::default();
        self.total_weight = 0;
    }

    /// The entries from most to least recently used. Does not change the order.
    ///
    /// ```
    /// let mut cache = byo_lru::LruCache::new(3);
    /// cache.put("a", 1);
    /// cache.put("b", 2);
    /// cache.get(&"a");
    /// let newest_first: Vec<_> = cache.iter().map(|(k, _)| *k).collect();
    /// assert_eq!(newest_first, ["a", "b"]);
    /// let oldest_first: Vec<_> = cache.iter().rev().map(|(k, _)| *k).collect();
    /// assert_eq!(oldest_first, ["b", "a"]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V, W::Weight> {
        Iter { slots: &self.store.slots, order: self.order.iter(&self.store.slots) }
    }

    fn entry(&self, index: u32) -> (&K, &V) {
        let slot = self.store.slot(index);
        (&slot.key, &slot.value)
    }

    /// Checks every invariant in the module docs (tests only; O(n)).
    #[cfg(test)]
    pub(crate) fn assert_valid(&self)
    where
        K: Hash + Eq,
        S: BuildHasher,
    {
        self.store.debug_assert_valid();
        self.order.debug_assert_valid(&self.store.slots);
        assert_eq!(self.order.len as usize, self.store.len());
        let sum: u64 = self.store.slots.iter().map(|s| s.meta.get()).sum();
        assert_eq!(sum, self.total_weight);
        assert!(self.total_weight <= self.capacity);
    }
}

/// Iterator over a cache's entries from most to least recently used; `.rev()` goes the other way.
///
/// `M` is the weight stored with each entry: [`One`] (no bytes) for count-bounded caches.
pub struct Iter<'a, K, V, M = One> {
    slots: &'a [Slot<K, V, M>],
    order: ListIter<'a, K, V, M>,
}

impl<'a, K, V, M> Iterator for Iter<'a, K, V, M> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let slot = &self.slots[self.order.next()? as usize];
        Some((&slot.key, &slot.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.order.size_hint()
    }
}

impl<K, V, M> DoubleEndedIterator for Iter<'_, K, V, M> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let slot = &self.slots[self.order.next_back()? as usize];
        Some((&slot.key, &slot.value))
    }
}

impl<K, V, M> ExactSizeIterator for Iter<'_, K, V, M> {}

impl<'a, K, V, S, W: Weigher<K, V>> IntoIterator for &'a LruCache<K, V, S, W> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V, W::Weight>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S, W: Weigher<K, V>> fmt::Debug for LruCache<K, V, S, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Hash + Eq, V, S: BuildHasher, W: Weigher<K, V>> Cache<K, V> for LruCache<K, V, S, W> {
    fn get(&mut self, key: &K) -> Option<&V> {
        LruCache::get(self, key)
    }
    fn peek(&self, key: &K) -> Option<&V> {
        LruCache::peek(self, key)
    }
    fn put(&mut self, key: K, value: V) -> Put<K, V> {
        LruCache::put(self, key, value)
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        LruCache::remove(self, key)
    }
    fn len(&self) -> usize {
        LruCache::len(self)
    }
    fn capacity(&self) -> u64 {
        LruCache::capacity(self)
    }
    fn clear(&mut self) {
        LruCache::clear(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<S, W: Weigher<u32, u32>>(cache: &LruCache<u32, u32, S, W>) -> Vec<u32> {
        cache.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn get_promotes_and_peek_does_not() {
        let mut cache = LruCache::new(3);
        for k in 1..=3 {
            assert_eq!(cache.put(k, k * 10), Put::Inserted);
        }
        assert_eq!(keys(&cache), [3, 2, 1]);
        assert_eq!(cache.peek(&1), Some(&10));
        assert_eq!(keys(&cache), [3, 2, 1]);
        assert_eq!(cache.get(&1), Some(&10));
        assert_eq!(keys(&cache), [1, 3, 2]);
        assert_eq!(cache.put(4, 40), Put::Evicted(Evicted::one(2, 20)));
        assert_eq!(keys(&cache), [4, 1, 3]);
        cache.assert_valid();
    }

    #[test]
    fn update_never_evicts_and_promotes() {
        let mut cache = LruCache::new(2);
        cache.put(1, 1);
        cache.put(2, 2);
        assert_eq!(cache.put(1, 11), Put::Replaced(1));
        assert_eq!(keys(&cache), [1, 2]);
        assert_eq!(cache.len(), 2);
        cache.assert_valid();
    }

    #[test]
    fn remove_from_every_position_keeps_links_valid() {
        for victim in 0..5u32 {
            let mut cache = LruCache::new(5);
            for k in 0..5 {
                cache.put(k, k);
            }
            assert_eq!(cache.remove(&victim), Some(victim));
            cache.assert_valid();
            let mut expected: Vec<u32> = (0..5).rev().filter(|&k| k != victim).collect();
            assert_eq!(keys(&cache), expected);
            cache.put(9, 9);
            expected.insert(0, 9);
            assert_eq!(keys(&cache), expected);
            cache.assert_valid();
        }
    }

    #[test]
    fn capacity_beyond_the_slot_limit_is_lowered_to_it() {
        let cache: LruCache<u32, u32> = LruCache::new(usize::MAX);
        assert_eq!(cache.capacity(), MAX_ENTRIES as u64);
        assert_eq!(cache.max_len(), MAX_ENTRIES);
        let weighted = LruCache::with_weigher(u64::MAX, |_: &u32, _: &u32| 1);
        assert_eq!(weighted.max_len(), MAX_ENTRIES, "a weigher promising nothing is bounded too");
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let mut cache = LruCache::new(0);
        assert_eq!(cache.put(1, 1), Put::Rejected(1, 1));
        assert!(cache.is_empty());
        assert_eq!(cache.get_or_insert_with(2, || 2), Err((2, 2)));
    }

    #[test]
    fn weighted_eviction_reports_every_entry_oldest_first() {
        let mut cache = LruCache::with_weigher(10, |_: &u32, v: &u32| u64::from(*v));
        cache.put(1, 3);
        cache.put(2, 3);
        cache.put(3, 3);
        let Put::Evicted(gone) = cache.put(4, 7) else { panic!("expected evictions") };
        assert_eq!(gone.into_iter().collect::<Vec<_>>(), [(1, 3), (2, 3)]);
        assert_eq!(keys(&cache), [4, 3]);
        assert_eq!(cache.weight(), 10);
        cache.assert_valid();
    }

    #[test]
    fn weighted_update_that_grows_reports_its_old_entry_first() {
        let mut cache = LruCache::with_weigher(10, |_: &u32, v: &u32| u64::from(*v));
        cache.put(1, 4);
        cache.put(2, 4);
        let Put::Evicted(gone) = cache.put(2, 8) else { panic!("expected evictions") };
        assert_eq!(gone.into_iter().collect::<Vec<_>>(), [(2, 4), (1, 4)]);
        assert_eq!(keys(&cache), [2]);
        cache.assert_valid();
    }

    #[test]
    fn too_heavy_is_rejected_and_removes_the_stale_entry() {
        let mut cache = LruCache::with_weigher(10, |_: &u32, v: &u32| u64::from(*v));
        cache.put(1, 5);
        assert_eq!(cache.put(1, 11), Put::Rejected(1, 11));
        assert!(!cache.contains(&1));
        assert_eq!(cache.weight(), 0);
        cache.assert_valid();
    }

    #[test]
    fn resize_down_evicts_lru_first() {
        let mut cache = LruCache::new(4);
        for k in 0..4 {
            cache.put(k, k);
        }
        cache.resize(2);
        assert_eq!(keys(&cache), [3, 2]);
        cache.resize(3);
        cache.put(7, 7);
        assert_eq!(keys(&cache), [7, 3, 2]);
        cache.assert_valid();
    }

    #[test]
    fn get_or_insert_with_computes_once() {
        let mut cache = LruCache::new(2);
        let mut calls = 0;
        for _ in 0..3 {
            let v = cache.get_or_insert_with(1, || {
                calls += 1;
                42
            });
            assert_eq!(v, Ok(&42));
        }
        assert_eq!(calls, 1);
    }

    #[test]
    fn borrowed_lookups_work_for_strings() {
        let mut cache: LruCache<String, u32> = LruCache::new(2);
        cache.put("alpha".to_string(), 1);
        assert_eq!(cache.get("alpha"), Some(&1));
        assert_eq!(cache.remove("alpha"), Some(1));
    }
}
