//! The engines the benches compare, each as a function that replays the whole workload and
//! keeps what the engine reports.
//!
//! The peers get the same messages in the nearest form their APIs have: a modify is a
//! cancel then a new order (the workload's own definition). `lobster` has no IOC limit
//! orders, so an IOC order is a limit order followed by a cancel of whatever rested.

use std::hint::black_box;

use byo_orderbook::testkit::{MatchingEngine, NaiveBook};
use byo_orderbook::{Command, Config, Event, NewOrder, OrderBook, Side, TimeInForce};

/// Replays `commands` through an engine, keeping its events; returns how many there were.
fn run(mut engine: impl MatchingEngine, commands: &[Command]) -> usize {
    let mut events: Vec<Event> = Vec::with_capacity(16);
    let mut count = 0;
    for command in commands {
        events.clear();
        engine.apply(command, &mut events);
        count += events.len();
    }
    count
}

fn byo(commands: &[Command]) -> usize {
    run(OrderBook::with_config(Config::canonical()), commands)
}

fn naive(commands: &[Command]) -> usize {
    run(NaiveBook::new(Config::canonical()), commands)
}

fn orderbook_rs(commands: &[Command]) -> usize {
    use orderbook_rs::{Id, OrderBook, Side as S, TimeInForce as T};
    let book: OrderBook<()> = OrderBook::new("BENCH");
    let side = |s| if s == Side::Buy { S::Buy } else { S::Sell };
    let mut results = 0;
    // Modify needs the order's side, which the workload's modify record carries but our
    // command does not: remember it.
    let mut sides = std::collections::HashMap::new();
    for command in commands {
        match *command {
            Command::New(NewOrder { id, side: s, price: Some(price), qty, tif, .. }) => {
                let tif = if tif == TimeInForce::Ioc { T::Ioc } else { T::Gtc };
                let r = book.add_limit_order(
                    Id::Sequential(id),
                    price as u128,
                    qty,
                    side(s),
                    tif,
                    None,
                );
                results += usize::from(r.is_ok());
                sides.insert(id, s);
            }
            Command::New(_) => {}
            Command::Cancel { id, .. } => {
                results +=
                    usize::from(matches!(book.cancel_order(Id::Sequential(id)), Ok(Some(_))));
            }
            Command::Modify { id, price, qty, .. } => {
                if let Ok(Some(_)) = book.cancel_order(Id::Sequential(id))
                    && qty > 0
                {
                    let s = sides.get(&id).copied().unwrap_or(Side::Buy);
                    let r = book.add_limit_order(
                        Id::Sequential(id),
                        price as u128,
                        qty,
                        side(s),
                        T::Gtc,
                        None,
                    );
                    results += usize::from(r.is_ok());
                }
            }
        }
    }
    black_box(&book);
    results
}

fn lobster(commands: &[Command]) -> usize {
    use lobster::{OrderBook, OrderEvent, OrderType, Side as S};
    let mut book = OrderBook::default();
    let side = |s| if s == Side::Buy { S::Bid } else { S::Ask };
    let mut sides = std::collections::HashMap::new();
    let mut results = 0;
    let place = |book: &mut OrderBook, id: u64, s, price: i64, qty, ioc: bool| {
        let order = OrderType::Limit { id: id.into(), side: side(s), qty, price: price as u64 };
        let event = book.execute(order);
        let rested =
            matches!(event, OrderEvent::Placed { .. } | OrderEvent::PartiallyFilled { .. });
        if ioc && rested {
            black_box(book.execute(OrderType::Cancel { id: id.into() }));
        }
        black_box(event);
        1
    };
    for command in commands {
        match *command {
            Command::New(NewOrder { id, side: s, price: Some(price), qty, tif, .. }) => {
                sides.insert(id, s);
                results += place(&mut book, id, s, price, qty, tif == TimeInForce::Ioc);
            }
            Command::New(_) => {}
            Command::Cancel { id, .. } => {
                results += usize::from(matches!(
                    book.execute(OrderType::Cancel { id: id.into() }),
                    OrderEvent::Canceled { .. }
                ));
            }
            Command::Modify { id, price, qty, .. } => {
                if matches!(
                    book.execute(OrderType::Cancel { id: id.into() }),
                    OrderEvent::Canceled { .. }
                ) && qty > 0
                {
                    let s = sides.get(&id).copied().unwrap_or(Side::Buy);
                    results += place(&mut book, id, s, price, qty, false);
                }
            }
        }
    }
    results
}

/// Replays the workload through one engine.
pub(crate) type Replay = fn(&[Command]) -> usize;

/// Every engine, byo-orderbook first.
pub(crate) const ENGINES: [(&str, Replay); 4] = [
    ("byo-orderbook", byo),
    ("naive", naive),
    ("orderbook-rs", orderbook_rs),
    ("lobster", lobster),
];
