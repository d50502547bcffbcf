//! The fast path for whole arrays of bulk strings against the resumable path: the same bytes,
//! delivered in one read or one byte per read, must give the same frames and then the same
//! error or the same wait. One byte per read never shows the decoders a whole array, so the
//! second run is the resumable path alone; the inputs are arrays of bulks with a few bytes
//! overwritten by the ones that matter to the scan, under default and tight limits.

use byo_resp::testkit::blob_strategy as blob;
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

/// Arrays of bulks, encoded back to back, with some bytes overwritten and maybe cut short.
fn damaged_commands() -> impl Strategy<Value = Vec<u8>> {
    let commands = proptest::collection::vec(proptest::collection::vec(blob(), 0..5), 1..4);
    let flip = (any::<usize>(), prop::sample::select(b"0129-*$:\r\nx".to_vec()));
    (commands, proptest::collection::vec(flip, 0..3), any::<usize>(), any::<bool>()).prop_map(
        |(commands, flips, cut, truncate)| {
            let mut bytes = Vec::new();
            for args in commands {
                Frame::Array(args.into_iter().map(Frame::Bulk).collect()).encode(&mut bytes);
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

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0..3usize, 0..12usize, 0..3usize).prop_map(|(max_elements, max_bulk, max_depth)| {
            Limits { max_elements, max_bulk, max_depth, ..Limits::default() }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn the_decoder_gives_the_same_frames_whole_or_byte_by_byte(
        bytes in damaged_commands(),
        limits in limits(),
    ) {
        let outcome = |read| {
            let mut decoder = Decoder::new(limits);
            run(&bytes, read, |buf| decoder.decode(buf))
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
