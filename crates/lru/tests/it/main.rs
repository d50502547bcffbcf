//! byo-lru's integration tests: one binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

mod hit_ratio;
mod sharded;
mod testkit_proof;
pub mod trace;
mod weighted_model;
