//! Writing frames: the inverse of [`decode`](crate::decode), byte for byte.
//!
//! Every value is its type byte, a line, and for bulk-like values the payload and a second
//! CRLF. Numbers are written without allocating; a double uses the shortest text that reads
//! back as the same `f64`.

use bytes::BufMut;

use crate::frame::Frame;

impl Frame {
    /// Appends this frame's RESP encoding to `out`.
    ///
    /// ```
    /// use byo_resp::Frame;
    ///
    /// let mut out = Vec::new();
    /// Frame::command(["SET", "k", "v"]).encode(&mut out);
    /// assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    /// ```
    pub fn encode(&self, out: &mut impl BufMut) {
        match self {
            Frame::Simple(text) => line(out, b'+', text),
            Frame::Error(text) => line(out, b'-', text),
            Frame::Integer(n) => number(out, b':', *n),
            Frame::Bulk(data) => bulk(out, b'$', data),
            Frame::BlobError(data) => bulk(out, b'!', data),
            Frame::Verbatim { format, text } => {
                number(out, b'=', text.len() as i64 + 4);
                out.put_slice(format);
                out.put_u8(b':');
                out.put_slice(text);
                out.put_slice(b"\r\n");
            }
            Frame::NullBulk => out.put_slice(b"$-1\r\n"),
            Frame::NullArray => out.put_slice(b"*-1\r\n"),
            Frame::Null => out.put_slice(b"_\r\n"),
            Frame::Boolean(true) => out.put_slice(b"#t\r\n"),
            Frame::Boolean(false) => out.put_slice(b"#f\r\n"),
            Frame::Double(value) => line(out, b',', format_double(*value).as_bytes()),
            Frame::BigNumber(digits) => line(out, b'(', digits),
            Frame::Array(items) => sequence(out, b'*', items),
            Frame::Set(items) => sequence(out, b'~', items),
            Frame::Push(items) => sequence(out, b'>', items),
            Frame::Map(pairs) => {
                number(out, b'%', pairs.len() as i64);
                pairs.iter().for_each(|(k, v)| {
                    k.encode(out);
                    v.encode(out);
                });
            }
            Frame::Attribute { attributes, value } => {
                number(out, b'|', attributes.len() as i64);
                attributes.iter().for_each(|(k, v)| {
                    k.encode(out);
                    v.encode(out);
                });
                value.encode(out);
            }
        }
    }

    /// This frame's RESP encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

fn line(out: &mut impl BufMut, kind: u8, text: &[u8]) {
    out.put_u8(kind);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

fn bulk(out: &mut impl BufMut, kind: u8, data: &[u8]) {
    number(out, kind, data.len() as i64);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn sequence(out: &mut impl BufMut, kind: u8, items: &[Frame]) {
    number(out, kind, items.len() as i64);
    items.iter().for_each(|item| item.encode(out));
}

/// Writes `kind`, `n` in decimal and CRLF, without allocating.
fn number(out: &mut impl BufMut, kind: u8, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.put_u8(kind);
    if n < 0 {
        out.put_u8(b'-');
    }
    out.put_slice(&digits[at..]);
    out.put_slice(b"\r\n");
}

/// The shortest text that reads back as `value`: `inf`, `-inf`, `nan`, or Rust's
/// round-tripping decimal form (`1.5`, `1e300`).
fn format_double(value: f64) -> String {
    if value.is_nan() {
        "nan".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{value:?}")
    }
}
