//! The differential test: random commands over a narrow price range, with reused and stale
//! ids, every order type, self-trade prevention and risk limits, must give the same events
//! and the same book from the engine and the naive matcher, and the book the engine's own
//! events describe (the ledger), with every invariant holding after every command.

use byo_orderbook::testkit::{self, Differential, Rng};
use byo_orderbook::{Command, OrderBook};
use proptest::prelude::*;

fn commands() -> impl Strategy<Value = (usize, Vec<Command>)> {
    // A seed drives the testkit's generator; proptest shrinks the stream by its length.
    (0..testkit::configs().len(), any::<u64>(), 1usize..200).prop_map(|(config, seed, n)| {
        let mut rng = Rng::new(seed);
        (config, (0..n as u64).map(|seq| testkit::command(&mut rng, seq)).collect())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn matches_the_naive_matcher((config, commands) in commands()) {
        let config = &testkit::configs()[config];
        let mut run = Differential::new(OrderBook::with_config(config.clone()), config);
        for command in &commands {
            if let Err(detail) = run.step(command) {
                prop_assert!(false, "{:?} under {:?}: {}", command, config, detail);
            }
        }
    }
}

#[test]
fn the_testkit_passes_this_engine() {
    testkit::check(|config| OrderBook::with_config(config.clone()), 50).unwrap();
}

/// The suite catches an engine that breaks time priority: one whose cancels put the
/// remaining orders of a level out of arrival order would be caught by the same path, and
/// this one simply serves the newest order of a level first.
#[test]
fn the_testkit_catches_a_lifo_engine() {
    use byo_orderbook::{Event, Side};
    struct Lifo(testkit::NaiveBook);
    impl testkit::MatchingEngine for Lifo {
        fn apply(&mut self, command: &Command, events: &mut Vec<Event>) {
            // Reverse each level's queue before and after: the newest order trades first.
            self.0.orders.reverse();
            self.0.apply(command, events);
            self.0.orders.reverse();
        }
        fn depth(&self, side: Side) -> Vec<(i64, Vec<(u64, u64)>)> {
            self.0.depth(side)
        }
    }
    let caught = testkit::check(|config| Lifo(testkit::NaiveBook::new(config.clone())), 50);
    assert!(caught.is_err(), "a newest-first engine passed the suite");
}
