//! The fixed corpus of [`check`](super::check): wire bytes and what they must decode to.

use bytes::Bytes;

use crate::Frame;

/// What a case's bytes must decode to.
#[derive(Debug, Clone)]
pub enum Expect {
    /// These frames, in order, consuming every byte.
    Frames(Vec<Frame>),
    /// An error: the bytes can never become valid RESP.
    Error,
}

/// One input of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    /// What it checks.
    pub name: &'static str,
    /// The bytes on the wire.
    pub bytes: &'static [u8],
    /// What they must decode to.
    pub expect: Expect,
}

fn bulk(text: &'static [u8]) -> Frame {
    Frame::Bulk(Bytes::from_static(text))
}

fn simple(text: &'static str) -> Frame {
    Frame::Simple(Bytes::from_static(text.as_bytes()))
}

fn frames(name: &'static str, bytes: &'static [u8], frames: Vec<Frame>) -> Case {
    Case { name, bytes, expect: Expect::Frames(frames) }
}

fn error(name: &'static str, bytes: &'static [u8]) -> Case {
    Case { name, bytes, expect: Expect::Error }
}

/// Every case, built once.
pub static CASES: std::sync::LazyLock<Vec<Case>> = std::sync::LazyLock::new(|| {
    vec![
        // RESP2.
        frames("simple string", b"+OK\r\n", vec![simple("OK")]),
        frames(
            "error",
            b"-ERR unknown command\r\n",
            vec![Frame::Error(Bytes::from_static(b"ERR unknown command"))],
        ),
        frames("integer", b":-42\r\n", vec![Frame::Integer(-42)]),
        frames("largest integer", b":9223372036854775807\r\n", vec![Frame::Integer(i64::MAX)]),
        frames("bulk string", b"$5\r\nhello\r\n", vec![bulk(b"hello")]),
        frames("empty bulk string", b"$0\r\n\r\n", vec![bulk(b"")]),
        frames("bulk string holding CRLFs", b"$4\r\n\r\n\r\n\r\n", vec![bulk(b"\r\n\r\n")]),
        frames("null bulk string", b"$-1\r\n", vec![Frame::NullBulk]),
        frames(
            "array",
            b"*2\r\n$3\r\nfoo\r\n:1\r\n",
            vec![Frame::Array(vec![bulk(b"foo"), Frame::Integer(1)])],
        ),
        frames("empty array", b"*0\r\n", vec![Frame::Array(vec![])]),
        frames("null array", b"*-1\r\n", vec![Frame::NullArray]),
        frames(
            "nested arrays",
            b"*2\r\n*1\r\n*0\r\n*2\r\n+a\r\n$-1\r\n",
            vec![Frame::Array(vec![
                Frame::Array(vec![Frame::Array(vec![])]),
                Frame::Array(vec![simple("a"), Frame::NullBulk]),
            ])],
        ),
        frames(
            "two pipelined commands",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n",
            vec![Frame::Array(vec![bulk(b"GET"), bulk(b"k")]), Frame::Array(vec![bulk(b"PING")])],
        ),
        // RESP3.
        frames("null", b"_\r\n", vec![Frame::Null]),
        frames("booleans", b"#t\r\n#f\r\n", vec![Frame::Boolean(true), Frame::Boolean(false)]),
        frames(
            "doubles",
            b",3.25\r\n,-inf\r\n,inf\r\n",
            vec![
                Frame::Double(3.25),
                Frame::Double(f64::NEG_INFINITY),
                Frame::Double(f64::INFINITY),
            ],
        ),
        frames(
            "big number",
            b"(3492890328409238509324850943850943825024385\r\n",
            vec![Frame::BigNumber(Bytes::from_static(
                b"3492890328409238509324850943850943825024385",
            ))],
        ),
        frames(
            "blob error",
            b"!21\r\nSYNTAX invalid syntax\r\n",
            vec![Frame::BlobError(Bytes::from_static(b"SYNTAX invalid syntax"))],
        ),
        frames(
            "verbatim string",
            b"=15\r\ntxt:Some string\r\n",
            vec![Frame::Verbatim { format: *b"txt", text: Bytes::from_static(b"Some string") }],
        ),
        frames(
            "map",
            b"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
            vec![Frame::Map(vec![
                (simple("first"), Frame::Integer(1)),
                (simple("second"), Frame::Integer(2)),
            ])],
        ),
        frames(
            "set",
            b"~3\r\n+orange\r\n+apple\r\n#t\r\n",
            vec![Frame::Set(vec![simple("orange"), simple("apple"), Frame::Boolean(true)])],
        ),
        frames(
            "push",
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            vec![Frame::Push(vec![bulk(b"message"), bulk(b"ch"), bulk(b"hi")])],
        ),
        frames(
            "attribute before its value",
            b"|1\r\n+ttl\r\n:3600\r\n$3\r\nval\r\n",
            vec![Frame::Attribute {
                attributes: vec![(simple("ttl"), Frame::Integer(3600))],
                value: Box::new(bulk(b"val")),
            }],
        ),
        // Malformed: each can never become valid, whatever bytes follow.
        error("unknown type byte", b"?5\r\n"),
        error("integer with a letter", b":12a\r\n"),
        error("empty integer", b":\r\n"),
        error("integer out of range", b":9223372036854775808\r\n"),
        error("bulk length below -1", b"$-2\r\n"),
        error("bulk length not a number", b"$x\r\n"),
        error("bulk length over 512 MB", b"$536870913\r\n"),
        error("bulk payload longer than its length", b"$3\r\nabcd\r\n"),
        error("array count below -1", b"*-2\r\n"),
        error("boolean other than t or f", b"#x\r\n"),
        error("double that is not a number", b",abc\r\n"),
        error("null with text", b"_x\r\n"),
        error("line ended by LF alone", b"+OK\n"),
        error("big number with a letter", b"(12x\r\n"),
    ]
});
