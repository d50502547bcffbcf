//! The fast path for any aggregate that has arrived whole, nested or not.
//!
//! [`crate::whole`] takes the commonest frame, a flat array of bulk strings. Replies are often
//! richer: `EXEC` answers an array of replies, `XRANGE` arrays of `[id, [field, value, ...]]`,
//! `HGETALL` in RESP3 a map, `MGET` bulks mixed with nulls. On the resumable path each of
//! their elements is a step of the state machine: a stack entry pushed and popped per
//! aggregate, its items moved into a vector that grows, an `advance` of the buffer per line,
//! a split and a freeze per payload. When the whole frame is already in the buffer, none of
//! that bookkeeping is needed, and a recursive build reads it and makes its frames at once,
//! each aggregate's vector allocated at its exact size.
//!
//! A payload (a bulk, a simple string) is a slice of a piece split off the buffer, and that
//! split needs the frame's end before the first slice can be taken. A frame with payloads
//! therefore takes two passes, a frame of numbers, nulls, booleans and doubles only one:
//!
//! ```text
//!   *2\r\n:1\r\n*2\r\n:2\r\n_\r\n          one pass: build, then skip the 19 bytes
//!
//!   *2\r\n:1\r\n*2\r\n$1\r\na\r\n_\r\n     1. measure: read every line in place, check it, find
//!                                       the end (22); nothing allocated, nothing consumed
//!                                    2. split the 22 bytes off, build from them, the bulk
//!                                       "a" a slice of them
//! ```
//!
//! The one pass is tried first and gives up at the first value that would point into the
//! bytes, which it sees before it allocates an aggregate that starts with one.
//!
//! As in `whole`, both passes accept only what they are sure of: canonical numbers, CRLF line
//! ends, the limits the decoder was given. An attribute, a streamed aggregate, an uncommon
//! spelling, a frame still arriving or one that breaks a limit makes them give up with nothing
//! consumed, and the resumable path decodes, or refuses, the same bytes. Errors are found and
//! worded in one place only.
//!
//! The passes recurse once per level of nesting, so they stop at [`MAX_FAST_DEPTH`] whatever
//! the configured limit: a deeper frame takes the resumable path, whose stack is a vector,
//! and cannot exhaust the thread's.

use bytes::{Buf, Bytes, BytesMut};

use crate::decode::{is_big_number, plain_line};
use crate::frame::Frame;
use crate::limits::Limits;
use crate::number::{NumberLine, number_line};
use crate::whole::length_line;

/// The deepest nesting the fast path takes (the default `max_depth`). Each level is a stack
/// frame of each pass: about 270 bytes for the build and 160 for the measure in a release
/// build, so 128 levels take under 64 KB of the thread's stack.
pub(crate) const MAX_FAST_DEPTH: usize = 128;

/// Decodes the aggregate at the front of `buf` if all of it has arrived and the fast path
/// accepts it, consuming exactly its bytes. Otherwise returns `None` with `buf` untouched.
pub(crate) fn decode(buf: &mut BytesMut, limits: &Limits) -> Option<Frame> {
    let max_depth = limits.max_depth.min(MAX_FAST_DEPTH);
    let mut frame = Frame::Null;
    let plain = Build { bytes: buf, whole: None, limits, max_depth };
    if let Some(end) = plain.aggregate(0, 0, &mut frame) {
        buf.advance(end);
        return Some(frame);
    }
    let end = (Measure { limits, max_depth }).aggregate(buf, 0, 0)?;
    let whole = buf.split_to(end).freeze();
    let mut frame = Frame::Null;
    let sliced = Build { bytes: &whole, whole: Some(&whole), limits, max_depth };
    if sliced.aggregate(0, 0, &mut frame).is_none() {
        // The build accepts what the measure accepts, so this cannot happen. If it did, the
        // bytes go back for the resumable path.
        put_back(buf, whole);
        return None;
    }
    Some(frame)
}

/// Puts `front`, split off the front of `buf`, back in front of it. The two still share one
/// allocation, so neither can take the other back in place: this copies both.
fn put_back(buf: &mut BytesMut, front: Bytes) {
    let mut whole = BytesMut::with_capacity(front.len() + buf.len());
    whole.extend_from_slice(&front);
    whole.extend_from_slice(buf);
    *buf = whole;
}

fn is_aggregate(kind: u8) -> bool {
    matches!(kind, b'*' | b'~' | b'>' | b'%')
}

/// The first pass: checks and sizes without building.
struct Measure<'a> {
    limits: &'a Limits,
    /// The limit on nesting here: the configured one, or [`MAX_FAST_DEPTH`] if smaller.
    max_depth: usize,
}

impl Measure<'_> {
    /// Measures the aggregate whose type byte is at `at`, inside `depth` aggregates, as the
    /// resumable path would read it, and returns the offset just past it; `None` for anything
    /// that path would not accept, or might word differently. Scalars are measured in the
    /// loop; only a nested aggregate is a call.
    fn aggregate(&self, bytes: &[u8], at: usize, depth: usize) -> Option<usize> {
        let kind = *bytes.get(at)?;
        if bytes.get(at + 1) == Some(&b'-') {
            // `*-1`, RESP2's null array, is the only negative count there is.
            return (kind == b'*' && bytes.get(at..at + 5)? == b"*-1\r\n").then_some(at + 5);
        }
        let (count, mut next) = length_line(bytes, at)?;
        if count > self.limits.max_elements {
            return None;
        }
        // As on the resumable path, only an aggregate with elements counts as a level.
        if count > 0 && depth >= self.max_depth {
            return None;
        }
        let elements = if kind == b'%' { count.checked_mul(2)? } else { count };
        for _ in 0..elements {
            let kind = *bytes.get(next)?;
            next = if is_aggregate(kind) {
                self.aggregate(bytes, next, depth + 1)?
            } else {
                self.scalar(bytes, next, kind)?
            };
        }
        Some(next)
    }

    #[inline(always)]
    fn scalar(&self, bytes: &[u8], at: usize, kind: u8) -> Option<usize> {
        match kind {
            b':' => match number_line(&bytes[at..]) {
                NumberLine::Number(_, cr) => Some(at + cr + 2),
                _ => None,
            },
            b'$' | b'!' | b'=' => {
                if bytes.get(at + 1) == Some(&b'-') {
                    // `$-1`, RESP2's null bulk, is the only negative length there is.
                    return (kind == b'$' && bytes.get(at..at + 5)? == b"$-1\r\n")
                        .then_some(at + 5);
                }
                let (len, start) = length_line(bytes, at)?;
                if len > self.limits.max_bulk {
                    return None;
                }
                let end = start.checked_add(len)?;
                if bytes.get(end..end.checked_add(2)?)? != b"\r\n" {
                    return None;
                }
                if kind == b'=' && (len < 4 || bytes[start + 3] != b':') {
                    return None;
                }
                Some(end + 2)
            }
            b'+' | b'-' | b'(' | b'_' | b'#' | b',' => {
                let cr = line_end(bytes, at, self.limits.max_line)?;
                let line = &bytes[at + 1..cr];
                let valid = match kind {
                    b'+' | b'-' => true,
                    b'(' => is_big_number(line),
                    _ => plain_line(kind, line).is_ok(),
                };
                valid.then_some(cr + 2)
            }
            // Attributes, and anything the resumable path should refuse.
            _ => None,
        }
    }
}

/// The offset of the CR ending the line that starts at `at`, found as the resumable path
/// finds it (the first LF, which must follow a CR), if it is within `max_line`.
fn line_end(bytes: &[u8], at: usize, max_line: usize) -> Option<usize> {
    let lf = at + 1 + bytes.get(at + 1..)?.iter().position(|&b| b == b'\n')?;
    let cr = lf - 1;
    (cr > at && bytes[cr] == b'\r' && cr - at <= max_line).then_some(cr)
}

/// The build: reads an aggregate and makes its frame in the same pass, with the measure's
/// checks.
struct Build<'a> {
    bytes: &'a [u8],
    /// The piece split off the buffer (whose bytes `bytes` are), for payloads to be slices
    /// of. Without it, the build gives up at the first payload.
    whole: Option<&'a Bytes>,
    limits: &'a Limits,
    /// As in [`Measure`].
    max_depth: usize,
}

// Every value is built where it will stay: into a slot of its aggregate's vector, filled with
// nulls beforehand, and an aggregate's own vector inside its slot. A frame built elsewhere
// and then moved (pushed, or returned) is written a field at a time and read back in wider
// loads, which cannot be served from those pending stores and wait for them to reach the
// cache: with every value pushed, a quarter of the time of decoding 64 nested arrays went
// to those waits.
impl Build<'_> {
    /// Builds the aggregate at `at`, inside `depth` aggregates, into `slot` (a null); returns
    /// the offset just past it.
    fn aggregate(&self, at: usize, depth: usize, slot: &mut Frame) -> Option<usize> {
        let bytes = self.bytes;
        let kind = *bytes.get(at)?;
        if bytes.get(at + 1) == Some(&b'-') {
            // `*-1`, RESP2's null array, is the only negative count there is.
            (kind == b'*' && bytes.get(at..at + 5)? == b"*-1\r\n").then_some(())?;
            fill(slot, Frame::NullArray);
            return Some(at + 5);
        }
        let (count, mut next) = length_line(bytes, at)?;
        if count > self.limits.max_elements || (count > 0 && depth >= self.max_depth) {
            return None;
        }
        let elements = if kind == b'%' { count.checked_mul(2)? } else { count };
        // Every value takes three bytes at least (`_\r\n`), so a count the bytes cannot
        // hold is a frame still arriving, and a vector is never sized by more than what has
        // arrived.
        if elements > (bytes.len() - next) / 3 {
            return None;
        }
        if self.whole.is_none() && elements > 0 && is_payload(bytes, next) {
            return None; // seen before the vector is allocated
        }
        if kind == b'%' {
            fill(slot, Frame::Map(Vec::new()));
            let Frame::Map(pairs) = slot else { return None };
            fill_vec(pairs, count, || (Frame::Null, Frame::Null));
            for (key, value) in pairs.iter_mut() {
                next = self.element(next, depth, key)?;
                next = self.element(next, depth, value)?;
            }
            return Some(next);
        }
        match kind {
            b'*' => fill(slot, Frame::Array(Vec::new())),
            b'~' => fill(slot, Frame::Set(Vec::new())),
            _ => fill(slot, Frame::Push(Vec::new())),
        }
        let (Frame::Array(items) | Frame::Set(items) | Frame::Push(items)) = slot else {
            return None;
        };
        fill_vec(items, count, || Frame::Null);
        for item in items.iter_mut() {
            next = self.element(next, depth, item)?;
        }
        Some(next)
    }

    /// Builds the element at `at` into `slot` (a null): a scalar here, an aggregate by a call.
    #[inline(always)]
    fn element(&self, at: usize, depth: usize, slot: &mut Frame) -> Option<usize> {
        let bytes = self.bytes;
        let kind = *bytes.get(at)?;
        match kind {
            b':' => match number_line(&bytes[at..]) {
                NumberLine::Number(n, cr) => {
                    fill(slot, Frame::Integer(n));
                    Some(at + cr + 2)
                }
                _ => None,
            },
            b'$' | b'!' | b'=' => {
                if bytes.get(at + 1) == Some(&b'-') {
                    // `$-1`, RESP2's null bulk, is the only negative length there is.
                    (kind == b'$' && bytes.get(at..at + 5)? == b"$-1\r\n").then_some(())?;
                    fill(slot, Frame::NullBulk);
                    return Some(at + 5);
                }
                let whole = self.whole?;
                let (len, start) = length_line(bytes, at)?;
                if len > self.limits.max_bulk {
                    return None;
                }
                let end = start.checked_add(len)?;
                if bytes.get(end..end.checked_add(2)?)? != b"\r\n" {
                    return None;
                }
                fill(
                    slot,
                    match kind {
                        b'$' => Frame::Bulk(whole.slice(start..end)),
                        b'!' => Frame::BlobError(whole.slice(start..end)),
                        _ => {
                            let format = bytes.get(start..start + 3)?.try_into().ok()?;
                            if len < 4 || bytes[start + 3] != b':' {
                                return None;
                            }
                            Frame::Verbatim { format, text: whole.slice(start + 4..end) }
                        }
                    },
                );
                Some(end + 2)
            }
            b'+' | b'-' | b'(' | b'_' | b'#' | b',' => {
                let cr = line_end(bytes, at, self.limits.max_line)?;
                let line = &bytes[at + 1..cr];
                let frame = match kind {
                    b'+' => Frame::Simple(self.whole?.slice(at + 1..cr)),
                    b'-' => Frame::Error(self.whole?.slice(at + 1..cr)),
                    b'(' if is_big_number(line) => Frame::BigNumber(self.whole?.slice(at + 1..cr)),
                    b'(' => return None,
                    _ => plain_line(kind, line).ok()?,
                };
                fill(slot, frame);
                Some(cr + 2)
            }
            _ if is_aggregate(kind) => self.aggregate(at, depth + 1, slot),
            // Attributes, and anything the resumable path should refuse.
            _ => None,
        }
    }
}

/// Whether the value at `at` is a scalar that points into the bytes.
fn is_payload(bytes: &[u8], at: usize) -> bool {
    match bytes.get(at) {
        Some(b'$') => bytes.get(at + 1) != Some(&b'-'),
        Some(b'!' | b'=' | b'+' | b'-' | b'(') => true,
        _ => false,
    }
}

/// Writes `frame` into `slot`, which holds a null: there is nothing to drop, and an
/// assignment would still call the drop, a call per value.
#[inline(always)]
fn fill(slot: &mut Frame, frame: Frame) {
    debug_assert!(matches!(slot, Frame::Null));
    std::mem::forget(std::mem::replace(slot, frame));
}

/// Replaces the empty vector `items` with one of `count` values made by `empty`, to be
/// written over.
#[inline(always)]
fn fill_vec<T>(items: &mut Vec<T>, count: usize, empty: impl FnMut() -> T) {
    debug_assert!(items.capacity() == 0);
    let mut filled = Vec::with_capacity(count);
    filled.resize_with(count, empty);
    std::mem::forget(std::mem::replace(items, filled));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(bytes: &[u8], limits: &Limits) -> (Option<Frame>, BytesMut) {
        let mut buf = BytesMut::from(bytes);
        let frame = decode(&mut buf, limits);
        (frame, buf)
    }

    #[test]
    fn builds_every_type_it_accepts_and_consumes_exactly_the_frame() {
        let bytes = b"*12\r\n:-5\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n+OK\r\n-ERR x\r\n_\r\n#t\r\n\
            ,1.5\r\n(-12\r\n!2\r\nno\r\n%1\r\n~1\r\n=7\r\ntxt:abc\r\n>0\r\n+next\r\n";
        let (frame, rest) = decoded(bytes, &Limits::default());
        let want = Frame::Array(vec![
            Frame::Integer(-5),
            Frame::bulk("abc"),
            Frame::NullBulk,
            Frame::NullArray,
            Frame::simple("OK"),
            Frame::error("ERR x"),
            Frame::Null,
            Frame::Boolean(true),
            Frame::Double(1.5),
            Frame::BigNumber(Bytes::from_static(b"-12")),
            Frame::BlobError(Bytes::from_static(b"no")),
            Frame::Map(vec![(
                Frame::Set(vec![Frame::Verbatim {
                    format: *b"txt",
                    text: Bytes::from_static(b"abc"),
                }]),
                Frame::Push(vec![]),
            )]),
        ]);
        assert_eq!(frame, Some(want));
        assert_eq!(&rest[..], b"+next\r\n");
    }

    #[test]
    fn leaves_the_buffer_untouched_for_anything_it_does_not_take() {
        let tight = Limits { max_elements: 2, max_bulk: 3, max_line: 4, max_depth: 2 };
        for (bytes, limits) in [
            (&b"*2\r\n:1\r\n:2"[..], Limits::default()), // still arriving
            (b"*1\r\n$3\r\nab", Limits::default()),
            (b"*1000000\r\n:1\r\n", Limits::default()), // more than the bytes can hold
            (b"*2\r\n:1\r\n$1\r\na", Limits::default()), // a payload, after a value
            (b"*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n", Limits::default()), // an attribute
            (b"*?\r\n:1\r\n.\r\n", Limits::default()),  // streamed
            (b"*1\r\n:01\r\n", Limits::default()),      // not canonical
            (b"*1\r\n$-2\r\n", Limits::default()),
            (b"~-1\r\n", Limits::default()),
            (b"*1\r\n$1\r\nab\r\n", Limits::default()), // no CRLF after the payload
            (b"*1\r\n=3\r\ntxt\r\n", Limits::default()), // a verbatim without its colon
            (b"*1\r\n#x\r\n", Limits::default()),
            (b"*1\r\n,1.5.5x\r\n", Limits::default()),
            (b"*1\r\n(1a\r\n", Limits::default()),
            (b"*1\r\n+a\rb\n", Limits::default()),
            (b"*3\r\n:1\r\n:2\r\n:3\r\n", tight), // past each limit
            (b"*1\r\n$4\r\nabcd\r\n", tight),
            (b"*1\r\n+abcd\r\n", tight),
            (b"*1\r\n*1\r\n*1\r\n:1\r\n", tight),
        ] {
            let (frame, rest) = decoded(bytes, &limits);
            assert_eq!(frame, None, "{:?}", String::from_utf8_lossy(bytes));
            assert_eq!(&rest[..], bytes);
        }
    }

    #[test]
    fn empty_aggregates_do_not_count_as_a_level() {
        let limits = Limits { max_depth: 1, ..Limits::default() };
        let (frame, _) = decoded(b"*2\r\n*0\r\n%0\r\n", &limits);
        assert_eq!(frame, Some(Frame::Array(vec![Frame::Array(vec![]), Frame::Map(vec![])])));
    }

    #[test]
    fn stops_recursing_at_its_own_depth_whatever_the_limit() {
        let limits = Limits { max_depth: 10_000, ..Limits::default() };
        let nest = |depth: usize| {
            let mut bytes = b"*1\r\n".repeat(depth);
            bytes.extend_from_slice(b":7\r\n");
            bytes
        };
        assert!(decoded(&nest(MAX_FAST_DEPTH), &limits).0.is_some());
        assert_eq!(decoded(&nest(MAX_FAST_DEPTH + 1), &limits).0, None);
    }

    #[test]
    fn put_back_restores_the_buffer() {
        let mut buf = BytesMut::from(&b"*1\r\n:1\r\nrest"[..]);
        let front = buf.split_to(8).freeze();
        put_back(&mut buf, front);
        assert_eq!(&buf[..], b"*1\r\n:1\r\nrest");
    }
}
