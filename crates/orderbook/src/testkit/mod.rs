//! Check your own matching engine (feature `testkit`).
//!
//! Implement [`MatchingEngine`] for your book (it must speak this crate's [`Command`] and
//! [`Event`]), then run [`check`]: seeded random order flow over a narrow price range, with
//! reused and stale ids, every order type, self-trade prevention and risk limits, is fed to
//! your engine and to [`NaiveBook`], the obviously-right matcher. After every command the
//! events must be equal, the books must be equal level by level and order by order, and the
//! [`Ledger`] rebuilt from your events alone must agree with your book.
//!
//! ```
//! use byo_orderbook::{Config, OrderBook};
//! use byo_orderbook::testkit;
//!
//! testkit::check(|config: &Config| OrderBook::with_config(config.clone()), 20).unwrap();
//! ```

mod ledger;
mod naive;

use std::collections::BTreeMap;

pub use self::ledger::{Entry, Ledger};
pub use self::naive::NaiveBook;

use crate::book::OrderBook;
use crate::config::{Config, ModifyPolicy, RiskLimits};
use crate::event::Event;
use crate::types::{Command, NewOrder, SelfTradePrevention, Side, TimeInForce};

/// What the suite needs from an engine.
pub trait MatchingEngine {
    /// Carries out one command, appending its events.
    fn apply(&mut self, command: &Command, events: &mut Vec<Event>);
    /// Levels on `side`, best first: (price, [(order id, remaining qty)] oldest first).
    fn depth(&self, side: Side) -> Vec<(i64, Vec<(u64, u64)>)>;
    /// The engine's own consistency check, if it has one.
    fn check_invariants(&self) -> Result<(), String> {
        Ok(())
    }
}

impl MatchingEngine for OrderBook {
    fn apply(&mut self, command: &Command, events: &mut Vec<Event>) {
        OrderBook::apply(self, command, events);
    }

    fn depth(&self, side: Side) -> Vec<(i64, Vec<(u64, u64)>)> {
        OrderBook::depth(self, side, usize::MAX)
            .into_iter()
            .map(|l| (l.price, l.orders.iter().map(|o| (o.id, o.qty)).collect()))
            .collect()
    }

    fn check_invariants(&self) -> Result<(), String> {
        OrderBook::check_invariants(self)
    }
}

impl MatchingEngine for NaiveBook {
    fn apply(&mut self, command: &Command, events: &mut Vec<Event>) {
        NaiveBook::apply(self, command, events);
    }

    fn depth(&self, side: Side) -> Vec<(i64, Vec<(u64, u64)>)> {
        NaiveBook::depth(self, side)
    }
}

/// An engine run side by side with the naive matcher and the ledger.
pub struct Differential<E> {
    /// The engine under test.
    pub engine: E,
    /// The reference.
    pub naive: NaiveBook,
    /// The book as the engine's events describe it.
    pub ledger: Ledger,
}

impl<E: MatchingEngine> Differential<E> {
    /// Starts both from empty with `config`.
    pub fn new(engine: E, config: &Config) -> Self {
        Differential {
            engine,
            naive: NaiveBook::new(config.clone()),
            ledger: Ledger::new(config.modify),
        }
    }

    /// Applies `command` to all three and compares; returns the engine's events.
    pub fn step(&mut self, command: &Command) -> Result<Vec<Event>, String> {
        let (mut got, mut want) = (Vec::new(), Vec::new());
        self.engine.apply(command, &mut got);
        self.naive.apply(command, &mut want);
        if got != want {
            return Err(format!("events differ\n  engine: {got:?}\n  naive:  {want:?}"));
        }
        self.engine.check_invariants()?;
        self.ledger.record(command, &got)?;
        let mut tops = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            let depth = self.engine.depth(side);
            if depth != self.naive.depth(side) {
                return Err(format!(
                    "{side:?} side differs\n  engine: {depth:?}\n  naive:  {:?}",
                    self.naive.depth(side)
                ));
            }
            if depth != self.ledger.depth(side) {
                return Err(format!(
                    "{side:?} side is not what the events say\n  engine: {depth:?}\n  ledger: {:?}",
                    self.ledger.depth(side)
                ));
            }
            tops.push(depth.first().map(|level| level.0));
        }
        if let [Some(bid), Some(ask)] = tops[..]
            && bid >= ask
        {
            return Err(format!("crossed book: bid {bid} >= ask {ask}"));
        }
        Ok(got)
    }
}

/// The configurations the suite runs under: the canonical benchmark mode, the default
/// (keep priority on decrease), and two with risk limits.
pub fn configs() -> Vec<Config> {
    let tight = RiskLimits {
        max_order_qty: Some(9),
        max_notional: Some(800),
        price_band: Some(3),
        max_position: Some(20),
    };
    let loose = RiskLimits { max_position: Some(40), price_band: Some(6), ..RiskLimits::default() };
    vec![
        Config::canonical(),
        Config::default(),
        Config {
            accounts: BTreeMap::from([(1, tight)]),
            reference_price: Some(100),
            ..Config::default()
        },
        Config {
            modify: ModifyPolicy::Reenter,
            default_limits: Some(loose),
            accounts: BTreeMap::from([(2, tight)]),
            ..Config::default()
        },
    ]
}

/// A small deterministic generator (SplitMix64), so the suite needs no dependencies.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `count` commands from `seed`: sixteen ids, three accounts, prices 96 to 103, every order
/// type and self-trade mode; crossing, id reuse and stale cancels are common.
pub fn commands(seed: u64, count: usize) -> Vec<Command> {
    let mut rng = Rng::new(seed);
    (0..count as u64).map(|seq| command(&mut rng, seq)).collect()
}

/// One random command with sequence number `seq`, as [`commands`] makes them.
pub fn command(rng: &mut Rng, seq: u64) -> Command {
    let id = rng.below(16);
    let price = 96 + rng.below(8) as i64;
    let qty = rng.below(12);
    match rng.below(10) {
        0..=5 => {
            let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
            let mut order = NewOrder::limit(seq, id, side, price, qty).account(rng.below(3) as u32);
            order.tif = match rng.below(8) {
                0 => TimeInForce::Ioc,
                1 => TimeInForce::Fok,
                _ => TimeInForce::Gtc,
            };
            if rng.below(8) == 0 {
                order.price = None;
            }
            order.post_only = rng.below(6) == 0;
            order.stp = SelfTradePrevention::from_code(rng.below(5) as u8).unwrap_or_default();
            Command::New(order)
        }
        6 | 7 => Command::Cancel { seq, id },
        _ => Command::Modify { seq, id, price, qty },
    }
}

/// Where the suite found the engine wrong.
#[derive(Clone, Debug, thiserror::Error)]
#[error("config #{config}, seed {seed}, command #{index} {command:?}: {detail}")]
pub struct Failure {
    /// Which of [`configs`].
    pub config: usize,
    /// The seed of the command stream.
    pub seed: u64,
    /// The failing command's position in the stream.
    pub index: usize,
    /// The failing command.
    pub command: Command,
    /// What differed.
    pub detail: String,
}

/// Runs `streams` seeded streams of 300 commands per configuration through `make(config)`
/// and the naive matcher; the first difference is the error.
pub fn check<E: MatchingEngine>(make: impl Fn(&Config) -> E, streams: u64) -> Result<(), Failure> {
    for (n, config) in configs().iter().enumerate() {
        for seed in 0..streams {
            let mut run = Differential::new(make(config), config);
            for (index, command) in commands(seed, 300).iter().enumerate() {
                run.step(command).map_err(|detail| Failure {
                    config: n,
                    seed,
                    index,
                    command: *command,
                    detail,
                })?;
            }
        }
    }
    Ok(())
}
