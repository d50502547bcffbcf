//! Arbitrary bytes, delivered in arbitrary reads, to the server's request parser: never a
//! panic, and the same commands and the same error whatever the reads.
#![no_main]

use byo_resp::{ProtocolError, RequestParser};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;

fn parse(data: &[u8], read: usize, authenticated: bool) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    let mut parser = RequestParser::default();
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    for chunk in data.chunks(read.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf, authenticated) {
                Ok(Some(args)) => commands.push(args),
                Ok(None) => break,
                Err(e) => return (commands, Some(e)),
            }
        }
    }
    (commands, None)
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else { return };
    let authenticated = flags & 0x80 != 0;
    let whole = parse(data, data.len(), authenticated);
    let pieces = parse(data, usize::from(flags % 16), authenticated);
    assert_eq!(whole, pieces);
});
