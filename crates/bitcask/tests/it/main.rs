//! byo-bitcask's integration tests: one binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod basics;
mod faults;
mod kit;
mod model;
mod tail;
