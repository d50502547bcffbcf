//! Market data: what an exchange publishes about its book, as feeds of numbered updates
//! and snapshots that line up with them.
//!
//! - **L1**, top of book: best bid and best offer with their sizes, sent when either changes.
//! - **L2**, depth by price: one update per price level that changed, carrying the level's
//!   *absolute* new size (0 = the level is gone). Absolute sizes make updates idempotent, and
//!   a consumer that rebuilds from a snapshot needs no arithmetic that could drift.
//! - **L3**, order by order: one update per change to a resting order, carrying its new
//!   remaining quantity (0 = it left). An id the consumer does not know joins the back of its
//!   level's queue; a known id changes in place, keeping its place.
//! - **Trades**: one per fill, with the aggressor's side.
//!
//! Each feed numbers its updates 1, 2, 3, ... A [`MarketSnapshot`] carries, per feed, the
//! number of the last update it already reflects. A late joiner takes a snapshot, then
//! applies only the updates numbered after it; [`L2Book`] and [`L3Book`] are such consumers,
//! and refuse a gap in the numbering. The tests rebuild the books this way from snapshots
//! taken at many points and compare them with the engine's.
//!
//! The publisher needs the book's changes, not just its events (an event does not say what
//! a modify left behind), so the book records them: [`OrderBook::record_changes`].
//!
//! ```
//! use byo_orderbook::market_data::{MarketData, Update};
//! use byo_orderbook::{Command, NewOrder, OrderBook, Side};
//!
//! let mut book = OrderBook::new();
//! book.record_changes(true);
//! let mut feed = MarketData::new();
//! let (mut events, mut updates) = (Vec::new(), Vec::new());
//! book.apply(&Command::New(NewOrder::limit(0, 1, Side::Buy, 99, 5)), &mut events);
//! feed.publish(&mut book, &events, &mut updates);
//! assert!(updates.contains(&Update::L2 { seq: 1, side: Side::Buy, price: 99, size: 5 }));
//! assert!(updates.contains(&Update::L1 { seq: 1, bid: Some((99, 5)), ask: None }));
//! ```

use std::collections::BTreeMap;

use crate::book::OrderBook;
use crate::event::Event;
use crate::levels::BookChange;
use crate::types::Side;

/// Best price and the size there.
pub type Top = Option<(i64, u64)>;

/// One market-data update. `seq` is the update's number in its own feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// The top of the book changed.
    L1 {
        /// L1 feed number.
        seq: u64,
        /// Best bid.
        bid: Top,
        /// Best offer.
        ask: Top,
    },
    /// A price level's size changed.
    L2 {
        /// L2 feed number.
        seq: u64,
        /// The level's side.
        side: Side,
        /// The level's price.
        price: i64,
        /// Its new total size; 0 = removed.
        size: u64,
    },
    /// A resting order changed.
    L3 {
        /// L3 feed number.
        seq: u64,
        /// The change.
        change: BookChange,
    },
    /// A fill.
    Trade {
        /// Trade feed number.
        seq: u64,
        /// The incoming order's side.
        aggressor: Side,
        /// The price (the maker's).
        price: i64,
        /// The quantity.
        qty: u64,
        /// The resting order.
        maker: u64,
        /// The incoming order.
        taker: u64,
    },
}

/// The last update number of each feed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedSeqs {
    /// L1.
    pub l1: u64,
    /// L2.
    pub l2: u64,
    /// L3.
    pub l3: u64,
    /// Trades.
    pub trades: u64,
}

/// Turns a book's changes and events into the four feeds.
#[derive(Clone, Debug, Default)]
pub struct MarketData {
    seqs: FeedSeqs,
    top: (Top, Top),
    changes: Vec<BookChange>,
    /// Levels touched by the current command, in first-touched order.
    touched: Vec<(Side, i64)>,
}

impl MarketData {
    /// Feeds that have published nothing.
    pub fn new() -> Self {
        MarketData::default()
    }

    /// The feeds' last update numbers.
    pub fn seqs(&self) -> FeedSeqs {
        self.seqs
    }

    /// Publishes the updates for one command: takes the book's recorded changes, and appends
    /// to `out` the trades, the L3 changes, the L2 levels they touched, and L1 if the top
    /// moved. `book` must be recording changes, from the start or from a snapshot.
    pub fn publish(&mut self, book: &mut OrderBook, events: &[Event], out: &mut Vec<Update>) {
        for event in events {
            if let Event::Trade { side, price, qty, maker, taker, .. } = *event {
                self.seqs.trades += 1;
                let seq = self.seqs.trades;
                out.push(Update::Trade { seq, aggressor: side, price, qty, maker, taker });
            }
        }
        self.changes.clear();
        book.take_changes(&mut self.changes);
        self.touched.clear();
        for &change in &self.changes {
            self.seqs.l3 += 1;
            out.push(Update::L3 { seq: self.seqs.l3, change });
            let level = (change.side, change.price);
            if !self.touched.contains(&level) {
                self.touched.push(level);
            }
        }
        for &(side, price) in &self.touched {
            self.seqs.l2 += 1;
            out.push(Update::L2 {
                seq: self.seqs.l2,
                side,
                price,
                size: book.level_total(side, price),
            });
        }
        let top = (book.best(Side::Buy), book.best(Side::Sell));
        if top != self.top {
            self.top = top;
            self.seqs.l1 += 1;
            out.push(Update::L1 { seq: self.seqs.l1, bid: top.0, ask: top.1 });
        }
    }

    /// A snapshot of the book consistent with the feeds as published so far. O(orders).
    pub fn snapshot(&self, book: &OrderBook) -> MarketSnapshot {
        let levels =
            |side| book.depth(side, usize::MAX).into_iter().map(|l| (l.price, l.total)).collect();
        let orders = |side| {
            book.orders(side)
                .map(|o| BookChange { id: o.id, side, price: o.price, qty: o.qty })
                .collect()
        };
        MarketSnapshot {
            seqs: self.seqs,
            bid: book.best(Side::Buy),
            ask: book.best(Side::Sell),
            bids: levels(Side::Buy),
            asks: levels(Side::Sell),
            bid_orders: orders(Side::Buy),
            ask_orders: orders(Side::Sell),
        }
    }
}

/// The book as the feeds describe it at one point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketSnapshot {
    /// The last update of each feed this snapshot reflects.
    pub seqs: FeedSeqs,
    /// Best bid.
    pub bid: Top,
    /// Best offer.
    pub ask: Top,
    /// Bid levels, best first: (price, size).
    pub bids: Vec<(i64, u64)>,
    /// Ask levels, best first.
    pub asks: Vec<(i64, u64)>,
    /// Resting bids in priority order.
    pub bid_orders: Vec<BookChange>,
    /// Resting asks in priority order.
    pub ask_orders: Vec<BookChange>,
}

/// A numbering gap: an update was missed, so the consumer must start again from a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("feed gap: expected update {expected}, got {got}")]
pub struct Gap {
    /// The number expected next.
    pub expected: u64,
    /// The number received.
    pub got: u64,
}

fn next(last: &mut u64, seq: u64) -> Result<bool, Gap> {
    if seq <= *last {
        return Ok(false); // already reflected: skip
    }
    if seq != *last + 1 {
        return Err(Gap { expected: *last + 1, got: seq });
    }
    *last = seq;
    Ok(true)
}

/// A consumer of the L2 feed: depth by price, rebuilt from a snapshot and updates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L2Book {
    /// Last L2 update applied.
    pub seq: u64,
    /// Bid sizes by price.
    pub bids: BTreeMap<i64, u64>,
    /// Ask sizes by price.
    pub asks: BTreeMap<i64, u64>,
}

impl L2Book {
    /// Starts from a snapshot.
    pub fn from_snapshot(snapshot: &MarketSnapshot) -> Self {
        L2Book {
            seq: snapshot.seqs.l2,
            bids: snapshot.bids.iter().copied().collect(),
            asks: snapshot.asks.iter().copied().collect(),
        }
    }

    /// Applies an update (others than L2 are ignored; L2 updates the snapshot already
    /// reflects are skipped).
    pub fn apply(&mut self, update: &Update) -> Result<(), Gap> {
        let Update::L2 { seq, side, price, size } = *update else { return Ok(()) };
        if next(&mut self.seq, seq)? {
            let levels = if side == Side::Buy { &mut self.bids } else { &mut self.asks };
            if size == 0 {
                levels.remove(&price);
            } else {
                levels.insert(price, size);
            }
        }
        Ok(())
    }
}

/// A consumer of the L3 feed: every resting order in queue order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L3Book {
    /// Last L3 update applied.
    pub seq: u64,
    /// Bids: price → queue of (id, qty), oldest first.
    pub bids: BTreeMap<i64, Vec<(u64, u64)>>,
    /// Asks, likewise.
    pub asks: BTreeMap<i64, Vec<(u64, u64)>>,
}

impl L3Book {
    /// Starts from a snapshot.
    pub fn from_snapshot(snapshot: &MarketSnapshot) -> Self {
        let mut book = L3Book { seq: snapshot.seqs.l3, ..L3Book::default() };
        for o in snapshot.bid_orders.iter().chain(&snapshot.ask_orders) {
            book.side(o.side).entry(o.price).or_default().push((o.id, o.qty));
        }
        book
    }

    fn side(&mut self, side: Side) -> &mut BTreeMap<i64, Vec<(u64, u64)>> {
        if side == Side::Buy { &mut self.bids } else { &mut self.asks }
    }

    /// Applies an update (others than L3 are ignored).
    pub fn apply(&mut self, update: &Update) -> Result<(), Gap> {
        let Update::L3 { seq, change } = *update else { return Ok(()) };
        if !next(&mut self.seq, seq)? {
            return Ok(());
        }
        let levels = self.side(change.side);
        let queue = levels.entry(change.price).or_default();
        match queue.iter().position(|&(id, _)| id == change.id) {
            Some(i) if change.qty == 0 => {
                queue.remove(i);
            }
            Some(i) => queue[i].1 = change.qty,
            None if change.qty == 0 => {}
            None => queue.push((change.id, change.qty)),
        }
        if queue.is_empty() {
            levels.remove(&change.price);
        }
        Ok(())
    }
}
