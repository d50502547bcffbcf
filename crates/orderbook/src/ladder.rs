//! One side's prices in order: a sorted `Vec` with the best price at the end.
//!
//! A book's activity crowds around the best prices: most new levels appear near the top,
//! most levels that empty are the top one (matched away) or close to it. A sorted array whose
//! *end* is the best price makes those changes cheap: inserting or removing at position `i`
//! moves only the `len - i` entries between `i` and the top, usually a handful, and finding
//! the best level reads the last element. Lookups are a binary search over a few kilobytes
//! that stay in cache. A `BTreeMap` does the same in O(log n) per operation, but with
//! pointer-chasing and rebalancing; on the benchmark workload the ladder halves the
//! instructions the book spends on price lookups.
//!
//! Both sides keep their keys ascending toward the best price. Bids use the price itself
//! (highest = best = last). Asks use `!price` (the bitwise complement, `-price - 1`), which
//! reverses the order without overflowing even at `i64::MIN`, so the lowest ask comes last.

use crate::types::Side;

#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    /// What a price is XORed with to make its key: 0 for bids, all ones for asks (`!price`
    /// is `price ^ -1`). A mask rather than a match on the side, so that no key costs a
    /// branch the processor could mispredict.
    flip: i64,
    /// (key, level number), ascending by key: best price last.
    rungs: Vec<(i64, u32)>,
}

impl Ladder {
    pub(crate) fn new(side: Side) -> Ladder {
        Ladder { flip: side.flip(), rungs: Vec::new() }
    }

    fn key(&self, price: i64) -> i64 {
        price ^ self.flip
    }

    /// The price a key stands for (the complement is its own inverse).
    fn price(&self, key: i64) -> i64 {
        self.key(key)
    }

    /// Where `price` is (`Ok`) or would go (`Err`). Most lookups are for prices near the
    /// top, so the last few rungs are scanned first; the rest is a binary search.
    fn search(&self, price: i64) -> Result<usize, usize> {
        const NEAR_TOP: usize = 8;
        let key = self.key(price);
        let len = self.rungs.len();
        for i in (len.saturating_sub(NEAR_TOP)..len).rev() {
            let k = self.rungs[i].0;
            if k == key {
                return Ok(i);
            }
            if k < key {
                return Err(i + 1);
            }
        }
        self.rungs[..len.saturating_sub(NEAR_TOP)].binary_search_by(|&(k, _)| k.cmp(&key))
    }

    pub(crate) fn len(&self) -> usize {
        self.rungs.len()
    }

    /// The best price and its level. The price comes from the rung, so that asking whether
    /// an order crosses reads no level.
    pub(crate) fn best(&self) -> Option<(i64, u32)> {
        self.rungs.last().map(|&(key, level)| (self.price(key), level))
    }

    pub(crate) fn get(&self, price: i64) -> Option<u32> {
        self.search(price).ok().map(|i| self.rungs[i].1)
    }

    /// The level at `price`, or the one `new_level` makes, which then joins the ladder: one
    /// search either way.
    pub(crate) fn find_or_insert_with(
        &mut self,
        price: i64,
        new_level: impl FnOnce() -> u32,
    ) -> u32 {
        match self.search(price) {
            Ok(i) => self.rungs[i].1,
            Err(i) => {
                let level = new_level();
                self.rungs.insert(i, (self.key(price), level));
                level
            }
        }
    }

    /// Where the rung of `level` (at `price`) is. The top rung is the usual case (a level
    /// matched, cancelled or modified away at the best price) and is recognised by its level
    /// number, with no search; any other rung is searched for out of line.
    #[inline]
    fn position(&self, price: i64, level: u32) -> Option<usize> {
        match self.rungs.last() {
            Some(&(_, top)) if top == level => Some(self.rungs.len() - 1),
            _ => self.position_below_top(price),
        }
    }

    #[inline(never)]
    fn position_below_top(&self, price: i64) -> Option<usize> {
        self.search(price).ok()
    }

    /// Removes `level`, whose price is `price`.
    #[inline]
    pub(crate) fn remove(&mut self, price: i64, level: u32) {
        match self.position(price, level) {
            // The top rung: no elements to move (`Vec::remove` would still call `memmove`
            // for none).
            Some(i) if i + 1 == self.rungs.len() => {
                self.rungs.pop();
            }
            Some(i) => {
                self.rungs.remove(i);
            }
            None => {}
        }
    }

    /// Gives the rung of `level` (at `price`) the key of `new_price`, if that keeps the rungs
    /// in order without moving any, that is, if no other rung lies between the two prices.
    /// Returns whether it did.
    pub(crate) fn rekey(&mut self, price: i64, level: u32, new_price: i64) -> bool {
        let Some(i) = self.position(price, level) else { return false };
        let key = self.key(new_price);
        let above_the_rung_below = i == 0 || self.rungs[i - 1].0 < key;
        let below_the_rung_above = i + 1 == self.rungs.len() || self.rungs[i + 1].0 > key;
        let fits = above_the_rung_below && below_the_rung_above;
        if fits {
            self.rungs[i].0 = key;
        }
        fits
    }

    /// Level numbers, best first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.rungs.iter().rev().map(|&(_, level)| level)
    }

    /// Level numbers, worst first: the order in which appending rebuilds the ladder with
    /// no element ever moved.
    pub(crate) fn iter_worst_first(&self) -> impl Iterator<Item = u32> + '_ {
        self.rungs.iter().map(|&(_, level)| level)
    }

    /// (price, level number), best first.
    pub(crate) fn prices(&self) -> impl Iterator<Item = (i64, u32)> + '_ {
        self.rungs.iter().rev().map(|&(key, level)| (self.price(key), level))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_is_highest_bid_and_lowest_ask_even_at_the_extremes() {
        let mut asks = Ladder::new(Side::Sell);
        let mut bids = Ladder::new(Side::Buy);
        for (level, price) in [5, i64::MIN, -3, i64::MAX, 0].into_iter().enumerate() {
            asks.find_or_insert_with(price, || level as u32);
            bids.find_or_insert_with(price, || level as u32);
        }
        let ask_prices: Vec<i64> = asks.prices().map(|(p, _)| p).collect();
        assert_eq!(ask_prices, [i64::MIN, -3, 0, 5, i64::MAX]);
        let bid_prices: Vec<i64> = bids.prices().map(|(p, _)| p).collect();
        assert_eq!(bid_prices, [i64::MAX, 5, 0, -3, i64::MIN]);
        assert_eq!((asks.best(), bids.best()), (Some((i64::MIN, 1)), Some((i64::MAX, 3))));
        asks.remove(i64::MIN, 1);
        assert_eq!(asks.best(), Some((-3, 2)));
        asks.remove(5, 0);
        assert_eq!((asks.get(5), asks.len()), (None, 3));
        asks.find_or_insert_with(5, || 0);
        assert_eq!(asks.best(), Some((-3, 2)));
        assert_eq!(asks.get(5), Some(0));
        assert_eq!(asks.get(6), None);
    }

    #[test]
    fn a_rung_is_rekeyed_only_within_the_gap_between_its_neighbours() {
        let mut bids = Ladder::new(Side::Buy);
        for (level, price) in [10, 20, 30].into_iter().enumerate() {
            bids.find_or_insert_with(price, || level as u32);
        }
        // The top rung (30, level 2) may move anywhere above 20; the middle one only between
        // 10 and 30 exclusive; the bottom one anywhere below 20.
        assert!(bids.rekey(30, 2, 25) && bids.rekey(25, 2, 1000));
        assert!(!bids.rekey(1000, 2, 20) && !bids.rekey(1000, 2, 15));
        assert!(bids.rekey(20, 1, 11) && bids.rekey(11, 1, 999));
        assert!(!bids.rekey(999, 1, 1000) && !bids.rekey(999, 1, 10) && !bids.rekey(999, 1, 5000));
        assert!(bids.rekey(10, 0, i64::MIN) && !bids.rekey(i64::MIN, 0, 999));
        assert!(!bids.rekey(12345, 7, 1), "no rung at that price");
        let prices: Vec<(i64, u32)> = bids.prices().collect();
        assert_eq!(prices, [(1000, 2), (999, 1), (i64::MIN, 0)]);
        let mut asks = Ladder::new(Side::Sell);
        asks.find_or_insert_with(10, || 0);
        asks.find_or_insert_with(20, || 1);
        assert!(asks.rekey(10, 0, 19) && !asks.rekey(19, 0, 21) && asks.rekey(20, 1, 25));
        assert_eq!(asks.prices().collect::<Vec<_>>(), [(19, 0), (25, 1)]);
    }
}
