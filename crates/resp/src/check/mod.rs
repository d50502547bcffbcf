//! Black-box compatibility cases for any Redis-compatible server (`byo check redis`).
//!
//! The cases are a text file of commands and the replies Redis 7.0 gives them. They are
//! written against the real `redis-server` first (CI runs them there), so they state what
//! Redis does, not what this crate does; then they are run against our server.
//!
//! ```text
//! ## INCR on a missing key starts from zero          <- a case: its name
//! > INCR counter                                       <- a command, split like redis-cli
//! :1                                                   <- the expected reply, rendered
//! > GET counter
//! "1"
//! ! sleep 50                                           <- wait 50 ms
//! ```
//!
//! Replies are rendered in one line: `+OK`, `-ERR text`, `:1`, `"bulk"` (with `\r`, `\n`,
//! `\"`, `\\` and `\xHH` escapes), `$-1`, `*-1` and `_` for the nulls, `[a, b]` for arrays,
//! `{k: v}` for maps, `~[a, b]` for sets, `,1.5` for doubles, `#t`/`#f`, `(123` for big
//! numbers, `=txt:"..."` for verbatim strings, `>[...]` for pushes. An expected line that
//! starts with `sorted ` is compared with the elements of the reply's array sorted (for
//! replies in hash order, like `KEYS`); one that ends with `...` is a prefix.
//!
//! Every case runs on a fresh connection in database 9, which is flushed first: run the
//! cases against a server whose data you can lose.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;

use crate::split_args::split_args;
use crate::{Decoder, Frame};

/// The cases, in the format above.
pub const CASES: &str = include_str!("redis.cases");

/// One case: a name and its steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// The text after `## `.
    pub name: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The line of the case's heading in the cases text, for messages.
    pub line: usize,
}

/// One step of a case.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Send a command and compare its reply with the rendering.
    Command {
        /// The command's arguments.
        args: Vec<Vec<u8>>,
        /// The expected reply as rendered.
        expect: String,
    },
    /// Wait this many milliseconds.
    Sleep(u64),
}

/// Parses a cases text, or says which line is malformed.
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).peekable();
    while let Some((number, line)) = lines.next() {
        let bad = |what: &str| format!("line {number}: {what}: {line}");
        if line.trim().is_empty() || line.starts_with("# ") || line == "#" {
            continue;
        }
        if let Some(name) = line.strip_prefix("## ") {
            cases.push(Case { name: name.trim().to_string(), steps: Vec::new(), line: number });
            continue;
        }
        let case = cases.last_mut().ok_or_else(|| bad("a step before the first case"))?;
        if let Some(command) = line.strip_prefix("> ") {
            let args = split_args(command.as_bytes())
                .filter(|a| !a.is_empty())
                .ok_or_else(|| bad("bad command"))?;
            let (_, expect) = lines.next().ok_or_else(|| bad("a command without its reply"))?;
            case.steps.push(Step::Command { args, expect: expect.to_string() });
        } else if let Some(ms) = line.strip_prefix("! sleep ") {
            case.steps.push(Step::Sleep(ms.trim().parse().map_err(|_| bad("bad sleep"))?));
        } else {
            return Err(bad("expected '## name', '> command' or '! sleep ms'"));
        }
    }
    Ok(cases)
}

/// Renders a reply in the one-line notation the cases use.
pub fn render(frame: &Frame) -> String {
    let list = |items: &[Frame]| items.iter().map(render).collect::<Vec<_>>().join(", ");
    let pairs = |pairs: &[(Frame, Frame)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{}: {}", render(k), render(v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match frame {
        Frame::Simple(text) => format!("+{}", String::from_utf8_lossy(text)),
        Frame::Error(text) => format!("-{}", String::from_utf8_lossy(text)),
        Frame::Integer(n) => format!(":{n}"),
        Frame::Bulk(data) => quote(data),
        Frame::NullBulk => "$-1".into(),
        Frame::NullArray => "*-1".into(),
        Frame::Null => "_".into(),
        Frame::Boolean(b) => if *b { "#t" } else { "#f" }.into(),
        Frame::Double(d) => format!(",{d}"),
        Frame::BigNumber(digits) => format!("({}", String::from_utf8_lossy(digits)),
        Frame::BlobError(data) => format!("!{}", quote(data)),
        Frame::Verbatim { format, text } => {
            format!("={}:{}", String::from_utf8_lossy(format), quote(text))
        }
        Frame::Array(items) => format!("[{}]", list(items)),
        Frame::Set(items) => format!("~[{}]", list(items)),
        Frame::Push(items) => format!(">[{}]", list(items)),
        Frame::Map(p) => format!("{{{}}}", pairs(p)),
        Frame::Attribute { attributes, value } => {
            format!("|{{{}}} {}", pairs(attributes), render(value))
        }
    }
}

/// A byte string in double quotes with C-style escapes for what is not printable ASCII.
fn quote(data: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in data {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Whether a reply matches an expected line (see the module documentation).
pub fn matches(frame: &Frame, expect: &str) -> bool {
    if let Some(expect) = expect.strip_prefix("sorted ") {
        let sorted = match frame {
            Frame::Array(items) | Frame::Set(items) => {
                let mut rendered: Vec<String> = items.iter().map(render).collect();
                rendered.sort();
                format!("[{}]", rendered.join(", "))
            }
            other => render(other),
        };
        return sorted == expect;
    }
    let rendered = render(frame);
    match expect.strip_suffix("...") {
        Some(prefix) => rendered.starts_with(prefix),
        None => rendered == expect,
    }
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The case's name.
    pub name: String,
    /// `None` if it passed, else what went wrong.
    pub failure: Option<String>,
}

/// Runs every case against the server at `addr` (`host:port`).
pub fn run(addr: &str, cases: &[Case]) -> Vec<Outcome> {
    cases
        .iter()
        .map(|case| Outcome { name: case.name.clone(), failure: run_case(addr, case).err() })
        .collect()
}

fn run_case(addr: &str, case: &Case) -> Result<(), String> {
    let mut conn = Connection::open(addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    for setup in [&["SELECT", "9"][..], &["FLUSHDB"]] {
        let args: Vec<Vec<u8>> = setup.iter().map(|a| a.as_bytes().to_vec()).collect();
        let reply = conn.call(&args)?;
        if reply != Frame::simple("OK") {
            return Err(format!("setup {setup:?} replied {}", render(&reply)));
        }
    }
    for (index, step) in case.steps.iter().enumerate() {
        match step {
            Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Step::Command { args, expect } => {
                let reply = conn.call(args)?;
                if !matches(&reply, expect) {
                    let command: Vec<_> =
                        args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                    return Err(format!(
                        "step {} ({}): expected {expect}, got {}",
                        index + 1,
                        command.join(" "),
                        render(&reply)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A blocking connection that reads replies with [`Decoder`].
struct Connection {
    stream: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
}

impl Connection {
    fn open(addr: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buf: BytesMut::new(), decoder: Decoder::default() })
    }

    fn call(&mut self, args: &[Vec<u8>]) -> Result<Frame, String> {
        let mut request = Vec::new();
        Frame::command(args).encode(&mut request);
        self.stream.write_all(&request).map_err(|e| format!("write: {e}"))?;
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(format!("the reply is not valid RESP: {e}")),
            }
            let mut chunk = [0; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CASES, Frame, Step, matches, parse, render};

    #[test]
    fn the_shipped_cases_parse() {
        let cases = parse(CASES).unwrap();
        assert!(cases.len() >= 40, "{}", cases.len());
        assert!(cases.iter().all(|c| !c.steps.is_empty()), "a case without steps");
        let mut names: Vec<_> = cases.iter().map(|c| &c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), cases.len(), "case names must be unique");
    }

    #[test]
    fn parse_reports_malformed_lines() {
        assert!(parse("> GET k\n$-1\n").unwrap_err().contains("line 1"));
        assert!(parse("## a\n> GET k\n").unwrap_err().contains("without its reply"));
        assert!(parse("## a\nnonsense\n").unwrap_err().contains("line 2"));
        let cases = parse("## a\n> SET k \"a b\"\n+OK\n! sleep 5\n").unwrap();
        assert_eq!(
            cases[0].steps[0],
            Step::Command {
                args: vec![b"SET".to_vec(), b"k".to_vec(), b"a b".to_vec()],
                expect: "+OK".into()
            }
        );
        assert_eq!(cases[0].steps[1], Step::Sleep(5));
    }

    #[test]
    fn rendering_and_matching() {
        let reply =
            Frame::Array(vec![Frame::bulk("b\r\n\x01"), Frame::Integer(3), Frame::NullBulk]);
        assert_eq!(render(&reply), "[\"b\\r\\n\\x01\", :3, $-1]");
        let keys = Frame::Array(vec![Frame::bulk("b"), Frame::bulk("a")]);
        assert!(matches(&keys, "sorted [\"a\", \"b\"]"));
        assert!(!matches(&keys, "[\"a\", \"b\"]"));
        assert!(matches(
            &Frame::error("ERR unknown command 'x', with args"),
            "-ERR unknown command..."
        ));
    }
}
