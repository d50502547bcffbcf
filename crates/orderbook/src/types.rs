//! The vocabulary of orders: sides, time in force, self-trade prevention, and the commands
//! that go into the engine.

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

    /// 0 for buy, 1 for sell, as the canonical report stream and the journal write it.
    pub fn code(self) -> u8 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }

    /// The side with this [`code`](Side::code).
    pub fn from_code(code: u8) -> Option<Side> {
        match code {
            0 => Some(Side::Buy),
            1 => Some(Side::Sell),
            _ => None,
        }
    }

    /// Whether an order on this side at `limit` may trade with a resting order at `resting`:
    /// a buy when `limit >= resting`, a sell when `limit <= resting`.
    pub fn crosses(self, limit: i64, resting: i64) -> bool {
        // Complementing both prices reverses their order, so one comparison serves both
        // sides without a branch on the side (which is a coin toss on a real order flow).
        let flip = self.flip();
        (limit ^ flip) >= (resting ^ flip)
    }

    /// 0 for buy, all ones for sell: XOR with it leaves a bid price as it is and complements
    /// an ask price (`!price`, which orders prices in reverse without overflow).
    pub(crate) fn flip(self) -> i64 {
        -i64::from(self.code())
    }
}

/// How long an order's unfilled part lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimeInForce {
    /// Good till cancelled: the remainder rests on the book.
    #[default]
    Gtc,
    /// Immediate or cancel: trade what crosses now, cancel the remainder.
    Ioc,
    /// Fill or kill: trade the whole quantity now, or nothing at all. Checked against the
    /// total quantity available at crossing prices, not against one resting order.
    Fok,
}

/// What happens when an incoming order would trade with a resting order of the same
/// account. The incoming (taker) order's setting decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SelfTradePrevention {
    /// Self-trades are allowed: they are ordinary trades.
    #[default]
    Allow,
    /// Cancel the incoming order's remainder; the resting order stays.
    CancelNewest,
    /// Cancel the resting order and keep matching.
    CancelOldest,
    /// Cancel both.
    CancelBoth,
    /// Reduce both by the smaller quantity, cancelling whichever reaches zero (both, if they
    /// were equal); no trade is printed. The incoming order keeps matching if anything is left.
    DecrementAndCancel,
}

impl SelfTradePrevention {
    /// The byte the journal and snapshots write.
    pub fn code(self) -> u8 {
        match self {
            SelfTradePrevention::Allow => 0,
            SelfTradePrevention::CancelNewest => 1,
            SelfTradePrevention::CancelOldest => 2,
            SelfTradePrevention::CancelBoth => 3,
            SelfTradePrevention::DecrementAndCancel => 4,
        }
    }

    /// The mode with this [`code`](SelfTradePrevention::code).
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => SelfTradePrevention::Allow,
            1 => SelfTradePrevention::CancelNewest,
            2 => SelfTradePrevention::CancelOldest,
            3 => SelfTradePrevention::CancelBoth,
            4 => SelfTradePrevention::DecrementAndCancel,
            _ => return None,
        })
    }
}

/// A new order, limit or market.
///
/// Build one with [`NewOrder::limit`] or [`NewOrder::market`] and adjust it:
///
/// ```
/// use byo_orderbook::{NewOrder, SelfTradePrevention, Side, TimeInForce};
///
/// let order = NewOrder::limit(7, 42, Side::Buy, 10_050, 300)
///     .tif(TimeInForce::Ioc)
///     .account(3)
///     .stp(SelfTradePrevention::CancelOldest);
/// assert_eq!(order.price, Some(10_050));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// Time priority: the command's sequence number.
    pub seq: u64,
    /// The caller's id for the order; unique among resting orders.
    pub id: u64,
    /// Who sent it: self-trade prevention and risk limits work per account.
    pub account: u32,
    /// Buy or sell.
    pub side: Side,
    /// Limit price in ticks, or `None` for a market order (which never rests).
    pub price: Option<i64>,
    /// Quantity.
    pub qty: u64,
    /// What happens to the unfilled part.
    pub tif: TimeInForce,
    /// Post-only: rejected if it would trade on entry, so it can only ever be a maker.
    pub post_only: bool,
    /// What happens if it would trade with its own account's resting order.
    pub stp: SelfTradePrevention,
}

impl NewOrder {
    /// A good-till-cancelled limit order from account 0, self-trades allowed.
    pub fn limit(seq: u64, id: u64, side: Side, price: i64, qty: u64) -> NewOrder {
        NewOrder {
            seq,
            id,
            account: 0,
            side,
            price: Some(price),
            qty,
            tif: TimeInForce::Gtc,
            post_only: false,
            stp: SelfTradePrevention::Allow,
        }
    }

    /// A market order: it trades at any price (within the price band, if its account has
    /// one) and its remainder is cancelled.
    pub fn market(seq: u64, id: u64, side: Side, qty: u64) -> NewOrder {
        NewOrder { price: None, tif: TimeInForce::Ioc, ..NewOrder::limit(seq, id, side, 0, qty) }
    }

    /// The same order with this time in force.
    pub fn tif(self, tif: TimeInForce) -> NewOrder {
        NewOrder { tif, ..self }
    }

    /// The same order, post-only.
    pub fn post_only(self) -> NewOrder {
        NewOrder { post_only: true, ..self }
    }

    /// The same order from `account`.
    pub fn account(self, account: u32) -> NewOrder {
        NewOrder { account, ..self }
    }

    /// The same order with this self-trade prevention.
    pub fn stp(self, stp: SelfTradePrevention) -> NewOrder {
        NewOrder { stp, ..self }
    }
}

/// One input message. Every command carries the sequence number that orders it in time;
/// the engine never reads a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// A new order.
    New(NewOrder),
    /// Cancel a resting order.
    Cancel {
        /// Time priority.
        seq: u64,
        /// The order.
        id: u64,
    },
    /// Change a resting order's price and quantity. What happens to its time priority
    /// depends on the book's [`ModifyPolicy`](crate::ModifyPolicy); a quantity of 0 removes it.
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
            Command::New(NewOrder { seq, .. })
            | Command::Cancel { seq, .. }
            | Command::Modify { seq, .. } => seq,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosses_is_the_plain_comparison_for_each_side_even_at_the_extremes() {
        let prices = [i64::MIN, i64::MIN + 1, -2, -1, 0, 1, 2, i64::MAX - 1, i64::MAX];
        for limit in prices {
            for resting in prices {
                assert_eq!(Side::Buy.crosses(limit, resting), limit >= resting);
                assert_eq!(Side::Sell.crosses(limit, resting), limit <= resting);
            }
        }
    }
}
