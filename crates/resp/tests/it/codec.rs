//! The `tokio_util` adapters: the same frames and commands as the decoders they wrap, with
//! protocol errors passed through.
#![cfg(feature = "tokio")]

use byo_resp::codec::{CodecError, FrameCodec, RequestCodec};
use byo_resp::{Frame, ProtocolError};
use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

#[test]
fn frame_codec_encodes_and_decodes() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::new();
    let frame = Frame::Push(vec![Frame::bulk("message"), Frame::bulk("ch"), Frame::bulk("hi")]);
    codec.encode(frame.clone(), &mut buf).unwrap();
    let whole = buf.split();
    buf.extend_from_slice(&whole[..5]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(&whole[5..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(frame));
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
}

#[test]
fn request_codec_reads_commands_and_passes_errors_through() {
    let mut codec = RequestCodec::default();
    let mut buf = BytesMut::from(&b"PING\r\n*1\r\nfoo\r\n"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), ["PING"]);
    match codec.decode(&mut buf) {
        Err(CodecError::Protocol(e)) => assert_eq!(e, ProtocolError::ExpectedBulk(b'f')),
        other => panic!("{other:?}"),
    }
}
