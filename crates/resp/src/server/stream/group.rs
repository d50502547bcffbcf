//! Consumer groups: a cursor, the pending entries list, and the consumers that own its entries.

use std::collections::{BTreeMap, BTreeSet};

use super::StreamId;
use crate::server::value::Str;

/// One delivered, unacknowledged entry of a group.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    /// Its owner.
    pub(crate) consumer: Str,
    /// Unix milliseconds of the last delivery.
    pub(crate) delivery_time: i64,
    /// How many times it has been delivered.
    pub(crate) delivery_count: i64,
}

/// A consumer of a group.
#[derive(Clone, Debug)]
pub(crate) struct Consumer {
    /// Unix milliseconds when it last read or claimed.
    pub(crate) seen_time: i64,
    /// The pending entries it owns.
    pub(crate) pel: BTreeSet<StreamId>,
}

/// A group's `entries_read` when it is not known.
pub(crate) const UNKNOWN_READ: i64 = -1;

/// A consumer group.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// The last entry delivered to one of its consumers.
    pub(crate) last_id: StreamId,
    /// How many entries it has read ([`UNKNOWN_READ`] if it cannot be known).
    pub(crate) entries_read: i64,
    /// Its pending entries, by ID.
    pub(crate) pel: BTreeMap<StreamId, Pending>,
    /// Its consumers, by name.
    pub(crate) consumers: BTreeMap<Str, Consumer>,
}

impl Group {
    pub(super) fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// Creates consumer `name` if it does not exist; returns whether it did not.
    pub(crate) fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(Str::new(name), Consumer { seen_time: now, pel: BTreeSet::new() });
        true
    }

    /// Deletes consumer `name` and its pending entries; returns how many it had, or `None` if
    /// there is no such consumer.
    pub(crate) fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// Makes `consumer` (which exists) the owner of pending entry `id` (which exists).
    pub(crate) fn reassign(&mut self, id: StreamId, consumer: &[u8]) {
        let Some(pending) = self.pel.get_mut(&id) else { return };
        if pending.consumer.as_bytes() != consumer {
            if let Some(old) = self.consumers.get_mut(pending.consumer.as_bytes()) {
                old.pel.remove(&id);
            }
            pending.consumer = Str::new(consumer);
        }
        if let Some(new) = self.consumers.get_mut(consumer) {
            new.pel.insert(id);
        }
    }

    /// Removes pending entry `id` from the group and its owner; returns whether it was there.
    pub(crate) fn acknowledge(&mut self, id: StreamId) -> bool {
        let Some(pending) = self.pel.remove(&id) else { return false };
        if let Some(owner) = self.consumers.get_mut(pending.consumer.as_bytes()) {
            owner.pel.remove(&id);
        }
        true
    }
}
