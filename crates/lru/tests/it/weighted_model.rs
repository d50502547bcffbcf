//! Weighted LRU against a weighted `Vec` oracle: random weights (including 0 and heavier than
//! the whole capacity), random capacities, every `Put` outcome and the full order compared.

use byo_lru::{LruCache, Put};
use proptest::prelude::*;

/// Most recently used first; evicts from the back until the new entry fits.
struct WeightedVecLru {
    entries: Vec<(u8, u32)>,
    capacity: u64,
}

fn weight(value: &u32) -> u64 {
    u64::from(*value % 8)
}

impl WeightedVecLru {
    fn total(&self) -> u64 {
        self.entries.iter().map(|(_, v)| weight(v)).sum()
    }

    /// Returns (old value if replaced in place, evicted entries, rejected).
    fn put(&mut self, key: u8, value: u32) -> (Option<u32>, Vec<(u8, u32)>, bool) {
        let mut evicted = Vec::new();
        let position = self.entries.iter().position(|(k, _)| *k == key);
        if weight(&value) > self.capacity {
            if let Some(at) = position {
                self.entries.remove(at);
            }
            return (None, evicted, true);
        }
        if let Some(at) = position {
            let old = self.entries[at].1;
            if self.total() - weight(&old) + weight(&value) <= self.capacity {
                self.entries.remove(at);
                self.entries.insert(0, (key, value));
                return (Some(old), evicted, false);
            }
            evicted.push(self.entries.remove(at));
        }
        while self.total() + weight(&value) > self.capacity {
            evicted.push(self.entries.pop().expect("capacity covers the new weight"));
        }
        self.entries.insert(0, (key, value));
        (None, evicted, false)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, u32),
    Get(u8),
    Remove(u8),
    PopLru,
    Resize(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..10, 0u32..40).prop_map(|(k, v)| Op::Put(k, v)),
        3 => (0u8..10).prop_map(Op::Get),
        1 => (0u8..10).prop_map(Op::Remove),
        1 => Just(Op::PopLru),
        1 => (0u64..24).prop_map(Op::Resize),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn weighted_lru_matches_the_oracle(capacity in 0u64..24, ops in prop::collection::vec(op(), 1..150)) {
        let mut cache = LruCache::with_weigher(capacity, |_: &u8, v: &u32| weight(v));
        let mut model = WeightedVecLru { entries: Vec::new(), capacity };
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    let (replaced, evicted, rejected) = model.put(k, v);
                    match cache.put(k, v) {
                        Put::Inserted => prop_assert!(replaced.is_none() && evicted.is_empty() && !rejected),
                        Put::Replaced(old) => prop_assert_eq!(Some(old), replaced),
                        Put::Evicted(gone) => prop_assert_eq!(gone.into_iter().collect::<Vec<_>>(), evicted),
                        Put::Rejected(rk, rv) => prop_assert!(rejected && rk == k && rv == v),
                    }
                }
                Op::Get(k) => {
                    let at = model.entries.iter().position(|(mk, _)| *mk == k);
                    let want = at.map(|at| model.entries[at].1);
                    if let Some(at) = at {
                        let entry = model.entries.remove(at);
                        model.entries.insert(0, entry);
                    }
                    prop_assert_eq!(cache.get(&k).copied(), want);
                }
                Op::Remove(k) => {
                    let at = model.entries.iter().position(|(mk, _)| *mk == k);
                    let want = at.map(|at| model.entries.remove(at).1);
                    prop_assert_eq!(cache.remove(&k), want);
                }
                Op::PopLru => prop_assert_eq!(cache.pop_lru(), model.entries.pop()),
                Op::Resize(to) => {
                    cache.resize(to);
                    model.capacity = to;
                    while model.total() > to {
                        model.entries.pop();
                    }
                }
            }
            let order: Vec<(u8, u32)> = cache.iter().map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(&order, &model.entries);
            prop_assert_eq!(cache.weight(), model.total());
            prop_assert!(cache.weight() <= cache.capacity());
        }
    }
}
