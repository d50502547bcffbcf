//! The general decoder on hand-written input: every type, every way to be incomplete, and
//! hostile input.

use byo_resp::{Decoder, Frame, Limits, ProtocolError};
use bytes::BytesMut;

/// Decodes all of `input` into frames, asserting that nothing is left over.
fn decode_all(input: &[u8]) -> Result<Vec<Frame>, ProtocolError> {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::from(input);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf)? {
        frames.push(frame);
    }
    assert!(buf.is_empty() && !decoder.is_mid_frame(), "left over: {buf:?}");
    Ok(frames)
}

fn one(input: &[u8]) -> Frame {
    let frames = decode_all(input).unwrap();
    assert_eq!(frames.len(), 1);
    frames.into_iter().next().unwrap()
}

#[test]
fn every_type() {
    assert_eq!(one(b"+OK\r\n"), Frame::simple("OK"));
    assert_eq!(one(b"-ERR bad\r\n"), Frame::error("ERR bad"));
    assert_eq!(one(b":-42\r\n"), Frame::Integer(-42));
    assert_eq!(one(b"$5\r\nhe\r\no\r\n"), Frame::bulk("he\r\no"));
    assert_eq!(one(b"$0\r\n\r\n"), Frame::bulk(""));
    assert_eq!(one(b"$-1\r\n"), Frame::NullBulk);
    assert_eq!(one(b"*-1\r\n"), Frame::NullArray);
    assert_eq!(one(b"*0\r\n"), Frame::Array(vec![]));
    assert_eq!(one(b"_\r\n"), Frame::Null);
    assert_eq!(one(b"#t\r\n"), Frame::Boolean(true));
    assert_eq!(one(b"#f\r\n"), Frame::Boolean(false));
    assert_eq!(one(b",1.5\r\n"), Frame::Double(1.5));
    assert_eq!(one(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
    assert_eq!(one(b",1e3\r\n"), Frame::Double(1000.0));
    assert!(matches!(one(b",nan\r\n"), Frame::Double(x) if x.is_nan()));
    assert_eq!(
        one(b"(-3492890328409238509324850943850943825024385\r\n"),
        Frame::BigNumber("-3492890328409238509324850943850943825024385".into())
    );
    assert_eq!(one(b"!9\r\nERR oops!\r\n"), Frame::BlobError("ERR oops!".into()));
    assert_eq!(
        one(b"=8\r\ntxt:a\r\nb\r\n"),
        Frame::Verbatim { format: *b"txt", text: "a\r\nb".into() }
    );
    assert_eq!(
        one(b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n_\r\n"),
        Frame::Map(vec![
            (Frame::simple("a"), Frame::Integer(1)),
            (Frame::simple("b"), Frame::Array(vec![Frame::Null])),
        ])
    );
    assert_eq!(one(b"~2\r\n:1\r\n:2\r\n"), Frame::Set(vec![Frame::Integer(1), Frame::Integer(2)]));
    assert_eq!(
        one(b">2\r\n+message\r\n$2\r\nhi\r\n"),
        Frame::Push(vec![Frame::simple("message"), Frame::bulk("hi")])
    );
    assert_eq!(
        one(b"|1\r\n+ttl\r\n:3600\r\n*1\r\n:2\r\n"),
        Frame::Attribute {
            attributes: vec![(Frame::simple("ttl"), Frame::Integer(3600))],
            value: Box::new(Frame::Array(vec![Frame::Integer(2)])),
        }
    );
    assert_eq!(
        one(b"|0\r\n:1\r\n"),
        Frame::Attribute { attributes: vec![], value: Box::new(Frame::Integer(1)) }
    );
    assert_eq!(one(b"%0\r\n"), Frame::Map(vec![]));
}

#[test]
fn pipelined_frames_come_out_one_at_a_time() {
    let frames = decode_all(b"+a\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n").unwrap();
    assert_eq!(
        frames,
        [
            Frame::simple("a"),
            Frame::Integer(1),
            Frame::Array(vec![Frame::bulk("x"), Frame::NullBulk])
        ]
    );
}

#[test]
fn every_prefix_is_incomplete_and_consumes_only_whole_elements() {
    let input: &[u8] = b"*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n,2.5\r\n=7\r\ntxt:abc\r\n";
    let want = one(input);
    for cut in 0..input.len() {
        let mut decoder = Decoder::default();
        let mut buf = BytesMut::from(&input[..cut]);
        assert_eq!(decoder.decode(&mut buf), Ok(None), "cut at {cut}");
        // Whatever was consumed is remembered: the rest completes the frame.
        buf.extend_from_slice(&input[cut..]);
        assert_eq!(decoder.decode(&mut buf).unwrap().as_ref(), Some(&want), "cut at {cut}");
        assert!(buf.is_empty());
    }
}

#[test]
fn a_read_ending_between_cr_and_lf() {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::from(&b"+OK\r"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"\n");
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Frame::simple("OK"))));
}

#[test]
fn bulk_payloads_are_slices_of_the_read_buffer() {
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nabc\r\n$3\r\ndef\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let end = start + buf.len();
    let Some(Frame::Array(items)) = Decoder::default().decode(&mut buf).unwrap() else {
        panic!("not an array")
    };
    for item in items {
        let bytes = item.as_bytes().unwrap();
        let at = bytes.as_ptr() as usize;
        assert!((start..end).contains(&at), "payload was copied");
    }
}

#[test]
fn malformed_input_is_a_protocol_error() {
    for (input, want) in [
        (&b"?\r\n"[..], ProtocolError::InvalidType(b'?')),
        (b"\r\n", ProtocolError::InvalidType(b'\r')), // found by the fuzzer: a panic once
        (b":12a\r\n", ProtocolError::InvalidInteger),
        (b":\r\n", ProtocolError::InvalidInteger),
        (b":01\r\n", ProtocolError::InvalidInteger),
        (b"$-2\r\n", ProtocolError::InvalidBulkLength),
        (b"$x\r\n", ProtocolError::InvalidBulkLength),
        (b"$3\r\nabcde", ProtocolError::MissingCrlf),
        (b"*-2\r\n", ProtocolError::InvalidAggregateLength),
        (b"%-1\r\n", ProtocolError::InvalidAggregateLength),
        (b"_x\r\n", ProtocolError::InvalidNull),
        (b"#x\r\n", ProtocolError::InvalidBoolean),
        (b",1.2.3\r\n", ProtocolError::InvalidDouble),
        (b",\r\n", ProtocolError::InvalidDouble),
        (b",infinity\r\n", ProtocolError::InvalidDouble),
        (b"(12x\r\n", ProtocolError::InvalidBigNumber),
        (b"(-\r\n", ProtocolError::InvalidBigNumber),
        (b"=2\r\nab\r\n", ProtocolError::InvalidVerbatim),
        (b"=4\r\ntxt-\r\n", ProtocolError::InvalidVerbatim),
        (b"$?\r\n", ProtocolError::Streamed),
        (b"*?\r\n", ProtocolError::Streamed),
        (b"+OK\n", ProtocolError::MissingCrlf),
    ] {
        assert_eq!(decode_all(input), Err(want), "{}", String::from_utf8_lossy(input));
    }
}

#[test]
fn limits_refuse_claims_before_any_allocation() {
    let limits = Limits { max_bulk: 10, max_elements: 5, max_line: 16, max_depth: 3 };
    let decode = |input: &[u8]| {
        let mut buf = BytesMut::from(input);
        Decoder::new(limits).decode(&mut buf)
    };
    assert_eq!(decode(b"$11\r\n"), Err(ProtocolError::InvalidBulkLength));
    assert!(decode(b"$10\r\n").is_ok());
    assert_eq!(decode(b"*6\r\n"), Err(ProtocolError::InvalidAggregateLength));
    assert_eq!(decode(b"%6\r\n"), Err(ProtocolError::InvalidAggregateLength));
    assert_eq!(decode(b"*1\r\n*1\r\n*1\r\n*1\r\n"), Err(ProtocolError::TooDeep));
    assert!(decode(b"*1\r\n*1\r\n*1\r\n:1\r\n").unwrap().is_some());
    assert_eq!(decode(b"+0123456789abcdefgh"), Err(ProtocolError::LineTooLong));
    assert_eq!(decode(b"+0123456789abcdefgh\r\n"), Err(ProtocolError::LineTooLong));
    assert!(decode(b"+0123456789abcde").unwrap().is_none());
}

#[test]
fn the_default_limits_are_redis_limits() {
    let limits = Limits::default();
    assert_eq!(limits.max_bulk, 512 * 1024 * 1024);
    assert_eq!(limits.max_line, 64 * 1024);
    let mut buf = BytesMut::from(&b"$536870913\r\n"[..]);
    assert_eq!(Decoder::default().decode(&mut buf), Err(ProtocolError::InvalidBulkLength));
    // A claim within the limits waits for its bytes without reserving them.
    let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\n"[..]);
    assert_eq!(Decoder::default().decode(&mut buf), Ok(None));
    assert!(buf.capacity() < 1024);
}

#[test]
fn a_long_line_arriving_byte_by_byte() {
    // Exercises the resumed CRLF search (`scanned`) at every length up to the line limit.
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(b"+");
    for _ in 0..60_000 {
        buf.extend_from_slice(b"x");
        assert_eq!(decoder.decode(&mut buf), Ok(None));
    }
    buf.extend_from_slice(b"\r\n");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().as_bytes().unwrap().len(), 60_000);
}
