//! The feeds against the book: consumers rebuilt from a snapshot taken at any point, fed
//! the updates published after it, end up equal to the book; L1 always shows its top.

use byo_orderbook::market_data::{L2Book, L3Book, MarketData, MarketSnapshot, Update};
use byo_orderbook::{OrderBook, Side, testkit};

fn l2_of(snapshot: &MarketSnapshot) -> L2Book {
    L2Book::from_snapshot(snapshot)
}

fn l3_of(snapshot: &MarketSnapshot) -> L3Book {
    L3Book::from_snapshot(snapshot)
}

#[test]
fn consumers_from_any_snapshot_converge_on_the_book() {
    for (n, config) in testkit::configs().into_iter().enumerate() {
        let mut book = OrderBook::with_config(config);
        book.record_changes(true);
        let mut feed = MarketData::new();
        let mut from_start = (l2_of(&feed.snapshot(&book)), l3_of(&feed.snapshot(&book)));
        let mut late: Vec<(L2Book, L3Book)> = Vec::new();
        let (mut events, mut updates) = (Vec::new(), Vec::new());
        let mut top = (None, None);
        for (i, command) in testkit::commands(40 + n as u64, 1500).iter().enumerate() {
            if i % 97 == 0 {
                let snapshot = feed.snapshot(&book);
                late.push((l2_of(&snapshot), l3_of(&snapshot)));
            }
            events.clear();
            updates.clear();
            book.apply(command, &mut events);
            feed.publish(&mut book, &events, &mut updates);
            for update in &updates {
                from_start.0.apply(update).unwrap();
                from_start.1.apply(update).unwrap();
                for (l2, l3) in &mut late {
                    l2.apply(update).unwrap();
                    l3.apply(update).unwrap();
                }
                if let Update::L1 { bid, ask, .. } = *update {
                    top = (bid, ask);
                }
            }
            let now = feed.snapshot(&book);
            assert_eq!(from_start.0, l2_of(&now), "config {n}, L2 after command {i}");
            assert_eq!(from_start.1, l3_of(&now), "config {n}, L3 after command {i}");
            assert_eq!(top, (book.best(Side::Buy), book.best(Side::Sell)), "L1 after command {i}");
            for (l2, l3) in &late {
                assert_eq!(l2.bids, from_start.0.bids);
                assert_eq!(l2.asks, from_start.0.asks);
                assert_eq!(l3.bids, from_start.1.bids);
            }
        }
        assert!(feed.seqs().trades > 0 && feed.seqs().l3 > 0, "the stream traded and rested");
    }
}

#[test]
fn a_missed_update_is_a_gap_not_a_wrong_book() {
    let mut l2 = L2Book::default();
    let update = |seq| Update::L2 { seq, side: Side::Buy, price: 10, size: 1 };
    l2.apply(&update(1)).unwrap();
    l2.apply(&update(1)).unwrap(); // a repeat is skipped
    let gap = l2.apply(&update(3)).unwrap_err();
    assert_eq!((gap.expected, gap.got), (2, 3));
}
