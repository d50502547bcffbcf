//! The book's data structure, without any matching policy: price levels, FIFO queues and an
//! id index.
//!
//! ```text
//!   asks: Ladder (price → level#)      levels: Vec<Level>               orders: Vec<Order>
//!     33725 → 3 ───────────────────►  3: { price 33725, head 4, tail 9, total 300 }
//!     33727 → 0                                        │                  │
//!   bids: Ladder (price → level#)                      ▼                  ▼
//!     33720 → 1                        order 4 { id 81, qty 100, next 9 } ⇄ order 9 { id 17, prev 4 }
//!   index: IdIndex, order# by the order's id
//! ```
//!
//! Each side maps price to a level number in a [`Ladder`], a sorted array whose last entry
//! is the best price. Levels and orders live in two slabs (`Vec`s with free lists). A level's
//! queue is a doubly-linked list threaded through the order slab by `u32` index, oldest
//! first, so an order is unlinked from the middle of its queue in O(1), with no `unsafe` and
//! no allocation per order. Each order knows its level number, so removing or reducing it
//! touches its level directly; the ladder is only searched when an order joins a queue, and
//! changed when a level appears or goes (or, for a lone order that a modify moves into the gap
//! around its own rung, re-keyed in place).
//!
//! The index ([`IdIndex`]) is an open-addressing table of order numbers hashed by the order's
//! id; a slot holds the order number and 32 bits of the hash, not the id.
//!
//! Invariants (checked by [`OrderBook::check_invariants`](crate::OrderBook::check_invariants)):
//! - every live level is in its side's map under its own price, and no level is empty;
//! - a level's `total` is the sum of its orders' quantities, all of which are > 0;
//! - every live order is in exactly one queue, its level's, and in the index under its id.

use crate::index::{Found, IdHash, IdIndex};
use crate::ladder::Ladder;
use crate::types::{SelfTradePrevention, Side};

/// The null link.
pub(crate) const NIL: u32 = u32::MAX;

/// A resting order: 40 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Order {
    pub(crate) id: u64,
    /// Remaining quantity, > 0 while resting.
    pub(crate) qty: u64,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    /// The level it waits in.
    pub(crate) level: u32,
    pub(crate) account: u32,
    /// Its id's hash in the index (in what would otherwise be padding).
    pub(crate) hash: IdHash,
    pub(crate) side: Side,
    pub(crate) stp: SelfTradePrevention,
    pub(crate) post_only: bool,
}

// The memory budget per resting order counts on this size.
const _: () = assert!(std::mem::size_of::<Order>() == 40);

/// One price on one side: a FIFO queue of orders.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub(crate) price: i64,
    /// Sum of the orders' remaining quantities.
    pub(crate) total: u64,
    pub(crate) head: u32,
    pub(crate) tail: u32,
    /// Number of orders in the queue.
    pub(crate) count: u32,
}

/// What a new resting order is made of.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resting {
    pub(crate) id: u64,
    /// From [`Levels::probe`].
    pub(crate) hash: IdHash,
    pub(crate) side: Side,
    pub(crate) price: i64,
    pub(crate) qty: u64,
    pub(crate) account: u32,
    pub(crate) stp: SelfTradePrevention,
    pub(crate) post_only: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Levels {
    bids: Ladder,
    asks: Ladder,
    levels: Vec<Level>,
    free_levels: Vec<u32>,
    orders: Vec<Order>,
    free_orders: Vec<u32>,
    index: IdIndex,
    /// Every change to a resting order, when recording (for market data).
    pub(crate) changes: Option<Vec<BookChange>>,
}

/// One change to the resting orders: an order joined a queue (at the back), or its
/// remaining quantity changed in place, or it left (`qty` 0). The L3 feed is these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookChange {
    /// The order.
    pub id: u64,
    /// Its side.
    pub side: Side,
    /// Its price.
    pub price: i64,
    /// What it has left now; 0 = it left the book.
    pub qty: u64,
}

/// Puts `value` in a free slot of `slab` (or a new one at the end) and returns its number.
fn alloc<T>(slab: &mut Vec<T>, free: &mut Vec<u32>, value: T) -> u32 {
    match free.pop() {
        Some(at) => {
            slab[at as usize] = value;
            at
        }
        None => {
            slab.push(value);
            (slab.len() - 1) as u32
        }
    }
}

impl Default for Levels {
    fn default() -> Self {
        Levels {
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            levels: Vec::new(),
            free_levels: Vec::new(),
            orders: Vec::new(),
            free_orders: Vec::new(),
            index: IdIndex::default(),
            changes: None,
        }
    }
}

impl Levels {
    fn side(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The order number of the resting order `id`.
    pub(crate) fn find(&self, id: u64) -> Option<u32> {
        self.probe(id).1
    }

    /// The resting order `id` and where the index keeps it, for a removal that follows
    /// ([`remove_found`](Self::remove_found)) without a second probe.
    pub(crate) fn locate(&self, id: u64) -> Option<Found> {
        let orders = &self.orders;
        self.index.find_slot(id, self.index.hash(id), |at| orders[at as usize].id)
    }

    /// The hash of `id` (what [`Resting::hash`] wants) and the order number of the resting
    /// order `id`.
    pub(crate) fn probe(&self, id: u64) -> (IdHash, Option<u32>) {
        let hash = self.index.hash(id);
        let orders = &self.orders;
        (hash, self.index.find(id, hash, |at| orders[at as usize].id))
    }

    pub(crate) fn order(&self, at: u32) -> &Order {
        &self.orders[at as usize]
    }

    pub(crate) fn level(&self, at: u32) -> &Level {
        &self.levels[at as usize]
    }

    /// The price of a resting order.
    pub(crate) fn price_of(&self, at: u32) -> i64 {
        self.levels[self.orders[at as usize].level as usize].price
    }

    /// The best price on `side` and its level.
    pub(crate) fn best(&self, side: Side) -> Option<(i64, u32)> {
        self.side(side).best()
    }

    /// Levels on `side`, best first.
    pub(crate) fn iter(&self, side: Side) -> impl Iterator<Item = &Level> + '_ {
        let levels = &self.levels;
        self.side(side).iter().map(move |at| &levels[at as usize])
    }

    /// Levels on `side`, worst first.
    pub(crate) fn iter_worst_first(&self, side: Side) -> impl Iterator<Item = &Level> + '_ {
        let levels = &self.levels;
        self.side(side).iter_worst_first().map(move |at| &levels[at as usize])
    }

    /// A level's orders, oldest first.
    pub(crate) fn queue(&self, level: &Level) -> impl Iterator<Item = &Order> + '_ {
        let mut at = level.head;
        std::iter::from_fn(move || {
            let order = self.orders.get(at as usize)?;
            at = order.next;
            Some(order)
        })
    }

    /// Number of resting orders.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The level at `price` on `side`.
    pub(crate) fn at_price(&self, side: Side, price: i64) -> Option<&Level> {
        self.side(side).get(price).map(|at| &self.levels[at as usize])
    }

    /// Number of levels on `side`.
    pub(crate) fn depth(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// Appends an order to the back of its level's queue, creating the level if needed.
    /// The caller guarantees that `id` is not resting and `qty > 0`.
    pub(crate) fn push_back(&mut self, new: Resting) -> u32 {
        debug_assert!(new.qty > 0 && self.probe(new.id) == (new.hash, None));
        // The ladder by field rather than through `side_mut`, so that the closure may borrow
        // the level slab while the ladder is borrowed.
        let ladder = match new.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = ladder.find_or_insert_with(new.price, || {
            let level = Level { price: new.price, total: 0, head: NIL, tail: NIL, count: 0 };
            alloc(&mut self.levels, &mut self.free_levels, level)
        });
        let order = Order {
            id: new.id,
            qty: new.qty,
            prev: self.levels[level as usize].tail,
            next: NIL,
            level,
            account: new.account,
            hash: new.hash,
            side: new.side,
            stp: new.stp,
            post_only: new.post_only,
        };
        let at = alloc(&mut self.orders, &mut self.free_orders, order);
        let queue = &mut self.levels[level as usize];
        if queue.tail == NIL {
            queue.head = at;
        } else {
            self.orders[queue.tail as usize].next = at;
        }
        queue.tail = at;
        queue.total += new.qty;
        queue.count += 1;
        if let Some(changes) = &mut self.changes {
            let (id, side, price, qty) = (new.id, new.side, new.price, new.qty);
            changes.push(BookChange { id, side, price, qty });
        }
        self.index.insert(new.hash, at);
        at
    }

    /// Takes a resting order off the book and returns it with its price; its level goes if
    /// it empties.
    ///
    /// Always inlined: out of line, the order and its price came back through memory and were
    /// copied for every cancel and fill (replay harness: 27.9 -> 27.2 ns a message).
    #[inline(always)]
    pub(crate) fn remove(&mut self, at: u32) -> (Order, i64) {
        let order = self.orders[at as usize];
        self.index.remove(order.hash, at);
        self.unlink(at, order)
    }

    /// [`remove`](Self::remove) for an order just [`locate`](Self::locate)d, with the book
    /// unchanged since: its index slot is known, so nothing is probed again.
    #[inline(always)]
    pub(crate) fn remove_found(&mut self, found: Found) -> (Order, i64) {
        let order = self.orders[found.order as usize];
        self.index.remove_slot(found);
        self.unlink(found.order, order)
    }

    /// Takes order `at` (whose copy is `order`) out of its queue and its level out of the
    /// ladder if it empties; frees both.
    #[inline(always)]
    fn unlink(&mut self, at: u32, order: Order) -> (Order, i64) {
        let Order { prev, next, .. } = order;
        let level = &mut self.levels[order.level as usize];
        match prev {
            NIL => level.head = next,
            prev => self.orders[prev as usize].next = next,
        }
        match next {
            NIL => level.tail = prev,
            next => self.orders[next as usize].prev = prev,
        }
        level.total -= order.qty;
        level.count -= 1;
        let price = level.price;
        if level.count == 0 {
            self.side_mut(order.side).remove(price, order.level);
            self.free_levels.push(order.level);
        }
        self.free_orders.push(at);
        if let Some(changes) = &mut self.changes {
            changes.push(BookChange { id: order.id, side: order.side, price, qty: 0 });
        }
        (order, price)
    }

    /// Moves order `at` to `price` with quantity `qty` where it is, if it is alone in its
    /// level and no other level on its side lies between its price and `price`: its level and
    /// rung are re-keyed in place. The book is then what taking the order off and putting it
    /// back would have made (the order alone in a level at `price`, in the same rung, even in
    /// the same slab slots, since the free lists hand back the slots just freed). Returns
    /// false, changing nothing, otherwise.
    pub(crate) fn reprice_alone(&mut self, at: u32, price: i64, qty: u64) -> bool {
        debug_assert!(qty > 0);
        let order = self.orders[at as usize];
        let level = &self.levels[order.level as usize];
        let old_price = level.price;
        if level.count != 1 || !self.side_mut(order.side).rekey(old_price, order.level, price) {
            return false;
        }
        let level = &mut self.levels[order.level as usize];
        level.price = price;
        level.total = qty;
        self.orders[at as usize].qty = qty;
        if let Some(changes) = &mut self.changes {
            let (id, side) = (order.id, order.side);
            changes.push(BookChange { id, side, price: old_price, qty: 0 });
            changes.push(BookChange { id, side, price, qty });
        }
        true
    }

    /// Lowers a resting order's quantity by `by`, which is less than what it has: it stays
    /// where it is in its queue.
    pub(crate) fn reduce(&mut self, at: u32, by: u64) {
        let order = &mut self.orders[at as usize];
        debug_assert!(by < order.qty);
        order.qty -= by;
        let level = &mut self.levels[order.level as usize];
        level.total -= by;
        if let Some(changes) = &mut self.changes {
            let (id, side, price, qty) = (order.id, order.side, level.price, order.qty);
            changes.push(BookChange { id, side, price, qty });
        }
    }

    /// Checks the module's invariants, describing the first one broken.
    pub(crate) fn check(&self) -> Result<(), String> {
        let mut resting = 0;
        for side in [Side::Buy, Side::Sell] {
            for (price, at) in self.side(side).prices() {
                let level = &self.levels[at as usize];
                if level.price != price {
                    return Err(format!(
                        "level {at} is filed under {price} but has {}",
                        level.price
                    ));
                }
                let (mut sum, mut count, mut prev) = (0u64, 0u32, NIL);
                for order in self.queue(level) {
                    let here =
                        if prev == NIL { level.head } else { self.orders[prev as usize].next };
                    if order.qty == 0
                        || order.side != side
                        || order.level != at
                        || order.prev != prev
                    {
                        return Err(format!("order {} at {price} is misfiled", order.id));
                    }
                    if self.find(order.id) != Some(here) {
                        return Err(format!("order {} is not indexed", order.id));
                    }
                    sum += order.qty;
                    count += 1;
                    prev = here;
                }
                if count == 0 || count != level.count || sum != level.total || prev != level.tail {
                    return Err(format!(
                        "level {price} on {side:?}: total {} count {}, queue holds {sum} in {count}",
                        level.total, level.count
                    ));
                }
                resting += count as usize;
            }
        }
        if resting != self.index.len() {
            return Err(format!("{} orders indexed, {resting} resting", self.index.len()));
        }
        Ok(())
    }
}
