//! Integration tests for byo-resp.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "server")]
mod aof;
#[cfg(feature = "server")]
mod blocking;
mod codec;
mod decode;
mod fastpath;
mod kit;
#[cfg(feature = "server")]
mod pubsub;
mod request;
mod roundtrip;
#[cfg(feature = "server")]
mod script_diff;
#[cfg(feature = "server")]
mod scripting;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
mod streams;
