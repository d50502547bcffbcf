//! The fast path for an array of bulk strings that has arrived whole.
//!
//! The resumable decoders consume a frame element by element, each payload split off the
//! buffer as it is recognised, so that no work is lost when a read stops mid-frame. That costs
//! a `BytesMut::split_to` and a `freeze` per payload, an `advance` per line, and the
//! bookkeeping of a state machine that could stop anywhere. Most of the time it cannot: a
//! command, or a reply such as `MGET`'s, is a flat array of bulk strings of a few dozen bytes
//! that arrives in one read, often with more behind it.
//!
//! So both decoders first try two cheaper passes when they are not in the middle of a frame:
//!
//! ```text
//!   1. scan:   *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n...    read the lines in place,
//!              args: (8, 3) (17, 1) (24, 1)   end: 27           note where each payload is
//!   2. build:  split the 27 bytes off once, freeze them, and make every argument a handle
//!              on that one piece, narrowed to its bytes: a reference count, no buffer
//!              bookkeeping
//! ```
//!
//! The scan reads only the canonical form (digits with no sign or leading zero, CRLF line
//! ends) within the limits it is given. Anything else, an array that has not all arrived, or
//! one that breaks a limit makes it give up without consuming anything, and the general path
//! takes over from the same bytes. Errors are therefore found, and worded, in one place only,
//! and the fast path can never accept what the general path would refuse.
//!
//! Arrays of more than [`MAX_WHOLE_COUNT`] elements are left to the general path too: the
//! scan's list of offsets is kept from call to call, and should not keep the size of the
//! largest array a connection ever sent.

use bytes::{Buf, Bytes, BytesMut};

/// The most elements an array may have to take the fast path (the offsets of 1,024 payloads
/// are 16 KiB). A larger array is rare and long enough that one split per payload is lost in
/// the cost of the rest.
pub(crate) const MAX_WHOLE_COUNT: usize = 1024;

/// What a scan may accept: the general path's limits for the frame at hand.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// The largest element count.
    pub(crate) max_count: usize,
    /// The largest bulk length.
    pub(crate) max_bulk: usize,
    /// Whether the two bytes after a payload must be CRLF. Redis skips them unread, and so
    /// does the request parser; the general decoder insists.
    pub(crate) strict: bool,
}

/// Reads a whole `*<n>` array of `n >= 1` bulk strings from the front of `bytes`. Returns its
/// length and fills `args` with the offset and length of each payload, or returns `None` (with
/// `args` unspecified) if the array is incomplete, not canonical, or out of bounds. `args` is
/// the caller's, reused from call to call so that the scan does not allocate.
pub(crate) fn scan_bulk_array(
    bytes: &[u8],
    bounds: Bounds,
    args: &mut Vec<(usize, usize)>,
) -> Option<usize> {
    args.clear();
    if bytes.first() != Some(&b'*') {
        return None;
    }
    let (count, mut at) = length_line(bytes, 0)?;
    if count == 0 || count > bounds.max_count || count > MAX_WHOLE_COUNT {
        return None;
    }
    for _ in 0..count {
        if bytes.get(at) != Some(&b'$') {
            return None;
        }
        let (len, start) = length_line(bytes, at)?;
        if len > bounds.max_bulk {
            return None;
        }
        // `len` is at most the bulk limit, so this cannot overflow on any real limit; checked
        // all the same, since the limit is the caller's.
        let end = start.checked_add(len)?;
        let next = end.checked_add(2)?;
        let trailer = bytes.get(end..next)?;
        if bounds.strict && trailer != b"\r\n" {
            return None;
        }
        args.push((start, len));
        at = next;
    }
    Some(at)
}

/// Splits the `len` bytes of a scanned array off the front of `buf` in one piece and returns
/// its payloads, found at `args`. Each payload starts as `wrap` of a handle on the whole piece
/// and is then narrowed to its own bytes where it lies in the vector (`bytes_of` finds the
/// handle inside a `T`).
///
/// The order of the work is chosen around a cost of the hardware rather than the instruction
/// count. A value that a call returns, such as `T::clone`'s, is written to the stack a field
/// at a time, and moving it into the vector reads it back in wider loads. A load that spans
/// several stores still waiting in the store buffer cannot take its bytes from them; it waits
/// until they reach the cache, a dozen cycles or more. So:
///
/// - each payload is a clone of the whole handle narrowed in place, not a `Bytes::slice`
///   built on the stack and then moved, which would be one more value moved right after
///   being written;
/// - clones are taken two at a time before either is moved. Taking a reference count is a
///   locked instruction, which waits for the store buffer to drain, so the second clone
///   leaves the first one's fields in the cache and only the second one's move waits;
/// - the last payload is the handle itself, built before any clone: nothing to wait for, and
///   one reference count fewer to take and release.
///
/// On 16 pipelined SETs in the codec bench, the first step took the decoder from 0.56x
/// resp-rs's time to 0.54x and the second to 0.47x (medians of six interleaved runs).
#[inline(always)]
pub(crate) fn split_whole<T: Clone>(
    buf: &mut BytesMut,
    len: usize,
    args: &[(usize, usize)],
    wrap: impl Fn(Bytes) -> T,
    bytes_of: fn(&mut T) -> Option<&mut Bytes>,
) -> Vec<T> {
    let whole = wrap(buf.split_to(len).freeze());
    let Some(mut clones) = args.len().checked_sub(1) else { return Vec::new() };
    let mut payloads = Vec::with_capacity(args.len());
    while clones >= 2 {
        let first = whole.clone();
        let second = whole.clone();
        payloads.push(first);
        payloads.push(second);
        clones -= 2;
    }
    if clones == 1 {
        payloads.push(whole.clone());
    }
    payloads.push(whole);
    for (payload, &(at, len)) in payloads.iter_mut().zip(args) {
        if let Some(bytes) = bytes_of(payload) {
            bytes.advance(at);
            bytes.truncate(len);
        }
    }
    payloads
}

/// Reads the canonical non-negative number after the type byte at `at` and the CRLF ending
/// its line: `[1-9][0-9]*` or `0`, at most 18 digits (so no overflow check is needed). Returns
/// the number and the offset just past the LF.
///
/// The decoder's [`number_line`](crate::number::number_line) reads the same spelling and signs
/// too; called here instead, it made the scan of 16 SETs 13% more instructions (callgrind),
/// for the sign handling and the three-way answer that the scan does not need.
#[inline(always)]
pub(crate) fn length_line(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let digits = bytes.get(at + 1..)?;
    let mut value = 0usize;
    let mut count = 0;
    while let Some(&byte) = digits.get(count) {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value * 10 + usize::from(digit);
        count += 1;
        if count > 18 {
            return None;
        }
    }
    let leading_zero = count > 1 && digits[0] == b'0';
    if count == 0 || leading_zero || digits.get(count..count + 2)? != b"\r\n" {
        return None;
    }
    Some((value, at + 1 + count + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOSE: Bounds = Bounds { max_count: 100, max_bulk: 100, strict: false };
    const STRICT: Bounds = Bounds { strict: true, ..LOOSE };

    fn scan(bytes: &[u8], bounds: Bounds) -> Option<(usize, Vec<(usize, usize)>)> {
        let mut args = Vec::new();
        scan_bulk_array(bytes, bounds, &mut args).map(|end| (end, args))
    }

    #[test]
    fn reads_a_whole_array_and_stops_at_its_end() {
        let bytes = b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n*1\r\n";
        assert_eq!(scan(bytes, STRICT), Some((19, vec![(8, 3), (17, 0)])));
    }

    #[test]
    fn gives_up_on_anything_the_general_path_should_judge() {
        for bytes in [
            &b"*1\r\n$3\r\nGE"[..],            // incomplete payload
            b"*1\r\n$3\r\nGET\r",              // incomplete trailer
            b"*1\r\n$3\r",                     // incomplete header
            b"*0\r\n",                         // empty: skipped or built by the general path
            b"*01\r\n$1\r\na\r\n",             // leading zero
            b"*-1\r\n",                        // null
            b"*1\r\n:1\r\n",                   // not a bulk
            b"*1\r\n$-1\r\n",                  // null bulk
            b"*1\n$1\r\na\r\n",                // LF alone
            b"*101\r\n",                       // over the count bound
            b"*1\r\n$101\r\n",                 // over the bulk bound
            b"*1\r\n$9999999999999999999\r\n", // too many digits
            b"+OK\r\n",
        ] {
            assert_eq!(scan(bytes, STRICT), None, "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn arrays_past_the_fast_paths_own_bound_are_left_to_the_general_path() {
        let wide = Bounds { max_count: usize::MAX, ..STRICT };
        let array = |count: usize| {
            let mut bytes = format!("*{count}\r\n").into_bytes();
            (0..count).for_each(|_| bytes.extend_from_slice(b"$1\r\na\r\n"));
            bytes
        };
        assert_eq!(scan(&array(MAX_WHOLE_COUNT), wide).map(|(_, args)| args.len()), Some(1024));
        assert_eq!(scan(&array(MAX_WHOLE_COUNT + 1), wide), None);
    }

    #[test]
    fn split_gives_each_payload_its_own_bytes_whatever_the_count() {
        // 0 to 5 payloads: no clone, an odd one, pairs, and pairs with an odd one left over.
        for count in 0..=5 {
            let words: Vec<String> = (0..count).map(|i| "x".repeat(i + 1)).collect();
            let mut bytes = format!("*{count}\r\n").into_bytes();
            for word in &words {
                bytes.extend_from_slice(format!("${}\r\n{word}\r\n", word.len()).as_bytes());
            }
            let args = scan(&bytes, STRICT).map(|(_, args)| args).unwrap_or_default();
            let mut buf = BytesMut::from(&bytes[..]);
            buf.extend_from_slice(b"next");
            let payloads = split_whole(&mut buf, bytes.len(), &args, |b| b, |b| Some(b));
            assert_eq!(payloads, words, "{count} payloads");
            assert_eq!(&buf[..], b"next");
        }
    }

    #[test]
    fn strict_checks_the_bytes_after_a_payload_and_loose_skips_them() {
        let bytes = b"*1\r\n$1\r\naXY";
        assert_eq!(scan(bytes, STRICT), None);
        assert_eq!(scan(bytes, LOOSE), Some((11, vec![(8, 1)])));
    }
}
