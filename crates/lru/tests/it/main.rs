//! byo-lru's integration tests: one binary, one module per concern.

mod hit_ratio;
mod sharded;
mod testkit_proof;
pub mod trace;
mod weighted_model;
