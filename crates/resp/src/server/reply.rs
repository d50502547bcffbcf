//! Writing replies straight into a connection's output buffer, in the client's protocol.
//!
//! Commands do not build [`Frame`](crate::Frame) trees: like Redis's `addReply*` family, they
//! append encoded bytes to the buffer that the connection writes once per batch of pipelined
//! commands. The writer knows whether the client said `HELLO 3`, and the methods whose encoding
//! differs between the protocols pick the right one:
//!
//! | method        | RESP2                     | RESP3           |
//! |---------------|---------------------------|-----------------|
//! | `null`        | `$-1`                     | `_`             |
//! | `null_array`  | `*-1`                     | `_`             |
//! | `map_len(n)`  | `*2n` (flat pairs)        | `%n`            |
//! | `set_len(n)`  | `*n`                      | `~n`            |
//! | `double`      | bulk string               | `,`             |
//! | `push_len(n)` | `*n`                      | `>n`            |

use bytes::{BufMut, BytesMut};

/// A reply writer over an output buffer.
#[derive(Debug)]
pub(crate) struct Reply<'a> {
    out: &'a mut BytesMut,
    resp3: bool,
}

impl<'a> Reply<'a> {
    pub(crate) fn new(out: &'a mut BytesMut, resp3: bool) -> Self {
        Reply { out, resp3 }
    }

    /// Switches the protocol, for the rest of this reply and after (`HELLO`).
    pub(crate) fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    /// Whether replies are in RESP3 (some commands shape their reply differently then).
    pub(crate) fn is_resp3(&self) -> bool {
        self.resp3
    }

    /// Replies already encoded, in this writer's protocol, by a writer over another buffer
    /// (for a reply whose length is known only after its elements are written).
    pub(crate) fn encoded(&mut self, bytes: &[u8]) {
        self.out.put_slice(bytes);
    }

    /// How many bytes have been written so far, to go back to with [`Reply::truncate`].
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// Drops what was written after `len` bytes (a reply abandoned halfway).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.out.truncate(len);
    }

    /// `+OK`.
    pub(crate) fn ok(&mut self) {
        self.out.put_slice(b"+OK\r\n");
    }

    /// A simple string; `text` must not contain CR or LF.
    pub(crate) fn simple(&mut self, text: &str) {
        self.line(b'+', text.as_bytes());
    }

    /// An error. `text` starts with its code (`ERR ...`, `WRONGTYPE ...`); as Redis does, CR and
    /// LF inside it become spaces so that the reply stays one line.
    pub(crate) fn error(&mut self, text: &str) {
        self.out.put_u8(b'-');
        self.out.extend(text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.out.put_slice(b"\r\n");
    }

    /// An integer.
    pub(crate) fn int(&mut self, n: i64) {
        self.number(b':', n);
    }

    /// A bulk string.
    pub(crate) fn bulk(&mut self, data: &[u8]) {
        self.number(b'$', data.len() as i64);
        self.out.put_slice(data);
        self.out.put_slice(b"\r\n");
    }

    /// A bulk string holding the decimal text of `n`.
    pub(crate) fn bulk_int(&mut self, n: i64) {
        let mut buf = [0; 20];
        self.bulk(format_i64(&mut buf, n));
    }

    /// The null reply for a missing string.
    pub(crate) fn null(&mut self) {
        self.out.put_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null reply for a missing array.
    pub(crate) fn null_array(&mut self) {
        self.out.put_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    /// The header of an array of `n` replies, which the caller then writes.
    pub(crate) fn array_len(&mut self, n: usize) {
        self.number(b'*', n as i64);
    }

    /// The header of a map of `n` pairs (key then value, written by the caller).
    pub(crate) fn map_len(&mut self, n: usize) {
        if self.resp3 {
            self.number(b'%', n as i64);
        } else {
            self.number(b'*', 2 * n as i64);
        }
    }

    /// The header of an out-of-band message of `n` parts (pub/sub): a push in RESP3, an array
    /// in RESP2.
    pub(crate) fn push_len(&mut self, n: usize) {
        self.number(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    /// The header of a set of `n` members.
    pub(crate) fn set_len(&mut self, n: usize) {
        self.number(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// A double, formatted as Redis's `%.17g`.
    pub(crate) fn double(&mut self, value: f64) {
        let text = format_double(value);
        if self.resp3 {
            self.line(b',', text.as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A verbatim string in RESP3 (`=`), a bulk string in RESP2.
    pub(crate) fn verbatim(&mut self, text: &[u8]) {
        self.verbatim_as(*b"txt", text);
    }

    /// A verbatim string of the given three-letter format (`txt`, `mkd`) in RESP3, a bulk
    /// string in RESP2.
    pub(crate) fn verbatim_as(&mut self, format: [u8; 3], text: &[u8]) {
        if self.resp3 {
            self.number(b'=', text.len() as i64 + 4);
            self.out.put_slice(&format);
            self.out.put_u8(b':');
            self.out.put_slice(text);
            self.out.put_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A big number in RESP3 (`(`), its digits as a bulk string in RESP2.
    pub(crate) fn big_number(&mut self, digits: &[u8]) {
        if self.resp3 {
            self.line(b'(', digits);
        } else {
            self.bulk(digits);
        }
    }

    /// A boolean in RESP3 (`#t`, `#f`), the integer 1 or 0 in RESP2.
    pub(crate) fn boolean(&mut self, value: bool) {
        if self.resp3 {
            self.out.put_slice(if value { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(i64::from(value));
        }
    }

    fn line(&mut self, kind: u8, text: &[u8]) {
        self.out.put_u8(kind);
        self.out.put_slice(text);
        self.out.put_slice(b"\r\n");
    }

    fn number(&mut self, kind: u8, n: i64) {
        let mut buf = [0; 20];
        self.out.put_u8(kind);
        self.out.put_slice(format_i64(&mut buf, n));
        self.out.put_slice(b"\r\n");
    }
}

/// The decimal text of `n`, written into the end of `buf`.
pub(crate) fn format_i64(buf: &mut [u8; 20], n: i64) -> &[u8] {
    let mut at = buf.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// `value` as C's `printf("%.17g")` prints it, with Redis's spelling of the infinities and
/// of NaN (never `-nan`).
pub(crate) fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    format_g(value, 17)
}

/// `value` as C's `printf("%.<precision>g")` prints it (glibc's spelling: `inf`, `-inf`,
/// `nan`, `-nan`).
///
/// `%.Pg` means: P significant digits, trailing zeros (and a bare decimal point) removed, in
/// exponent form (`1.5e+20`, at least two exponent digits) when the decimal exponent is below
/// -4 or at least P, and in positional form otherwise.
pub(crate) fn format_g(value: f64, precision: usize) -> String {
    let precision = precision.max(1);
    if value.is_nan() {
        return if value.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rust rounds `{:e}` correctly (ties to even on exact halves), like glibc: P significant
    // digits, then restyle.
    let sci = format!("{value:.*e}", precision - 1);
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exponent < -4 || exponent >= precision as i32 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exponent.unsigned_abs()));
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = exponent as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::{Reply, format_double, format_g, format_i64};

    #[test]
    fn doubles_print_as_printf_17g() {
        // Expected values are what glibc's printf("%.17g") prints.
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.10000000000000001"),
            (3.0e-5, "3.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123456789.125, "123456789.125"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, text) in cases {
            assert_eq!(format_double(*value), *text, "{value:e}");
        }
    }

    #[test]
    fn doubles_print_as_printf_g_at_other_precisions() {
        // Expected values are what glibc's printf prints with each precision.
        let cases: &[(f64, usize, &str)] = &[
            (0.1, 14, "0.1"),
            (100.0, 14, "100"),
            (1e15, 14, "1e+15"),
            (123456789012345678.0, 14, "1.2345678901235e+17"),
            (0.00001, 14, "1e-05"),
            (1.23456, 3, "1.23"),
            (0.25, 1, "0.2"),
            (123456.0, 5, "1.2346e+05"),
            (f64::NAN, 14, "nan"),
            (-f64::NAN, 14, "-nan"),
        ];
        for (value, precision, text) in cases {
            assert_eq!(format_g(*value, *precision), *text, "{value:e} at {precision}");
        }
    }

    #[test]
    fn integers_and_protocol_dependent_replies() {
        let mut buf = [0; 20];
        assert_eq!(format_i64(&mut buf, i64::MIN), b"-9223372036854775808");
        assert_eq!(format_i64(&mut buf, 0), b"0");
        let mut out = BytesMut::new();
        let mut reply = Reply::new(&mut out, false);
        reply.null();
        reply.map_len(2);
        reply.double(2.5);
        reply.error("ERR a\r\nb");
        assert_eq!(&out[..], b"$-1\r\n*4\r\n$3\r\n2.5\r\n-ERR a  b\r\n");
        let mut out = BytesMut::new();
        let mut reply = Reply::new(&mut out, true);
        reply.null();
        reply.map_len(2);
        reply.double(2.5);
        assert_eq!(&out[..], b"_\r\n%2\r\n,2.5\r\n");
    }
}
