//! The keydir: every live key and where its value sits on disk.
//!
//! Bitcask's one in-memory structure. A read is a keydir lookup and one positioned read; a
//! write appends to the log and then points the key here at the new record. The keydir is
//! rebuilt from the files (or their hint files) on every open, so it is never saved.
//!
//! It must be small: it holds every key. A `HashMap<Box<[u8]>, Loc>` would spend an
//! allocation per key and 40 bytes per bucket. Instead the keys live back to back in one
//! *arena*, each after its length (LEB128), and the hash table holds 16-byte entries:
//!
//! ```text
//!   table: HashTable<Entry>                          arena: Vec<u8>
//!   ┌─────────┬─────────┬──────────┬───────────┐     ┌───┬─────────┬───┬──────────┐
//!   │ key_at  │ file_id │ offset   │ value_len │     │ 5 │ a p p l e │ 4 │ p e a r │ ...
//!   │ u32     │ u32     │ u32      │ u32       │     └───┴─────────┴───┴──────────┘
//!   └─────────┴─────────┴──────────┴───────────┘       ▲ key_at
//! ```
//!
//! The table finds an entry's hash by hashing its key in the arena, so keys are stored once.
//! Removing a key leaves its bytes in the arena as garbage; when garbage is more than half of
//! the arena, the arena is rewritten with only live keys (O(live keys), amortised O(1)).
//!
//! Limits: arena offsets are `u32`, so the live keys (with their length prefixes) must fit in
//! 4 GiB; an insert past that is refused.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Where a key's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    /// The data file.
    pub(crate) file_id: u32,
    /// Where the record starts in it.
    pub(crate) offset: u32,
    /// The value's length.
    pub(crate) value_len: u32,
}

/// One live key: where its bytes are in the arena, and where its value is on disk.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key_at: u32,
    loc: Loc,
}

/// The arena would pass 4 GiB.
#[derive(Debug)]
pub(crate) struct Full;

/// Live keys and their locations.
#[derive(Default)]
pub(crate) struct KeyDir {
    table: HashTable<Entry>,
    arena: Vec<u8>,
    /// Bytes of removed keys still in the arena.
    garbage: usize,
    hasher: hashbrown::DefaultHashBuilder,
}

/// The key stored at `at`: its LEB128 length, then its bytes.
fn key_at(arena: &[u8], at: u32) -> &[u8] {
    let mut at = at as usize;
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let byte = arena[at];
        at += 1;
        len |= usize::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    &arena[at..at + len]
}

/// Appends `key` with its length prefix; returns where it starts, or `Full`.
fn push_key(arena: &mut Vec<u8>, key: &[u8]) -> Result<u32, Full> {
    let at = u32::try_from(arena.len()).map_err(|_| Full)?;
    if arena.len() + key.len() + 5 > u32::MAX as usize {
        return Err(Full);
    }
    let mut len = key.len();
    loop {
        let byte = (len & 0x7F) as u8;
        len >>= 7;
        if len == 0 {
            arena.push(byte);
            break;
        }
        arena.push(byte | 0x80);
    }
    arena.extend_from_slice(key);
    Ok(at)
}

/// Bytes a key takes in the arena.
fn stored_len(key: &[u8]) -> usize {
    let mut prefix = 1;
    let mut len = key.len() >> 7;
    while len > 0 {
        prefix += 1;
        len >>= 7;
    }
    prefix + key.len()
}

impl KeyDir {
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<Loc> {
        let arena = &self.arena;
        let entry = self.table.find(self.hash(key), |e| key_at(arena, e.key_at) == key)?;
        Some(entry.loc)
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether `key` can be inserted without the arena passing 4 GiB (after compaction).
    pub(crate) fn has_room(&self, key: &[u8]) -> bool {
        self.arena.len() - self.garbage + stored_len(key) <= u32::MAX as usize
    }

    /// Points `key` at `loc`, returning where it pointed before.
    pub(crate) fn insert(&mut self, key: &[u8], loc: Loc) -> Result<Option<Loc>, Full> {
        let hash = self.hash(key);
        let arena = &self.arena;
        if let Some(entry) = self.table.find_mut(hash, |e| key_at(arena, e.key_at) == key) {
            return Ok(Some(std::mem::replace(&mut entry.loc, loc)));
        }
        if self.arena.len() + stored_len(key) > u32::MAX as usize {
            self.compact();
        }
        let key_at_arena = push_key(&mut self.arena, key)?;
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.table.insert_unique(hash, Entry { key_at: key_at_arena, loc }, |e| {
            hasher.hash_one(key_at(arena, e.key_at))
        });
        Ok(None)
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Loc> {
        let arena = &self.arena;
        let found = self.table.find_entry(self.hash(key), |e| key_at(arena, e.key_at) == key);
        let (entry, _) = found.ok()?.remove();
        self.garbage += stored_len(key);
        if self.garbage > 1 << 16 && self.garbage * 2 > self.arena.len() {
            self.compact();
        }
        Some(entry.loc)
    }

    /// Re-points `key` from `old` to `new` only if it still points at `old`: a merge that
    /// copied a record must not undo a write that raced with it.
    pub(crate) fn compare_and_set(&mut self, key: &[u8], old: Loc, new: Loc) -> bool {
        let arena = &self.arena;
        match self.table.find_mut(self.hash(key), |e| key_at(arena, e.key_at) == key) {
            Some(entry) if entry.loc == old => {
                entry.loc = new;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], Loc)> {
        self.table.iter().map(|e| (key_at(&self.arena, e.key_at), e.loc))
    }

    /// Rewrites the arena with only live keys, exactly sized.
    fn compact(&mut self) {
        let live: usize = self.arena.len() - self.garbage;
        let mut fresh = Vec::with_capacity(live);
        for entry in self.table.iter_mut() {
            let key = key_at(&self.arena, entry.key_at);
            // The live keys fitted before, so they fit again.
            if let Ok(at) = push_key(&mut fresh, key) {
                entry.key_at = at;
            }
        }
        self.arena = fresh;
        self.garbage = 0;
    }

    /// Returns spare capacity (after a bulk load such as recovery).
    pub(crate) fn shrink_to_fit(&mut self) {
        if self.garbage > 0 {
            self.compact();
        }
        self.arena.shrink_to_fit();
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.table.shrink_to_fit(|e| hasher.hash_one(key_at(arena, e.key_at)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn loc(n: u32) -> Loc {
        Loc { file_id: n, offset: n.wrapping_mul(2), value_len: n.wrapping_mul(3) }
    }

    #[test]
    fn lengths_of_every_prefix_size_round_trip() {
        let mut arena = Vec::new();
        for len in [0, 1, 127, 128, 16_383, 16_384, 70_000] {
            let key = vec![7u8; len];
            let at = push_key(&mut arena, &key).unwrap();
            assert_eq!(key_at(&arena, at), &key[..]);
            assert_eq!(arena.len() - at as usize, stored_len(&key));
        }
    }

    proptest! {
        /// Inserts, updates, removals and compare-and-sets against a `HashMap`, with enough
        /// removals to trigger arena compaction.
        #[test]
        fn matches_a_hashmap(ops in prop::collection::vec((0u8..3, 0u16..2000, any::<u32>()), 1..3000)) {
            let mut keydir = KeyDir::default();
            let mut model: HashMap<Vec<u8>, Loc> = HashMap::new();
            for (op, k, n) in ops {
                // Long keys, so garbage passes the compaction threshold.
                let key = format!("{k:0>60}").into_bytes();
                match op {
                    0 => prop_assert_eq!(keydir.insert(&key, loc(n)).unwrap(), model.insert(key, loc(n))),
                    1 => prop_assert_eq!(keydir.remove(&key), model.remove(&key)),
                    _ => {
                        let swapped = model.get(&key) == Some(&loc(n % 4));
                        if swapped {
                            model.insert(key.clone(), loc(n));
                        }
                        prop_assert_eq!(keydir.compare_and_set(&key, loc(n % 4), loc(n)), swapped);
                    }
                }
            }
            prop_assert_eq!(keydir.len(), model.len());
            for (key, l) in keydir.iter() {
                prop_assert_eq!(model.get(key), Some(&l));
            }
            keydir.shrink_to_fit();
            for (key, l) in &model {
                prop_assert_eq!(keydir.get(key), Some(*l));
            }
        }
    }
}
