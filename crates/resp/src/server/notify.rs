//! Keyspace notifications: a change to a key published on pub/sub channels.
//!
//! `CONFIG SET notify-keyspace-events` picks classes of events (`g` generic, `$` strings,
//! `l` lists, `s` sets, `h` hashes, `z` sorted sets, `x` expired, `e` evicted, `t` streams,
//! `m` key misses, `d` modules, `n` new keys, `A` for `g$lshzxetd`) and where they go: `K`
//! publishes `<event>` on `__keyspace@<db>__:<key>`, `E` publishes `<key>` on
//! `__keyevent@<db>__:<event>`. With neither `K` nor `E` nothing is sent.
//!
//! Commands and the database itself (a key created, a key found expired) record events in the
//! database's queue, [`Db::notify`], which does nothing unless the class is enabled, so the
//! feature costs one test per change when it is off. The queue is published after each
//! command, after blocked clients are served, and after each active expiry cycle, in the
//! order the events happened.

use super::db::Db;
use super::pubsub::Topic;
use super::store::Store;
use super::value::Str;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub(crate) const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub(crate) const KEYEVENT: u32 = 1 << 1;
/// `g`: commands that apply to any type (`DEL`, `EXPIRE`, `RENAME`, ...).
pub(crate) const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub(crate) const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub(crate) const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub(crate) const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub(crate) const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub(crate) const ZSET: u32 = 1 << 7;
/// `x`: a key removed because its time passed.
pub(crate) const EXPIRED: u32 = 1 << 8;
/// `e`: a key evicted for memory.
pub(crate) const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub(crate) const STREAM: u32 = 1 << 10;
/// `m`: a read of a key that does not exist.
pub(crate) const KEY_MISS: u32 = 1 << 11;
/// `d`: module events.
pub(crate) const MODULE: u32 = 1 << 13;
/// `n`: a key created.
pub(crate) const NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n`.
const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The class letters, in the order Redis prints them.
const LETTERS: [(u8, u32); 11] = [
    (b'g', GENERIC),
    (b'$', STRING),
    (b'l', LIST),
    (b's', SET),
    (b'h', HASH),
    (b'z', ZSET),
    (b'x', EXPIRED),
    (b'e', EVICTED),
    (b't', STREAM),
    (b'd', MODULE),
    (b'n', NEW),
];

/// Parses a `notify-keyspace-events` value; `None` if it has a letter that is not a class.
pub(crate) fn parse_flags(text: &str) -> Option<u32> {
    let mut flags = 0;
    for c in text.bytes() {
        flags |= match c {
            b'A' => ALL,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b'm' => KEY_MISS,
            _ => LETTERS.iter().find(|(letter, _)| *letter == c)?.1,
        };
    }
    Some(flags)
}

/// The canonical text of `flags`, as `CONFIG GET` shows it (`KA` reads back as `AK`).
/// Redis prints `A` alone even when `n` is set too (the flag stays set); the text here is also
/// what the server parses back, so it keeps the `n` (`An`).
pub(crate) fn format_flags(flags: u32) -> String {
    let mut text = String::new();
    if flags & ALL == ALL {
        text.push('A');
        if flags & NEW != 0 {
            text.push('n');
        }
    } else {
        for (letter, class) in LETTERS {
            if flags & class != 0 {
                text.push(char::from(letter));
            }
        }
    }
    for (letter, class) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & class != 0 {
            text.push(letter);
        }
    }
    text
}

/// Checks and canonicalises a `notify-keyspace-events` value for `CONFIG SET`.
pub(crate) fn validate(text: &str) -> Result<String, String> {
    parse_flags(text)
        .map(format_flags)
        .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
}

/// The classes a database should record: none unless events go somewhere (`K` or `E`).
pub(crate) fn recorded(flags: u32) -> u32 {
    if flags & (KEYSPACE | KEYEVENT) == 0 { 0 } else { flags }
}

/// An event a database recorded: its name (`set`, `lpush`, `expired`, ...) and key.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(crate) name: &'static str,
    pub(crate) key: Str,
}

impl Db {
    /// Records `event` on `key` if its class is enabled.
    pub(crate) fn notify(&mut self, class: u32, name: &'static str, key: &[u8]) {
        if self.notify & class != 0 {
            self.events.push(Event { name, key: Str::new(key) });
        }
    }
}

impl Store {
    /// Publishes every event the databases recorded, oldest first within a database.
    pub(crate) fn publish_events(&mut self) {
        let flags = self.cached.notify;
        for db in 0..self.dbs.len() {
            if self.dbs[db].events.is_empty() {
                continue;
            }
            for event in std::mem::take(&mut self.dbs[db].events) {
                if flags & KEYSPACE != 0 {
                    let mut channel = format!("__keyspace@{db}__:").into_bytes();
                    channel.extend_from_slice(event.key.as_bytes());
                    self.publish(Topic::Channel, &channel, event.name.as_bytes());
                }
                if flags & KEYEVENT != 0 {
                    let channel = format!("__keyevent@{db}__:{}", event.name);
                    self.publish(Topic::Channel, channel.as_bytes(), event.key.as_bytes());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_back_as_redis_prints_them() {
        for (set, got) in [
            ("gKE", "gKE"),
            ("$lshzxeKE", "$lshzxeKE"),
            ("KA", "AK"),
            ("EA", "AE"),
            ("", ""),
            ("AKEmn", "AnKEm"),
            ("g$lshzxetdKE", "AKE"),
        ] {
            assert_eq!(parse_flags(set).map(format_flags).as_deref(), Some(got), "{set}");
        }
        assert_eq!(parse_flags("Kq"), None);
    }

    #[test]
    fn nothing_is_recorded_without_a_destination() {
        assert_eq!(recorded(parse_flags("A").unwrap_or(0)), 0);
        assert_ne!(recorded(parse_flags("AK").unwrap_or(0)), 0);
    }
}
