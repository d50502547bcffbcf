//! The id index: which order number holds the resting order with a given id.
//!
//! An open-addressing table with linear probing. A slot holds an order number and 32 bits of
//! its id's hash, 8 bytes; the id itself stays in the order slab (the caller passes `id_of` to
//! read it). The stored hash bits do two jobs: a lookup compares them before it reads an
//! order, so a miss (the common case for a new order's duplicate-id check) touches nothing but
//! the table; and removal and growth know every entry's home slot without reading or hashing
//! any id.
//!
//! How full: probe runs must stay short, and above all of predictable length, because every
//! step is a branch the processor guesses. A sparse table ends almost every lookup,
//! insertion and removal at the first slot it reads; at half full, runs of two or three are
//! common and their ends are mispredicted branches. On the benchmark workload (about 2,700
//! resting orders on average, 5,500 at most) a quarter-full table made the whole engine
//! about 14% faster than a half-full one, and a sixteenth-full one another 1-2%, with a
//! fifth fewer mispredicted branches in matching (cachegrind's model). Sparseness costs
//! memory, which matters only when the table is large, and then cache misses cost more than
//! branches: so tables up to 2^15 slots (256 KB, in the L2 cache of current processors) are
//! kept at most a sixteenth full and larger ones at most half full, which keeps a book of a
//! million resting orders near 16 bytes of index per order. (A book that outgrows the
//! sparse tables, at 2,048 orders, moves to a table of 2^16 slots, still at most an eighth
//! full until it holds 8,192.)
//!
//! An id is hashed once in its life: the book hashes it when the order arrives (for the
//! duplicate check), keeps the hash in the order, and passes it back to insert and remove.
//!
//! ```text
//!   hash(id) & mask ─► [ 7 | 3 | 12 | ∅ | ∅ | 5 | ∅ | ...]     ∅ = EMPTY
//!                        └── a run: probing stops at the first ∅
//! ```
//!
//! Removal shifts later entries of the run back into the hole (no tombstones), so a table that
//! churns through millions of ids never slows down: every run is exactly what inserting the
//! present entries would have built.
//!
//! Why not a general hash map: `hashbrown` probes groups of 16 control bytes with SIMD, which
//! pays off for large keys and high loads; here the key is a `u64` already at hand and the
//! table is sparse, so a multiply and a slot read or two is the whole lookup, and removing an
//! order (which the book does by order number, after a fill or a cancel) hashes nothing.
//!
//! Invariant: for every entry at position `p` with home `h = hash & mask`, every slot from
//! `h` to `p` (cyclically) is occupied. Lookups rely on it to stop at the first empty slot;
//! insertion keeps it trivially, and removal restores it by the backward shift.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

/// The order number of an empty slot (the slab never gives it out).
const EMPTY: u32 = u32::MAX;

/// The smallest table: 16 slots.
const MIN_SLOTS: usize = 16;

/// Tables up to this many slots (256 KB) are kept at most a sixteenth full, larger ones at
/// most half full. See the module docs.
const SPARSE_UP_TO: usize = 1 << 15;

#[derive(Clone, Copy, Debug)]
struct Slot {
    order: u32,
    /// The low 32 bits of the id's hash: the home slot of any table up to 2^32 slots.
    hash: u32,
}

/// An id's hash in one table (the table's seed is in it, so it means nothing elsewhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdHash(u32);

/// Where [`IdIndex::find_slot`] found an id: valid until the table next changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    /// The slot's position in the table.
    slot: usize,
    /// The order number it holds.
    pub(crate) order: u32,
}

const VACANT: Slot = Slot { order: EMPTY, hash: 0 };

#[derive(Clone, Debug)]
pub(crate) struct IdIndex {
    /// The length is a power of two; `len` is at most `max_len` of it.
    slots: Vec<Slot>,
    len: usize,
    /// Randomly seeded per table, so ids chosen to collide in one process do not collide in
    /// another.
    hasher: DefaultHashBuilder,
}

impl Default for IdIndex {
    fn default() -> Self {
        IdIndex { slots: vec![VACANT; MIN_SLOTS], len: 0, hasher: DefaultHashBuilder::default() }
    }
}

impl IdIndex {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How many entries a table of `slots` slots may hold.
    fn max_len(slots: usize) -> usize {
        if slots <= SPARSE_UP_TO { slots / 16 } else { slots / 2 }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The hash of `id` in this table. The book computes it once per command and keeps it
    /// with the order, so that inserting and removing never hash again.
    pub(crate) fn hash(&self, id: u64) -> IdHash {
        IdHash(self.hasher.hash_one(id) as u32)
    }

    /// The order number whose id is `id`, which hashes to `hash`.
    pub(crate) fn find(&self, id: u64, hash: IdHash, id_of: impl Fn(u32) -> u64) -> Option<u32> {
        self.find_slot(id, hash, id_of).map(|found| found.order)
    }

    /// Where the entry for `id` is, so that [`remove_slot`](Self::remove_slot) can take it
    /// out without probing again.
    pub(crate) fn find_slot(
        &self,
        id: u64,
        IdHash(hash): IdHash,
        id_of: impl Fn(u32) -> u64,
    ) -> Option<Found> {
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot.order == EMPTY {
                return None;
            }
            if slot.hash == hash && id_of(slot.order) == id {
                return Some(Found { slot: at, order: slot.order });
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `order`, whose id hashes to `hash` and is not in the table yet.
    pub(crate) fn insert(&mut self, IdHash(hash): IdHash, order: u32) {
        if self.len + 1 > Self::max_len(self.slots.len()) {
            self.grow();
        }
        self.place(Slot { order, hash });
        self.len += 1;
    }

    /// Puts `slot` in the first empty slot of its run.
    fn place(&mut self, slot: Slot) {
        let mask = self.mask();
        let mut at = slot.hash as usize & mask;
        while self.slots[at].order != EMPTY {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    fn grow(&mut self) {
        let doubled = vec![VACANT; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        for slot in old.into_iter().filter(|slot| slot.order != EMPTY) {
            self.place(slot);
        }
    }

    /// Removes `order`, whose id hashes to `hash`. Nothing happens if it is not in the table.
    pub(crate) fn remove(&mut self, IdHash(hash): IdHash, order: u32) {
        let mask = self.mask();
        let mut hole = hash as usize & mask;
        loop {
            match self.slots[hole].order {
                EMPTY => return,
                found if found == order => break,
                _ => hole = (hole + 1) & mask,
            }
        }
        self.remove_slot(Found { slot: hole, order });
    }

    /// Removes the entry [`find_slot`](Self::find_slot) found, with no change to the table
    /// since.
    #[inline]
    pub(crate) fn remove_slot(&mut self, found: Found) {
        debug_assert_eq!(self.slots[found.slot].order, found.order);
        self.len -= 1;
        // The run usually ends at the entry: nothing to shift back.
        let next = (found.slot + 1) & self.mask();
        if self.slots[next].order == EMPTY {
            self.slots[found.slot] = VACANT;
        } else {
            self.shift_back(found.slot);
        }
    }

    /// Closes the hole at `hole` by moving later entries of its run back.
    #[inline(never)]
    fn shift_back(&mut self, mut hole: usize) {
        let mask = self.mask();
        // Backward shift: an entry later in the run moves into the hole unless its home lies
        // cyclically after the hole (moving it would put it before its home).
        let mut next = (hole + 1) & mask;
        loop {
            let moving = self.slots[next];
            if moving.order == EMPTY {
                break;
            }
            let home = moving.hash as usize & mask;
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.slots[hole] = moving;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = VACANT;
    }

    /// Number of slots.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Checks the module's invariant and that every entry is found where it is.
    fn check(index: &IdIndex, ids: &HashMap<u32, u64>) {
        let mask = index.mask();
        let mut count = 0;
        for (at, order) in index.slots.iter().enumerate() {
            if order.order == EMPTY {
                continue;
            }
            count += 1;
            assert_eq!(IdHash(order.hash), index.hash(ids[&order.order]));
            let mut p = order.hash as usize & mask;
            while p != at {
                assert_ne!(index.slots[p].order, EMPTY, "hole between home and entry");
                p = (p + 1) & mask;
            }
        }
        assert_eq!(count, index.len());
        assert!(index.len() <= IdIndex::max_len(index.capacity()));
    }

    proptest! {
        /// Against a `HashMap`: inserts and removals in any order, ids from a small range so
        /// that runs collide and wrap around the end of the table.
        #[test]
        fn behaves_like_a_map(ops in prop::collection::vec((any::<bool>(), 0u64..64), 1..400)) {
            let mut index = IdIndex::default();
            // order number -> id (the order slab), and id -> order number (the model)
            let mut slab: HashMap<u32, u64> = HashMap::new();
            let mut model: HashMap<u64, u32> = HashMap::new();
            let mut next = 0u32;
            for (insert, id) in ops {
                match (insert, model.get(&id).copied()) {
                    (true, None) => {
                        slab.insert(next, id);
                        index.insert(index.hash(id), next);
                        model.insert(id, next);
                        next += 1;
                    }
                    (false, Some(order)) if id % 2 == 0 => {
                        index.remove(index.hash(id), order);
                        model.remove(&id);
                        slab.remove(&order);
                    }
                    // Odd ids leave through the slot their lookup found.
                    (false, Some(order)) => {
                        let found = index.find_slot(id, index.hash(id), |o| slab[&o]);
                        prop_assert_eq!(found.map(|f| f.order), Some(order));
                        if let Some(found) = found {
                            index.remove_slot(found);
                        }
                        model.remove(&id);
                        slab.remove(&order);
                    }
                    _ => {}
                }
                check(&index, &slab);
                for probe in 0u64..64 {
                    prop_assert_eq!(
                        index.find(probe, index.hash(probe), |o| slab[&o]),
                        model.get(&probe).copied()
                    );
                }
            }
        }
    }

    #[test]
    fn small_tables_stay_a_sixteenth_full_and_large_ones_half_full() {
        let mut index = IdIndex::default();
        let mut grown_at = Vec::new();
        for order in 0..40_000u32 {
            let slots = index.capacity();
            index.insert(index.hash(u64::from(order)), order);
            if index.capacity() != slots {
                grown_at.push((index.len(), index.capacity()));
            }
        }
        // Up to 2^15 slots, a table grows when it would pass a sixteenth full; the first
        // table past that may fill to a half.
        assert!(grown_at.contains(&(1024 + 1, 1 << 15)));
        assert!(grown_at.contains(&(2 * 1024 + 1, 1 << 16)));
        assert!(grown_at.contains(&(32 * 1024 + 1, 1 << 17)));
        assert_eq!(grown_at.len(), 13, "16 slots to 2^17: {grown_at:?}");
    }

    #[test]
    fn a_million_ids_in_and_out_leave_an_empty_table_that_still_finds_nothing() {
        let ids: Vec<u64> =
            (0..1_000_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        let mut index = IdIndex::default();
        for (order, &id) in ids.iter().enumerate() {
            index.insert(index.hash(id), order as u32);
        }
        assert_eq!(index.capacity(), 1 << 21);
        for (order, &id) in ids.iter().enumerate().step_by(3) {
            assert_eq!(index.find(id, index.hash(id), |o| ids[o as usize]), Some(order as u32));
        }
        for (order, &id) in ids.iter().enumerate() {
            index.remove(index.hash(id), order as u32);
        }
        assert_eq!(index.len(), 0);
        assert!(index.slots.iter().all(|s| s.order == EMPTY));
    }
}
