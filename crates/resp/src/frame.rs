//! One RESP value: what a client receives, and (as arrays of bulk strings) what it sends.
//!
//! RESP2 has five types, each introduced by one byte and ended by CRLF:
//!
//! ```text
//!   +OK\r\n                      simple string (no CR or LF inside)
//!   -ERR unknown command\r\n     error
//!   :1000\r\n                    integer (i64)
//!   $5\r\nhello\r\n              bulk string: length, then that many bytes (binary-safe)
//!   *2\r\n:1\r\n:2\r\n           array: count, then that many values
//!   $-1\r\n   *-1\r\n            RESP2's two nulls
//! ```
//!
//! RESP3 (after `HELLO 3`) adds types so that a client no longer has to guess what a flat array
//! means:
//!
//! ```text
//!   _\r\n                        null
//!   #t\r\n                       boolean
//!   ,3.14\r\n  ,inf\r\n          double
//!   (3492890328409238509324850943850943825024385\r\n    big number
//!   !21\r\nSYNTAX invalid syntax\r\n                 blob error
//!   =15\r\ntxt:Some string\r\n  verbatim string: a 3-byte format, a colon, the text
//!   %2\r\n ...4 values...        map: count of pairs
//!   ~2\r\n ...                   set
//!   >3\r\n ...                   push: out-of-band data such as pub/sub messages
//!   |1\r\n ...2 values... then the value they describe: attributes
//! ```
//!
//! Bulk payloads are [`Bytes`]: slices of the buffer they were read into, not copies.

use bytes::Bytes;

/// A RESP2 or RESP3 value.
///
/// The two RESP2 nulls and RESP3's null are kept apart so that what is decoded encodes back to
/// the same bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+`: a short, binary-unsafe status line such as `OK`.
    Simple(Bytes),
    /// `-`: an error; by convention its first word is a code (`ERR`, `WRONGTYPE`, ...).
    Error(Bytes),
    /// `:`: a signed 64-bit integer.
    Integer(i64),
    /// `$`: a binary-safe string.
    Bulk(Bytes),
    /// `*`: an ordered list of values.
    Array(Vec<Frame>),
    /// `$-1`: RESP2's null bulk string.
    NullBulk,
    /// `*-1`: RESP2's null array.
    NullArray,
    /// `_`: RESP3's null.
    Null,
    /// `#`: RESP3 boolean.
    Boolean(bool),
    /// `,`: RESP3 double, including `inf`, `-inf` and `nan`.
    Double(f64),
    /// `(`: RESP3 integer of any size, as its decimal digits (with an optional `-`).
    BigNumber(Bytes),
    /// `!`: RESP3 binary-safe error.
    BlobError(Bytes),
    /// `=`: RESP3 string with a 3-byte format such as `txt` or `mkd`.
    Verbatim {
        /// The format, such as `txt`.
        format: [u8; 3],
        /// The text after `format:`.
        text: Bytes,
    },
    /// `%`: RESP3 map, as its pairs in the order they came.
    Map(Vec<(Frame, Frame)>),
    /// `~`: RESP3 set (order as sent; the protocol does not promise uniqueness).
    Set(Vec<Frame>),
    /// `>`: RESP3 push: data the server sends unasked (pub/sub messages, invalidations).
    Push(Vec<Frame>),
    /// `|`: RESP3 attributes and the value they annotate (which follows them on the wire).
    Attribute {
        /// The attribute pairs.
        attributes: Vec<(Frame, Frame)>,
        /// The value they describe.
        value: Box<Frame>,
    },
}

impl Frame {
    /// A bulk string holding `data` (copied).
    pub fn bulk(data: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(data.as_ref()))
    }

    /// A simple string holding `text`.
    pub fn simple(text: &'static str) -> Frame {
        Frame::Simple(Bytes::from_static(text.as_bytes()))
    }

    /// An error holding `text`, such as `ERR syntax error`.
    pub fn error(text: impl Into<String>) -> Frame {
        Frame::Error(Bytes::from(text.into()))
    }

    /// A command as clients send it: an array of bulk strings.
    pub fn command<I, A>(args: I) -> Frame
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        Frame::Array(args.into_iter().map(Frame::bulk).collect())
    }

    /// The bytes of a simple string, bulk string, verbatim text or either kind of error.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Frame::Simple(b) | Frame::Error(b) | Frame::Bulk(b) | Frame::BlobError(b) => Some(b),
            Frame::Verbatim { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Whether this is one of the three nulls.
    pub fn is_null(&self) -> bool {
        matches!(self, Frame::Null | Frame::NullBulk | Frame::NullArray)
    }
}
