//! A naive reference matcher, obviously right, and a differential proptest: random commands
//! over a narrow price range, with reused and stale ids, must give the same events and the
//! same book from both, with every invariant holding after every command.

use byo_orderbook::{Command, Event, OrderBook, RejectReason, RestingOrder, Side, TimeInForce};
use proptest::prelude::*;

/// Resting orders in arrival order, one `Vec` per side. Matching scans for the best price
/// each time; nothing is clever.
#[derive(Default)]
struct NaiveBook {
    /// (id, side, price, remaining qty), oldest first.
    orders: Vec<(u64, Side, i64, u64)>,
}

impl NaiveBook {
    fn best_opposite(&self, side: Side, limit: i64) -> Option<usize> {
        let candidates = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| o.1 == side.opposite() && side.crosses(limit, o.2));
        // Best price first; among equal prices the oldest (lowest index) wins.
        let better = |a: i64, b: i64| if side == Side::Buy { a < b } else { a > b };
        let mut best: Option<(usize, i64)> = None;
        for (i, o) in candidates {
            if best.is_none_or(|(_, p)| better(o.2, p)) {
                best = Some((i, o.2));
            }
        }
        best.map(|(i, _)| i)
    }

    #[allow(clippy::too_many_arguments)]
    fn enter(
        &mut self,
        seq: u64,
        id: u64,
        side: Side,
        price: i64,
        mut qty: u64,
        tif: TimeInForce,
        out: &mut Vec<Event>,
    ) {
        while qty > 0 {
            let Some(i) = self.best_opposite(side, price) else { break };
            let fill = qty.min(self.orders[i].3);
            out.push(Event::Trade {
                seq,
                price: self.orders[i].2,
                qty: fill,
                maker: self.orders[i].0,
                taker: id,
            });
            qty -= fill;
            self.orders[i].3 -= fill;
            if self.orders[i].3 == 0 {
                self.orders.remove(i);
            }
        }
        if qty > 0 {
            match tif {
                TimeInForce::Ioc => out.push(Event::Cancelled { seq, side, id, price }),
                TimeInForce::Gtc => self.orders.push((id, side, price, qty)),
            }
        }
    }

    fn apply(&mut self, command: &Command, out: &mut Vec<Event>) {
        let position =
            |orders: &Vec<(u64, Side, i64, u64)>, id| orders.iter().position(|o| o.0 == id);
        match *command {
            Command::New { seq, id, side, price, qty, tif } => {
                if qty == 0 {
                    out.push(Event::Rejected { seq, id, reason: RejectReason::ZeroQuantity });
                } else if position(&self.orders, id).is_some() {
                    out.push(Event::Rejected { seq, id, reason: RejectReason::DuplicateId });
                } else {
                    out.push(Event::Accepted { seq, side, id, price, qty });
                    self.enter(seq, id, side, price, qty, tif, out);
                }
            }
            Command::Cancel { seq, id } => match position(&self.orders, id) {
                Some(i) => {
                    let (_, side, price, _) = self.orders.remove(i);
                    out.push(Event::Cancelled { seq, side, id, price });
                }
                None => out.push(Event::CancelRejected { seq, id }),
            },
            Command::Modify { seq, id, price, qty } => match position(&self.orders, id) {
                Some(i) => {
                    let (_, side, _, _) = self.orders.remove(i);
                    if qty > 0 {
                        self.enter(seq, id, side, price, qty, TimeInForce::Gtc, out);
                    }
                    out.push(Event::Modified { seq, side, id, price, qty });
                }
                None => out.push(Event::ModifyRejected { seq, id }),
            },
        }
    }

    /// Levels best first, each with its orders oldest first, as `OrderBook::depth` gives.
    fn depth(&self, side: Side) -> Vec<(i64, Vec<RestingOrder>)> {
        let mut prices: Vec<i64> =
            self.orders.iter().filter(|o| o.1 == side).map(|o| o.2).collect();
        prices.sort_unstable();
        prices.dedup();
        if side == Side::Buy {
            prices.reverse();
        }
        prices
            .into_iter()
            .map(|p| {
                let orders = self
                    .orders
                    .iter()
                    .filter(|o| o.1 == side && o.2 == p)
                    .map(|o| RestingOrder { id: o.0, qty: o.3 })
                    .collect();
                (p, orders)
            })
            .collect()
    }
}

fn command(seq: u64) -> impl Strategy<Value = Command> {
    // Eight prices and sixteen ids: crossing, reuse of filled ids and stale cancels are common.
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let tif = prop_oneof![4 => Just(TimeInForce::Gtc), 1 => Just(TimeInForce::Ioc)];
    prop_oneof![
        6 => (0u64..16, side, 96i64..104, 0u64..12, tif)
            .prop_map(move |(id, side, price, qty, tif)| Command::New { seq, id, side, price, qty, tif }),
        2 => (0u64..16).prop_map(move |id| Command::Cancel { seq, id }),
        2 => (0u64..16, 96i64..104, 0u64..12)
            .prop_map(move |(id, price, qty)| Command::Modify { seq, id, price, qty }),
    ]
}

fn commands() -> impl Strategy<Value = Vec<Command>> {
    (1usize..150).prop_flat_map(|n| (0..n as u64).map(command).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn matches_the_naive_matcher(commands in commands()) {
        let mut book = OrderBook::new();
        let mut naive = NaiveBook::default();
        for command in &commands {
            let (mut got, mut want) = (Vec::new(), Vec::new());
            book.apply(command, &mut got);
            naive.apply(command, &mut want);
            prop_assert_eq!(&got, &want, "events of {:?}", command);
            if let Err(broken) = book.check_invariants() {
                prop_assert!(false, "after {:?}: {}", command, broken);
            }
            for side in [Side::Buy, Side::Sell] {
                let levels: Vec<(i64, Vec<RestingOrder>)> =
                    book.depth(side).into_iter().map(|l| (l.price, l.orders)).collect();
                prop_assert_eq!(levels, naive.depth(side), "{:?} side after {:?}", side, command);
            }
        }
    }
}
