//! The Redis protocol (RESP2 and RESP3), to learn from and to build on.
//!
//! RESP is a text-framed, binary-safe protocol: every value starts with a type byte and a line
//! ended by CRLF, and strings carry their length up front, so a reader always knows how many
//! bytes to wait for. [`Frame`] is one value of either protocol version; [`Frame::encode`]
//! writes it.
//!
//! Two decoders read it, both incremental and zero-copy:
//!
//! - [`Decoder`] reads every RESP2 and RESP3 type, as a client must.
//! - [`RequestParser`] reads what clients send a server (arrays of bulk strings, and inline
//!   commands with quoting) with Redis's exact rules, limits and error texts.
//!
//! Both take a [`bytes::BytesMut`] that the caller keeps appending reads to. Complete values are
//! consumed from its front as they are recognised, and an incomplete one returns `Ok(None)`
//! without losing the work done so far; bulk payloads are returned as [`bytes::Bytes`] slices of
//! the buffer. Neither needs an async runtime; with the `tokio` feature (on by default),
//! [`codec`] wraps them for `tokio_util::codec::Framed`.
//!
//! Every size the peer controls is bounded by [`Limits`], and a violation is a
//! [`ProtocolError`] carrying the text Redis replies with.
//!
//! ```
//! use bytes::BytesMut;
//! use byo_resp::{Decoder, Frame};
//!
//! let mut out = BytesMut::new();
//! Frame::Map(vec![(Frame::simple("proto"), Frame::Integer(3))]).encode(&mut out);
//! assert_eq!(&out[..], b"%1\r\n+proto\r\n:3\r\n");
//! let frame = Decoder::default().decode(&mut out).unwrap();
//! assert_eq!(frame, Some(Frame::Map(vec![(Frame::simple("proto"), Frame::Integer(3))])));
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
#[cfg(feature = "tokio")]
pub mod codec;
mod decode;
mod encode;
mod error;
mod frame;
mod limits;
mod nested;
mod number;
mod request;
#[cfg(feature = "server")]
pub mod server;
mod split_args;
#[cfg(feature = "testkit")]
pub mod testkit;
mod whole;

pub use decode::Decoder;
pub use error::ProtocolError;
pub use frame::Frame;
pub use limits::{Limits, PREALLOCATE, UNAUTHENTICATED_ARGS, UNAUTHENTICATED_BULK};
pub use request::RequestParser;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
