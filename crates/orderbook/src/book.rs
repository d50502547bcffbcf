//! The limit order book and its matching loop.
//!
//! Each side is a `BTreeMap` from price to [`Level`], so the best price is the map's first
//! (asks) or last (bids) key, found in O(log levels). Within a level, orders wait in arrival
//! order: a FIFO queue. Orders themselves live in one slab, a `Vec` of slots, and a level's
//! queue is a doubly-linked list threaded through the slots by `u32` index, so an order in
//! the middle of a queue is cancelled in O(1), with no `unsafe` and no allocation per order:
//!
//! ```text
//!   asks: BTreeMap<price, Level>        slots: Vec<Slot>
//!     33725 → Level { head: 4, tail: 9, total: 300 }    slot 4: id 81, qty 100, next 9
//!     33727 → Level { head: 2, ... }                     slot 9: id 17, qty 200, prev 4
//!   index: HashMap<order id, slot>
//! ```
//!
//! Invariants, checked after every command by the tests:
//! - the book is never crossed: best bid < best ask;
//! - no level is empty, and a level's `total` is the sum of its orders' quantities;
//! - every resting order is in exactly one level (at its price, on its side) and in `index`;
//! - a level's queue is in arrival order.

use std::collections::BTreeMap;

use hashbrown::HashMap;

use crate::types::{Command, Event, RejectReason, Side, TimeInForce};

const NIL: u32 = u32::MAX;

/// A resting order.
#[derive(Clone, Copy, Debug)]
struct Slot {
    id: u64,
    side: Side,
    price: i64,
    /// Remaining quantity, always > 0 while resting.
    qty: u64,
    prev: u32,
    next: u32,
}

/// All orders resting at one price on one side, oldest first.
#[derive(Clone, Copy, Debug)]
struct Level {
    head: u32,
    tail: u32,
    /// Sum of the orders' remaining quantities.
    total: u64,
}

/// A resting order, as [`OrderBook::depth`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestingOrder {
    /// The order's id.
    pub id: u64,
    /// Its remaining quantity.
    pub qty: u64,
}

/// One price level, as [`OrderBook::depth`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelView {
    /// The price.
    pub price: i64,
    /// The sum of the resting quantities.
    pub total: u64,
    /// The resting orders, oldest first.
    pub orders: Vec<RestingOrder>,
}

/// A limit order book for one instrument, with price-time priority.
///
/// ```
/// use byo_orderbook::{Command, Event, OrderBook, Side, TimeInForce};
///
/// let mut book = OrderBook::new();
/// let mut events = Vec::new();
/// let sell = Command::New { seq: 0, id: 1, side: Side::Sell, price: 100, qty: 5, tif: TimeInForce::Gtc };
/// let buy = Command::New { seq: 1, id: 2, side: Side::Buy, price: 101, qty: 3, tif: TimeInForce::Gtc };
/// book.apply(&sell, &mut events);
/// book.apply(&buy, &mut events);
/// // The buyer pays the resting seller's price, 100, not its own limit.
/// assert!(events.contains(&Event::Trade { seq: 1, price: 100, qty: 3, maker: 1, taker: 2 }));
/// assert_eq!(book.best(Side::Sell), Some((100, 2)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct OrderBook {
    bids: BTreeMap<i64, Level>,
    asks: BTreeMap<i64, Level>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashMap<u64, u32>,
}

impl OrderBook {
    /// An empty book.
    pub fn new() -> Self {
        OrderBook::default()
    }

    /// Carries out one command, appending its events to `events`.
    pub fn apply(&mut self, command: &Command, events: &mut Vec<Event>) {
        match *command {
            Command::New { seq, id, side, price, qty, tif } => {
                if qty == 0 {
                    events.push(Event::Rejected { seq, id, reason: RejectReason::ZeroQuantity });
                } else if self.index.contains_key(&id) {
                    events.push(Event::Rejected { seq, id, reason: RejectReason::DuplicateId });
                } else {
                    events.push(Event::Accepted { seq, side, id, price, qty });
                    self.enter(seq, id, side, price, qty, tif, events);
                }
            }
            Command::Cancel { seq, id } => match self.take(id) {
                Some(order) => {
                    let (side, price) = (order.side, order.price);
                    events.push(Event::Cancelled { seq, side, id, price });
                }
                None => events.push(Event::CancelRejected { seq, id }),
            },
            Command::Modify { seq, id, price, qty } => match self.take(id) {
                Some(order) => {
                    let side = order.side;
                    if qty > 0 {
                        self.enter(seq, id, side, price, qty, TimeInForce::Gtc, events);
                    }
                    events.push(Event::Modified { seq, side, id, price, qty });
                }
                None => events.push(Event::ModifyRejected { seq, id }),
            },
        }
    }

    /// Matches an incoming order against the other side, then rests or cancels the remainder.
    #[allow(clippy::too_many_arguments)] // the fields of one order; see `Command::New`
    fn enter(
        &mut self,
        seq: u64,
        id: u64,
        side: Side,
        price: i64,
        mut qty: u64,
        tif: TimeInForce,
        events: &mut Vec<Event>,
    ) {
        qty = self.match_against(seq, id, side, price, qty, events);
        if qty == 0 {
            return;
        }
        match tif {
            TimeInForce::Ioc => events.push(Event::Cancelled { seq, side, id, price }),
            TimeInForce::Gtc => self.rest(id, side, price, qty),
        }
    }

    /// Fills against the best opposite levels while they cross `price`; returns what is left.
    fn match_against(
        &mut self,
        seq: u64,
        taker: u64,
        side: Side,
        price: i64,
        mut qty: u64,
        events: &mut Vec<Event>,
    ) -> u64 {
        let Self { bids, asks, slots, free, index } = self;
        let opposite = match side {
            Side::Buy => asks,
            Side::Sell => bids,
        };
        while qty > 0 {
            let best = match side {
                Side::Buy => opposite.first_entry(),
                Side::Sell => opposite.last_entry(),
            };
            let Some(mut level_entry) = best else { break };
            let level_price = *level_entry.key();
            if !side.crosses(price, level_price) {
                break;
            }
            let level = level_entry.get_mut();
            // Fill the level's orders oldest first.
            while qty > 0 && level.head != NIL {
                let at = level.head;
                let maker = &mut slots[at as usize];
                let fill = qty.min(maker.qty);
                events.push(Event::Trade {
                    seq,
                    price: level_price,
                    qty: fill,
                    maker: maker.id,
                    taker,
                });
                maker.qty -= fill;
                level.total -= fill;
                qty -= fill;
                if maker.qty == 0 {
                    level.head = maker.next;
                    index.remove(&maker.id);
                    free.push(at);
                    if level.head == NIL {
                        level.tail = NIL;
                    } else {
                        slots[level.head as usize].prev = NIL;
                    }
                }
            }
            if level.head == NIL {
                level_entry.remove();
            }
        }
        qty
    }

    /// Puts an order at the back of its level's queue.
    fn rest(&mut self, id: u64, side: Side, price: i64, qty: u64) {
        let levels = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = levels.entry(price).or_insert(Level { head: NIL, tail: NIL, total: 0 });
        let slot = Slot { id, side, price, qty, prev: level.tail, next: NIL };
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at as usize] = slot;
                at
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        if level.tail == NIL {
            level.head = at;
        } else {
            self.slots[level.tail as usize].next = at;
        }
        level.tail = at;
        level.total += qty;
        self.index.insert(id, at);
    }

    /// Removes a resting order from the book, returning it.
    fn take(&mut self, id: u64) -> Option<Slot> {
        let at = self.index.remove(&id)?;
        let order = self.slots[at as usize];
        let levels = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let std::collections::btree_map::Entry::Occupied(mut entry) = levels.entry(order.price)
        else {
            debug_assert!(false, "resting order {id} has no level");
            return Some(order);
        };
        let level = entry.get_mut();
        if order.prev == NIL {
            level.head = order.next;
        } else {
            self.slots[order.prev as usize].next = order.next;
        }
        if order.next == NIL {
            level.tail = order.prev;
        } else {
            self.slots[order.next as usize].prev = order.prev;
        }
        level.total -= order.qty;
        if level.head == NIL {
            entry.remove();
        }
        self.free.push(at);
        Some(order)
    }

    /// The best price on `side` and the total quantity there.
    pub fn best(&self, side: Side) -> Option<(i64, u64)> {
        let level = match side {
            Side::Buy => self.bids.last_key_value(),
            Side::Sell => self.asks.first_key_value(),
        };
        level.map(|(&price, level)| (price, level.total))
    }

    /// Number of resting orders.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no order rests.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Every level on `side`, best first, with its orders oldest first. O(orders).
    pub fn depth(&self, side: Side) -> Vec<LevelView> {
        let view = |(&price, level): (&i64, &Level)| {
            let mut orders = Vec::new();
            let mut at = level.head;
            while at != NIL {
                let slot = &self.slots[at as usize];
                orders.push(RestingOrder { id: slot.id, qty: slot.qty });
                at = slot.next;
            }
            LevelView { price, total: level.total, orders }
        };
        match side {
            Side::Buy => self.bids.iter().rev().map(view).collect(),
            Side::Sell => self.asks.iter().map(view).collect(),
        }
    }

    /// Checks every invariant in the module docs, describing the first one broken. O(orders).
    pub fn check_invariants(&self) -> Result<(), String> {
        if let (Some((bid, _)), Some((ask, _))) = (self.best(Side::Buy), self.best(Side::Sell))
            && bid >= ask
        {
            return Err(format!("crossed book: best bid {bid} >= best ask {ask}"));
        }
        let mut resting = 0;
        for side in [Side::Buy, Side::Sell] {
            for level in self.depth(side) {
                if level.orders.is_empty() {
                    return Err(format!("empty level at {} on {side:?}", level.price));
                }
                let sum: u64 = level.orders.iter().map(|o| o.qty).sum();
                if sum != level.total {
                    return Err(format!(
                        "level {} totals {} but holds {sum}",
                        level.price, level.total
                    ));
                }
                for order in &level.orders {
                    let Some(&at) = self.index.get(&order.id) else {
                        return Err(format!("order {} is not indexed", order.id));
                    };
                    let slot = &self.slots[at as usize];
                    if slot.price != level.price || slot.side != side || slot.qty == 0 {
                        return Err(format!("order {} is misfiled", order.id));
                    }
                }
                resting += level.orders.len();
            }
        }
        if resting != self.index.len() {
            return Err(format!("{} orders indexed, {resting} resting", self.index.len()));
        }
        Ok(())
    }
}
