//! Integration tests for byo-loxlike: the official suite through both engines, and the abuse
//! cases (deep nesting, limits).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod abuse;
mod semantics;
mod suite;
