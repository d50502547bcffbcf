//! Integration tests for byo-resp.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "server")]
mod aof;
#[cfg(feature = "server")]
mod blocking;
mod codec;
#[cfg(feature = "server")]
mod command_diff;
#[cfg(feature = "server")]
mod databases;
mod decode;
mod fastpath;
#[cfg(feature = "server")]
mod glob_diff;
#[cfg(feature = "server")]
mod hostile;
mod kit;
#[cfg(feature = "server")]
mod libraries_diff;
#[cfg(feature = "server")]
mod protocol_diff;
#[cfg(feature = "server")]
mod pubsub;
#[cfg(feature = "server")]
mod pubsub_diff;
#[cfg(feature = "server")]
mod real_redis;
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
