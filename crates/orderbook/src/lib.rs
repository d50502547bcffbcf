//! A limit order book and matching engine: price-time priority, deterministic, and checked
//! against a naive matcher and the published hashes of a million-order benchmark.
//!
//! An exchange keeps, per instrument, the orders waiting to trade: bids (buy orders) and asks
//! (sell orders), each sorted by price and, at one price, by arrival. An incoming order trades
//! with the best opposite orders for as long as prices cross, always at the *resting* order's
//! price, and whatever is left rests on the book (or is cancelled, for immediate-or-cancel).
//!
//! The engine is deterministic: time is the sequence number each command carries, never the
//! clock, and no hash map's iteration order reaches the output. Feeding the same commands
//! gives byte-identical events, which is what event sourcing and the replay tests rely on.
//!
//! ```
//! use byo_orderbook::{Command, NewOrder, OrderBook, Side};
//!
//! let mut book = OrderBook::new();
//! let mut events = Vec::new();
//! for (seq, (side, price)) in [(Side::Sell, 101), (Side::Sell, 100), (Side::Buy, 99)].into_iter().enumerate() {
//!     let seq = seq as u64;
//!     book.apply(&Command::New(NewOrder::limit(seq, seq, side, price, 10)), &mut events);
//! }
//! assert_eq!(book.best(Side::Sell), Some((100, 10)));
//! assert_eq!(book.best(Side::Buy), Some((99, 10)));
//! ```
//!
//! Where things are: [`NewOrder`], [`Command`] and [`Event`] are the vocabulary;
//! `levels.rs` is the data structure (price levels, FIFO queues, the id index); `book.rs`
//! the matching rules; `risk.rs` the pre-trade checks; [`market_data`] the L1/L2/L3 and
//! trade feeds; [`journal`] and [`snapshot`] the event-sourcing formats; [`workload`] the
//! published benchmark's format.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod book;
mod config;
mod event;
mod index;
pub mod journal;
mod ladder;
mod le;
mod levels;
pub mod market_data;
mod risk;
pub mod snapshot;
#[cfg(feature = "testkit")]
pub mod testkit;
mod types;
mod varint;
pub mod workload;

pub use crate::book::{LevelView, OrderBook, OrderView, RestingOrder};
pub use crate::config::{Config, ModifyPolicy, RiskLimits};
pub use crate::event::{CancelReason, Event, RejectReason};
pub use crate::levels::BookChange;
pub use crate::risk::Exposure;
pub use crate::types::{Command, NewOrder, SelfTradePrevention, Side, TimeInForce};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
