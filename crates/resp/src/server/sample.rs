//! Random members of a table, for `HRANDFIELD`, `SRANDMEMBER`, `SPOP` and `ZRANDMEMBER`.
//!
//! Redis's commands take a count: a positive count asks for that many *distinct* members (all
//! of them if there are fewer), a negative one for that many draws *with repetition*. Distinct
//! sampling picks one of two methods, as Redis does: when most of the table is wanted, shuffle
//! the whole table partially (Fisher-Yates) and take a prefix; when few are, draw at random and
//! skip repeats, which needs only about `count` draws.

use std::collections::HashSet;
use std::hash::Hash;

use super::dict::Dict;

/// The most members one reply may draw with repetition. Redis has no such bound and relies on
/// the client output buffer limit; here a huge negative count is refused up front instead of
/// building a reply of unbounded size.
pub(crate) const MAX_DRAWS: u64 = 1 << 22;

/// Above this share of the table, distinct sampling shuffles instead of drawing.
const SHUFFLE_RATIO: usize = 3;

/// `count` entries drawn independently (repeats possible; empty if the table is).
pub(crate) fn with_repeats<K: Hash + Eq, V>(
    dict: &Dict<K, V>,
    count: usize,
    mut random: impl FnMut() -> u64,
) -> Vec<(&K, &V)> {
    (0..count).map_while(|_| dict.random(&mut random)).collect()
}

/// `min(count, len)` distinct entries, in no particular order.
pub(crate) fn distinct<K: Hash + Eq, V>(
    dict: &Dict<K, V>,
    count: usize,
    mut random: impl FnMut() -> u64,
) -> Vec<(&K, &V)> {
    let len = dict.len();
    if count >= len {
        return dict.iter().collect();
    }
    if count.saturating_mul(SHUFFLE_RATIO) > len {
        let mut all: Vec<_> = dict.iter().collect();
        for i in 0..count {
            let j = i + (random() % (len - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count);
        return all;
    }
    let mut seen = HashSet::with_capacity(count);
    let mut picked = Vec::with_capacity(count);
    while picked.len() < count {
        let Some((key, value)) = dict.random(&mut random) else { break };
        if seen.insert(key) {
            picked.push((key, value));
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::{distinct, with_repeats};
    use crate::server::dict::Dict;

    fn rng() -> impl FnMut() -> u64 {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn distinct_samples_have_no_repeats_and_the_right_size() {
        let dict: Dict<u32, ()> = (0..100).map(|i| (i, ())).collect();
        for count in [0, 1, 10, 33, 34, 60, 99, 100, 500] {
            let picked = distinct(&dict, count, rng());
            let keys: HashSet<u32> = picked.iter().map(|(k, _)| **k).collect();
            assert_eq!(picked.len(), count.min(100), "count {count}");
            assert_eq!(keys.len(), picked.len(), "count {count}");
        }
    }

    #[test]
    fn draws_with_repeats_give_exactly_count_and_reach_everything() {
        let dict: Dict<u32, ()> = (0..10).map(|i| (i, ())).collect();
        let drawn = with_repeats(&dict, 1000, rng());
        assert_eq!(drawn.len(), 1000);
        let keys: HashSet<u32> = drawn.iter().map(|(k, _)| **k).collect();
        assert_eq!(keys.len(), 10);
        assert!(with_repeats(&Dict::<u32, ()>::default(), 5, rng()).is_empty());
    }
}
