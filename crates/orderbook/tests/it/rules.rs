//! The matching rules, one at a time.

use byo_orderbook::{Command, Event, OrderBook, RejectReason, Side, TimeInForce};

fn new(seq: u64, id: u64, side: Side, price: i64, qty: u64) -> Command {
    Command::New { seq, id, side, price, qty, tif: TimeInForce::Gtc }
}

fn run(book: &mut OrderBook, command: Command) -> Vec<Event> {
    let mut events = Vec::new();
    book.apply(&command, &mut events);
    book.check_invariants().unwrap();
    events
}

#[test]
fn price_then_time_priority_and_trades_print_at_the_makers_price() {
    let mut book = OrderBook::new();
    run(&mut book, new(0, 1, Side::Sell, 102, 5));
    run(&mut book, new(1, 2, Side::Sell, 101, 5));
    run(&mut book, new(2, 3, Side::Sell, 101, 5));
    let events = run(&mut book, new(3, 9, Side::Buy, 102, 12));
    let trades: Vec<_> = events.iter().filter(|e| e.report_type() == 1).copied().collect();
    assert_eq!(
        trades,
        [
            Event::Trade { seq: 3, price: 101, qty: 5, maker: 2, taker: 9 },
            Event::Trade { seq: 3, price: 101, qty: 5, maker: 3, taker: 9 },
            Event::Trade { seq: 3, price: 102, qty: 2, maker: 1, taker: 9 },
        ]
    );
    assert_eq!(book.best(Side::Sell), Some((102, 3)));
    assert_eq!(book.best(Side::Buy), None, "fully filled: nothing rests");
}

#[test]
fn ioc_remainder_is_cancelled_not_rested() {
    let mut book = OrderBook::new();
    run(&mut book, new(0, 1, Side::Sell, 100, 5));
    let ioc =
        Command::New { seq: 1, id: 2, side: Side::Buy, price: 100, qty: 8, tif: TimeInForce::Ioc };
    let events = run(&mut book, ioc);
    assert_eq!(
        events.last(),
        Some(&Event::Cancelled { seq: 1, side: Side::Buy, id: 2, price: 100 })
    );
    assert!(book.is_empty());
}

#[test]
fn cancel_and_modify_of_unknown_ids_are_rejected() {
    let mut book = OrderBook::new();
    assert_eq!(
        run(&mut book, Command::Cancel { seq: 0, id: 7 }),
        [Event::CancelRejected { seq: 0, id: 7 }]
    );
    let modify = Command::Modify { seq: 1, id: 7, price: 1, qty: 1 };
    assert_eq!(run(&mut book, modify), [Event::ModifyRejected { seq: 1, id: 7 }]);
    run(&mut book, new(2, 7, Side::Buy, 10, 1));
    run(&mut book, Command::Cancel { seq: 3, id: 7 });
    let again = run(&mut book, Command::Cancel { seq: 4, id: 7 });
    assert_eq!(again, [Event::CancelRejected { seq: 4, id: 7 }], "a cancelled id is gone");
}

#[test]
fn modify_loses_time_priority_and_may_trade() {
    let mut book = OrderBook::new();
    run(&mut book, new(0, 1, Side::Buy, 100, 5));
    run(&mut book, new(1, 2, Side::Buy, 100, 5));
    // Order 1 shrinks but re-enters behind order 2.
    run(&mut book, Command::Modify { seq: 2, id: 1, price: 100, qty: 4 });
    let level = &book.depth(Side::Buy)[0];
    assert_eq!(level.orders.iter().map(|o| o.id).collect::<Vec<_>>(), [2, 1]);
    // A modify that crosses trades, then reports the modify.
    run(&mut book, new(3, 3, Side::Sell, 105, 2));
    let events = run(&mut book, Command::Modify { seq: 4, id: 2, price: 105, qty: 5 });
    assert_eq!(events[0], Event::Trade { seq: 4, price: 105, qty: 2, maker: 3, taker: 2 });
    assert_eq!(events[1], Event::Modified { seq: 4, side: Side::Buy, id: 2, price: 105, qty: 5 });
    assert_eq!(book.best(Side::Buy), Some((105, 3)));
}

#[test]
fn duplicate_ids_and_zero_quantities_are_rejected() {
    let mut book = OrderBook::new();
    run(&mut book, new(0, 1, Side::Buy, 100, 5));
    let dup = run(&mut book, new(1, 1, Side::Sell, 200, 5));
    assert_eq!(dup, [Event::Rejected { seq: 1, id: 1, reason: RejectReason::DuplicateId }]);
    let zero = run(&mut book, new(2, 2, Side::Sell, 200, 0));
    assert_eq!(zero, [Event::Rejected { seq: 2, id: 2, reason: RejectReason::ZeroQuantity }]);
}
