//! Entry IDs, `ms-seq`, and how clients may write them.

use std::fmt;

/// An entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct StreamId {
    pub(crate) ms: u64,
    pub(crate) seq: u64,
}

impl StreamId {
    /// `0-0`, below every entry.
    pub(crate) const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest ID.
    pub(crate) const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    /// The next ID, or `None` after [`StreamId::MAX`].
    pub(crate) fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId { ms: ms + 1, seq: 0 }),
            (ms, seq) => Some(StreamId { ms, seq: seq + 1 }),
        }
    }

    /// The previous ID, or `None` before `0-0`.
    pub(crate) fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId { ms: ms - 1, seq: u64::MAX }),
            (ms, seq) => Some(StreamId { ms, seq: seq - 1 }),
        }
    }

    /// The ID as `XADD` and every reply spell it.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An ID argument as a client wrote it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ParsedId {
    pub(crate) id: StreamId,
    /// False for `ms-*` (only `XADD` accepts it): the sequence is to be generated.
    pub(crate) seq_given: bool,
}

/// How an ID argument may be written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IdSyntax {
    /// The sequence to assume when only `ms` is given.
    pub(crate) missing_seq: u64,
    /// Whether `-` and `+` (the smallest and largest IDs) are refused.
    pub(crate) strict: bool,
    /// Whether `ms-*` is accepted.
    pub(crate) seq_star: bool,
}

/// Parses `ms`, `ms-seq`, `-`, `+` or (if allowed) `ms-*`, as Redis's
/// `streamGenericParseIDOrReply` does.
pub(crate) fn parse_id(text: &[u8], syntax: IdSyntax) -> Option<ParsedId> {
    if text.len() > 127 {
        return None;
    }
    match text {
        b"-" | b"+" if syntax.strict => return None,
        b"-" => return Some(ParsedId { id: StreamId::MIN, seq_given: true }),
        b"+" => return Some(ParsedId { id: StreamId::MAX, seq_given: true }),
        _ => {}
    }
    let (ms, seq) = match text.iter().position(|&b| b == b'-') {
        Some(dash) => (&text[..dash], Some(&text[dash + 1..])),
        None => (text, None),
    };
    let ms = parse_u64(ms)?;
    let (seq, seq_given) = match seq {
        None => (syntax.missing_seq, true),
        Some(b"*") if syntax.seq_star => (0, false),
        Some(seq) => (parse_u64(seq)?, true),
    };
    Some(ParsedId { id: StreamId { ms, seq }, seq_given })
}

/// An unsigned decimal, as Redis's `string2ull` reads one (no sign, no spaces).
fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}
