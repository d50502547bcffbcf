//! An event-sourced ledger: the book as the events say it must be.
//!
//! The ledger reads nothing but commands and events. From `Accepted`, `Trade`, `Cancelled`,
//! `Decremented`, `Done` and `Modified` it keeps every resting order's price, quantity and
//! the sequence number it joined its queue at. Comparing it with an engine's book after each
//! command checks what the structural invariants cannot: quantity is conserved (an order's
//! remaining quantity is what it came with, less its fills and decrements), each trade
//! prints at the maker's price, a used-up order is reported `Done`, and each queue is in
//! arrival order.

use std::collections::BTreeMap;

use crate::config::ModifyPolicy;
use crate::event::Event;
use crate::types::{Command, NewOrder, Side};

/// A resting order as the ledger knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its side.
    pub side: Side,
    /// Its price.
    pub price: i64,
    /// What it has left.
    pub qty: u64,
    /// When it joined its queue (the ledger's count of commands recorded, so the check does
    /// not depend on the commands' own sequence numbers increasing).
    pub since: u64,
}

/// The incoming order of the command being read.
#[derive(Clone, Copy, Debug)]
struct Pending {
    id: u64,
    side: Side,
    price: Option<i64>,
    qty: u64,
    gone: bool,
}

/// The ledger; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    policy: ModifyPolicy,
    /// Commands recorded so far.
    commands: u64,
    /// Resting orders by id.
    pub resting: BTreeMap<u64, Entry>,
}

impl Ledger {
    /// An empty ledger for a book with this modify policy.
    pub fn new(policy: ModifyPolicy) -> Ledger {
        Ledger { policy, commands: 0, resting: BTreeMap::new() }
    }

    /// Reads one command's events, or says which rule they break.
    pub fn record(&mut self, command: &Command, events: &[Event]) -> Result<(), String> {
        let seq = command.seq();
        self.commands += 1;
        let rejected = events.iter().any(|e| matches!(e, Event::Rejected { .. }));
        let mut taker: Option<Pending> = match *command {
            Command::New(NewOrder { id, side, price, qty, .. }) if !rejected => {
                Some(Pending { id, side, price, qty, gone: false })
            }
            Command::Modify { id, price, qty, .. } if !rejected => {
                let Some(old) = self.resting.get(&id).copied() else {
                    return Err(format!("modify of {id} accepted, but it is not resting"));
                };
                let keeps = self.policy == ModifyPolicy::KeepPriorityOnDecrease
                    && price == old.price
                    && qty <= old.qty;
                if qty == 0 {
                    self.resting.remove(&id);
                    None
                } else if keeps {
                    self.resting.insert(id, Entry { qty, ..old });
                    None
                } else {
                    self.resting.remove(&id);
                    Some(Pending { id, side: old.side, price: Some(price), qty, gone: false })
                }
            }
            _ => None,
        };
        for event in events {
            if event.seq() != seq {
                return Err(format!("{event:?} carries the wrong sequence number"));
            }
            match *event {
                Event::Trade { price, qty, maker, taker: t, .. } => {
                    let Some(entry) = self.resting.get_mut(&maker) else {
                        return Err(format!("trade with {maker}, which is not resting"));
                    };
                    if entry.price != price {
                        return Err(format!(
                            "trade at {price}, maker {maker} rests at {}",
                            entry.price
                        ));
                    }
                    let Some(p) = taker.as_mut().filter(|p| p.id == t && !p.gone) else {
                        return Err(format!("trade for {t}, which is not the incoming order"));
                    };
                    if qty == 0 || qty > entry.qty || qty > p.qty {
                        return Err(format!("trade of {qty} overfills {maker} or {t}"));
                    }
                    entry.qty -= qty;
                    p.qty -= qty;
                }
                Event::Done { id, .. } => {
                    if let Some(p) = taker.as_mut().filter(|p| p.id == id && !p.gone) {
                        if p.qty != 0 {
                            return Err(format!("{id} reported done with {} left", p.qty));
                        }
                        p.gone = true;
                    } else if self.resting.get(&id).is_some_and(|e| e.qty == 0) {
                        self.resting.remove(&id);
                    } else {
                        return Err(format!("{id} reported done but has quantity left"));
                    }
                }
                Event::Cancelled { id, .. } => {
                    if let Some(p) = taker.as_mut().filter(|p| p.id == id && !p.gone) {
                        p.gone = true;
                    } else if self.resting.remove(&id).is_none() {
                        return Err(format!("{id} cancelled but not live"));
                    }
                }
                Event::Decremented { id, qty, .. } => {
                    if let Some(p) = taker.as_mut().filter(|p| p.id == id && !p.gone) {
                        p.qty = qty;
                    } else if let Some(entry) = self.resting.get_mut(&id) {
                        entry.qty = qty;
                    } else {
                        return Err(format!("{id} decremented but not live"));
                    }
                }
                Event::Accepted { .. }
                | Event::Modified { .. }
                | Event::Rejected { .. }
                | Event::CancelRejected { .. } => {}
            }
        }
        if let Some(left) = self.resting.iter().find(|(_, e)| e.qty == 0) {
            return Err(format!("order {} used up without a Done", left.0));
        }
        if let Some(p) = taker.filter(|p| !p.gone) {
            match p.price {
                Some(price) if p.qty > 0 => {
                    self.resting.insert(
                        p.id,
                        Entry { side: p.side, price, qty: p.qty, since: self.commands },
                    );
                }
                _ => {
                    return Err(format!(
                        "incoming {} neither rests, nor is done or cancelled",
                        p.id
                    ));
                }
            }
        }
        if matches!(command, Command::Modify { .. })
            && !rejected
            && !events.iter().any(|e| matches!(e, Event::Modified { .. }))
        {
            return Err("a modify that was not rejected did not report Modified".into());
        }
        Ok(())
    }

    /// Levels on `side` as the ledger says they must be, best first, each queue in order of
    /// `since` (arrival): (price, [(id, qty)]).
    pub fn depth(&self, side: Side) -> Vec<(i64, Vec<(u64, u64)>)> {
        let mut levels: BTreeMap<i64, Vec<(u64, u64, u64)>> = BTreeMap::new();
        for (&id, e) in self.resting.iter().filter(|(_, e)| e.side == side) {
            levels.entry(e.price).or_default().push((e.since, id, e.qty));
        }
        let mut out: Vec<(i64, Vec<(u64, u64)>)> = levels
            .into_iter()
            .map(|(price, mut queue)| {
                queue.sort_unstable();
                (price, queue.into_iter().map(|(_, id, qty)| (id, qty)).collect())
            })
            .collect();
        if side == Side::Buy {
            out.reverse();
        }
        out
    }
}
