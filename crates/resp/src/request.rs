//! What a Redis server reads: commands, as arrays of bulk strings or as inline lines.
//!
//! A server does not need the general [`Decoder`](crate::Decoder): clients send only
//!
//! ```text
//!   *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n     multibulk: a count, then that many bulks
//!   SET k "hello world"\r\n                      inline: one line, split like a shell would
//! ```
//!
//! and Redis parses them with its own rules and error texts (`processMultibulkBuffer` and
//! `processInlineBuffer` in `networking.c`), which clients and the Redis test suite observe.
//! This parser follows them, including their leniencies:
//!
//! - The first byte decides: `*` is multibulk, anything else an inline line ending at LF (a
//!   CR before it is dropped). Empty commands (`*0`, `*-1`, a blank line) are skipped.
//! - Header lines end at the first CR, and the byte after it is skipped unread; after a bulk
//!   payload, two bytes are skipped unread. Redis does the same.
//! - A header that has not ended within 64 KB, a count above `INT_MAX`, a negative or too large
//!   bulk length, and an element that is not a bulk are protocol errors.
//! - Until a client that must authenticate has done so, a command may have at most 10
//!   arguments of at most 16 KB each. The caller says which applies on each call, so an `AUTH`
//!   lifts the limits for the very next command.
//!
//! Like the decoder, the parser consumes what it has understood and keeps the arguments read
//! so far, so a command that arrives in many reads is never parsed twice; and like the decoder,
//! it first tries the cheaper path for a command that has arrived whole ([`crate::whole`]).

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::limits::{Limits, PREALLOCATE, UNAUTHENTICATED_ARGS, UNAUTHENTICATED_BULK};
use crate::number::parse_i64;
use crate::split_args::split_args;
use crate::whole::{Bounds, scan_bulk_array, split_whole};

/// Parses client requests, Redis's way.
///
/// ```
/// use bytes::BytesMut;
/// use byo_resp::RequestParser;
///
/// let mut parser = RequestParser::default();
/// let mut buf = BytesMut::from(&b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING \"a b\"\r\n"[..]);
/// assert_eq!(parser.parse(&mut buf, true).unwrap().unwrap(), ["ECHO", "hi"]);
/// assert_eq!(parser.parse(&mut buf, true).unwrap().unwrap(), ["PING", "a b"]);
/// assert_eq!(parser.parse(&mut buf, true), Ok(None));
/// ```
#[derive(Debug, Default)]
pub struct RequestParser {
    limits: Limits,
    /// The multibulk command being read, if one has started.
    command: Option<Multibulk>,
    /// How many bytes at the front of the buffer are known to hold no line end.
    scanned: usize,
    /// Where the fast path found each argument, kept to reuse its allocation.
    whole_args: Vec<(usize, usize)>,
}

#[derive(Debug)]
struct Multibulk {
    /// Arguments still to come.
    remaining: usize,
    args: Vec<Bytes>,
    /// The length of the argument whose header is read and whose payload is arriving.
    bulk: Option<usize>,
}

impl RequestParser {
    /// A parser with the given limits (`max_bulk` is Redis's `proto-max-bulk-len`).
    pub fn new(limits: Limits) -> Self {
        RequestParser { limits, ..RequestParser::default() }
    }

    /// Changes the limits, for the next header read (Redis's `CONFIG SET proto-max-bulk-len`).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Reads the next non-empty command from the front of `buf`, consuming its bytes, or
    /// `Ok(None)` if it has not all arrived (what has is consumed and remembered).
    /// `authenticated` is false for a client that must authenticate and has not.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.command.is_none()
            && self.scanned == 0
            && let Some(args) = self.parse_whole(buf, authenticated)
        {
            return Ok(Some(args));
        }
        loop {
            let args = match (&self.command, buf.first()) {
                (None, None) => return Ok(None),
                (None, Some(b'*')) => self.multibulk_header(buf, authenticated)?,
                (None, Some(_)) => self.inline(buf)?,
                (Some(_), _) => self.multibulk_args(buf, authenticated)?,
            };
            match args {
                Some(args) if args.is_empty() => continue, // Redis skips empty commands
                other => return Ok(other),
            }
        }
    }

    /// The fast path (see [`crate::whole`]): if a whole multibulk command is at the front of
    /// `buf`, splits it off in one piece and makes the arguments slices of it. Otherwise
    /// consumes nothing and returns `None`.
    fn parse_whole(&mut self, buf: &mut BytesMut, authenticated: bool) -> Option<Vec<Bytes>> {
        let mut bounds = Bounds {
            max_count: self.limits.max_elements.min(i32::MAX as usize),
            max_bulk: self.limits.max_bulk,
            strict: false,
        };
        if !authenticated {
            // Both are small positive constants.
            bounds.max_count = bounds.max_count.min(UNAUTHENTICATED_ARGS as usize);
            bounds.max_bulk = bounds.max_bulk.min(UNAUTHENTICATED_BULK as usize);
        }
        let len = scan_bulk_array(buf, bounds, &mut self.whole_args)?;
        Some(split_whole(buf, len, &self.whole_args, |arg| arg, |arg| Some(arg)))
    }

    /// Whether a command has been started and not finished.
    pub fn is_mid_command(&self) -> bool {
        self.command.is_some()
    }

    /// An inline command: one line, split with Redis's quoting rules.
    fn inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(lf) = self.find(buf, b'\n', ProtocolError::TooBigInline)? else {
            return Ok(None);
        };
        let end = if lf > 0 && buf[lf - 1] == b'\r' { lf - 1 } else { lf };
        let args = split_args(&buf[..end]).ok_or(ProtocolError::UnbalancedQuotes)?;
        buf.advance(lf + 1);
        Ok(Some(args.into_iter().map(Bytes::from).collect()))
    }

    /// The `*<count>` line that starts a multibulk command.
    fn multibulk_header(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(cr) = self.header_line(buf, ProtocolError::TooBigMultibulkCount)? else {
            return Ok(None);
        };
        let count = parse_i64(&buf[1..cr])
            .filter(|&n| n <= i64::from(i32::MAX) && n <= self.limits.max_elements as i64)
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > UNAUTHENTICATED_ARGS && !authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        buf.advance(cr + 2);
        if count <= 0 {
            return Ok(Some(Vec::new()));
        }
        // `count` is in 1..=i32::MAX here, so it fits in a usize.
        let remaining = count as usize;
        let args = Vec::with_capacity(remaining.min(PREALLOCATE));
        self.command = Some(Multibulk { remaining, args, bulk: None });
        self.multibulk_args(buf, authenticated)
    }

    /// The `$<len>` headers and payloads of a multibulk command's arguments. The command is
    /// taken out of `self` while it is read and put back if its bytes run out.
    fn multibulk_args(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(mut command) = self.command.take() else { return Ok(None) };
        let max_bulk = self.limits.max_bulk as i64;
        while command.remaining > 0 {
            let len = match command.bulk {
                Some(len) => len,
                None => {
                    let Some(cr) = self.header_line(buf, ProtocolError::TooBigBulkCount)? else {
                        self.command = Some(command);
                        return Ok(None);
                    };
                    if buf[0] != b'$' {
                        return Err(ProtocolError::ExpectedBulk(buf[0]));
                    }
                    let len = parse_i64(&buf[1..cr])
                        .filter(|&n| (0..=max_bulk).contains(&n))
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    if len > UNAUTHENTICATED_BULK && !authenticated {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    buf.advance(cr + 2);
                    // `len` is in 0..=max_bulk, so it fits in a usize.
                    command.bulk = Some(len as usize);
                    len as usize
                }
            };
            // The claimed length is not reserved: the buffer grows only as bytes arrive.
            if buf.len() < len + 2 {
                self.command = Some(command);
                return Ok(None);
            }
            command.args.push(buf.split_to(len).freeze());
            buf.advance(2); // Redis skips the CRLF without looking at it
            command.remaining -= 1;
            command.bulk = None;
        }
        Ok(Some(command.args))
    }

    /// The offset of the CR ending the header line at the front of `buf`, once the byte after
    /// it has arrived too.
    fn header_line(
        &mut self,
        buf: &BytesMut,
        too_long: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        match self.find(buf, b'\r', too_long)? {
            Some(cr) if cr + 2 <= buf.len() => Ok(Some(cr)),
            Some(_) => {
                // The CR is the last byte: wait for the next, and search from the CR again.
                self.scanned = buf.len() - 1;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// The first `byte` in `buf`, searching only bytes not searched before. Without one, a
    /// buffer longer than the line limit is the error `too_long`.
    fn find(
        &mut self,
        buf: &BytesMut,
        byte: u8,
        too_long: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let from = self.scanned.min(buf.len());
        match buf[from..].iter().position(|&b| b == byte) {
            Some(at) => {
                self.scanned = 0;
                Ok(Some(from + at))
            }
            None if buf.len() > self.limits.max_line => Err(too_long),
            None => {
                self.scanned = buf.len();
                Ok(None)
            }
        }
    }
}
