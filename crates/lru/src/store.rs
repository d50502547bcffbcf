//! The keyed slot arena that every policy in this crate is built on.
//!
//! A cache needs two things from its storage: find an entry by key in O(1), and keep the
//! entries in some order (recency for LRU, insertion for SIEVE and S3-FIFO) that can be
//! changed in O(1). Textbook LRU caches use a `HashMap<K, Box<Node>>` plus a pointer-linked
//! list, which in Rust means `unsafe` or `Rc<RefCell<_>>`. This module does it with two plain
//! vectors and no `unsafe`:
//!
//! ```text
//!   table: HashTable<u32>          slots: Vec<Slot<K, V, M>>
//!   ┌──────────────────┐           ┌─────┬───────┬──────┬──────┬──────┐
//!   │ hash(k7) → 2     │──────────▶│  0  │ k3 v3 │ meta │ prev │ next │
//!   │ hash(k3) → 0     │           │  1  │ k9 v9 │ meta │ prev │ next │
//!   │ hash(k9) → 1     │           │  2  │ k7 v7 │ meta │ prev │ next │
//!   └──────────────────┘           └─────┴───────┴──────┴──────┴──────┘
//! ```
//!
//! The hash table stores only a `u32` slot number per entry; it finds an entry's hash by
//! hashing the key stored in the slot, so the key is stored once. `prev`/`next` are slot
//! numbers too, which lets [`crate::list`] thread one or more doubly-linked lists through the
//! slots. The policy-specific part of an entry (an LRU weight, a SIEVE visited bit, an S3-FIFO
//! frequency and queue tag) is the `meta` field `M`.
//!
//! Invariants, checked by `debug_assert_valid` in tests:
//! - the table holds exactly one index for every slot, and that index is the slot's position;
//! - `slots.len() < NIL`, so every slot number fits a `u32` and differs from [`NIL`].
//!
//! Removing a slot moves the last slot into the hole (`swap_remove`), which keeps the vector
//! dense: iteration touches no holes and the memory per entry is exactly one slot plus the
//! table's share. The cost is that a removal re-points one other entry; [`Store::swap_remove`]
//! reports the move so the caller can fix the list heads it owns.

use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

/// The "no slot" link value: the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

/// The most entries one cache can hold, 2³² − 2: slot numbers are `u32`, and `u32::MAX` is
/// reserved to mean "no slot".
pub const MAX_ENTRIES: usize = (NIL - 1) as usize;

/// One cache entry and its links.
#[derive(Clone, Debug)]
pub(crate) struct Slot<K, V, M> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) meta: M,
    pub(crate) prev: u32,
    pub(crate) next: u32,
}

/// Slots addressed by key (through the table) and by number (directly).
#[derive(Clone)]
pub(crate) struct Store<K, V, M, S> {
    pub(crate) slots: Vec<Slot<K, V, M>>,
    table: HashTable<u32>,
    hasher: S,
}

/// What [`Store::swap_remove`] took out, and which slot it moved into the hole.
pub(crate) struct Removed<K, V, M> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) meta: M,
    /// `Some((from, to))` when the last slot was moved from `from` into the hole at `to`.
    pub(crate) moved: Option<(u32, u32)>,
}

impl<K, V, M, S> Store<K, V, M, S> {
    pub(crate) fn with_hasher(hasher: S) -> Self {
        Store { slots: Vec::new(), table: HashTable::new(), hasher }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.table.clear();
    }

    pub(crate) fn slot(&self, index: u32) -> &Slot<K, V, M> {
        &self.slots[index as usize]
    }

    pub(crate) fn slot_mut(&mut self, index: u32) -> &mut Slot<K, V, M> {
        &mut self.slots[index as usize]
    }
}

impl<K: Hash + Eq, V, M, S: BuildHasher> Store<K, V, M, S> {
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The slot holding `key`, given `hash == self.hash(key)`.
    #[inline]
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slots = &self.slots;
        self.table.find(hash, |&i| slots[i as usize].key.borrow() == key).copied()
    }

    /// The value stored under `key`, given `hash == self.hash(key)`.
    #[inline]
    pub(crate) fn value<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        Some(&self.slot(self.find(hash, key)?).value)
    }

    /// Appends a new, unlinked slot for a key that is not in the store.
    ///
    /// The caller has checked `len() < MAX_ENTRIES` and that the key is absent. `max_len` is
    /// the most entries the store will ever hold, when the caller knows it (a count-bounded
    /// cache does): the slot vector grows by doubling but never past it, so a full cache
    /// carries no spare slots.
    pub(crate) fn push(&mut self, hash: u64, key: K, value: V, meta: M, max_len: usize) -> u32 {
        debug_assert!(self.slots.len() < MAX_ENTRIES);
        let len = self.slots.len();
        if len == self.slots.capacity() {
            let target = (2 * len).max(4).min(max_len.max(len + 1));
            self.slots.reserve_exact(target - len);
        }
        let index = len as u32;
        self.slots.push(Slot { key, value, meta, prev: NIL, next: NIL });
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.table.insert_unique(hash, index, |&i| hasher.hash_one(&slots[i as usize].key));
        index
    }

    /// Gives slot `index` a new key and value in place, returning the old ones.
    ///
    /// This is how a full cache turns its victim into the new entry without moving any
    /// other slot: drop the old key from the table, store the new one, keep the links.
    pub(crate) fn replace(&mut self, index: u32, hash: u64, key: K, value: V) -> (K, V) {
        self.unindex(index, self.hash(&self.slots[index as usize].key));
        let slot = &mut self.slots[index as usize];
        let old_key = core::mem::replace(&mut slot.key, key);
        let old_value = core::mem::replace(&mut slot.value, value);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.table.insert_unique(hash, index, |&i| hasher.hash_one(&slots[i as usize].key));
        (old_key, old_value)
    }

    /// Takes slot `index` out, moving the last slot into its place.
    ///
    /// The removed slot must already be unlinked from every list. If a slot was moved, its
    /// neighbours' links are re-pointed here; list heads and tails are the caller's to fix.
    pub(crate) fn swap_remove(&mut self, index: u32) -> Removed<K, V, M> {
        self.unindex(index, self.hash(&self.slots[index as usize].key));
        let last = (self.slots.len() - 1) as u32;
        let moved_hash = (index != last).then(|| {
            let hash = self.hash(&self.slots[last as usize].key);
            self.unindex(last, hash);
            hash
        });
        let Slot { key, value, meta, .. } = self.slots.swap_remove(index as usize);
        let mut moved = None;
        if let Some(hash) = moved_hash {
            // The old last slot now sits at `index`: index it there and re-point its neighbours.
            let (slots, hasher) = (&self.slots, &self.hasher);
            self.table.insert_unique(hash, index, |&i| hasher.hash_one(&slots[i as usize].key));
            let Slot { prev, next, .. } = self.slots[index as usize];
            if prev != NIL {
                self.slots[prev as usize].next = index;
            }
            if next != NIL {
                self.slots[next as usize].prev = index;
            }
            moved = Some((last, index));
        }
        Removed { key, value, meta, moved }
    }

    /// Erases the table's entry for slot `index` (the slot itself stays); `hash` is its key's.
    fn unindex(&mut self, index: u32, hash: u64) {
        match self.table.find_entry(hash, |&i| i == index) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => debug_assert!(false, "slot {index} is not in the table"),
        }
    }

    /// Grows or shrinks the allocations to fit `entries` entries.
    pub(crate) fn reserve(&mut self, entries: usize) {
        self.slots.reserve(entries.saturating_sub(self.slots.len()));
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.table.reserve(entries.saturating_sub(self.table.len()), |&i| {
            hasher.hash_one(&slots[i as usize].key)
        });
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.slots.shrink_to_fit();
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.table.shrink_to_fit(|&i| hasher.hash_one(&slots[i as usize].key));
    }

    /// Checks the invariants in the module docs (tests only; O(n)).
    #[cfg(test)]
    pub(crate) fn debug_assert_valid(&self) {
        assert_eq!(self.table.len(), self.slots.len());
        for (i, slot) in self.slots.iter().enumerate() {
            assert_eq!(self.find(self.hash(&slot.key), &slot.key), Some(i as u32));
        }
    }
}
