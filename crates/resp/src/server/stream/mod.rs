//! The stream: an append-only log of entries named by increasing IDs, with consumer groups.
//!
//! An entry ID is two 64-bit numbers, `ms-seq`: by default the Unix time in milliseconds of
//! the `XADD` and a sequence number within that millisecond. IDs only grow: the stream keeps
//! the last ID it ever generated (`last_id`), even after that entry is deleted, and refuses an
//! explicit ID that is not above it.
//!
//! ## Entries and nodes
//!
//! The entries are a `BTreeMap` from ID to fields, which gives ranges in both directions and
//! lookup by ID in O(log n). Redis stores them in a radix tree of *nodes* (listpacks of up to
//! `stream-node-max-entries` entries and about `stream-node-max-bytes` bytes), and that
//! layout is visible to clients: approximate trimming (`MAXLEN ~ n`, `MINID ~ id`) only
//! removes whole nodes, and a deleted entry keeps its place in its node until the node
//! empties. So this stream keeps the node boundaries beside the entries ([`Node`]: first and
//! last ID, entries ever placed in it, entries still live, an estimate of its size) and trims
//! exactly as Redis does, node by node. Invariant: the nodes partition the live entries in
//! ID order, and every node but one left by an exact `MINID` trim has a live entry.
//!
//! ## Consumer groups
//!
//! A group has a cursor (`last_id`, the last entry delivered to any of its consumers), a count
//! of entries read (for `lag`), and a **pending entries list** (PEL): the entries delivered and
//! not yet acknowledged, each with its owner, last delivery time and delivery count. Each
//! consumer also lists the IDs it owns, so the PEL is indexed both ways, as in Redis, and the
//! two always agree: an ID is in a consumer's set exactly when the group's PEL names that
//! consumer as its owner.
//!
//! IDs and their syntax are in `id`, groups and their pending entries in `group`; this module
//! holds the entries, the nodes and trimming.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use super::value::Str;

mod group;
mod id;

pub(crate) use group::{Group, Pending, UNKNOWN_READ};
pub(crate) use id::{IdSyntax, ParsedId, StreamId, parse_id};

/// How entries are grouped into nodes (the `stream-node-max-*` parameters; 0 = no limit).
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeLimits {
    pub(crate) entries: u64,
    pub(crate) bytes: u64,
}

/// The largest a node may grow, whatever `stream-node-max-bytes` says (Redis's
/// `STREAM_LISTPACK_MAX_SIZE`); also the most an entry's fields and values may total.
pub(crate) const NODE_MAX_SIZE: u64 = 1 << 30;

/// A run of consecutive entries that Redis would keep in one listpack.
#[derive(Clone, Debug)]
struct Node {
    /// The first ID placed in the node (its key in Redis's radix tree).
    first: StreamId,
    /// The last ID placed in the node, deleted or not.
    last: StreamId,
    /// Entries ever placed in it, live or deleted.
    total: u64,
    /// Entries still live.
    live: u64,
    /// An estimate of the listpack's size in bytes.
    bytes: u64,
}

/// How to trim (`XADD` and `XTRIM` options).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Remove the entries below this ID.
    MinId(StreamId),
}

/// A stream.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stream {
    /// The live entries: fields and values alternating.
    entries: BTreeMap<StreamId, Box<[Str]>>,
    /// The node boundaries, oldest first (see the module documentation).
    nodes: VecDeque<Node>,
    /// The largest ID ever added (or set by `XSETID`).
    pub(crate) last_id: StreamId,
    /// The largest ID ever deleted by `XDEL` (or set by `XSETID`).
    pub(crate) max_deleted: StreamId,
    /// How many entries were ever added.
    pub(crate) entries_added: i64,
    /// The consumer groups, by name.
    pub(crate) groups: BTreeMap<Str, Group>,
}

/// Why an entry could not be appended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum AppendError {
    /// The ID is not above the stream's last ID.
    NotAboveLast,
    /// The fields and values are larger than a node may be.
    TooLarge,
}

impl Stream {
    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many nodes Redis would have (`XINFO`'s `radix-tree-keys`).
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The first live entry's ID, `0-0` if there is none (`recorded-first-entry-id`).
    pub(crate) fn first_id(&self) -> StreamId {
        self.entries.keys().next().copied().unwrap_or(StreamId::MIN)
    }

    /// The last live entry's ID, if any.
    pub(crate) fn last_live_id(&self) -> Option<StreamId> {
        self.entries.keys().next_back().copied()
    }

    /// The fields and values of entry `id`.
    pub(crate) fn get(&self, id: StreamId) -> Option<&[Str]> {
        self.entries.get(&id).map(|fields| &fields[..])
    }

    /// The entries from `start` to `end` inclusive, in ID order (`.rev()` for the reverse).
    pub(crate) fn range(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl DoubleEndedIterator<Item = (StreamId, &[Str])> + '_ {
        // `start > end` is an empty range (which `BTreeMap::range` would refuse).
        let end = if start > end { Bound::Excluded(start) } else { Bound::Included(end) };
        self.entries.range((Bound::Included(start), end)).map(|(id, fields)| (*id, &fields[..]))
    }

    /// The ID the next `XADD *` gets at `now` (Unix ms), or `None` if the stream has used
    /// the last possible ID.
    pub(crate) fn next_auto_id(&self, now: u64) -> Option<StreamId> {
        if now > self.last_id.ms { Some(StreamId { ms: now, seq: 0 }) } else { self.last_id.next() }
    }

    /// The ID an `XADD` of `requested` (`ms-*` when not `seq_given`) gets.
    pub(crate) fn explicit_id(&self, requested: ParsedId) -> Result<StreamId, AppendError> {
        let id = if requested.seq_given || requested.id.ms != self.last_id.ms {
            requested.id
        } else {
            self.last_id
                .next()
                .filter(|next| next.ms == self.last_id.ms)
                .ok_or(AppendError::NotAboveLast)?
        };
        if id <= self.last_id {
            return Err(AppendError::NotAboveLast);
        }
        Ok(id)
    }

    /// Appends an entry with `id`, which must be above the last ID.
    pub(crate) fn append(
        &mut self,
        id: StreamId,
        fields: Vec<Str>,
        limits: NodeLimits,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::NotAboveLast);
        }
        let payload: u64 = fields.iter().map(|f| f.len() as u64).sum();
        if payload > NODE_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let max_bytes = match limits.bytes {
            0 => NODE_MAX_SIZE,
            bytes => bytes.min(NODE_MAX_SIZE),
        };
        // Redis opens a node when the tail one would pass the byte limit or already holds
        // `entries` entries (counting deleted ones).
        let tail_has_room = self.nodes.back().is_some_and(|node| {
            node.bytes + payload < max_bytes && (limits.entries == 0 || node.total < limits.entries)
        });
        // About what the listpack spends: a few bytes of flags, ID deltas and lengths per
        // entry, plus the strings.
        let cost = 4 + fields.iter().map(|f| f.len() as u64 + 2).sum::<u64>();
        match self.nodes.back_mut() {
            Some(node) if tail_has_room => {
                node.last = id;
                node.total += 1;
                node.live += 1;
                node.bytes += cost;
            }
            _ => self.nodes.push_back(Node {
                first: id,
                last: id,
                total: 1,
                live: 1,
                bytes: 16 + 2 * cost,
            }),
        }
        self.entries.insert(id, fields.into_boxed_slice());
        self.last_id = id;
        self.entries_added += 1;
        Ok(())
    }

    /// The node holding `id`, if one was ever placed there.
    fn node_of(&self, id: StreamId) -> Option<usize> {
        let after = self.nodes.partition_point(|node| node.first <= id);
        after.checked_sub(1).filter(|&at| self.nodes[at].last >= id)
    }

    /// Deletes entry `id` (`XDEL`); returns whether it existed.
    pub(crate) fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        if let Some(at) = self.node_of(id) {
            self.nodes[at].live -= 1;
            if self.nodes[at].live == 0 {
                self.nodes.remove(at);
            }
        }
        if id > self.max_deleted {
            self.max_deleted = id;
        }
        true
    }

    /// Trims from the oldest entries, as Redis's `streamTrim`: whole nodes while that keeps
    /// the bound, then (unless `approx`) single entries of the next node. `limit` (0 = none)
    /// bounds how many entries go. Returns how many went.
    pub(crate) fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0;
        while let Some(node) = self.nodes.front() {
            if let Trim::MaxLen(max) = trim
                && self.len() as u64 <= max
            {
                break;
            }
            if limit != 0 && deleted + node.live > limit {
                break;
            }
            let whole = match trim {
                Trim::MaxLen(max) => self.len() as u64 - node.live >= max,
                Trim::MinId(min) => node.last < min,
            };
            let (first, last) = (node.first, node.last);
            if whole {
                deleted += node.live;
                let gone: Vec<StreamId> =
                    self.entries.range(first..=last).map(|(id, _)| *id).collect();
                gone.iter().for_each(|id| {
                    self.entries.remove(id);
                });
                self.nodes.pop_front();
                continue;
            }
            if approx {
                break;
            }
            // Single entries of this node, oldest first, while the bound is not met.
            let candidates: Vec<StreamId> =
                self.entries.range(first..=last).map(|(id, _)| *id).collect();
            for id in candidates {
                let done = match trim {
                    Trim::MaxLen(max) => self.len() as u64 <= max,
                    Trim::MinId(min) => id >= min,
                };
                if done {
                    break;
                }
                self.entries.remove(&id);
                if let Some(node) = self.nodes.front_mut() {
                    node.live -= 1;
                }
                deleted += 1;
            }
            break;
        }
        deleted
    }

    /// Whether [`Stream::trim`] with these arguments would remove anything (without doing it:
    /// a trim that removes nothing is not a change).
    pub(crate) fn trim_would_remove(&self, trim: Trim, approx: bool, limit: u64) -> bool {
        let Some(node) = self.nodes.front() else { return false };
        if let Trim::MaxLen(max) = trim
            && self.len() as u64 <= max
        {
            return false;
        }
        if node.live == 0 {
            // Only an exact MINID trim leaves such a node; trimming will look further.
            return true;
        }
        if limit != 0 && node.live > limit {
            return false;
        }
        let whole = match trim {
            Trim::MaxLen(max) => self.len() as u64 - node.live >= max,
            Trim::MinId(min) => node.last < min,
        };
        // Otherwise an exact trim removes single entries of the node, if the first is out.
        whole
            || !approx
                && match trim {
                    Trim::MaxLen(_) => true,
                    Trim::MinId(min) => self.first_id() < min,
                }
    }

    /// Creates group `name` with its cursor at `last_id`; false if it exists.
    pub(crate) fn create_group(
        &mut self,
        name: &[u8],
        last_id: StreamId,
        entries_read: i64,
    ) -> bool {
        if self.groups.contains_key(name) {
            return false;
        }
        self.groups.insert(Str::new(name), Group::new(last_id, entries_read));
        true
    }

    /// Whether an entry between `start` and the end of the stream may have been deleted
    /// (Redis's `streamRangeHasTombstones`).
    pub(crate) fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.is_empty() || self.max_deleted == StreamId::MIN {
            return false;
        }
        if self.first_id() > self.max_deleted {
            return false;
        }
        start <= self.max_deleted
    }

    /// Whether it has no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of entries added before and including `id`, when it can be known
    /// (Redis's `streamEstimateDistanceFromFirstEverEntry`), else [`UNKNOWN_READ`].
    pub(crate) fn estimate_read_counter(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.is_empty() && id <= self.last_id {
            return self.entries_added;
        }
        if id == self.last_id {
            return self.entries_added;
        }
        if id > self.last_id {
            return UNKNOWN_READ;
        }
        let first = self.first_id();
        if self.max_deleted == StreamId::MIN || self.max_deleted < first {
            if id < first {
                return self.entries_added - self.len() as i64;
            }
            if id == first {
                return self.entries_added - self.len() as i64 + 1;
            }
        }
        UNKNOWN_READ
    }

    /// How many entries group `group` has yet to read, if that can be known (`lag`).
    pub(crate) fn lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != UNKNOWN_READ && !self.has_tombstones_from(group.last_id) {
            return Some(self.entries_added - group.entries_read);
        }
        match self.estimate_read_counter(group.last_id) {
            UNKNOWN_READ => None,
            read => Some(self.entries_added - read),
        }
    }

    /// Moves `group`'s cursor to `id`, just delivered, if it is ahead, updating the read
    /// counter as Redis's `streamReplyWithRange` does; returns whether the cursor moved.
    pub(crate) fn advance_group(&mut self, group: &[u8], id: StreamId) -> bool {
        let counter_stays_valid = !self.has_tombstones_from(id);
        let estimate = self.estimate_read_counter(id);
        let entries_added = self.entries_added;
        let Some(group) = self.groups.get_mut(group) else { return false };
        if id <= group.last_id {
            return false;
        }
        if group.entries_read != UNKNOWN_READ && counter_stays_valid {
            group.entries_read += 1;
        } else if entries_added != 0 {
            group.entries_read = estimate;
        }
        group.last_id = id;
        true
    }

    /// About how many bytes it takes (`MEMORY USAGE`).
    pub(crate) fn approx_bytes(&self) -> usize {
        let entries: usize = self
            .entries
            .values()
            .map(|fields| 32 + fields.iter().map(|f| 24 + f.len()).sum::<usize>())
            .sum();
        let groups: usize =
            self.groups.values().map(|g| 64 + 64 * g.pel.len() + 48 * g.consumers.len()).sum();
        entries + groups + 48 * self.nodes.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::{IdSyntax, NodeLimits, Stream, StreamId, Trim, parse_id};
    use crate::server::value::Str;

    const LIMITS: NodeLimits = NodeLimits { entries: 3, bytes: 4096 };

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn stream(n: u64) -> Stream {
        let mut s = Stream::default();
        for ms in 1..=n {
            s.append(id(ms, 0), vec![Str::new(b"f"), Str::new(b"v")], LIMITS).unwrap();
        }
        s
    }

    #[test]
    fn ids_parse_as_redis_reads_them() {
        let loose = IdSyntax { missing_seq: 7, strict: false, seq_star: false };
        let strict = IdSyntax { missing_seq: 0, strict: true, seq_star: true };
        assert_eq!(parse_id(b"5", loose).unwrap().id, id(5, 7));
        assert_eq!(parse_id(b"5-3", loose).unwrap().id, id(5, 3));
        assert_eq!(parse_id(b"+", loose).unwrap().id, StreamId::MAX);
        assert!(parse_id(b"+", strict).is_none());
        assert!(!parse_id(b"5-*", strict).unwrap().seq_given);
        assert!(parse_id(b"5-*", loose).is_none());
        for bad in [&b""[..], b"-5", b"5-", b"1-2-3", b"x", b" 5", b"18446744073709551616"] {
            assert!(parse_id(bad, loose).is_none(), "{bad:?}");
        }
        assert_eq!(parse_id(b"18446744073709551615-0", loose).unwrap().id.ms, u64::MAX);
    }

    #[test]
    fn next_and_prev_wrap_only_at_the_ends() {
        assert_eq!(id(1, u64::MAX).next(), Some(id(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(id(2, 0).prev(), Some(id(1, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
    }

    #[test]
    fn approximate_trims_remove_whole_nodes_only() {
        let mut s = stream(10); // nodes of 3, 3, 3, 1
        assert_eq!(s.node_count(), 4);
        assert_eq!(s.trim(Trim::MaxLen(8), true, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(6), true, 0), 3);
        assert_eq!(s.len(), 7);
        assert_eq!(s.trim(Trim::MaxLen(5), false, 0), 2);
        assert_eq!(s.first_id(), id(6, 0));
        // The node that lost two entries still counts them toward its size.
        assert_eq!(s.node_count(), 3);
    }

    #[test]
    fn deleting_the_last_live_entry_of_a_node_drops_the_node() {
        let mut s = stream(4);
        assert!(s.delete(id(4, 0)));
        assert!(!s.delete(id(4, 0)));
        assert_eq!(s.node_count(), 1);
        assert_eq!(s.max_deleted, id(4, 0));
        assert_eq!(s.last_id, id(4, 0));
        assert_eq!(s.trim(Trim::MinId(id(3, 0)), false, 0), 2);
        assert_eq!(s.first_id(), id(3, 0));
    }

    impl Stream {
        /// The node invariant of the module documentation.
        fn assert_nodes_partition_the_entries(&self, limits: NodeLimits) {
            let mut live = 0;
            for (at, node) in self.nodes.iter().enumerate() {
                assert!(node.first <= node.last && node.live <= node.total);
                assert!(limits.entries == 0 || node.total <= limits.entries);
                if let Some(next) = self.nodes.get(at + 1) {
                    assert!(node.last < next.first, "nodes overlap");
                }
                let inside = self.entries.range(node.first..=node.last).count() as u64;
                assert_eq!(inside, node.live, "live count of node {at}");
                live += node.live;
            }
            assert_eq!(live, self.len() as u64, "an entry outside every node");
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Append { gap: u64 },
        Delete { pick: usize },
        Trim { max_len: Option<u64>, min_pick: usize, approx: bool, limit: u64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..3u64).prop_map(|gap| Op::Append { gap }),
            1 => any::<usize>().prop_map(|pick| Op::Delete { pick }),
            1 => (proptest::option::of(0..30u64), any::<usize>(), any::<bool>(), 0..8u64)
                .prop_map(|(max_len, min_pick, approx, limit)| Op::Trim { max_len, min_pick, approx, limit }),
        ]
    }

    proptest! {
        /// Against a plain list of IDs: exact trims remove exactly the entries they should,
        /// approximate ones a prefix of those, within the limit; `trim_would_remove` predicts
        /// every trim; the nodes always partition the entries.
        #[test]
        fn trims_and_deletions_agree_with_a_plain_list(
            ops in proptest::collection::vec(op(), 1..200),
            per_node in 1..6u64,
        ) {
            let limits = NodeLimits { entries: per_node, bytes: 4096 };
            let mut stream = Stream::default();
            let mut model: Vec<StreamId> = Vec::new();
            let mut ms = 1;
            for op in ops {
                match op {
                    Op::Append { gap } => {
                        ms += gap;
                        let next = stream.next_auto_id(ms).unwrap();
                        stream.append(next, vec![Str::new(b"f"), Str::new(b"v")], limits).unwrap();
                        model.push(next);
                    }
                    Op::Delete { pick } if !model.is_empty() => {
                        let gone = model.remove(pick % model.len());
                        prop_assert!(stream.delete(gone));
                        prop_assert!(!stream.delete(gone));
                    }
                    Op::Delete { .. } => {}
                    Op::Trim { max_len, min_pick, approx, limit } => {
                        let trim = match (max_len, model.is_empty()) {
                            (Some(max), _) => Trim::MaxLen(max),
                            (None, true) => Trim::MinId(id(ms, 0)),
                            (None, false) => Trim::MinId(model[min_pick % model.len()]),
                        };
                        let exact = match trim {
                            Trim::MaxLen(max) => model.len().saturating_sub(max as usize),
                            Trim::MinId(min) => model.iter().filter(|&&i| i < min).count(),
                        };
                        // The commands refuse LIMIT without `~`.
                        let limit = if approx { limit } else { 0 };
                        let predicted = stream.trim_would_remove(trim, approx, limit);
                        let removed = stream.trim(trim, approx, limit) as usize;
                        prop_assert_eq!(predicted, removed > 0);
                        if !approx {
                            prop_assert_eq!(removed, exact);
                        }
                        prop_assert!(removed <= exact);
                        prop_assert!(limit == 0 || removed as u64 <= limit);
                        model.drain(..removed);
                    }
                }
                prop_assert_eq!(stream.range(StreamId::MIN, StreamId::MAX).map(|(i, _)| i).collect::<Vec<_>>(), model.clone());
                stream.assert_nodes_partition_the_entries(limits);
            }
        }
    }

    #[test]
    fn explicit_ids_must_grow() {
        let s = stream(2);
        let star = |ms| super::ParsedId { id: id(ms, 0), seq_given: false };
        assert_eq!(s.explicit_id(star(2)), Ok(id(2, 1)));
        assert_eq!(s.explicit_id(star(5)), Ok(id(5, 0)));
        assert!(s.explicit_id(star(1)).is_err());
        assert!(s.explicit_id(super::ParsedId { id: id(2, 0), seq_given: true }).is_err());
    }
}
