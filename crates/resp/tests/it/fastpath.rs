//! The fast paths for whole aggregates against the resumable path: the same bytes, delivered
//! in one read or one byte per read, must give the same frames and then the same error or the
//! same wait. One byte per read never shows the decoders a whole aggregate with elements, so
//! the second run is the resumable path alone. The inputs have a few bytes overwritten by
//! ones that matter to the scans, under default and tight limits: arrays of bulks for the flat
//! path ([`crate::whole`]), and any frames nested four deep for the other (`nested`).

use byo_resp::testkit::{blob_strategy as blob, frame_strategy as any_frame};
use byo_resp::{Decoder, Frame, Limits, ProtocolError, RequestParser};
use bytes::BytesMut;
use proptest::prelude::*;

/// What a decoder made of some bytes: the frames, then how it stopped.
type Outcome<T> = (Vec<T>, Result<(), ProtocolError>);

/// Feeds `bytes` in reads of `read` bytes to `step`, which decodes what it can from the buffer.
fn run<T>(
    bytes: &[u8],
    read: usize,
    mut step: impl FnMut(&mut BytesMut) -> Result<Option<T>, ProtocolError>,
) -> Outcome<T> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in bytes.chunks(read.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match step(&mut buf) {
                Ok(Some(value)) => out.push(value),
                Ok(None) => break,
                Err(e) => return (out, Err(e)),
            }
        }
    }
    (out, Ok(()))
}

/// `frames`, encoded back to back, with some bytes overwritten by bytes from `alphabet` and
/// maybe cut short.
fn damaged(
    frames: impl Strategy<Value = Vec<Frame>>,
    alphabet: &[u8],
) -> impl Strategy<Value = Vec<u8>> {
    let flip = (any::<usize>(), prop::sample::select(alphabet.to_vec()));
    (frames, proptest::collection::vec(flip, 0..3), any::<usize>(), any::<bool>()).prop_map(
        |(frames, flips, cut, truncate)| {
            let mut bytes = Vec::new();
            for frame in frames {
                frame.encode(&mut bytes);
            }
            for (at, byte) in flips {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            if truncate {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            bytes
        },
    )
}

/// Arrays of bulks, damaged with the bytes that matter to their scan.
fn damaged_commands() -> impl Strategy<Value = Vec<u8>> {
    let command = proptest::collection::vec(blob(), 0..5)
        .prop_map(|args| Frame::Array(args.into_iter().map(Frame::Bulk).collect()));
    damaged(proptest::collection::vec(command, 1..4), b"0129-*$:\r\nx")
}

/// Any frames, damaged with every type byte and the bytes of numbers and line ends.
fn damaged_frames() -> impl Strategy<Value = Vec<u8>> {
    damaged(proptest::collection::vec(any_frame(), 1..4), b"019-*$:%~>|_#,(!=+\r\nx?")
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0..3usize, 0..12usize, 0..3usize).prop_map(|(max_elements, max_bulk, max_depth)| {
            Limits { max_elements, max_bulk, max_depth, ..Limits::default() }
        }),
    ]
}

/// As [`limits`], with short lines too. Not for the request parser: like Redis, it judges a
/// header line's length by what has arrived, so a line past the limit is refused or not
/// depending on where the reads stop.
fn decoder_limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        limits(),
        (limits(), 1..12usize).prop_map(|(limits, max_line)| Limits { max_line, ..limits }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn the_decoder_gives_the_same_frames_whole_or_byte_by_byte(
        bytes in damaged_commands(),
        limits in decoder_limits(),
    ) {
        let outcome = |read| {
            let mut decoder = Decoder::new(limits);
            run(&bytes, read, |buf| decoder.decode(buf))
        };
        prop_assert_eq!(outcome(bytes.len()), outcome(1));
    }

    #[test]
    fn the_decoder_gives_the_same_nested_frames_whole_or_byte_by_byte(
        bytes in damaged_frames(),
        limits in decoder_limits(),
    ) {
        // Compared encoded: a double that is NaN is not equal to itself.
        let outcome = |read| {
            let mut decoder = Decoder::new(limits);
            let (frames, end) = run(&bytes, read, |buf| decoder.decode(buf));
            (frames.iter().map(Frame::to_bytes).collect::<Vec<_>>(), end)
        };
        prop_assert_eq!(outcome(bytes.len()), outcome(1));
    }

    #[test]
    fn the_request_parser_gives_the_same_commands_whole_or_byte_by_byte(
        bytes in damaged_commands(),
        limits in limits(),
        authenticated in any::<bool>(),
    ) {
        let outcome = |read| {
            let mut parser = RequestParser::new(limits);
            run(&bytes, read, |buf| parser.parse(buf, authenticated))
        };
        prop_assert_eq!(outcome(bytes.len()), outcome(1));
    }
}
