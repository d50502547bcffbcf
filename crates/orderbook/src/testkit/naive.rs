//! The naive reference matcher: every rule of the engine, written the obvious way.
//!
//! Resting orders are one `Vec` in priority order (a re-entering order goes to the back);
//! the best opposite order is found by scanning all of them; open quantities are summed
//! when a risk check needs them; a fill-or-kill order is tried on a copy of the book first.
//! It is slow on purpose: it is the specification the fast engine is compared against.

use std::collections::BTreeMap;

use crate::book::OrderView;
use crate::config::{Config, ModifyPolicy};
use crate::event::{CancelReason, Event, RejectReason};
use crate::types::{Command, NewOrder, SelfTradePrevention, Side, TimeInForce};

/// The naive matcher.
#[derive(Clone, Debug, Default)]
pub struct NaiveBook {
    config: Config,
    /// Resting orders, in time priority (oldest first).
    pub orders: Vec<OrderView>,
    positions: BTreeMap<u32, i64>,
    last_trade: Option<i64>,
}

impl NaiveBook {
    /// An empty naive book.
    pub fn new(config: Config) -> NaiveBook {
        NaiveBook { config, ..NaiveBook::default() }
    }

    /// Levels on `side`, best first: (price, [(id, qty)] oldest first).
    pub fn depth(&self, side: Side) -> Vec<(i64, Vec<(u64, u64)>)> {
        let mut prices: Vec<i64> =
            self.orders.iter().filter(|o| o.side == side).map(|o| o.price).collect();
        prices.sort_unstable();
        prices.dedup();
        if side == Side::Buy {
            prices.reverse();
        }
        prices
            .into_iter()
            .map(|p| {
                let queue = self.orders.iter().filter(|o| o.side == side && o.price == p);
                (p, queue.map(|o| (o.id, o.qty)).collect())
            })
            .collect()
    }

    /// Carries out one command.
    pub fn apply(&mut self, command: &Command, out: &mut Vec<Event>) {
        match *command {
            Command::New(order) => self.new_order(order, out),
            Command::Cancel { seq, id } => match self.position_of(id) {
                Some(i) => {
                    let o = self.orders.remove(i);
                    let reason = CancelReason::Requested;
                    out.push(Event::Cancelled {
                        seq,
                        side: o.side,
                        id,
                        price: Some(o.price),
                        reason,
                    });
                }
                None => out.push(Event::CancelRejected { seq, id }),
            },
            Command::Modify { seq, id, price, qty } => self.modify(seq, id, price, qty, out),
        }
    }

    fn position_of(&self, id: u64) -> Option<usize> {
        self.orders.iter().position(|o| o.id == id)
    }

    fn reference(&self) -> Option<i64> {
        self.last_trade.or(self.config.reference_price)
    }

    /// Risk checks, with the order `skip` (being modified) not counted as open. Returns the
    /// band's edge for a market order.
    fn risk(
        &self,
        account: u32,
        side: Side,
        price: Option<i64>,
        qty: u64,
        skip: Option<u64>,
    ) -> Result<Option<i64>, RejectReason> {
        let Some(limits) = self.config.limits(account) else { return Ok(None) };
        if let Some(max) = limits.max_order_qty
            && qty > max
        {
            return Err(RejectReason::MaxQuantity);
        }
        let reference = self.reference();
        if let (Some(p), Some(band), Some(r)) = (price, limits.price_band, reference)
            && (i128::from(p) - i128::from(r)).abs() > i128::from(band)
        {
            return Err(RejectReason::PriceBand);
        }
        let edge = match (limits.price_band, reference) {
            (Some(band), Some(r)) => {
                let band = band.min(i64::MAX as u64) as i64;
                Some(if side == Side::Buy {
                    r.saturating_add(band)
                } else {
                    r.saturating_sub(band)
                })
            }
            _ => None,
        };
        if let Some(max) = limits.max_notional {
            let Some(p) = price.or(edge) else { return Err(RejectReason::UnboundedMarketOrder) };
            if i128::from(p).abs() * i128::from(qty) > i128::from(max) {
                return Err(RejectReason::MaxNotional);
            }
        }
        if let Some(max) = limits.max_position {
            let open: u64 = self
                .orders
                .iter()
                .filter(|o| o.account == account && o.side == side && Some(o.id) != skip)
                .map(|o| o.qty)
                .sum();
            let position = i128::from(self.positions.get(&account).copied().unwrap_or(0));
            let signed = if side == Side::Buy { position } else { -position };
            if signed + i128::from(open) + i128::from(qty) > i128::from(max) {
                return Err(RejectReason::PositionLimit);
            }
        }
        Ok(if price.is_none() { edge } else { None })
    }

    /// The best opposite order a taker at `limit` could trade with.
    fn best_for(&self, side: Side, limit: i64) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, o) in self.orders.iter().enumerate() {
            if o.side == side || !side.crosses(limit, o.price) {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) if side == Side::Buy => o.price < self.orders[b].price,
                Some(b) => o.price > self.orders[b].price,
            };
            if better {
                best = Some(i);
            }
        }
        best
    }

    fn new_order(&mut self, order: NewOrder, out: &mut Vec<Event>) {
        let NewOrder { seq, id, account, side, price, qty, tif, post_only, stp } = order;
        let reject = |reason| Event::Rejected { seq, id, reason };
        if qty == 0 {
            return out.push(reject(RejectReason::ZeroQuantity));
        }
        if post_only && (price.is_none() || tif != TimeInForce::Gtc) {
            return out.push(reject(RejectReason::InvalidOrder));
        }
        if self.position_of(id).is_some() {
            return out.push(reject(RejectReason::DuplicateId));
        }
        let edge = match self.risk(account, side, price, qty, None) {
            Ok(edge) => edge,
            Err(reason) => return out.push(reject(reason)),
        };
        let unbounded = if side == Side::Buy { i64::MAX } else { i64::MIN };
        let limit = price.or(edge).unwrap_or(unbounded);
        if post_only && self.best_for(side, limit).is_some() {
            return out.push(reject(RejectReason::WouldTake));
        }
        out.push(Event::Accepted { seq, side, id, price, qty });
        let taker = OrderView { id, account, side, price: limit, qty, stp, post_only };
        if tif == TimeInForce::Fok {
            // Try it on a copy: only a complete fill goes ahead.
            let mut trial = self.clone();
            let mut scratch = Vec::new();
            trial.fill(seq, taker, price, &mut scratch);
            let traded: u64 = scratch
                .iter()
                .map(|e| if let Event::Trade { qty, .. } = e { *qty } else { 0 })
                .sum();
            // Quantity cancelled by self-trade prevention is not filled.
            if traded < qty {
                let reason = CancelReason::FillOrKill;
                return out.push(Event::Cancelled { seq, side, id, price, reason });
            }
        }
        let rests = tif == TimeInForce::Gtc && price.is_some();
        self.finish(seq, taker, price, rests, out);
    }

    /// Matches, then rests or cancels the remainder.
    fn finish(
        &mut self,
        seq: u64,
        taker: OrderView,
        price: Option<i64>,
        rests: bool,
        out: &mut Vec<Event>,
    ) {
        let (left, killed) = self.fill(seq, taker, price, out);
        if killed {
            return;
        }
        if left == 0 {
            out.push(Event::Done { seq, id: taker.id });
        } else if rests {
            self.orders.push(OrderView { qty: left, ..taker });
        } else {
            let reason = CancelReason::Unfilled;
            out.push(Event::Cancelled { seq, side: taker.side, id: taker.id, price, reason });
        }
    }

    /// The matching loop. Returns what is left and whether self-trade prevention cancelled
    /// the taker.
    fn fill(
        &mut self,
        seq: u64,
        taker: OrderView,
        price: Option<i64>,
        out: &mut Vec<Event>,
    ) -> (u64, bool) {
        let mut qty = taker.qty;
        let side = taker.side;
        let cancel_taker =
            Event::Cancelled { seq, side, id: taker.id, price, reason: CancelReason::SelfTrade };
        while qty > 0 {
            let Some(i) = self.best_for(side, taker.price) else { break };
            let maker = self.orders[i];
            let cancel_maker = Event::Cancelled {
                seq,
                side: maker.side,
                id: maker.id,
                price: Some(maker.price),
                reason: CancelReason::SelfTrade,
            };
            if maker.account == taker.account && taker.stp != SelfTradePrevention::Allow {
                match taker.stp {
                    SelfTradePrevention::Allow | SelfTradePrevention::CancelNewest => {
                        out.push(cancel_taker);
                        return (qty, true);
                    }
                    SelfTradePrevention::CancelOldest => {
                        self.orders.remove(i);
                        out.push(cancel_maker);
                    }
                    SelfTradePrevention::CancelBoth => {
                        self.orders.remove(i);
                        out.push(cancel_maker);
                        out.push(cancel_taker);
                        return (qty, true);
                    }
                    SelfTradePrevention::DecrementAndCancel => {
                        let by = qty.min(maker.qty);
                        self.orders[i].qty -= by;
                        if self.orders[i].qty == 0 {
                            self.orders.remove(i);
                            out.push(cancel_maker);
                        } else {
                            let (side, id, qty) = (maker.side, maker.id, maker.qty - by);
                            out.push(Event::Decremented { seq, side, id, qty });
                        }
                        qty -= by;
                        if qty == 0 {
                            out.push(cancel_taker);
                            return (0, true);
                        }
                        out.push(Event::Decremented { seq, side, id: taker.id, qty });
                    }
                }
                continue;
            }
            let fill = qty.min(maker.qty);
            out.push(Event::Trade {
                seq,
                side,
                price: maker.price,
                qty: fill,
                maker: maker.id,
                taker: taker.id,
            });
            qty -= fill;
            self.orders[i].qty -= fill;
            self.last_trade = Some(maker.price);
            let signed = fill as i64;
            let (buyer, seller) = if side == Side::Buy {
                (taker.account, maker.account)
            } else {
                (maker.account, taker.account)
            };
            *self.positions.entry(buyer).or_default() += signed;
            *self.positions.entry(seller).or_default() -= signed;
            if self.orders[i].qty == 0 {
                self.orders.remove(i);
                out.push(Event::Done { seq, id: maker.id });
            }
        }
        (qty, false)
    }

    fn modify(&mut self, seq: u64, id: u64, price: i64, qty: u64, out: &mut Vec<Event>) {
        let Some(i) = self.position_of(id) else {
            return out.push(Event::Rejected { seq, id, reason: RejectReason::UnknownOrder });
        };
        let old = self.orders[i];
        let modified = Event::Modified { seq, side: old.side, id, price, qty };
        if qty == 0 {
            self.orders.remove(i);
            return out.push(modified);
        }
        if self.config.modify == ModifyPolicy::KeepPriorityOnDecrease
            && price == old.price
            && qty <= old.qty
        {
            self.orders[i].qty = qty;
            return out.push(modified);
        }
        if let Err(reason) = self.risk(old.account, old.side, Some(price), qty, Some(id)) {
            return out.push(Event::Rejected { seq, id, reason });
        }
        self.orders.remove(i);
        if old.post_only && self.best_for(old.side, price).is_some() {
            self.orders.insert(i, old);
            return out.push(Event::Rejected { seq, id, reason: RejectReason::WouldTake });
        }
        let taker = OrderView { price, qty, ..old };
        self.finish(seq, taker, Some(price), true, out);
        out.push(modified);
    }
}
