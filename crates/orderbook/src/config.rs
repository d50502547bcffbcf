//! How a book is set up: the modify policy and the per-account risk limits.

use std::collections::BTreeMap;

/// What a modify does to an order's place in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ModifyPolicy {
    /// A quantity decrease at the same price keeps the order's time priority and never
    /// trades. A price change or a quantity increase loses priority: the order leaves the
    /// book and re-enters as if new, and may trade. This is what exchanges do.
    #[default]
    KeepPriorityOnDecrease,
    /// Every modify is a cancel and a re-entry, losing priority even when the quantity only
    /// shrank. The published benchmark workloads define modify this way.
    Reenter,
}

/// Pre-trade risk limits for one account. Each `None` is a check not made.
///
/// ```
/// use byo_orderbook::RiskLimits;
/// let limits = RiskLimits { max_order_qty: Some(1_000), price_band: Some(50), ..RiskLimits::default() };
/// assert_eq!(limits.max_notional, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RiskLimits {
    /// Largest quantity of one order.
    pub max_order_qty: Option<u64>,
    /// Largest price × quantity of one order (absolute price, in tick units). A market
    /// order is valued at the edge of its price band; without a band it is rejected.
    pub max_notional: Option<u64>,
    /// Largest distance, in ticks, of a limit price from the book's reference price. Market
    /// orders from the account trade only within the band (market with protection).
    pub price_band: Option<u64>,
    /// Largest absolute position the account could reach if all its open orders, and this
    /// one, filled completely.
    pub max_position: Option<u64>,
}

/// A book's configuration. The default has no risk checks, keeps priority on a quantity
/// decrease and has no reference price.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Config {
    /// What a modify does to time priority.
    pub modify: ModifyPolicy,
    /// Limits for accounts not listed in `accounts`.
    pub default_limits: Option<RiskLimits>,
    /// Per-account limits.
    pub accounts: BTreeMap<u32, RiskLimits>,
    /// The price the price band is centred on until the first trade; after that, the last
    /// trade price. With neither, the band is not checked.
    pub reference_price: Option<i64>,
}

impl Config {
    /// The configuration the published benchmark workloads are defined in: every modify
    /// re-enters, no risk checks.
    pub fn canonical() -> Config {
        Config { modify: ModifyPolicy::Reenter, ..Config::default() }
    }

    /// The limits that apply to `account`, if any.
    pub fn limits(&self, account: u32) -> Option<&RiskLimits> {
        self.accounts.get(&account).or(self.default_limits.as_ref())
    }

    /// Whether any account has limits: only then does the book track positions.
    pub fn has_risk_checks(&self) -> bool {
        self.default_limits.is_some() || !self.accounts.is_empty()
    }
}
