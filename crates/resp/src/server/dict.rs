//! The hash table behind every keyspace, hash and set: chained buckets over a slab of entries,
//! with Redis's reverse-binary `SCAN` cursor.
//!
//! `SCAN` promises that an element present for the whole iteration is returned at least once,
//! even if the table grows or shrinks between calls. A cursor that counts buckets from 0 cannot
//! keep that promise: after the table doubles, bucket `i` splits into `i` and `i + size`, and the
//! second half would be visited again while moved elements below the cursor are skipped. Redis's
//! answer (`dictScan`) is to increment the cursor's *reversed* bits. With a mask of 3 bits the
//! order is
//!
//! ```text
//!   000 100 010 110 001 101 011 111
//! ```
//!
//! so the high bits vary fastest. When the table doubles, bucket `b` splits into `b` and
//! `b | size`, which this order visits back to back; when it halves, two buckets merge into one
//! that the order reaches no sooner than either of them. Either way every bucket not yet
//! visited still lies ahead of the cursor. (After a shrink an element can come back twice;
//! duplicates are allowed, misses are not.)
//!
//! That needs a table whose element positions depend only on their hash and the table size, so
//! it is built here: `buckets[hash & mask]` is the head of a chain threaded through `entries`, a
//! slab whose free slots form a list. Entries never move while they live (the slab only
//! compacts when the table shrinks, which rebuilds every chain anyway), so the chains are plain
//! `u32` indices instead of pointers. Each entry keeps 32 bits of its hash, so resizing never
//! re-hashes a key; tables are therefore limited to 2^32 buckets and 2^32 - 1 entries.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use foldhash::fast::RandomState;

/// No entry: an empty bucket, or the end of a chain or of the free list.
const NONE: u32 = u32::MAX;
/// The smallest table; also the size an empty table shrinks back to.
const MIN_BUCKETS: usize = 4;

/// A hash map from `K` to `V` with stable `SCAN` cursors and O(1) random sampling.
#[derive(Clone)]
pub(crate) struct Dict<K, V> {
    hasher: RandomState,
    /// Chain heads, `NONE` for an empty bucket; the length is a power of two (or zero).
    buckets: Vec<u32>,
    entries: Vec<Slot<K, V>>,
    /// Head of the list of free slots in `entries`.
    free: u32,
    len: usize,
}

#[derive(Clone)]
enum Slot<K, V> {
    Used(Entry<K, V>),
    /// A free slot and the next free one.
    Free(u32),
}

#[derive(Clone)]
struct Entry<K, V> {
    key: K,
    value: V,
    /// The low 32 bits of the key's hash: enough to place it in any table we can build.
    hash: u32,
    /// The next entry in the same bucket.
    next: u32,
}

impl<K, V> Default for Dict<K, V> {
    fn default() -> Self {
        Dict {
            hasher: RandomState::default(),
            buckets: Vec::new(),
            entries: Vec::new(),
            free: NONE,
            len: 0,
        }
    }
}

impl<K: Hash + Eq, V> Dict<K, V> {
    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u32 {
        self.hasher.hash_one(key) as u32
    }

    fn mask(&self) -> u32 {
        (self.buckets.len() as u32).wrapping_sub(1)
    }

    /// The slot index holding `key`, if any.
    fn find<Q>(&self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.len == 0 {
            return None;
        }
        let hash = self.hash(key);
        let mut at = self.buckets[(hash & self.mask()) as usize];
        while at != NONE {
            let entry = self.entry(at);
            if entry.hash == hash && entry.key.borrow() == key {
                return Some(at);
            }
            at = entry.next;
        }
        None
    }

    fn entry(&self, at: u32) -> &Entry<K, V> {
        match &self.entries[at as usize] {
            Slot::Used(entry) => entry,
            // Chains only ever link used slots.
            Slot::Free(_) => unreachable!("a chain links a free slot"),
        }
    }

    fn entry_mut(&mut self, at: u32) -> &mut Entry<K, V> {
        match &mut self.entries[at as usize] {
            Slot::Used(entry) => entry,
            Slot::Free(_) => unreachable!("a chain links a free slot"),
        }
    }

    /// The value stored under `key`.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).map(|at| &self.entry(at).value)
    }

    /// The value stored under `key`, to change in place.
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let at = self.find(key)?;
        Some(&mut self.entry_mut(at).value)
    }

    /// Whether `key` is present.
    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).is_some()
    }

    /// Stores `value` under `key`, returning the value it replaces (the stored key is kept).
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let Some(at) = self.find(&key) {
            return Some(std::mem::replace(&mut self.entry_mut(at).value, value));
        }
        self.insert_new(key, value);
        None
    }

    /// Stores `key`, known to be absent.
    pub(crate) fn insert_new(&mut self, key: K, value: V) -> &mut V {
        // Grow at one entry per bucket on average, as Redis does: chains stay short and the
        // bucket array costs 4 bytes per entry.
        if self.len >= self.buckets.len() {
            self.resize((self.buckets.len() * 2).max(MIN_BUCKETS));
        }
        let hash = self.hash(&key);
        let bucket = (hash & self.mask()) as usize;
        let entry = Entry { key, value, hash, next: self.buckets[bucket] };
        let at = if self.free == NONE {
            self.entries.push(Slot::Used(entry));
            (self.entries.len() - 1) as u32
        } else {
            let at = self.free;
            self.free = match self.entries[at as usize] {
                Slot::Free(next) => next,
                Slot::Used(_) => unreachable!("the free list links a used slot"),
            };
            self.entries[at as usize] = Slot::Used(entry);
            at
        };
        self.buckets[bucket] = at;
        self.len += 1;
        &mut self.entry_mut(at).value
    }

    /// Removes `key`, returning its stored key and value.
    pub(crate) fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let at = self.find(key)?;
        let entry = self.unlink(at);
        self.maybe_shrink();
        Some((entry.key, entry.value))
    }

    /// Removes `key`, returning its value.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(key).map(|(_, value)| value)
    }

    /// Takes the entry in slot `at` out of its chain and frees the slot.
    fn unlink(&mut self, at: u32) -> Entry<K, V> {
        let (hash, next) = {
            let entry = self.entry(at);
            (entry.hash, entry.next)
        };
        let bucket = (hash & self.mask()) as usize;
        if self.buckets[bucket] == at {
            self.buckets[bucket] = next;
        } else {
            let mut prev = self.buckets[bucket];
            while self.entry(prev).next != at {
                prev = self.entry(prev).next;
            }
            self.entry_mut(prev).next = next;
        }
        self.len -= 1;
        let slot = std::mem::replace(&mut self.entries[at as usize], Slot::Free(self.free));
        self.free = at;
        match slot {
            Slot::Used(entry) => entry,
            Slot::Free(_) => unreachable!("unlinked a free slot"),
        }
    }

    /// Halves the table (and compacts the slab) once it is less than 1/8 full, so that a table
    /// that was large once does not keep its memory, nor make `SCAN` walk empty buckets.
    fn maybe_shrink(&mut self) {
        if self.len == 0 {
            *self = Dict { hasher: self.hasher.clone(), ..Dict::default() };
        } else if self.buckets.len() > MIN_BUCKETS && self.len * 8 < self.buckets.len() {
            let target = (self.len * 2).next_power_of_two().max(MIN_BUCKETS);
            self.resize(target);
        }
    }

    /// Rebuilds the chains for `size` buckets. When shrinking, the slab is compacted first.
    fn resize(&mut self, size: usize) {
        if size < self.buckets.len() {
            let entries = std::mem::take(&mut self.entries);
            self.entries =
                entries.into_iter().filter(|slot| matches!(slot, Slot::Used(_))).collect();
            self.entries.shrink_to_fit();
            self.free = NONE;
        }
        self.buckets.clear();
        self.buckets.resize(size, NONE);
        self.buckets.shrink_to_fit();
        let mask = self.mask();
        for (at, slot) in self.entries.iter_mut().enumerate() {
            if let Slot::Used(entry) = slot {
                let bucket = (entry.hash & mask) as usize;
                entry.next = self.buckets[bucket];
                self.buckets[bucket] = at as u32;
            }
        }
    }

    /// Removes every entry and releases the memory.
    pub(crate) fn clear(&mut self) {
        *self = Dict { hasher: self.hasher.clone(), ..Dict::default() };
    }

    /// Every entry, in slab order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().filter_map(|slot| match slot {
            Slot::Used(entry) => Some((&entry.key, &entry.value)),
            Slot::Free(_) => None,
        })
    }

    /// Every key, in slab order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(key, _)| key)
    }

    /// Visits the bucket that `cursor` names and returns the next cursor (0 when the scan is
    /// complete). See the module documentation for why the cursor counts in reversed bits.
    pub(crate) fn scan(&self, cursor: u64, mut visit: impl FnMut(&K, &V)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = u64::from(self.mask());
        let mut at = self.buckets[(cursor & mask) as usize];
        while at != NONE {
            let entry = self.entry(at);
            visit(&entry.key, &entry.value);
            at = entry.next;
        }
        // Set the bits above the mask so that incrementing the reversed cursor carries
        // straight into the masked bits.
        let mut next = cursor | !mask;
        next = next.reverse_bits().wrapping_add(1).reverse_bits();
        next
    }

    /// A uniformly random entry, or `None` if the table is empty. `random` supplies uniform
    /// `u64`s.
    ///
    /// It draws slab slots until one is in use. Redis draws a bucket and then an entry of its
    /// chain, which favours entries in short chains (and so needs extra sampling to be fair);
    /// drawing slots is exactly uniform, and cheap because the slab is never less than 1/8
    /// used: it has at most as many slots as the table has buckets, and the table shrinks (and
    /// compacts the slab) before it falls below 1/8 full.
    pub(crate) fn random(&self, mut random: impl FnMut() -> u64) -> Option<(&K, &V)> {
        if self.len == 0 {
            return None;
        }
        loop {
            let at = (random() % self.entries.len() as u64) as usize;
            if let Slot::Used(entry) = &self.entries[at] {
                return Some((&entry.key, &entry.value));
            }
        }
    }
}

impl<K: Hash + Eq, V> FromIterator<(K, V)> for Dict<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut dict = Dict::default();
        for (key, value) in iter {
            dict.insert(key, value);
        }
        dict
    }
}

impl<K: Hash + Eq + std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for Dict<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use super::Dict;

    /// Scans `dict` to the end, calling `between` with the number of calls made so far after
    /// every call that did not finish. Returns the keys seen and how many visits there were.
    fn scan_with(
        dict: &mut Dict<u32, ()>,
        mut between: impl FnMut(&mut Dict<u32, ()>, usize),
    ) -> (BTreeSet<u32>, usize) {
        let (mut seen, mut visits, mut cursor, mut calls) = (BTreeSet::new(), 0, 0, 0);
        loop {
            cursor = dict.scan(cursor, |k, _| {
                seen.insert(*k);
                visits += 1;
            });
            if cursor == 0 {
                return (seen, visits);
            }
            calls += 1;
            between(dict, calls);
        }
    }

    #[test]
    fn behaves_like_a_map() {
        let mut dict = Dict::default();
        let mut model = HashMap::new();
        let mut x = 7u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = (x % 500) as u32;
            if x.is_multiple_of(3) {
                assert_eq!(dict.remove(&key), model.remove(&key));
            } else {
                assert_eq!(dict.insert(key, x), model.insert(key, x));
            }
            assert_eq!(dict.len(), model.len());
        }
        for (k, v) in &model {
            assert_eq!(dict.get(k), Some(v));
        }
        assert_eq!(dict.iter().count(), model.len());
    }

    #[test]
    fn scan_sees_everything_once_when_the_table_is_stable() {
        let mut dict: Dict<u32, ()> = (0..1000).map(|k| (k, ())).collect();
        let (_, count) = scan_with(&mut dict, |_, _| {});
        assert_eq!(count, 1000);
    }

    #[test]
    fn scan_misses_nothing_while_the_table_grows() {
        let mut dict: Dict<u32, ()> = (0..100).map(|k| (k, ())).collect();
        let (seen, _) = scan_with(&mut dict.clone(), |_, _| {});
        assert_eq!(seen.len(), 100);
        // Grow between the first 40 calls (several doublings; a table that never stops
        // growing would never let the scan end): the original 100 must all be seen.
        let mut next = 100;
        let (seen, _) = scan_with(&mut dict, |dict, calls| {
            if calls <= 40 {
                for _ in 0..50 {
                    dict.insert(next, ());
                    next += 1;
                }
            }
        });
        assert!(dict.len() > 1000);
        assert!((0..100).all(|k| seen.contains(&k)));
    }

    #[test]
    fn scan_misses_nothing_while_the_table_shrinks() {
        let mut dict: Dict<u32, ()> = (0..4096).map(|k| (k, ())).collect();
        let mut victim = 100;
        let (seen, _) = scan_with(&mut dict, |dict, _| {
            // Delete everything but 0..100, a slice at a time, forcing several shrinks.
            for _ in 0..200 {
                if victim < 4096 {
                    dict.remove(&victim);
                    victim += 1;
                }
            }
        });
        assert!((0..100).all(|k| seen.contains(&k)));
        assert!(dict.buckets.len() < 4096);
    }

    #[test]
    fn random_returns_only_present_entries_and_reaches_them_all() {
        let mut dict: Dict<u32, ()> = (0..64).map(|k| (k, ())).collect();
        for k in 0..32 {
            dict.remove(&k);
        }
        let mut x = 1u64;
        let mut rng = move || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 11
        };
        // Uniform: with 32 000 draws each of the 32 entries expects 1000; chain lengths
        // (which vary from bucket to bucket) must not skew that.
        let mut counts = BTreeMap::new();
        for _ in 0..32_000 {
            let (k, _) = dict.random(&mut rng).unwrap();
            assert!(*k >= 32);
            *counts.entry(*k).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 32);
        assert!(counts.values().all(|&n| (850..=1150).contains(&n)), "{counts:?}");
        assert!(Dict::<u32, ()>::default().random(rng).is_none());
    }

    #[test]
    fn clear_releases_everything() {
        let mut dict: Dict<u32, u32> = (0..1000).map(|k| (k, k)).collect();
        dict.clear();
        assert_eq!(dict.len(), 0);
        assert!(dict.buckets.is_empty() && dict.entries.is_empty());
        assert_eq!(dict.get(&0), None);
    }
}
