//! Doubly-linked lists threaded through the slots of a [`Store`](crate::store::Store).
//!
//! A [`List`] is only a head, a tail and a length; the links live in the slots (`prev`,
//! `next`), so moving an entry between positions or between lists allocates nothing. The head
//! is the "newest" end (most recently used for LRU, most recently inserted for the FIFOs) and
//! the tail the "oldest", the end eviction looks at first.
//!
//! ```text
//!   head ──▶ [slot 4] ⇄ [slot 0] ⇄ [slot 7] ◀── tail        (prev points toward the head)
//! ```
//!
//! Invariants: a slot is in at most one list; `head == NIL` iff `tail == NIL` iff `len == 0`;
//! following `next` from `head` visits exactly `len` slots and ends at `tail`.

use crate::store::{NIL, Slot};

/// The ends of one list whose links live in the slots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct List {
    pub(crate) head: u32,
    pub(crate) tail: u32,
    pub(crate) len: u32,
}

impl Default for List {
    fn default() -> Self {
        List { head: NIL, tail: NIL, len: 0 }
    }
}

impl List {
    /// Links the unlinked slot `index` in at the head.
    #[inline]
    pub(crate) fn push_front<K, V, M>(&mut self, slots: &mut [Slot<K, V, M>], index: u32) {
        let old_head = self.head;
        let slot = &mut slots[index as usize];
        slot.prev = NIL;
        slot.next = old_head;
        if old_head == NIL {
            self.tail = index;
        } else {
            slots[old_head as usize].prev = index;
        }
        self.head = index;
        self.len += 1;
    }

    /// Takes slot `index`, which is in this list, out of it.
    #[inline]
    pub(crate) fn unlink<K, V, M>(&mut self, slots: &mut [Slot<K, V, M>], index: u32) {
        let Slot { prev, next, .. } = slots[index as usize];
        self.bridge(slots, prev, next);
        let slot = &mut slots[index as usize];
        slot.prev = NIL;
        slot.next = NIL;
        self.len -= 1;
    }

    /// Moves slot `index`, which is in this list, to the head.
    ///
    /// This is LRU's hot path (every hit), so it relinks directly instead of calling `unlink`
    /// then `push_front`: five link stores, no length updates.
    #[inline]
    pub(crate) fn move_to_front<K, V, M>(&mut self, slots: &mut [Slot<K, V, M>], index: u32) {
        let old_head = self.head;
        if old_head == index {
            return;
        }
        // Not the head, so it has a `prev` and bridging leaves `self.head` alone.
        let Slot { prev, next, .. } = slots[index as usize];
        self.bridge(slots, prev, next);
        let slot = &mut slots[index as usize];
        slot.prev = NIL;
        slot.next = old_head;
        slots[old_head as usize].prev = index;
        self.head = index;
    }

    /// Joins the neighbours of a slot being taken out; either may be `NIL` at an end.
    #[inline]
    fn bridge<K, V, M>(&mut self, slots: &mut [Slot<K, V, M>], prev: u32, next: u32) {
        if prev == NIL {
            self.head = next;
        } else {
            slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            slots[next as usize].prev = prev;
        }
    }

    /// After [`Store::swap_remove`](crate::store::Store::swap_remove) moved a slot from
    /// `from` to `to`, re-points this list's ends if they named it.
    #[inline]
    pub(crate) fn slot_moved(&mut self, from: u32, to: u32) {
        if self.head == from {
            self.head = to;
        }
        if self.tail == from {
            self.tail = to;
        }
    }

    /// Slot numbers from head to tail.
    pub(crate) fn iter<'a, K, V, M>(&self, slots: &'a [Slot<K, V, M>]) -> ListIter<'a, K, V, M> {
        ListIter { slots, front: self.head, back: self.tail, remaining: self.len }
    }

    /// Checks the invariants in the module docs (tests only; O(len)).
    #[cfg(test)]
    pub(crate) fn debug_assert_valid<K, V, M>(&self, slots: &[Slot<K, V, M>]) {
        let mut count = 0;
        let mut prev = NIL;
        let mut at = self.head;
        while at != NIL {
            assert_eq!(slots[at as usize].prev, prev, "broken prev link at slot {at}");
            prev = at;
            at = slots[at as usize].next;
            count += 1;
            assert!(count <= self.len, "list is longer than its length {}", self.len);
        }
        assert_eq!(prev, self.tail);
        assert_eq!(count, self.len);
    }
}

/// Slot numbers of a list, head to tail (or tail to head with `.rev()`).
pub(crate) struct ListIter<'a, K, V, M> {
    slots: &'a [Slot<K, V, M>],
    front: u32,
    back: u32,
    remaining: u32,
}

impl<K, V, M> Iterator for ListIter<'_, K, V, M> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.remaining == 0 {
            return None;
        }
        let at = self.front;
        self.front = self.slots[at as usize].next;
        self.remaining -= 1;
        Some(at)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

impl<K, V, M> DoubleEndedIterator for ListIter<'_, K, V, M> {
    fn next_back(&mut self) -> Option<u32> {
        if self.remaining == 0 {
            return None;
        }
        let at = self.back;
        self.back = self.slots[at as usize].prev;
        self.remaining -= 1;
        Some(at)
    }
}

impl<K, V, M> ExactSizeIterator for ListIter<'_, K, V, M> {}
