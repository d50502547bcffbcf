//! Property tests: whatever is encoded decodes to the same frame, however the bytes are split
//! into reads; and no input, however hostile, makes a decoder panic.

use byo_resp::testkit::{blob_strategy as blob, frame_strategy as frame, reads};
use byo_resp::{Decoder, Frame, RequestParser};
use bytes::BytesMut;
use proptest::prelude::*;

/// Feeds `bytes` to a decoder in reads that end at `cuts`, collecting every frame.
fn decode_in_reads(bytes: &[u8], cuts: &[usize]) -> Vec<Frame> {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for read in reads(bytes, cuts) {
        buf.extend_from_slice(read);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            frames.push(frame);
        }
    }
    assert!(buf.is_empty() && !decoder.is_mid_frame());
    frames
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_in_any_reads_is_the_identity(
        frames in proptest::collection::vec(frame(), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut bytes = Vec::new();
        frames.iter().for_each(|f| f.encode(&mut bytes));
        let decoded = decode_in_reads(&bytes, &cuts);
        // Compared as bytes, since NaN is not equal to itself.
        let mut again = Vec::new();
        decoded.iter().for_each(|f| f.encode(&mut again));
        prop_assert_eq!(decoded.len(), frames.len());
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn requests_encoded_as_arrays_of_bulks_parse_back(
        commands in proptest::collection::vec(proptest::collection::vec(blob(), 1..6), 1..5),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut bytes = Vec::new();
        for args in &commands {
            Frame::Array(args.iter().cloned().map(Frame::Bulk).collect()).encode(&mut bytes);
        }
        let mut parser = RequestParser::default();
        let mut buf = BytesMut::new();
        let mut parsed = Vec::new();
        for read in reads(&bytes, &cuts) {
            buf.extend_from_slice(read);
            while let Some(args) = parser.parse(&mut buf, true).unwrap() {
                parsed.push(args);
            }
        }
        prop_assert_eq!(parsed, commands);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut decoder = Decoder::default();
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
        let mut buf = BytesMut::from(&bytes[..]);
        let mut parser = RequestParser::default();
        while let Ok(Some(_)) = parser.parse(&mut buf, false) {}
    }

    #[test]
    fn corrupting_an_encoding_never_panics(
        frame in frame(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = frame.to_bytes();
        for (at, byte) in flips {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        let mut buf = BytesMut::from(&bytes[..]);
        let mut decoder = Decoder::default();
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
    }
}

proptest! {
    #[test]
    fn integer_lines_accept_exactly_the_canonical_spelling(
        text in prop_oneof!["-?[0-9]{1,21}", "[-+ 0-9?a]{0,6}", any::<i64>().prop_map(|n| n.to_string())],
    ) {
        let canonical = text.parse::<i64>().ok().filter(|n| n.to_string() == text);
        for kind in [":", "*"] {
            let mut buf = BytesMut::from(format!("{kind}{text}\r\n").as_bytes());
            let got = Decoder::default().decode(&mut buf);
            match (kind, canonical) {
                (":", Some(n)) => prop_assert_eq!(got, Ok(Some(Frame::Integer(n)))),
                (":", None) => prop_assert!(got.is_err()),
                (_, Some(n)) if n > 0 && n <= i64::from(i32::MAX) => {
                    prop_assert_eq!(got, Ok(None)) // waits for its elements
                }
                (_, Some(0)) => prop_assert_eq!(got, Ok(Some(Frame::Array(vec![])))),
                (_, Some(-1)) => prop_assert_eq!(got, Ok(Some(Frame::NullArray))),
                _ => prop_assert!(got.is_err(), "{text:?}: {got:?}"),
            }
        }
    }
}
