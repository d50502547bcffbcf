//! Integration tests for byo-resp.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decode;
mod request;
mod roundtrip;
