//! Arbitrary bytes, delivered in arbitrary reads, to the general decoder: never a panic; the
//! same frames whatever the reads; and every frame it accepts encodes to bytes that decode
//! back to the same encoding.
#![no_main]

use byo_resp::{Decoder, Frame, Limits};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

/// Decodes `data` in reads of the given sizes; the frames, and whether it ended in an error.
fn decode(data: &[u8], read: usize) -> (Vec<Frame>, bool) {
    let limits = Limits { max_depth: 16, ..Limits::default() };
    let mut decoder = Decoder::new(limits);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in data.chunks(read.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    (frames, false)
}

fuzz_target!(|input: &[u8]| {
    let Some((&read, data)) = input.split_first() else { return };
    let (whole, failed) = decode(data, data.len());
    let (pieces, failed_in_pieces) = decode(data, usize::from(read % 16));
    assert_eq!(failed, failed_in_pieces);
    let encode = |frames: &[Frame]| {
        let mut out = Vec::new();
        frames.iter().for_each(|f| f.encode(&mut out));
        out
    };
    let bytes = encode(&whole);
    assert_eq!(bytes, encode(&pieces));
    let (again, failed_again) = decode(&bytes, bytes.len());
    assert!(!failed_again);
    assert_eq!(encode(&again), bytes);
});
