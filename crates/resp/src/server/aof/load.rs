//! Replaying one part of the log: reading it command by command and running each.
//!
//! The rules are Redis's (`loadSingleAppendOnlyFile`):
//!
//! - a part is a sequence of RESP arrays of bulk strings; lines starting with `#` are
//!   annotations and are skipped; anything else is a format error, and the server refuses to
//!   start rather than guess;
//! - a command cut off by the end of the file is a torn tail from a crash mid-write: the
//!   commands before it are kept and the file is truncated to the last complete one (Redis's
//!   `aof-load-truncated yes`), which is allowed only in the last part;
//! - a file that ends inside `MULTI` without its `EXEC` is treated the same way, cut back to
//!   before the `MULTI`, so that a transaction is replayed whole or not at all.

use std::io::Read;

use bytes::{Bytes, BytesMut};

use crate::{Limits, RequestParser};

/// How reading a part ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Ending {
    /// Every command was complete.
    Complete,
    /// The part ends with an incomplete command (or transaction); the first `valid` bytes are
    /// whole commands.
    Truncated { valid: u64 },
    /// Bytes at `offset` are not a command.
    BadFormat { offset: u64 },
}

/// Reads `source` to its end, calling `run` on each complete command, and says how it ended.
/// Commands inside `MULTI` are handed over too (the caller's client queues them), so a torn
/// transaction is reported with `valid` before its `MULTI`.
pub(crate) fn replay(
    mut source: impl Read,
    mut run: impl FnMut(Vec<Bytes>),
) -> std::io::Result<Ending> {
    // The log holds what clients sent, within the server's limits; the parser must accept
    // any bulk the server accepted.
    let limits = Limits { max_bulk: usize::MAX >> 1, ..Limits::default() };
    let mut parser = RequestParser::new(limits);
    let mut input = BytesMut::with_capacity(64 * 1024);
    let mut consumed: u64 = 0; // bytes of `source` the parser has taken
    let mut command_start: u64 = 0; // where the command being read began
    let mut before_multi: Option<u64> = None;
    let mut at_eof = false;
    loop {
        while let Some(&first) = input.first() {
            if !parser.is_mid_command() {
                command_start = consumed;
                // Annotations are skipped; an inline command is not a log's.
                if first == b'#' {
                    let Some(end) = input.iter().position(|&b| b == b'\n') else { break };
                    let _ = input.split_to(end + 1);
                    consumed += end as u64 + 1;
                    continue;
                }
                if first != b'*' {
                    return Ok(Ending::BadFormat { offset: consumed });
                }
            }
            let before = input.len();
            let parsed = parser.parse(&mut input, true);
            consumed += (before - input.len()) as u64;
            match parsed {
                Ok(Some(args)) => {
                    let name = args.first().map(|a| a.to_ascii_lowercase());
                    match name.as_deref() {
                        Some(b"multi") => before_multi = Some(command_start),
                        Some(b"exec" | b"discard") => before_multi = None,
                        _ => {}
                    }
                    run(args);
                }
                Ok(None) => break,
                Err(_) => return Ok(Ending::BadFormat { offset: command_start }),
            }
        }
        if at_eof {
            break;
        }
        let mut chunk = [0u8; 64 * 1024];
        let read = source.read(&mut chunk)?;
        if read == 0 {
            at_eof = true;
        } else {
            input.extend_from_slice(&chunk[..read]);
        }
    }
    if parser.is_mid_command() || !input.is_empty() {
        return Ok(Ending::Truncated { valid: command_start });
    }
    match before_multi {
        Some(valid) => Ok(Ending::Truncated { valid }),
        None => Ok(Ending::Complete),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(text: &[u8]) -> (Vec<Vec<String>>, Ending) {
        let mut seen = Vec::new();
        let ending = replay(text, |args| {
            seen.push(args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect());
        })
        .unwrap();
        (seen, ending)
    }

    #[test]
    fn whole_files_replay_completely() {
        let log = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n#annotation\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let (seen, ending) = commands(log);
        assert_eq!(seen, vec![vec!["SELECT", "0"], vec!["SET", "k", "v"]]);
        assert_eq!(ending, Ending::Complete);
    }

    #[test]
    fn every_torn_tail_keeps_the_complete_commands() {
        let first = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let second = b"*3\r\n$3\r\nSET\r\n$1\r\nj\r\n$2\r\nvv\r\n";
        let whole = [&first[..], &second[..]].concat();
        for cut in first.len() + 1..whole.len() {
            let (seen, ending) = commands(&whole[..cut]);
            assert_eq!(seen.len(), 1, "cut at {cut}");
            assert_eq!(ending, Ending::Truncated { valid: first.len() as u64 }, "cut at {cut}");
        }
    }

    #[test]
    fn a_transaction_without_exec_is_cut_before_multi() {
        let log = b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n";
        let (_, ending) = commands(log);
        assert_eq!(ending, Ending::Truncated { valid: 0 });
        let closed = [&log[..], b"*1\r\n$4\r\nEXEC\r\n"].concat();
        assert_eq!(commands(&closed).1, Ending::Complete);
    }

    #[test]
    fn garbage_is_a_format_error_at_its_offset() {
        let log = b"*1\r\n$4\r\nPING\r\nhello\r\n*1\r\n$4\r\nPING\r\n";
        let (seen, ending) = commands(log);
        assert_eq!(seen.len(), 1);
        assert_eq!(ending, Ending::BadFormat { offset: 14 });
        let bad_length = b"*1\r\n$x\r\nPING\r\n";
        assert_eq!(commands(bad_length).1, Ending::BadFormat { offset: 0 });
    }
}
