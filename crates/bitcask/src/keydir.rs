//! The keydir: every live key and where its newest value sits on disk.
//!
//! Bitcask's one in-memory structure. A read is a keydir lookup and one positioned read; a
//! write appends to the log and then points the key here at the new record. The keydir is
//! rebuilt from the files (or their hint files) on every open, so it never needs to be saved.
//!
//! Which record wins for a key is decided by sequence number, never by file order: merged
//! files are written late but hold old records, so "the last file read wins" would be wrong.

use std::collections::HashMap;

/// Where a key's newest record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    /// The record's sequence number.
    pub(crate) seq: u64,
    /// The data file.
    pub(crate) file_id: u32,
    /// Where the record starts in it.
    pub(crate) offset: u32,
    /// The value's length.
    pub(crate) value_len: u32,
}

/// Live keys and their locations.
#[derive(Debug, Default)]
pub(crate) struct KeyDir {
    map: HashMap<Box<[u8]>, Loc, hashbrown::DefaultHashBuilder>,
}

impl KeyDir {
    pub(crate) fn get(&self, key: &[u8]) -> Option<Loc> {
        self.map.get(key).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Points `key` at `loc`, returning where it pointed before.
    pub(crate) fn insert(&mut self, key: &[u8], loc: Loc) -> Option<Loc> {
        match self.map.get_mut(key) {
            Some(old) => Some(std::mem::replace(old, loc)),
            None => {
                self.map.insert(key.into(), loc);
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Loc> {
        self.map.remove(key)
    }

    /// Re-points `key` from `old` to `new` only if it still points at `old`: a merge that
    /// copied a record must not undo a write that raced with it.
    pub(crate) fn compare_and_set(&mut self, key: &[u8], old: Loc, new: Loc) -> bool {
        match self.map.get_mut(key) {
            Some(loc) if *loc == old => {
                *loc = new;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], Loc)> {
        self.map.iter().map(|(k, loc)| (&**k, *loc))
    }
}
