//! The fast path for any aggregate that has arrived whole, nested or not.
//!
//! [`crate::whole`] takes the commonest frame, a flat array of bulk strings. Replies are often
//! richer: `EXEC` answers an array of replies, `XRANGE` arrays of `[id, [field, value, ...]]`,
//! `HGETALL` in RESP3 a map, `MGET` bulks mixed with nulls. On the resumable path each of
//! their elements is a step of the state machine: a stack entry pushed and popped per
//! aggregate, its items moved into a vector that grows, an `advance` of the buffer per line,
//! a split and a freeze per payload. When the whole frame is already in the buffer, none of
//! that bookkeeping is needed, and two recursive passes over it do the work:
//!
//! ```text
//!   *2\r\n:1\r\n*2\r\n$1\r\na\r\n_\r\n
//!
//!   1. measure:  read every line in place, check it against the limits, find the end (26)
//!                and whether any value will point into the bytes (yes: the bulk "a");
//!                nothing allocated, nothing consumed
//!   2. build:    split the 26 bytes off in one piece (or, if no value points into them,
//!                skip them), then read them again: each aggregate's vector allocated at its
//!                exact size, each payload a slice of the piece
//! ```
//!
//! As in `whole`, the measure accepts only what it is sure of: canonical numbers, CRLF line
//! ends, the limits the decoder was given. An attribute, a streamed aggregate, an uncommon
//! spelling, a frame still arriving or one that breaks a limit makes it give up with nothing
//! consumed, and the resumable path decodes, or refuses, the same bytes. Errors are found and
//! worded in one place only.
//!
//! The two passes recurse once per level of nesting, so they stop at [`MAX_FAST_DEPTH`]
//! whatever the configured limit: a deeper frame takes the resumable path, whose stack is a
//! vector, and cannot exhaust the thread's.

use bytes::{Buf, Bytes, BytesMut};

use crate::decode::{is_big_number, plain_line};
use crate::frame::Frame;
use crate::limits::Limits;
use crate::number::{NumberLine, number_line};
use crate::whole::length_line;

/// The deepest nesting the fast path takes (the default `max_depth`). Each level is a stack
/// frame of each pass: about 450 bytes for the build in a release build, so 128 levels take
/// under 64 KB of the thread's stack.
pub(crate) const MAX_FAST_DEPTH: usize = 128;

/// Decodes the aggregate at the front of `buf` if all of it has arrived and the measure
/// accepts it, consuming exactly its bytes. Otherwise returns `None` with `buf` untouched.
pub(crate) fn decode(buf: &mut BytesMut, limits: &Limits) -> Option<Frame> {
    let measure = Measure { limits, max_depth: limits.max_depth.min(MAX_FAST_DEPTH) };
    let shape = measure.aggregate(buf, 0, 0)?;
    let mut frame = None;
    if !shape.shares {
        // Numbers, nulls, booleans, doubles: nothing points into the bytes, so they need
        // no shared handle (which would allocate its header) and can simply be skipped.
        Build { bytes: buf, whole: None }.aggregate(0, &mut frame)?;
        buf.advance(shape.end);
        return frame;
    }
    let whole = buf.split_to(shape.end).freeze();
    let build = Build { bytes: &whole, whole: Some(&whole) };
    if build.aggregate(0, &mut frame).is_none() {
        // The build reads only what the measure accepted, so this cannot happen. If it did,
        // the partly built frame is already gone; the bytes go back for the resumable path.
        put_back(buf, whole);
    }
    frame
}

/// Puts `front`, split off the front of `buf`, back in front of it. The two still share one
/// allocation, so neither can take the other back in place: this copies both.
fn put_back(buf: &mut BytesMut, front: Bytes) {
    let mut whole = BytesMut::with_capacity(front.len() + buf.len());
    whole.extend_from_slice(&front);
    whole.extend_from_slice(buf);
    *buf = whole;
}

/// What the measure learned about an element.
#[derive(Clone, Copy)]
struct Shape {
    /// The offset just past it.
    end: usize,
    /// Whether it, or anything inside it, holds bytes of the input.
    shares: bool,
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
    /// resumable path would read it; `None` for anything that path would not accept, or might
    /// word differently. Scalars are measured in the loop; only a nested aggregate is a call.
    fn aggregate(&self, bytes: &[u8], at: usize, depth: usize) -> Option<Shape> {
        let kind = *bytes.get(at)?;
        if bytes.get(at + 1) == Some(&b'-') {
            // `*-1`, RESP2's null array, is the only negative count there is.
            return (kind == b'*' && bytes.get(at..at + 5)? == b"*-1\r\n")
                .then_some(Shape { end: at + 5, shares: false });
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
        let mut shares = false;
        for _ in 0..elements {
            let kind = *bytes.get(next)?;
            let inner = if is_aggregate(kind) {
                self.aggregate(bytes, next, depth + 1)?
            } else {
                self.scalar(bytes, next, kind)?
            };
            shares |= inner.shares;
            next = inner.end;
        }
        Some(Shape { end: next, shares })
    }

    #[inline(always)]
    fn scalar(&self, bytes: &[u8], at: usize, kind: u8) -> Option<Shape> {
        let plain = |end| Some(Shape { end, shares: false });
        match kind {
            b':' => match number_line(&bytes[at..]) {
                NumberLine::Number(_, cr) => plain(at + cr + 2),
                _ => None,
            },
            b'$' | b'!' | b'=' => {
                if bytes.get(at + 1) == Some(&b'-') {
                    // `$-1`, RESP2's null bulk, is the only negative length there is.
                    return (kind == b'$' && bytes.get(at..at + 5)? == b"$-1\r\n")
                        .then_some(Shape { end: at + 5, shares: false });
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
                Some(Shape { end: end + 2, shares: true })
            }
            b'+' | b'-' | b'(' | b'_' | b'#' | b',' => {
                let cr = line_end(bytes, at, self.limits.max_line)?;
                let line = &bytes[at + 1..cr];
                let valid = match kind {
                    b'+' | b'-' => true,
                    b'(' => is_big_number(line),
                    _ => plain_line(kind, line).is_ok(),
                };
                let shares = matches!(kind, b'+' | b'-' | b'(');
                valid.then_some(Shape { end: cr + 2, shares })
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

/// The second pass: builds what the measure accepted.
struct Build<'a> {
    bytes: &'a [u8],
    /// The piece split off the buffer, for payloads to be slices of; `None` when the measure
    /// found that nothing points into it.
    whole: Option<&'a Bytes>,
}

/// Where a built value goes: its aggregate's vector, or the caller.
///
/// A value is put where it belongs rather than returned: returned, a 40-byte frame is written
/// to the stack a field at a time and read back, to be moved, in wider loads that cannot be
/// forwarded from those stores and wait for them to reach the cache. With frames returned, a
/// third of the build's time went to such loads. (A move into a vector still has one.)
trait Sink {
    fn put(&mut self, frame: Frame);
}

impl Sink for Vec<Frame> {
    #[inline(always)]
    fn put(&mut self, frame: Frame) {
        self.push(frame);
    }
}

impl Sink for Option<Frame> {
    fn put(&mut self, frame: Frame) {
        *self = Some(frame);
    }
}

/// A map's pairs, built a key and then its value at a time.
struct Pairs {
    pairs: Vec<(Frame, Frame)>,
    key: Option<Frame>,
}

impl Sink for Pairs {
    fn put(&mut self, frame: Frame) {
        match self.key.take() {
            None => self.key = Some(frame),
            Some(key) => self.pairs.push((key, frame)),
        }
    }
}

impl Build<'_> {
    /// Builds the aggregate at `at` into `out`; returns the offset just past it.
    fn aggregate(&self, at: usize, out: &mut impl Sink) -> Option<usize> {
        let kind = *self.bytes.get(at)?;
        if self.bytes.get(at + 1) == Some(&b'-') {
            out.put(Frame::NullArray);
            return Some(at + 5);
        }
        let (count, mut next) = length_line(self.bytes, at)?;
        if kind == b'%' {
            let mut pairs = Pairs { pairs: Vec::with_capacity(count), key: None };
            for _ in 0..count * 2 {
                next = self.element(next, &mut pairs)?;
            }
            out.put(Frame::Map(pairs.pairs));
            return Some(next);
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            next = self.element(next, &mut items)?;
        }
        // A `put` per kind: one `put` of a `match` built the frame on the stack first and was
        // 3% slower on 64 nested arrays.
        match kind {
            b'*' => out.put(Frame::Array(items)),
            b'~' => out.put(Frame::Set(items)),
            _ => out.put(Frame::Push(items)),
        }
        Some(next)
    }

    /// Builds the element at `at` into `out`: a scalar here, an aggregate by a call.
    #[inline(always)]
    fn element(&self, at: usize, out: &mut impl Sink) -> Option<usize> {
        let bytes = self.bytes;
        let kind = *bytes.get(at)?;
        match kind {
            b':' => match number_line(&bytes[at..]) {
                NumberLine::Number(n, cr) => {
                    out.put(Frame::Integer(n));
                    return Some(at + cr + 2);
                }
                _ => return None,
            },
            b'$' | b'!' | b'=' => {
                if bytes.get(at + 1) == Some(&b'-') {
                    out.put(Frame::NullBulk);
                    return Some(at + 5);
                }
                let (len, start) = length_line(bytes, at)?;
                let end = start + len;
                out.put(match kind {
                    b'$' => Frame::Bulk(self.slice(start, end)?),
                    b'!' => Frame::BlobError(self.slice(start, end)?),
                    _ => {
                        let format = bytes.get(start..start + 3)?.try_into().ok()?;
                        Frame::Verbatim { format, text: self.slice(start + 4, end)? }
                    }
                });
                return Some(end + 2);
            }
            _ if is_aggregate(kind) => return self.aggregate(at, out),
            _ => {}
        }
        // A line, which the measure has checked against the limit already.
        let cr = line_end(bytes, at, usize::MAX)?;
        out.put(match kind {
            b'+' => Frame::Simple(self.slice(at + 1, cr)?),
            b'-' => Frame::Error(self.slice(at + 1, cr)?),
            b'(' => Frame::BigNumber(self.slice(at + 1, cr)?),
            _ => plain_line(kind, &bytes[at + 1..cr]).ok()?,
        });
        Some(cr + 2)
    }

    /// The payload at `start..end`, a slice of the piece.
    fn slice(&self, start: usize, end: usize) -> Option<Bytes> {
        Some(self.whole?.slice(start..end))
    }
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
            (b"*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n", Limits::default()), // an attribute
            (b"*?\r\n:1\r\n.\r\n", Limits::default()),              // streamed
            (b"*1\r\n:01\r\n", Limits::default()),                  // not canonical
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
