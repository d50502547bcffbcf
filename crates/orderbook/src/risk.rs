//! Pre-trade risk checks, and the per-account exposure they need.
//!
//! An account's exposure is its position (bought minus sold) and its open quantity on each
//! side. The position check is the conservative one exchanges use: the order is refused if
//! the position *could* pass the limit, that is if every open order on the order's side and
//! the order itself filled completely. Exposure is tracked only when some account has limits
//! (so the canonical benchmark mode pays nothing for it), in a `BTreeMap` so that a snapshot
//! writes it in a deterministic order.

use std::collections::BTreeMap;

use crate::config::RiskLimits;
use crate::event::RejectReason;
use crate::types::Side;

/// One account's position and open quantities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exposure {
    /// Bought minus sold, over all fills.
    pub position: i64,
    /// Quantity resting on the bid side.
    pub open_buy: u64,
    /// Quantity resting on the ask side.
    pub open_sell: u64,
}

impl Exposure {
    fn open_mut(&mut self, side: Side) -> &mut u64 {
        match side {
            Side::Buy => &mut self.open_buy,
            Side::Sell => &mut self.open_sell,
        }
    }
}

/// Every tracked account's exposure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Exposures {
    pub(crate) accounts: BTreeMap<u32, Exposure>,
}

impl Exposures {
    pub(crate) fn get(&self, account: u32) -> Exposure {
        self.accounts.get(&account).copied().unwrap_or_default()
    }

    /// `qty` of the account's orders started resting on `side`.
    pub(crate) fn opened(&mut self, account: u32, side: Side, qty: u64) {
        *self.accounts.entry(account).or_default().open_mut(side) += qty;
    }

    /// `qty` of the account's resting orders on `side` left the book without trading.
    pub(crate) fn closed(&mut self, account: u32, side: Side, qty: u64) {
        let open = self.accounts.entry(account).or_default().open_mut(side);
        *open = open.saturating_sub(qty);
    }

    /// A fill of `qty` between a resting order and an incoming one on `taker_side`.
    pub(crate) fn filled(&mut self, maker: u32, taker: u32, taker_side: Side, qty: u64) {
        self.closed(maker, taker_side.opposite(), qty);
        let signed = qty.min(i64::MAX as u64) as i64;
        let (buyer, seller) = match taker_side {
            Side::Buy => (taker, maker),
            Side::Sell => (maker, taker),
        };
        let buyer = &mut self.accounts.entry(buyer).or_default().position;
        *buyer = buyer.saturating_add(signed);
        let seller = &mut self.accounts.entry(seller).or_default().position;
        *seller = seller.saturating_sub(signed);
    }
}

/// An order as the checks see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Proposed {
    pub(crate) side: Side,
    /// `None` for a market order.
    pub(crate) price: Option<i64>,
    pub(crate) qty: u64,
}

/// Checks one order against an account's limits, given its exposure (without the order).
/// Returns the price a market order must not trade beyond, if its band bounds it.
pub(crate) fn check(
    limits: &RiskLimits,
    exposure: Exposure,
    order: Proposed,
    reference: Option<i64>,
) -> Result<Option<i64>, RejectReason> {
    if limits.max_order_qty.is_some_and(|max| order.qty > max) {
        return Err(RejectReason::MaxQuantity);
    }
    // The band's edge on the order's side: the worst price it may trade at.
    let edge = match (limits.price_band, reference) {
        (Some(band), Some(reference)) => {
            let band = band.min(i64::MAX as u64) as i64;
            Some(match order.side {
                Side::Buy => reference.saturating_add(band),
                Side::Sell => reference.saturating_sub(band),
            })
        }
        _ => None,
    };
    if let (Some(price), Some(band), Some(reference)) = (order.price, limits.price_band, reference)
        && price.abs_diff(reference) > band
    {
        return Err(RejectReason::PriceBand);
    }
    if let Some(max) = limits.max_notional {
        let Some(price) = order.price.or(edge) else {
            return Err(RejectReason::UnboundedMarketOrder);
        };
        if u128::from(price.unsigned_abs()) * u128::from(order.qty) > u128::from(max) {
            return Err(RejectReason::MaxNotional);
        }
    }
    if let Some(max) = limits.max_position {
        let position = i128::from(exposure.position);
        let worst = match order.side {
            Side::Buy => position + i128::from(exposure.open_buy) + i128::from(order.qty),
            Side::Sell => -position + i128::from(exposure.open_sell) + i128::from(order.qty),
        };
        if worst > i128::from(max) {
            return Err(RejectReason::PositionLimit);
        }
    }
    Ok(if order.price.is_none() { edge } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(side: Side, price: Option<i64>, qty: u64) -> Proposed {
        Proposed { side, price, qty }
    }

    #[test]
    fn each_limit_refuses_what_passes_it_and_accepts_its_edge() {
        let qty = RiskLimits { max_order_qty: Some(10), ..RiskLimits::default() };
        let none = Exposure::default();
        assert_eq!(check(&qty, none, order(Side::Buy, Some(5), 10), None), Ok(None));
        assert_eq!(
            check(&qty, none, order(Side::Buy, Some(5), 11), None),
            Err(RejectReason::MaxQuantity)
        );
        let notional = RiskLimits { max_notional: Some(1000), ..RiskLimits::default() };
        assert_eq!(check(&notional, none, order(Side::Sell, Some(-100), 10), None), Ok(None));
        assert_eq!(
            check(&notional, none, order(Side::Sell, Some(-100), 11), None),
            Err(RejectReason::MaxNotional)
        );
        assert_eq!(
            check(&notional, none, order(Side::Sell, None, 1), Some(100)),
            Err(RejectReason::UnboundedMarketOrder)
        );
        let band = RiskLimits { price_band: Some(5), ..RiskLimits::default() };
        assert_eq!(check(&band, none, order(Side::Buy, Some(105), 1), Some(100)), Ok(None));
        assert_eq!(
            check(&band, none, order(Side::Buy, Some(94), 1), Some(100)),
            Err(RejectReason::PriceBand)
        );
        assert_eq!(check(&band, none, order(Side::Sell, None, 1), Some(100)), Ok(Some(95)));
        assert_eq!(
            check(&band, none, order(Side::Buy, Some(1), 1), None),
            Ok(None),
            "no reference"
        );
    }

    #[test]
    fn position_counts_open_orders_on_the_same_side() {
        let limits = RiskLimits { max_position: Some(100), ..RiskLimits::default() };
        let long = Exposure { position: 60, open_buy: 30, open_sell: 500 };
        assert_eq!(check(&limits, long, order(Side::Buy, Some(1), 10), None), Ok(None));
        assert_eq!(
            check(&limits, long, order(Side::Buy, Some(1), 11), None),
            Err(RejectReason::PositionLimit)
        );
        // Selling reduces a long position: 500 open + 160 - 60 = 600 > 100.
        assert_eq!(
            check(&limits, long, order(Side::Sell, Some(1), 160), None),
            Err(RejectReason::PositionLimit)
        );
        let flat = Exposure::default();
        assert_eq!(check(&limits, flat, order(Side::Sell, Some(1), 100), None), Ok(None));
    }
}
