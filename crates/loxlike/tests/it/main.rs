//! Integration tests for byo-loxlike: the official suite and the testkit's cases through both
//! engines, and the abuse cases (deep nesting, limits).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod abuse;
mod kit;
mod model;
mod semantics;
mod suite;
