//! The matching rules, one at a time.

use byo_orderbook::{
    CancelReason, Command, Config, Event, NewOrder, OrderBook, RejectReason, RiskLimits,
    SelfTradePrevention as Stp, Side, TimeInForce,
};

fn limit(seq: u64, id: u64, side: Side, price: i64, qty: u64) -> NewOrder {
    NewOrder::limit(seq, id, side, price, qty)
}

fn run(book: &mut OrderBook, command: impl Into<Cmd>) -> Vec<Event> {
    let command = command.into().0;
    let mut events = Vec::new();
    book.apply(&command, &mut events);
    book.check_invariants().unwrap();
    events
}

/// Lets `run` take a `NewOrder` or a `Command`.
struct Cmd(Command);
impl From<NewOrder> for Cmd {
    fn from(order: NewOrder) -> Cmd {
        Cmd(Command::New(order))
    }
}
impl From<Command> for Cmd {
    fn from(command: Command) -> Cmd {
        Cmd(command)
    }
}

fn ids(book: &OrderBook, side: Side) -> Vec<u64> {
    book.depth(side, usize::MAX).iter().flat_map(|l| l.orders.iter().map(|o| o.id)).collect()
}

#[test]
fn price_then_time_priority_and_trades_print_at_the_makers_price() {
    let mut book = OrderBook::new();
    run(&mut book, limit(0, 1, Side::Sell, 102, 5));
    run(&mut book, limit(1, 2, Side::Sell, 101, 5));
    run(&mut book, limit(2, 3, Side::Sell, 101, 5));
    let events = run(&mut book, limit(3, 9, Side::Buy, 102, 12));
    let trade =
        |price, qty, maker| Event::Trade { seq: 3, side: Side::Buy, price, qty, maker, taker: 9 };
    assert_eq!(
        events,
        [
            Event::Accepted { seq: 3, side: Side::Buy, id: 9, price: Some(102), qty: 12 },
            trade(101, 5, 2),
            Event::Done { seq: 3, id: 2 },
            trade(101, 5, 3),
            Event::Done { seq: 3, id: 3 },
            trade(102, 2, 1),
            Event::Done { seq: 3, id: 9 },
        ]
    );
    assert_eq!(book.best(Side::Sell), Some((102, 3)));
    assert_eq!(book.best(Side::Buy), None, "fully filled: nothing rests");
}

#[test]
fn ioc_remainder_is_cancelled_not_rested() {
    let mut book = OrderBook::new();
    run(&mut book, limit(0, 1, Side::Sell, 100, 5));
    let events = run(&mut book, limit(1, 2, Side::Buy, 100, 8).tif(TimeInForce::Ioc));
    let reason = CancelReason::Unfilled;
    assert_eq!(
        events.last(),
        Some(&Event::Cancelled { seq: 1, side: Side::Buy, id: 2, price: Some(100), reason })
    );
    assert!(book.is_empty());
}

#[test]
fn market_orders_take_any_price_and_never_rest() {
    let mut book = OrderBook::new();
    run(&mut book, limit(0, 1, Side::Buy, 90, 5));
    run(&mut book, limit(1, 2, Side::Buy, 10, 5));
    let events = run(&mut book, NewOrder::market(2, 3, Side::Sell, 12));
    let trades: Vec<i64> = events
        .iter()
        .filter_map(|e| if let Event::Trade { price, .. } = e { Some(*price) } else { None })
        .collect();
    assert_eq!(trades, [90, 10]);
    let reason = CancelReason::Unfilled;
    assert_eq!(
        events.last(),
        Some(&Event::Cancelled { seq: 2, side: Side::Sell, id: 3, price: None, reason })
    );
    assert!(book.is_empty());
}

#[test]
fn fill_or_kill_counts_every_order_at_crossing_prices() {
    let mut book = OrderBook::new();
    run(&mut book, limit(0, 1, Side::Sell, 100, 4));
    run(&mut book, limit(1, 2, Side::Sell, 101, 4));
    run(&mut book, limit(2, 3, Side::Sell, 105, 50));
    // 8 available at or below 101: 9 is killed, with nothing traded.
    let killed = run(&mut book, limit(3, 4, Side::Buy, 101, 9).tif(TimeInForce::Fok));
    let reason = CancelReason::FillOrKill;
    assert_eq!(
        killed[1],
        Event::Cancelled { seq: 3, side: Side::Buy, id: 4, price: Some(101), reason }
    );
    assert_eq!(killed.len(), 2);
    assert_eq!(book.len(), 3);
    // 8 fills completely, across two orders.
    let filled = run(&mut book, limit(4, 5, Side::Buy, 101, 8).tif(TimeInForce::Fok));
    assert_eq!(filled.last(), Some(&Event::Done { seq: 4, id: 5 }));
    assert_eq!(ids(&book, Side::Sell), [3]);
}

#[test]
fn post_only_is_rejected_if_it_would_take() {
    let mut book = OrderBook::new();
    run(&mut book, limit(0, 1, Side::Sell, 100, 5));
    let taking = run(&mut book, limit(1, 2, Side::Buy, 100, 5).post_only());
    assert_eq!(taking, [Event::Rejected { seq: 1, id: 2, reason: RejectReason::WouldTake }]);
    let making = run(&mut book, limit(2, 2, Side::Buy, 99, 5).post_only());
    assert_eq!(making.len(), 1, "accepted and resting: {making:?}");
    assert_eq!(book.best(Side::Buy), Some((99, 5)));
    let market = run(&mut book, NewOrder::market(3, 3, Side::Buy, 1).post_only());
    assert_eq!(market, [Event::Rejected { seq: 3, id: 3, reason: RejectReason::InvalidOrder }]);
}

/// Account 7 rests 5 @ 100 (id 1) then 5 @ 100 from account 8 (id 2); account 7 buys 8.
fn self_trade(stp: Stp) -> (OrderBook, Vec<Event>) {
    let mut book = OrderBook::new();
    run(&mut book, limit(0, 1, Side::Sell, 100, 5).account(7));
    run(&mut book, limit(1, 2, Side::Sell, 100, 5).account(8));
    let events = run(&mut book, limit(2, 3, Side::Buy, 100, 8).account(7).stp(stp));
    (book, events)
}

#[test]
fn self_trade_prevention_has_four_modes() {
    let st = CancelReason::SelfTrade;
    let cancelled =
        |side, id, price| Event::Cancelled { seq: 2, side, id, price: Some(price), reason: st };
    let accepted = Event::Accepted { seq: 2, side: Side::Buy, id: 3, price: Some(100), qty: 8 };

    let (book, events) = self_trade(Stp::Allow);
    assert!(events.contains(&Event::Trade {
        seq: 2,
        side: Side::Buy,
        price: 100,
        qty: 5,
        maker: 1,
        taker: 3
    }));
    assert_eq!(ids(&book, Side::Sell), [2]);

    let (book, events) = self_trade(Stp::CancelNewest);
    assert_eq!(events, [accepted, cancelled(Side::Buy, 3, 100)]);
    assert_eq!(ids(&book, Side::Sell), [1, 2]);

    let (book, events) = self_trade(Stp::CancelOldest);
    assert_eq!(events[1], cancelled(Side::Sell, 1, 100));
    assert_eq!(
        events[2],
        Event::Trade { seq: 2, side: Side::Buy, price: 100, qty: 5, maker: 2, taker: 3 }
    );
    assert_eq!((ids(&book, Side::Sell), ids(&book, Side::Buy)), (vec![], vec![3]));
    assert_eq!(book.best(Side::Buy), Some((100, 3)));

    let (book, events) = self_trade(Stp::CancelBoth);
    assert_eq!(events, [accepted, cancelled(Side::Sell, 1, 100), cancelled(Side::Buy, 3, 100)]);
    assert_eq!(ids(&book, Side::Sell), [2]);

    // Decrement: 5 of the 8 cancel out against own order 1, which is cancelled; the taker
    // goes on with 3 and trades them with order 2.
    let (book, events) = self_trade(Stp::DecrementAndCancel);
    assert_eq!(
        events[1..4],
        [
            cancelled(Side::Sell, 1, 100),
            Event::Decremented { seq: 2, side: Side::Buy, id: 3, qty: 3 },
            Event::Trade { seq: 2, side: Side::Buy, price: 100, qty: 3, maker: 2, taker: 3 },
        ]
    );
    assert_eq!(book.best(Side::Sell), Some((100, 2)));
}

#[test]
fn cancel_and_modify_of_unknown_ids_are_rejected() {
    let mut book = OrderBook::new();
    assert_eq!(
        run(&mut book, Command::Cancel { seq: 0, id: 7 }),
        [Event::CancelRejected { seq: 0, id: 7 }]
    );
    let modify = Command::Modify { seq: 1, id: 7, price: 1, qty: 1 };
    let unknown = RejectReason::UnknownOrder;
    assert_eq!(run(&mut book, modify), [Event::Rejected { seq: 1, id: 7, reason: unknown }]);
    run(&mut book, limit(2, 7, Side::Buy, 10, 1));
    run(&mut book, Command::Cancel { seq: 3, id: 7 });
    let again = run(&mut book, Command::Cancel { seq: 4, id: 7 });
    assert_eq!(again, [Event::CancelRejected { seq: 4, id: 7 }], "a cancelled id is gone");
}

#[test]
fn a_quantity_decrease_keeps_priority_by_default() {
    let mut book = OrderBook::new();
    run(&mut book, limit(0, 1, Side::Buy, 100, 5));
    run(&mut book, limit(1, 2, Side::Buy, 100, 5));
    run(&mut book, Command::Modify { seq: 2, id: 1, price: 100, qty: 4 });
    assert_eq!(ids(&book, Side::Buy), [1, 2], "a decrease keeps its place");
    run(&mut book, Command::Modify { seq: 3, id: 1, price: 100, qty: 6 });
    assert_eq!(ids(&book, Side::Buy), [2, 1], "an increase goes to the back");
    run(&mut book, Command::Modify { seq: 4, id: 2, price: 101, qty: 1 });
    run(&mut book, Command::Modify { seq: 5, id: 2, price: 100, qty: 1 });
    assert_eq!(ids(&book, Side::Buy), [1, 2], "a price change goes to the back");
}

#[test]
fn canonical_modify_always_loses_priority_and_may_trade() {
    let mut book = OrderBook::with_config(Config::canonical());
    run(&mut book, limit(0, 1, Side::Buy, 100, 5));
    run(&mut book, limit(1, 2, Side::Buy, 100, 5));
    run(&mut book, Command::Modify { seq: 2, id: 1, price: 100, qty: 4 });
    assert_eq!(ids(&book, Side::Buy), [2, 1]);
    run(&mut book, limit(3, 3, Side::Sell, 105, 2));
    let events = run(&mut book, Command::Modify { seq: 4, id: 2, price: 105, qty: 5 });
    assert_eq!(
        events[0],
        Event::Trade { seq: 4, side: Side::Buy, price: 105, qty: 2, maker: 3, taker: 2 }
    );
    assert_eq!(
        events.last(),
        Some(&Event::Modified { seq: 4, side: Side::Buy, id: 2, price: 105, qty: 5 })
    );
    assert_eq!(book.best(Side::Buy), Some((105, 3)));
}

#[test]
fn duplicate_ids_and_zero_quantities_are_rejected() {
    let mut book = OrderBook::new();
    run(&mut book, limit(0, 1, Side::Buy, 100, 5));
    let dup = run(&mut book, limit(1, 1, Side::Sell, 200, 5));
    assert_eq!(dup, [Event::Rejected { seq: 1, id: 1, reason: RejectReason::DuplicateId }]);
    let zero = run(&mut book, limit(2, 2, Side::Sell, 200, 0));
    assert_eq!(zero, [Event::Rejected { seq: 2, id: 2, reason: RejectReason::ZeroQuantity }]);
}

#[test]
fn risk_limits_are_per_account() {
    let limits = RiskLimits {
        max_order_qty: Some(100),
        max_notional: Some(10_000),
        price_band: Some(10),
        max_position: Some(150),
    };
    let config =
        Config { accounts: [(1, limits)].into(), reference_price: Some(100), ..Config::default() };
    let mut book = OrderBook::with_config(config);
    let reject = |seq, id, reason| vec![Event::Rejected { seq, id, reason }];
    assert_eq!(
        run(&mut book, limit(0, 1, Side::Buy, 100, 101).account(1)),
        reject(0, 1, RejectReason::MaxQuantity)
    );
    assert_eq!(
        run(&mut book, limit(1, 1, Side::Buy, 111, 10).account(1)),
        reject(1, 1, RejectReason::PriceBand)
    );
    assert_eq!(
        run(&mut book, limit(2, 1, Side::Buy, 101, 100).account(1)),
        reject(2, 1, RejectReason::MaxNotional)
    );
    // Account 2 has no limits.
    assert_eq!(run(&mut book, limit(3, 9, Side::Sell, 1000, 1000).account(2)).len(), 1);
    // Position: 90 open on the bid, then 61 more could make 151 > 150.
    run(&mut book, limit(4, 1, Side::Buy, 95, 90).account(1));
    assert_eq!(
        run(&mut book, limit(5, 2, Side::Buy, 95, 61).account(1)),
        reject(5, 2, RejectReason::PositionLimit)
    );
    assert_eq!(run(&mut book, limit(6, 2, Side::Buy, 95, 60).account(1)).len(), 1);
    // Fills move open quantity into the position; the limit still counts both.
    run(&mut book, limit(7, 20, Side::Sell, 95, 100).account(3));
    let exposure = book.exposure(1);
    assert_eq!((exposure.position, exposure.open_buy), (100, 50));
    // The last trade at 95 recentres the band: 106 is now outside it.
    assert_eq!(
        run(&mut book, limit(8, 3, Side::Sell, 106, 1).account(1)),
        reject(8, 3, RejectReason::PriceBand)
    );
}
