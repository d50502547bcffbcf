//! The vocabulary: sides, commands in, events out.

/// Which side of the book an order is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Bids: orders to buy, best = highest price.
    Buy,
    /// Asks: orders to sell, best = lowest price.
    Sell,
}

impl Side {
    /// The side this side trades against.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// 0 for buy, 1 for sell, as the canonical report stream writes it.
    pub fn code(self) -> u8 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }

    /// Whether an order on this side at `limit` may trade with a resting order at `resting`.
    pub fn crosses(self, limit: i64, resting: i64) -> bool {
        match self {
            Side::Buy => limit >= resting,
            Side::Sell => limit <= resting,
        }
    }
}

/// How long an order's unfilled part lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeInForce {
    /// Good till cancelled: the remainder rests on the book.
    Gtc,
    /// Immediate or cancel: the remainder is cancelled.
    Ioc,
}

/// One input message. Every command carries the sequence number that orders it in time;
/// the engine never reads a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// A new limit order.
    New {
        /// Time priority.
        seq: u64,
        /// The caller's id for the order; unique among resting orders.
        id: u64,
        /// Buy or sell.
        side: Side,
        /// Limit price in ticks.
        price: i64,
        /// Quantity.
        qty: u64,
        /// What happens to the unfilled part.
        tif: TimeInForce,
    },
    /// Cancel a resting order.
    Cancel {
        /// Time priority.
        seq: u64,
        /// The order.
        id: u64,
    },
    /// Replace a resting order's price and quantity: it leaves the book and re-enters as if
    /// new (it may trade, and it loses time priority).
    Modify {
        /// Time priority.
        seq: u64,
        /// The order.
        id: u64,
        /// The new limit price.
        price: i64,
        /// The new quantity.
        qty: u64,
    },
}

impl Command {
    /// The command's sequence number.
    pub fn seq(&self) -> u64 {
        match *self {
            Command::New { seq, .. }
            | Command::Cancel { seq, .. }
            | Command::Modify { seq, .. } => seq,
        }
    }
}

/// Why a new order was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// An order with this id is resting already.
    DuplicateId,
    /// A quantity of zero.
    ZeroQuantity,
}

impl RejectReason {
    fn code(self) -> u8 {
        match self {
            RejectReason::DuplicateId => 1,
            RejectReason::ZeroQuantity => 2,
        }
    }
}

/// One output report. A command produces its events in order: acceptance, then fills, then
/// what became of the remainder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new order entered the engine (before it matched).
    Accepted {
        /// The command's sequence number.
        seq: u64,
        /// Its side.
        side: Side,
        /// Its id.
        id: u64,
        /// Its limit price.
        price: i64,
        /// Its quantity.
        qty: u64,
    },
    /// A fill, at the resting (maker) order's price.
    Trade {
        /// The incoming order's sequence number.
        seq: u64,
        /// The maker's price.
        price: i64,
        /// Quantity filled.
        qty: u64,
        /// The resting order.
        maker: u64,
        /// The incoming order.
        taker: u64,
    },
    /// An order left the book unfilled (cancel, or the remainder of an IOC order).
    Cancelled {
        /// The command's sequence number.
        seq: u64,
        /// Its side.
        side: Side,
        /// Its id.
        id: u64,
        /// Its price.
        price: i64,
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
        /// The new quantity.
        qty: u64,
    },
    /// A cancel of an id that is not resting.
    CancelRejected {
        /// The command's sequence number.
        seq: u64,
        /// The id.
        id: u64,
    },
    /// A modify of an id that is not resting.
    ModifyRejected {
        /// The command's sequence number.
        seq: u64,
        /// The id.
        id: u64,
    },
    /// A new order refused before matching. Not part of the published report format; it
    /// prints as report type 6.
    Rejected {
        /// The command's sequence number.
        seq: u64,
        /// The id.
        id: u64,
        /// Why.
        reason: RejectReason,
    },
}

impl Event {
    /// The report type number of the canonical stream (0 to 5; 6 for `Rejected`).
    pub fn report_type(&self) -> u8 {
        match self {
            Event::Accepted { .. } => 0,
            Event::Trade { .. } => 1,
            Event::Cancelled { .. } => 2,
            Event::Modified { .. } => 3,
            Event::CancelRejected { .. } => 4,
            Event::ModifyRejected { .. } => 5,
            Event::Rejected { .. } => 6,
        }
    }

    /// The sequence number the event belongs to.
    pub fn seq(&self) -> u64 {
        match *self {
            Event::Accepted { seq, .. }
            | Event::Trade { seq, .. }
            | Event::Cancelled { seq, .. }
            | Event::Modified { seq, .. }
            | Event::CancelRejected { seq, .. }
            | Event::ModifyRejected { seq, .. }
            | Event::Rejected { seq, .. } => seq,
        }
    }

    /// Appends the event's canonical report line (without a newline) to `out`.
    ///
    /// ```
    /// use byo_orderbook::{Event, Side};
    /// let mut line = Vec::new();
    /// Event::Accepted { seq: 4, side: Side::Buy, id: 216493, price: 33724, qty: 82 }
    ///     .write_canonical(&mut line);
    /// assert_eq!(line, b"0,4,0,216493,33724,82");
    /// ```
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let t = self.report_type();
        // Writing to a Vec cannot fail.
        let _ = match *self {
            Event::Accepted { seq, side, id, price, qty } => {
                write!(out, "{t},{seq},{},{id},{price},{qty}", side.code())
            }
            Event::Trade { seq, price, qty, maker, taker } => {
                write!(out, "{t},{seq},{price},{qty},{maker},{taker}")
            }
            Event::Cancelled { seq, side, id, price } => {
                write!(out, "{t},{seq},{},{id},{price}", side.code())
            }
            Event::Modified { seq, side, id, price, qty } => {
                write!(out, "{t},{seq},{},{id},{price},{qty}", side.code())
            }
            Event::CancelRejected { seq, id } | Event::ModifyRejected { seq, id } => {
                write!(out, "{t},{seq},{id}")
            }
            Event::Rejected { seq, id, reason } => write!(out, "{t},{seq},{id},{}", reason.code()),
        };
    }
}
