//! Raw protocol bytes on our server and on a real `redis-server`: each case is a fresh
//! connection fed, in one write, a run of requests in both of Redis's request syntaxes
//! (multibulk and inline, with quoting, escapes, empty lines and bulks followed by something
//! other than CRLF), optionally ending in a request that breaks the protocol. Every reply,
//! and whether the server then closes the connection, must be Redis's.
//!
//! The requests that break the protocol come last, so a server that closes on them has read
//! everything: no unread bytes make its close a reset that could drop the reply. A case that
//! does not break the protocol ends with `ECHO end-of-case`, whose reply marks the end.
//!
//! Runs only when `BYO_REDIS_SERVER` names a `redis-server` binary (CI sets it).

use byo_resp::Frame;
use proptest::prelude::*;

use crate::real_redis::differential;
use crate::server::Conn;

/// Arguments: plain words, words with spaces or quotes in them, empty, binary.
const WORDS: &[&str] = &["a", "b c", "", "x\"y", "it's", "\\", "\u{7f}", "a\tb", "ECHO", "GET"];

/// A command: a name the servers know (or not) and arguments from `WORDS`.
fn command() -> impl Strategy<Value = Vec<String>> {
    let name = prop::sample::select(&["ECHO", "PING", "SET", "GET", "EXISTS", "NOPE", "echo"][..]);
    (name, prop::collection::vec(prop::sample::select(WORDS), 0..3))
        .prop_map(|(name, args)| std::iter::once(name).chain(args).map(str::to_owned).collect())
}

fn multibulk(args: &[String]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend(format!("${}\r\n{arg}\r\n", arg.len()).bytes());
    }
    out
}

/// An inline request: each argument quoted the way `quote` says (0 bare where it can be,
/// 1 double quotes with escapes, 2 single quotes where it can be), words separated by one or
/// more spaces and tabs.
fn inline(args: &[String], quotes: &[u8], gaps: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(["  ", " ", "\t", " \t "][gaps[i % gaps.len()] as usize % 4]);
        }
        let bare_ok = !arg.is_empty() && !arg.contains([' ', '\t', '"', '\'', '\\']);
        match quotes[i % quotes.len()] % 3 {
            0 if bare_ok => out.push_str(arg),
            2 if !arg.contains(['\'', '\\']) => out.push_str(&format!("'{arg}'")),
            _ => {
                out.push('"');
                for c in arg.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\u{7f}' => out.push_str("\\x7f"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// One request that keeps the connection open (its reply may still be an error).
fn request() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        command().prop_map(|c| multibulk(&c)),
        (
            command(),
            prop::collection::vec(any::<u8>(), 1..4),
            prop::collection::vec(any::<u8>(), 1..4)
        )
            .prop_map(|(c, quotes, gaps)| inline(&c, &quotes, &gaps)),
        // Lines Redis reads as nothing at all, or as empty requests.
        prop::sample::select(&["\r\n", "\n", "   \r\n", "*0\r\n", "*-1\r\n", "*-5\r\n"][..])
            .prop_map(|s| s.as_bytes().to_vec()),
        // Inline lines that look like replies or a bulk's header, end in a bare LF, or hold
        // empty quotes and escapes that are not escapes (`\q`, `\xzz`, `\x4`).
        prop::sample::select(
            &[
                "$3\r\n",
                ":1\r\n",
                "+OK\r\n",
                "ECHO a\n",
                "ECHO  \"\"\r\n",
                "ECHO \"\\x41\\q\\xzz\\x4\"\r\n"
            ][..]
        )
        .prop_map(|s| s.as_bytes().to_vec()),
        // A bulk followed by two bytes that are not CRLF: Redis skips two bytes unread.
        (prop::sample::select(&["ab", "a\r", "\rx"][..]))
            .prop_map(|tail| format!("*2\r\n$4\r\nECHO\r\n$1\r\nz{tail}").into_bytes()),
    ]
}

/// Requests that break the protocol.
const BREAKING: &[&str] = &[
    "*x\r\n",
    "*1\r\nx\r\n",
    "*1\r\n$x\r\n",
    "*1\r\n$-5\r\n",
    "*1\r\n$536870913\r\n",
    "*2\r\n$4\r\nECHO\r\n*1\r\n",
    "*3000000000\r\n",
    "ECHO \"abc\r\n",
    "ECHO 'abc\r\n",
    "ECHO \"a\"b\r\n",
    "ECHO 'a'b\r\n",
    "*1\r\n$1x\r\n",
    "*1 \r\n",
    "*01\r\n",
    "*+1\r\n",
    "*1\r\n$01\r\na\r\n",
    "*1\r\n$ 1\r\na\r\n",
];

#[derive(Debug, Clone)]
struct Case {
    requests: Vec<Vec<u8>>,
    breaking: Option<&'static str>,
}

fn case() -> impl Strategy<Value = Case> {
    (prop::collection::vec(request(), 0..6), prop::option::of(prop::sample::select(BREAKING)))
        .prop_map(|(requests, breaking)| Case { requests, breaking })
}

/// The replies on a fresh connection, and `Frame::Null` standing for the server's close.
fn outcome(conn: &mut Conn, case: &Case) -> Vec<Frame> {
    conn.reconnect();
    let mut bytes: Vec<u8> = case.requests.concat();
    match case.breaking {
        Some(breaking) => bytes.extend_from_slice(breaking.as_bytes()),
        None => bytes.extend_from_slice(&multibulk(&["ECHO".into(), "end-of-case".into()])),
    }
    conn.send_raw(&bytes);
    let mut replies = Vec::new();
    loop {
        match conn.read() {
            None => {
                replies.push(Frame::Null);
                return replies;
            }
            Some(frame) if frame == Frame::bulk("end-of-case") => return replies,
            Some(frame) => replies.push(frame),
        }
    }
}

#[test]
fn raw_requests_get_redis_replies_and_closes() {
    differential(case(), outcome, |case| {
        let shown: Vec<String> =
            case.requests.iter().map(|r| format!("{:?}", String::from_utf8_lossy(r))).collect();
        format!("requests: {}\nthen: {:?}", shown.join(" "), case.breaking)
    });
}
