//! The sorted set: members ordered by `(score, member)`, with O(1) score lookup and O(log n)
//! rank.
//!
//! Like Redis's, it is two structures over the same members:
//!
//! - a hash table from member to score, for `ZSCORE` and for finding a member's place;
//! - a **skip list** ordered by score, then by member bytes: a sorted linked list where each
//!   node also sits, with probability 1/4 per level, on up to 32 sparser "express" lists. A
//!   search starts on the sparsest list and drops a level whenever the next step would pass
//!   the target, so it visits O(log n) nodes on average.
//!
//! Every forward link also records its **span**, the number of level-0 steps it jumps. Summing
//! the spans along a search path gives a node's rank, and descending by spans finds the node at
//! a rank, both in O(log n); that is what makes `ZRANK` and `ZRANGE key 1000 1010` fast.
//!
//! The nodes live in an arena (`Vec<Node>`) and link by `u32` index, with a free list for
//! reuse: the structure needs no pointers and no `unsafe`. Index 0 is the header, a node with
//! every level and no member.

mod range;

pub(crate) use range::{LexRange, ScoreRange};

use super::dict::Dict;
use super::value::Str;

/// The most levels a node can have; enough for 2^64 members at p = 1/4.
const MAX_LEVEL: usize = 32;
/// No node: the end of a list.
const NIL: u32 = 0;

/// The most members Redis keeps in a listpack (`zset-max-listpack-entries`), which it scans
/// from one end rather than searching: the lexicographic ranges follow it.
const LISTPACK_ENTRIES: usize = 128;

/// A sorted set.
#[derive(Clone, Debug, Default)]
pub(crate) struct SortedSet {
    scores: Dict<Str, f64>,
    list: SkipList,
}

impl SortedSet {
    /// The number of members.
    pub(crate) fn len(&self) -> usize {
        self.scores.len()
    }

    /// The score of `member`.
    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Adds `member` or moves it to `score`. Returns its previous score.
    pub(crate) fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        match self.scores.get_mut(member) {
            Some(current) => {
                let old = *current;
                if old != score {
                    *current = score;
                    self.list.remove(old, member);
                    self.list.insert(score, Str::new(member));
                }
                Some(old)
            }
            None => {
                self.scores.insert_new(Str::new(member), score);
                self.list.insert(score, Str::new(member));
                None
            }
        }
    }

    /// Removes `member`; returns its score.
    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.scores.remove(member)?;
        self.list.remove(score, member);
        Some(score)
    }

    /// The 0-based rank of `member` in ascending order.
    pub(crate) fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.list.rank(score, member))
    }

    /// The members with ranks `start..end` (ascending), or from the top if `reverse`.
    pub(crate) fn by_rank(
        &self,
        range: std::ops::Range<usize>,
        reverse: bool,
    ) -> impl Iterator<Item = (&Str, f64)> {
        let len = range.len();
        let start = if len == 0 {
            NIL
        } else if reverse {
            self.list.at_rank(self.len() - 1 - range.start)
        } else {
            self.list.at_rank(range.start)
        };
        self.list.walk(start, reverse).take(len)
    }

    /// The members whose score is in `range`, ascending (descending if `reverse`).
    pub(crate) fn by_score(
        &self,
        range: &ScoreRange,
        reverse: bool,
    ) -> impl Iterator<Item = (&Str, f64)> {
        let start = if range.is_empty() {
            NIL
        } else if reverse {
            self.list.last_where(|score, _| range.below_max(score))
        } else {
            self.list.first_where(|score, _| range.above_min(score))
        };
        let range = *range;
        self.list.walk(start, reverse).take_while(move |&(_, score)| {
            if reverse { range.above_min(score) } else { range.below_max(score) }
        })
    }

    /// The members in lexicographic `range`, assuming all scores are equal (as Redis does).
    ///
    /// With unequal scores Redis calls the answer unspecified, and this gives Redis's all the
    /// same, for clients that rely on it: nothing unless the last member reaches `min` and the
    /// first reaches `max`; otherwise the run that starts at the first member past the near
    /// bound, found the way Redis finds it: by a plain scan in a set small enough for Redis to
    /// keep as a listpack, by the skip-list search above that.
    pub(crate) fn by_lex<'s>(
        &'s self,
        range: &LexRange,
        reverse: bool,
    ) -> impl Iterator<Item = (&'s Str, f64)> + 's {
        let ends = |at: u32| self.list.node(at).member.as_bytes();
        let may_hit = self.len() > 0
            && range.above_min(ends(self.list.tail))
            && range.below_max(ends(self.list.node(0).levels[0].forward));
        let start = match (may_hit, self.len() <= LISTPACK_ENTRIES, reverse) {
            (false, _, _) => NIL,
            (true, true, _) => self.list.scan(reverse, |member| {
                if reverse { range.below_max(member) } else { range.above_min(member) }
            }),
            (true, false, true) => self.list.last_where(|_, member| range.below_max(member)),
            (true, false, false) => self.list.first_where(|_, member| range.above_min(member)),
        };
        let range = range.clone();
        self.list.walk(start, reverse).take_while(move |(member, _)| {
            if reverse {
                range.above_min(member.as_bytes())
            } else {
                range.below_max(member.as_bytes())
            }
        })
    }

    /// Every member, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Str, f64)> {
        self.list.walk(self.list.node(0).levels[0].forward, false)
    }

    /// The member-to-score table, for `ZSCAN` and random sampling.
    pub(crate) fn scores(&self) -> &Dict<Str, f64> {
        &self.scores
    }
}

#[derive(Clone, Debug)]
struct Node {
    member: Str,
    score: f64,
    /// The previous node on level 0 (`NIL` for the first).
    backward: u32,
    levels: Vec<Link>,
}

#[derive(Clone, Copy, Debug)]
struct Link {
    forward: u32,
    /// How many level-0 steps `forward` jumps.
    span: u32,
}

#[derive(Clone, Debug)]
struct SkipList {
    /// `nodes[0]` is the header.
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// Levels in use (at least 1).
    level: usize,
    len: usize,
    tail: u32,
    rng: u64,
}

impl Default for SkipList {
    fn default() -> Self {
        let header = Node {
            member: Str::new(b""),
            score: 0.0,
            backward: NIL,
            levels: vec![Link { forward: NIL, span: 0 }; MAX_LEVEL],
        };
        SkipList { nodes: vec![header], free: Vec::new(), level: 1, len: 0, tail: NIL, rng: 1 }
    }
}

/// Whether `(score, member)` sorts before `(other_score, other)`.
fn before(score: f64, member: &[u8], other_score: f64, other: &[u8]) -> bool {
    score < other_score || (score == other_score && member < other)
}

// The update paths are indexed by level alongside the nodes' own links; iterator forms of
// those loops would hide the parallel between the two.
#[allow(clippy::needless_range_loop)]
impl SkipList {
    fn node(&self, at: u32) -> &Node {
        &self.nodes[at as usize]
    }

    fn link(&mut self, at: u32, level: usize) -> &mut Link {
        &mut self.nodes[at as usize].levels[level]
    }

    /// A level for a new node: 1, then one more with probability 1/4 each.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while level < MAX_LEVEL {
            // xorshift64: a fast, good-enough source for level choice.
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            if self.rng & 3 != 0 {
                break;
            }
            level += 1;
        }
        level
    }

    /// For each level, the last node before `(score, member)` and its rank (the number of
    /// level-0 steps from the header to it).
    fn path(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [usize; MAX_LEVEL]) {
        let mut update = [0u32; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut at = 0;
        for level in (0..self.level).rev() {
            rank[level] = if level + 1 == self.level { 0 } else { rank[level + 1] };
            loop {
                let link = self.node(at).levels[level];
                let next = self.node(link.forward);
                if link.forward != NIL && before(next.score, next.member.as_bytes(), score, member)
                {
                    rank[level] += link.span as usize;
                    at = link.forward;
                } else {
                    break;
                }
            }
            update[level] = at;
        }
        (update, rank)
    }

    /// Inserts `(score, member)`, which must not be present.
    fn insert(&mut self, score: f64, member: Str) {
        let (mut update, rank) = self.path(score, member.as_bytes());
        let level = self.random_level();
        if level > self.level {
            for l in self.level..level {
                update[l] = 0;
                self.nodes[0].levels[l].span = self.len as u32;
            }
            self.level = level;
        }
        let node = Node {
            member,
            score,
            backward: if update[0] == 0 { NIL } else { update[0] },
            levels: vec![Link { forward: NIL, span: 0 }; level],
        };
        let at = match self.free.pop() {
            Some(at) => {
                self.nodes[at as usize] = node;
                at
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for l in 0..level {
            let prev = *self.link(update[l], l);
            // The new node takes over the part of prev's jump that lies after it.
            let before_new = (rank[0] - rank[l]) as u32;
            *self.link(at, l) = Link { forward: prev.forward, span: prev.span - before_new };
            *self.link(update[l], l) = Link { forward: at, span: before_new + 1 };
        }
        // Levels above the new node now jump over one more node.
        for l in level..self.level {
            self.link(update[l], l).span += 1;
        }
        let next = self.node(at).levels[0].forward;
        if next == NIL {
            self.tail = at;
        } else {
            self.nodes[next as usize].backward = at;
        }
        self.len += 1;
    }

    /// Removes `(score, member)` if present.
    fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let (update, _) = self.path(score, member);
        let at = self.node(update[0]).levels[0].forward;
        if at == NIL || self.node(at).score != score || self.node(at).member.as_bytes() != member {
            return false;
        }
        for l in 0..self.level {
            let prev = *self.link(update[l], l);
            if prev.forward == at {
                let gone = self.node(at).levels[l];
                *self.link(update[l], l) =
                    Link { forward: gone.forward, span: prev.span + gone.span - 1 };
            } else {
                self.link(update[l], l).span -= 1;
            }
        }
        let (next, back) = (self.node(at).levels[0].forward, self.node(at).backward);
        if next == NIL {
            self.tail = back;
        } else {
            self.nodes[next as usize].backward = back;
        }
        while self.level > 1 && self.node(0).levels[self.level - 1].forward == NIL {
            self.level -= 1;
        }
        // Release the member's memory now; the slot is reused by the next insert.
        let slot = &mut self.nodes[at as usize];
        slot.member = Str::new(b"");
        slot.levels = Vec::new();
        self.free.push(at);
        self.len -= 1;
        if self.len == 0 {
            *self = SkipList { rng: self.rng, ..SkipList::default() };
        }
        true
    }

    /// The 0-based rank of `(score, member)`, which must be present.
    fn rank(&self, score: f64, member: &[u8]) -> usize {
        let (_, rank) = self.path(score, member);
        rank[0]
    }

    /// The node at 0-based rank `rank` (< len).
    fn at_rank(&self, rank: usize) -> u32 {
        let target = rank + 1;
        let mut traversed = 0;
        let mut at = 0;
        for level in (0..self.level).rev() {
            loop {
                let link = self.node(at).levels[level];
                if link.forward != NIL && traversed + link.span as usize <= target {
                    traversed += link.span as usize;
                    at = link.forward;
                } else {
                    break;
                }
            }
            if traversed == target {
                return at;
            }
        }
        NIL
    }

    /// The first node satisfying `pred`, where `pred` is false up to some point of the order
    /// and true after it.
    fn first_where(&self, pred: impl Fn(f64, &[u8]) -> bool) -> u32 {
        let before = self.last_where(|score, member| !pred(score, member));
        let candidate = self.node(before).levels[0].forward;
        let node = self.node(candidate);
        if candidate != NIL && pred(node.score, node.member.as_bytes()) { candidate } else { NIL }
    }

    /// The last node satisfying `pred`, where `pred` is true up to some point and false after
    /// (`NIL`, the header, if none does).
    fn last_where(&self, pred: impl Fn(f64, &[u8]) -> bool) -> u32 {
        let mut at = 0;
        for level in (0..self.level).rev() {
            loop {
                let forward = self.node(at).levels[level].forward;
                let next = self.node(forward);
                if forward != NIL && pred(next.score, next.member.as_bytes()) {
                    at = forward;
                } else {
                    break;
                }
            }
        }
        at
    }

    /// The first node from the head (from the tail if `reverse`) whose member satisfies
    /// `pred`, looking at every node in turn; `NIL` if none does.
    fn scan(&self, reverse: bool, pred: impl Fn(&[u8]) -> bool) -> u32 {
        let mut at = if reverse { self.tail } else { self.node(0).levels[0].forward };
        while at != NIL && !pred(self.node(at).member.as_bytes()) {
            let node = self.node(at);
            at = if reverse { node.backward } else { node.levels[0].forward };
        }
        at
    }

    /// Nodes from `start` onwards (backwards if `reverse`).
    fn walk(&self, start: u32, reverse: bool) -> impl Iterator<Item = (&Str, f64)> {
        let mut at = start;
        std::iter::from_fn(move || {
            if at == NIL {
                return None;
            }
            let node = self.node(at);
            at = if reverse { node.backward } else { node.levels[0].forward };
            Some((&node.member, node.score))
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{LexRange, ScoreRange, SortedSet};

    /// The model: a sorted vector of (score, member).
    fn model_order(model: &[(f64, Vec<u8>)]) -> Vec<(f64, Vec<u8>)> {
        let mut sorted = model.to_vec();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        sorted
    }

    fn contents(set: &SortedSet) -> Vec<(f64, Vec<u8>)> {
        set.iter().map(|(m, s)| (s, m.as_bytes().to_vec())).collect()
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..40, -5i8..5).prop_map(|(m, s)| Op::Insert(m, s)),
            1 => (0u8..40).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn matches_a_sorted_vector(ops in prop::collection::vec(op(), 1..300)) {
            let mut set = SortedSet::default();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        let member = vec![b'a' + m % 26, m];
                        let old = model.iter().position(|(_, x)| *x == member);
                        let expected = old.map(|i| model.remove(i).0);
                        model.push((f64::from(s), member.clone()));
                        prop_assert_eq!(set.insert(&member, f64::from(s)), expected);
                    }
                    Op::Remove(m) => {
                        let member = vec![b'a' + m % 26, m];
                        let old = model.iter().position(|(_, x)| *x == member);
                        let expected = old.map(|i| model.remove(i).0);
                        prop_assert_eq!(set.remove(&member), expected);
                    }
                }
                let sorted = model_order(&model);
                prop_assert_eq!(contents(&set), sorted.clone());
                prop_assert_eq!(set.len(), sorted.len());
                for (rank, (score, member)) in sorted.iter().enumerate() {
                    prop_assert_eq!(set.rank(member), Some(rank));
                    let at: Vec<_> = set.by_rank(rank..rank + 1, false).collect();
                    prop_assert_eq!(at[0].0.as_bytes(), &member[..]);
                    prop_assert_eq!(at[0].1, *score);
                }
                let reversed: Vec<_> =
                    set.by_rank(0..sorted.len(), true).map(|(m, _)| m.as_bytes().to_vec()).collect();
                let expected: Vec<_> = sorted.iter().rev().map(|(_, m)| m.clone()).collect();
                prop_assert_eq!(reversed, expected);
                for (min, max, minex, maxex) in [(-2.0, 2.0, false, true), (0.0, 0.0, false, false), (1.0, -1.0, false, false)] {
                    let range = ScoreRange { min, max, min_exclusive: minex, max_exclusive: maxex };
                    let got: Vec<_> = set.by_score(&range, false).map(|(m, _)| m.as_bytes().to_vec()).collect();
                    let want: Vec<_> = sorted.iter()
                        .filter(|(s, _)| range.above_min(*s) && range.below_max(*s))
                        .map(|(_, m)| m.clone()).collect();
                    let got_rev: Vec<_> = set.by_score(&range, true).map(|(m, _)| m.as_bytes().to_vec()).collect();
                    let want_rev: Vec<_> = want.iter().rev().cloned().collect();
                    prop_assert_eq!(got, want);
                    prop_assert_eq!(got_rev, want_rev);
                }
            }
        }
    }

    #[test]
    fn lexicographic_ranges_on_equal_scores() {
        let mut set = SortedSet::default();
        for member in ["a", "b", "c", "d", "e"] {
            set.insert(member.as_bytes(), 0.0);
        }
        let names = |range: LexRange, reverse: bool| -> Vec<String> {
            set.by_lex(&range, reverse)
                .map(|(m, _)| String::from_utf8_lossy(m.as_bytes()).into_owned())
                .collect()
        };
        let parse = |min: &str, max: &str| LexRange::parse(min.as_bytes(), max.as_bytes()).unwrap();
        assert_eq!(names(parse("[b", "(d"), false), ["b", "c"]);
        assert_eq!(names(parse("[b", "(d"), true), ["c", "b"]);
        assert_eq!(names(parse("-", "+"), false), ["a", "b", "c", "d", "e"]);
        assert_eq!(names(parse("(e", "+"), false), Vec::<String>::new());
        assert_eq!(names(parse("+", "-"), false), Vec::<String>::new());
        assert!(LexRange::parse(b"b", b"+").is_none());
    }

    /// Unequal scores: Redis's answers (7.0), which follow from its ends check and its scan.
    #[test]
    fn lexicographic_ranges_on_unequal_scores_answer_as_redis() {
        let mut set = SortedSet::default();
        set.insert(b"m", 3.0);
        set.insert(b"1", f64::INFINITY);
        let names = |min: &str, max: &str, reverse: bool| -> Vec<String> {
            let range = LexRange::parse(min.as_bytes(), max.as_bytes()).unwrap();
            set.by_lex(&range, reverse)
                .map(|(m, _)| String::from_utf8_lossy(m.as_bytes()).into_owned())
                .collect()
        };
        // The last member, "1", is below "[m": nothing, though "m" itself is in the range.
        assert_eq!(names("[m", "(o", false), Vec::<String>::new());
        // From the first member past "-", while below "+": both, in score order.
        assert_eq!(names("-", "+", false), ["m", "1"]);
        assert_eq!(names("-", "+", true), ["1", "m"]);
    }

    #[test]
    fn score_bounds_parse_like_redis() {
        let range = ScoreRange::parse(b"(1.5", b"+inf").unwrap();
        assert!(range.min_exclusive && !range.max_exclusive);
        assert_eq!(range.max, f64::INFINITY);
        assert!(ScoreRange::parse(b"nan", b"1").is_none());
        assert!(ScoreRange::parse(b"x", b"1").is_none());
        assert_eq!(ScoreRange::parse(b"-inf", b"(2").unwrap().min, f64::NEG_INFINITY);
    }
}
