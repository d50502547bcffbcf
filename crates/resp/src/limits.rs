//! The sizes a peer's input controls, each bounded.
//!
//! A decoder never allocates what the input merely *claims*: a `$536870912` header reserves
//! nothing, and the bytes are buffered only as they arrive. The limits decide when a claim is
//! refused outright.

/// Bounds on what a peer may send. The defaults are Redis 7.0's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string (Redis `proto-max-bulk-len`, 512 MB).
    pub max_bulk: usize,
    /// Most elements in one array, set, push or map (Redis: `INT_MAX`). Counts are trusted
    /// only this far, and space is reserved for at most [`PREALLOCATE`] of them up front.
    pub max_elements: usize,
    /// Longest line (inline command, simple string, number) searched for its end before the
    /// input is refused (Redis `PROTO_INLINE_MAX_SIZE`, 64 KB).
    pub max_line: usize,
    /// Deepest nesting of aggregates (requests are never nested; replies rarely deeply).
    pub max_depth: usize,
}

/// The most elements space is reserved for when an aggregate's count arrives; a larger
/// aggregate grows as its elements do.
pub const PREALLOCATE: usize = 1024;

/// The most arguments a client that must authenticate, and has not, may send in one command.
pub const UNAUTHENTICATED_ARGS: i64 = 10;

/// The longest argument a client that must authenticate, and has not, may send.
pub const UNAUTHENTICATED_BULK: i64 = 16 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk: 512 * 1024 * 1024,
            max_elements: i32::MAX as usize,
            max_line: 64 * 1024,
            max_depth: 128,
        }
    }
}
