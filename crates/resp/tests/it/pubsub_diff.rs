//! Random pub/sub sequences on one connection, on our server and on a real `redis-server`, in
//! RESP2 (where a subscribed client may only subscribe, unsubscribe, ping and reset) and in
//! RESP3 (where it may run anything, and messages arrive as pushes between replies). The
//! connection publishes to itself, so every message's place among the replies is compared
//! too. Channels and patterns include the empty one and glob classes.
//!
//! Runs only when `BYO_REDIS_SERVER` names a `redis-server` binary (CI sets it).

use byo_resp::Frame;
use proptest::prelude::*;

use crate::real_redis::{differential, show_commands};
use crate::server::Conn;

/// `H` stands for a channel, `P` for a pattern, `V` for a message.
const TEMPLATES: &[&str] = &[
    "SUBSCRIBE H",
    "SUBSCRIBE H H",
    "UNSUBSCRIBE H",
    "UNSUBSCRIBE",
    "PSUBSCRIBE P P",
    "PUNSUBSCRIBE P",
    "PUNSUBSCRIBE",
    "PUBLISH H V",
    "PUBLISH H V",
    "PUBSUB NUMSUB H H",
    "PUBSUB CHANNELS",
    "PUBSUB CHANNELS P",
    "PUBSUB NUMPAT",
    "PING",
    "PING V",
    "SET H V",
    "GET H",
    "RESET",
];

fn pool(kind: char) -> &'static [&'static str] {
    match kind {
        'H' => &["a", "b", "ab", ""],
        'P' => &["a*", "*", "?", "[ab]", "", "a"],
        'V' => &["m", ""],
        _ => &[],
    }
}

fn command() -> impl Strategy<Value = Vec<String>> {
    (0..TEMPLATES.len(), prop::collection::vec(any::<usize>(), 3)).prop_map(|(t, draws)| {
        let mut draws = draws.into_iter();
        TEMPLATES[t]
            .split(' ')
            .map(|word| match (word.chars().next().map(pool), word.len()) {
                (Some(choices), 1) if !choices.is_empty() => {
                    let draw = draws.next().unwrap_or(0);
                    choices[draw % choices.len()].to_owned()
                }
                _ => word.to_owned(),
            })
            .collect()
    })
}

/// Everything each command brings back (as one array per command), up to the reply to a
/// `PING` sent after it (which a subscribed RESP2 client answers as an array). `PUBSUB CHANNELS` lists in the hash
/// table's order, so its list is sorted.
fn frames(conn: &mut Conn, protocol: &str, commands: &[Vec<String>]) -> Vec<Frame> {
    conn.reconnect(); // no subscriptions left from the last case, nor replies in flight
    assert!(matches!(conn.call(&["HELLO", protocol]), Frame::Map(_) | Frame::Array(_)));
    assert_eq!(conn.call(&["FLUSHALL"]), Frame::simple("OK"));
    let channels = ["PUBSUB".to_owned(), "CHANNELS".to_owned()];
    let end = [Frame::bulk("end"), Frame::Array(vec![Frame::bulk("pong"), Frame::bulk("end")])];
    commands
        .iter()
        .map(|command| {
            conn.send(&command.iter().map(String::as_str).collect::<Vec<_>>());
            conn.send(&["PING", "end"]);
            let mut got = Vec::new();
            loop {
                let frame = conn.read().expect("the connection stays open");
                if end.contains(&frame) {
                    break;
                }
                got.push(match frame {
                    Frame::Array(mut items) if command.starts_with(&channels) => {
                        items.sort_by_key(|item| format!("{item:?}"));
                        Frame::Array(items)
                    }
                    other => other,
                });
            }
            if *command == ["UNSUBSCRIBE"] {
                sort_names(&mut got);
            }
            sort_pattern_messages(&mut got);
            Frame::Array(got)
        })
        .collect()
}

/// The parts of a push or of a RESP2 message array.
fn parts(frame: &mut Frame) -> Option<&mut Vec<Frame>> {
    match frame {
        Frame::Array(parts) | Frame::Push(parts) => Some(parts),
        _ => None,
    }
}

/// An `UNSUBSCRIBE` of everything goes through the client's channel table in its hash order,
/// which Redis seeds at random: the names are compared as a set, the counts (which only go
/// down) in order. (`PUNSUBSCRIBE` goes through a list, in the order of subscription, and is
/// compared as it is.)
fn sort_names(frames: &mut [Frame]) {
    let mut names: Vec<Frame> =
        frames.iter_mut().filter_map(|f| parts(f)?.get(1).cloned()).collect();
    names.sort_by_key(|name| format!("{name:?}"));
    for (frame, name) in frames.iter_mut().zip(names) {
        if let Some(slot) = parts(frame).and_then(|p| p.get_mut(1)) {
            *slot = name;
        }
    }
}

/// One message matching several patterns is delivered once per pattern, in the order of
/// Redis's pattern table (a hash table, seeded at random): each run of such deliveries is
/// compared in sorted order.
fn sort_pattern_messages(frames: &mut [Frame]) {
    let is_pmessage =
        |f: &mut Frame| parts(f).is_some_and(|p| p.first() == Some(&Frame::bulk("pmessage")));
    let mut start = 0;
    while start < frames.len() {
        let mut end = start;
        while end < frames.len() && is_pmessage(&mut frames[end]) {
            end += 1;
        }
        frames[start..end].sort_by_key(|f| format!("{f:?}"));
        start = end + 1;
    }
}

#[test]
fn pubsub_sequences_behave_as_in_redis() {
    differential(
        prop::collection::vec(command(), 1..10),
        |conn, c| frames(conn, "2", c),
        |c| show_commands(c),
    );
}

#[test]
fn pubsub_sequences_behave_as_in_redis_in_resp3() {
    differential(
        prop::collection::vec(command(), 1..10),
        |conn, c| frames(conn, "3", c),
        |c| show_commands(c),
    );
}
