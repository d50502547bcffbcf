//! `tokio_util::codec` adapters, so a `Framed` socket yields frames or commands.
//!
//! The decoders already work on a `BytesMut` and return "incomplete" as `Ok(None)`, which is
//! exactly the shape `tokio_util::codec::Decoder` asks for; these types only add I/O errors.

use bytes::{Bytes, BytesMut};

use crate::decode::Decoder;
use crate::error::ProtocolError;
use crate::frame::Frame;
use crate::limits::Limits;
use crate::request::RequestParser;

/// What a framed RESP stream can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer broke the protocol; reply with it if you are the server, then close.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Decodes every RESP2/RESP3 type and encodes [`Frame`]s: a client's view.
#[derive(Debug, Default)]
pub struct FrameCodec {
    decoder: Decoder,
}

impl FrameCodec {
    /// A codec with the given limits.
    pub fn new(limits: Limits) -> Self {
        FrameCodec { decoder: Decoder::new(limits) }
    }
}

impl tokio_util::codec::Decoder for FrameCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        Ok(self.decoder.decode(src)?)
    }
}

impl tokio_util::codec::Encoder<Frame> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        frame.encode(dst);
        Ok(())
    }
}

/// Decodes commands (multibulk or inline) and encodes [`Frame`] replies: a server's view,
/// for a connection that needs no authentication.
#[derive(Debug, Default)]
pub struct RequestCodec {
    parser: RequestParser,
}

impl RequestCodec {
    /// A codec with the given limits.
    pub fn new(limits: Limits) -> Self {
        RequestCodec { parser: RequestParser::new(limits) }
    }
}

impl tokio_util::codec::Decoder for RequestCodec {
    type Item = Vec<Bytes>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Bytes>>, CodecError> {
        Ok(self.parser.parse(src, true)?)
    }
}

impl tokio_util::codec::Encoder<Frame> for RequestCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        frame.encode(dst);
        Ok(())
    }
}
