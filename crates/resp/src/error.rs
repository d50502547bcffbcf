//! Protocol errors, with the texts Redis sends for them.
//!
//! A protocol error is fatal to a connection: the stream has lost its framing, so nothing after
//! the bad bytes can be trusted. Redis replies `-ERR <text>` and closes; so does our server.

/// Why bytes are not valid RESP. The texts of the request errors are Redis 7.0's, word for
/// word, so clients and test suites that match on them see what they expect.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// An inline command line longer than the inline limit (64 KB in Redis).
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// A `*` count line that runs past the inline limit without its CR.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// A `$` length line that runs past the inline limit without its CR.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// An inline command with an unclosed quote, or a closing quote not followed by a space.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A `*` count that is not a number or is larger than the limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// More than 10 arguments from a client that has not authenticated.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// A `$` length that is not a number, is negative, or exceeds the bulk limit.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// A bulk over 16384 bytes from a client that has not authenticated.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// A request array element that is not a bulk string.
    #[error("Protocol error: expected '$', got '{}'", printable(*.0))]
    ExpectedBulk(u8),
    /// A frame starting with a byte that is no RESP type.
    #[error("Protocol error: invalid type byte '{}'", printable(*.0))]
    InvalidType(u8),
    /// A line longer than the line limit (simple strings, errors, numbers).
    #[error("Protocol error: line too long")]
    LineTooLong,
    /// A number line (integer, length, count) that is not a valid integer.
    #[error("Protocol error: invalid integer")]
    InvalidInteger,
    /// A double that is not a number, `inf`, `-inf` or `nan`.
    #[error("Protocol error: invalid double")]
    InvalidDouble,
    /// A boolean other than `#t` or `#f`.
    #[error("Protocol error: invalid boolean")]
    InvalidBoolean,
    /// A big number that is not an optional `-` and decimal digits.
    #[error("Protocol error: invalid big number")]
    InvalidBigNumber,
    /// A verbatim string without its 3-byte format and colon.
    #[error("Protocol error: invalid verbatim string")]
    InvalidVerbatim,
    /// A null (`_`) with something before its CRLF.
    #[error("Protocol error: invalid null")]
    InvalidNull,
    /// A line or bulk payload not ended by CRLF.
    #[error("Protocol error: expected CRLF")]
    MissingCrlf,
    /// An aggregate count larger than the element limit.
    #[error("Protocol error: invalid aggregate length")]
    InvalidAggregateLength,
    /// Aggregates nested deeper than the depth limit.
    #[error("Protocol error: nesting too deep")]
    TooDeep,
    /// A RESP3 streamed string or aggregate (`$?`, `*?`), which this codec does not accept.
    #[error("Protocol error: streamed types are not supported")]
    Streamed,
}

/// The byte as Redis's `%c` shows it in an error, with CR and LF made spaces so the reply
/// stays one line.
fn printable(byte: u8) -> char {
    match byte {
        b'\r' | b'\n' => ' ',
        other => char::from(other),
    }
}
