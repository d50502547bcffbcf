//! byo-orderbook's integration tests: one binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod market_data;
mod naive;
mod replay;
mod rules;
mod workloads;
