//! The server-side parser against Redis's rules and error texts (`processMultibulkBuffer`,
//! `processInlineBuffer`), including the cases `unit/protocol` of Redis's test suite sends.

use byo_resp::{Limits, ProtocolError, RequestParser};
use bytes::{Bytes, BytesMut};

fn parse_all(input: &[u8], authenticated: bool) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
    let mut parser = RequestParser::default();
    let mut buf = BytesMut::from(input);
    let mut commands = Vec::new();
    while let Some(args) = parser.parse(&mut buf, authenticated)? {
        commands.push(args);
    }
    Ok(commands)
}

fn strings(commands: Vec<Vec<Bytes>>) -> Vec<Vec<String>> {
    commands
        .into_iter()
        .map(|args| args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect())
        .collect()
}

#[test]
fn multibulk_and_inline_commands() {
    let input = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nSET k \"a b\"\r\nPING\n*0\r\n*-1\r\n\r\n\n   \r\nECHO 'x'\r\n";
    assert_eq!(
        strings(parse_all(input, true).unwrap()),
        [vec!["GET", "k"], vec!["SET", "k", "a b"], vec!["PING"], vec!["ECHO", "x"]]
    );
}

#[test]
fn binary_arguments_are_kept_whole() {
    let commands = parse_all(b"*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\0\xff\r\n", true).unwrap();
    assert_eq!(commands, [vec![Bytes::from("ECHO"), Bytes::from(&b"\r\n\0\xff"[..])]]);
}

#[test]
fn redis_protocol_errors_word_for_word() {
    let error = |input: &[u8]| parse_all(input, true).unwrap_err().to_string();
    // The cases of Redis's tests/unit/protocol.tcl.
    assert_eq!(error(b"*3000000000\r\n"), "Protocol error: invalid multibulk length");
    assert_eq!(
        error(b"*20\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
        "Protocol error: expected '$', got 'f'"
    );
    assert_eq!(
        error(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n"),
        "Protocol error: invalid bulk length"
    );
    assert_eq!(
        error(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n"),
        "Protocol error: invalid bulk length"
    );
    assert_eq!(
        error(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n"),
        "Protocol error: invalid bulk length"
    );
    assert_eq!(error(b"*1\r\nfoo\r\n"), "Protocol error: expected '$', got 'f'");
    assert_eq!(
        error(b"set \"\"\"test-key\"\"\" test-value\r\n"),
        "Protocol error: unbalanced quotes in request"
    );
    assert_eq!(error(b"*x\r\n"), "Protocol error: invalid multibulk length");
    assert_eq!(error(b"*1\r\n\r\n"), "Protocol error: expected '$', got ' '");
}

#[test]
fn lines_without_an_end_are_refused_past_64k() {
    let long = vec![b'a'; 64 * 1024 + 1];
    let error = |prefix: &[u8]| {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&long);
        parse_all(&input, true).unwrap_err()
    };
    assert_eq!(error(b""), ProtocolError::TooBigInline);
    assert_eq!(error(b"*"), ProtocolError::TooBigMultibulkCount);
    assert_eq!(error(b"*1\r\n$"), ProtocolError::TooBigBulkCount);
    // At the limit it is still waiting for the line's end.
    assert_eq!(parse_all(&long[1..], true).unwrap(), Vec::<Vec<Bytes>>::new());
    // A complete inline line is accepted at any length, as in Redis.
    let mut line = long.clone();
    line.extend_from_slice(b"\r\n");
    assert_eq!(parse_all(&line, true).unwrap()[0][0].len(), long.len());
}

#[test]
fn unauthenticated_clients_get_small_commands_only() {
    let eleven = b"*11\r\n";
    assert_eq!(parse_all(eleven, false), Err(ProtocolError::UnauthenticatedMultibulkLength));
    assert_eq!(parse_all(eleven, true), Ok(vec![]));
    assert!(parse_all(b"*10\r\n", false).is_ok());
    let big = b"*2\r\n$4\r\nAUTH\r\n$16385\r\n";
    assert_eq!(parse_all(big, false), Err(ProtocolError::UnauthenticatedBulkLength));
    assert!(parse_all(b"*2\r\n$4\r\nAUTH\r\n$16384\r\n", false).is_ok());
    assert_eq!(
        parse_all(b"*100\r\n", false).unwrap_err().to_string(),
        "Protocol error: unauthenticated multibulk length"
    );
}

#[test]
fn the_bulk_limit_is_configurable() {
    let limits = Limits { max_bulk: 4, ..Limits::default() };
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*1\r\n$5\r\n"[..]);
    assert_eq!(parser.parse(&mut buf, true).unwrap().unwrap(), ["PING"]);
    assert_eq!(parser.parse(&mut buf, true), Err(ProtocolError::InvalidBulkLength));
}

#[test]
fn every_split_of_a_pipeline_gives_the_same_commands() {
    let input: &[u8] =
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva\r\nl\r\nGET k\r\n*1\r\n$4\r\nPING\r\n";
    let whole = parse_all(input, true).unwrap();
    for cut in 0..=input.len() {
        let mut parser = RequestParser::default();
        let mut buf = BytesMut::from(&input[..cut]);
        let mut commands = Vec::new();
        while let Some(args) = parser.parse(&mut buf, true).unwrap() {
            commands.push(args);
        }
        buf.extend_from_slice(&input[cut..]);
        while let Some(args) = parser.parse(&mut buf, true).unwrap() {
            commands.push(args);
        }
        assert_eq!(commands, whole, "cut at {cut}");
    }
}
