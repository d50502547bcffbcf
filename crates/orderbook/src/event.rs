//! What comes out of the engine: one or more events per command, and their canonical report
//! lines.
//!
//! A command's events come in a fixed order: `Accepted` (or `Rejected`), then per maker
//! touched its `Trade` (or self-trade `Cancelled`/`Decremented`) and the maker's `Done` when
//! it is used up, then what became of the incoming order (`Done`, `Cancelled`, or nothing
//! when it rests), then `Modified` for a modify.

use crate::types::Side;

/// Why a new order (or a modify) was refused. Nothing changed in the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// An order with this id is resting already.
    DuplicateId,
    /// A quantity of zero.
    ZeroQuantity,
    /// A post-only order would have traded on entry.
    WouldTake,
    /// A combination that cannot be carried out: a post-only market order, or a post-only
    /// order that is also IOC or FOK.
    InvalidOrder,
    /// A modify or cancel of an id that is not resting.
    UnknownOrder,
    /// Risk: the quantity is above the account's maximum.
    MaxQuantity,
    /// Risk: price times quantity is above the account's maximum.
    MaxNotional,
    /// Risk: the price is outside the band around the reference price.
    PriceBand,
    /// Risk: the account's position could pass its limit if everything it has open filled.
    PositionLimit,
    /// Risk: a market order from an account with a notional limit, and no price band to bound
    /// what it could pay.
    UnboundedMarketOrder,
}

impl RejectReason {
    /// The number the journal and extended report lines use.
    pub fn code(self) -> u8 {
        match self {
            RejectReason::DuplicateId => 1,
            RejectReason::ZeroQuantity => 2,
            RejectReason::WouldTake => 3,
            RejectReason::InvalidOrder => 4,
            RejectReason::UnknownOrder => 5,
            RejectReason::MaxQuantity => 6,
            RejectReason::MaxNotional => 7,
            RejectReason::PriceBand => 8,
            RejectReason::PositionLimit => 9,
            RejectReason::UnboundedMarketOrder => 10,
        }
    }
}

/// Why an order left the book (or never reached it) without trading its whole quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// A cancel command.
    Requested,
    /// The unfilled remainder of an IOC or market order.
    Unfilled,
    /// A fill-or-kill order that could not be filled completely; nothing traded.
    FillOrKill,
    /// Self-trade prevention.
    SelfTrade,
}

/// One output event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new order passed validation and risk checks and enters matching.
    Accepted {
        /// The command's sequence number.
        seq: u64,
        /// Its side.
        side: Side,
        /// Its id.
        id: u64,
        /// Its limit price; `None` for a market order.
        price: Option<i64>,
        /// Its quantity.
        qty: u64,
    },
    /// A new order or a modify was refused; the book is unchanged.
    Rejected {
        /// The command's sequence number.
        seq: u64,
        /// The id.
        id: u64,
        /// Why.
        reason: RejectReason,
    },
    /// A fill, at the resting (maker) order's price.
    Trade {
        /// The incoming order's sequence number.
        seq: u64,
        /// The incoming order's side (the aggressor).
        side: Side,
        /// The maker's price.
        price: i64,
        /// Quantity filled.
        qty: u64,
        /// The resting order.
        maker: u64,
        /// The incoming order.
        taker: u64,
    },
    /// An order left the book, or its remainder was dropped, without trading.
    Cancelled {
        /// The command's sequence number.
        seq: u64,
        /// Its side.
        side: Side,
        /// Its id.
        id: u64,
        /// Its price; `None` for a market order.
        price: Option<i64>,
        /// Why.
        reason: CancelReason,
    },
    /// Self-trade prevention (decrement mode) reduced an order, which stays live.
    Decremented {
        /// The command's sequence number.
        seq: u64,
        /// Its side.
        side: Side,
        /// Its id.
        id: u64,
        /// What it has left.
        qty: u64,
    },
    /// An order traded its whole quantity and is gone.
    Done {
        /// The command's sequence number.
        seq: u64,
        /// The order.
        id: u64,
    },
    /// A modify was carried out (after any fills it caused).
    Modified {
        /// The command's sequence number.
        seq: u64,
        /// The order's side.
        side: Side,
        /// Its id.
        id: u64,
        /// The new price.
        price: i64,
        /// The new quantity (before any fills it caused).
        qty: u64,
    },
    /// A cancel of an id that is not resting.
    CancelRejected {
        /// The command's sequence number.
        seq: u64,
        /// The id.
        id: u64,
    },
}

impl Event {
    /// The report type of the published canonical stream (0 accepted, 1 trade, 2 cancelled,
    /// 3 modified, 4 cancel rejected, 5 modify rejected), or `None` for events that format
    /// has no line for (`Done`, `Decremented`, and rejections of new orders).
    pub fn report_type(&self) -> Option<u8> {
        match self {
            Event::Accepted { .. } => Some(0),
            Event::Trade { .. } => Some(1),
            Event::Cancelled { .. } => Some(2),
            Event::Modified { .. } => Some(3),
            Event::CancelRejected { .. } => Some(4),
            Event::Rejected { reason: RejectReason::UnknownOrder, .. } => Some(5),
            Event::Rejected { .. } | Event::Decremented { .. } | Event::Done { .. } => None,
        }
    }

    /// The sequence number the event belongs to.
    pub fn seq(&self) -> u64 {
        match *self {
            Event::Accepted { seq, .. }
            | Event::Rejected { seq, .. }
            | Event::Trade { seq, .. }
            | Event::Cancelled { seq, .. }
            | Event::Decremented { seq, .. }
            | Event::Done { seq, .. }
            | Event::Modified { seq, .. }
            | Event::CancelRejected { seq, .. } => seq,
        }
    }

    /// Appends the event's canonical report line (without a newline) to `out`, and returns
    /// whether it has one (see [`report_type`](Event::report_type)). A market order's
    /// missing price is an empty field.
    ///
    /// ```
    /// use byo_orderbook::{Event, Side};
    /// let mut line = Vec::new();
    /// Event::Accepted { seq: 4, side: Side::Buy, id: 216493, price: Some(33724), qty: 82 }
    ///     .write_canonical(&mut line);
    /// assert_eq!(line, b"0,4,0,216493,33724,82");
    /// ```
    pub fn write_canonical(&self, out: &mut Vec<u8>) -> bool {
        use std::io::Write;
        let Some(t) = self.report_type() else { return false };
        let price = |p: Option<i64>| p.map(|p| p.to_string()).unwrap_or_default();
        // Writing to a Vec cannot fail.
        let _ = match *self {
            Event::Accepted { seq, side, id, price: p, qty } => {
                write!(out, "{t},{seq},{},{id},{},{qty}", side.code(), price(p))
            }
            Event::Trade { seq, price, qty, maker, taker, .. } => {
                write!(out, "{t},{seq},{price},{qty},{maker},{taker}")
            }
            Event::Cancelled { seq, side, id, price: p, .. } => {
                write!(out, "{t},{seq},{},{id},{}", side.code(), price(p))
            }
            Event::Modified { seq, side, id, price, qty } => {
                write!(out, "{t},{seq},{},{id},{price},{qty}", side.code())
            }
            Event::CancelRejected { seq, id } | Event::Rejected { seq, id, .. } => {
                write!(out, "{t},{seq},{id}")
            }
            Event::Decremented { .. } | Event::Done { .. } => Ok(()),
        };
        true
    }
}
