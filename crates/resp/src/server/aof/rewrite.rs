//! The rewrite's snapshot: the dataset as the shortest list of commands that rebuilds it.
//!
//! Each key becomes one command per up to [`ITEMS_PER_COMMAND`] elements (`SET`, `RPUSH`,
//! `SADD`, `HMSET`, `ZADD`; a stream as in `write_stream`) plus a `PEXPIREAT` if it has a TTL, and each non-empty database is
//! introduced by a `SELECT`, as in Redis's own rewrite with `aof-use-rdb-preamble no`. Keys
//! whose time has passed are left out.

use bytes::BytesMut;

use super::encode_command;
use crate::server::db::Db;
use crate::server::reply::format_double;
use crate::server::stream::{Stream, StreamId};
use crate::server::value::Value;

/// How many elements one command of the snapshot carries (Redis's `AOF_REWRITE_ITEMS_PER_CMD`).
pub(crate) const ITEMS_PER_COMMAND: usize = 64;

/// Appends the commands that rebuild `dbs` (as of `now`) to `out`.
pub(crate) fn snapshot(dbs: &[Db], now: i64, out: &mut BytesMut) {
    for (index, db) in dbs.iter().enumerate() {
        if db.len() == 0 {
            continue;
        }
        encode_command(out, &[b"SELECT", index.to_string().as_bytes()]);
        for (key, value) in db.keys().iter() {
            let key = key.as_bytes();
            let expire = db.expire_at(key);
            if expire.is_some_and(|at| at <= now) {
                continue;
            }
            write_value(out, key, value);
            if let Some(at) = expire {
                encode_command(out, &[b"PEXPIREAT", key, at.to_string().as_bytes()]);
            }
        }
    }
}

/// The commands that create `key` holding `value`.
fn write_value(out: &mut BytesMut, key: &[u8], value: &Value) {
    match value {
        Value::Str(s) => encode_command(out, &[b"SET", key, s.as_bytes()]),
        Value::List(list) => batches(out, b"RPUSH", key, list.iter().map(|e| vec![e.as_bytes()])),
        Value::Set(set) => batches(out, b"SADD", key, set.iter().map(|(m, ())| vec![m.as_bytes()])),
        Value::Hash(hash) => {
            batches(out, b"HMSET", key, hash.iter().map(|(f, v)| vec![f.as_bytes(), v.as_bytes()]))
        }
        Value::ZSet(zset) => {
            let scored: Vec<(String, &[u8])> =
                zset.iter().map(|(m, score)| (format_double(score), m.as_bytes())).collect();
            batches(out, b"ZADD", key, scored.iter().map(|(s, m)| vec![s.as_bytes(), *m]));
        }
        Value::Stream(stream) => write_stream(out, key, stream),
    }
}

/// The commands that rebuild a stream, as Redis's rewrite emits them: an `XADD` per entry (an
/// empty stream is made by an `XADD` trimmed to nothing), `XSETID` for the counters,
/// `XGROUP CREATE` per group, and per consumer either its pending entries as forced
/// `XCLAIM`s or, with none, `XGROUP CREATECONSUMER`.
fn write_stream(out: &mut BytesMut, key: &[u8], stream: &Stream) {
    if stream.is_empty() {
        encode_command(out, &[b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]);
    }
    for (id, fields) in stream.range(StreamId::MIN, StreamId::MAX) {
        let id = id.to_bytes();
        let mut parts: Vec<&[u8]> = vec![b"XADD", key, &id];
        parts.extend(fields.iter().map(|f| f.as_bytes()));
        encode_command(out, &parts);
    }
    let (last, added, deleted) = (
        stream.last_id.to_bytes(),
        stream.entries_added.to_string(),
        stream.max_deleted.to_bytes(),
    );
    encode_command(
        out,
        &[b"XSETID", key, &last, b"ENTRIESADDED", added.as_bytes(), b"MAXDELETEDID", &deleted],
    );
    for (name, group) in &stream.groups {
        let (cursor, read) = (group.last_id.to_bytes(), group.entries_read.to_string());
        let name = name.as_bytes();
        encode_command(
            out,
            &[b"XGROUP", b"CREATE", key, name, &cursor, b"ENTRIESREAD", read.as_bytes()],
        );
        for (consumer, state) in &group.consumers {
            let consumer = consumer.as_bytes();
            if state.pel.is_empty() {
                encode_command(out, &[b"XGROUP", b"CREATECONSUMER", key, name, consumer]);
            }
            for id in &state.pel {
                let Some(pending) = group.pel.get(id) else { continue };
                let (id, time, count) = (
                    id.to_bytes(),
                    pending.delivery_time.to_string(),
                    pending.delivery_count.to_string(),
                );
                encode_command(
                    out,
                    &[
                        b"XCLAIM",
                        key,
                        name,
                        consumer,
                        b"0",
                        &id,
                        b"TIME",
                        time.as_bytes(),
                        b"RETRYCOUNT",
                        count.as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ],
                );
            }
        }
    }
}

/// `command key item...` for every [`ITEMS_PER_COMMAND`] items (each item one or two words).
fn batches<'a>(
    out: &mut BytesMut,
    command: &[u8],
    key: &'a [u8],
    items: impl Iterator<Item = Vec<&'a [u8]>>,
) {
    let mut parts: Vec<&[u8]> = vec![command, key];
    let mut count = 0;
    for item in items {
        parts.extend(item);
        count += 1;
        if count == ITEMS_PER_COMMAND {
            encode_command(out, &parts);
            parts.truncate(2);
            count = 0;
        }
    }
    if count > 0 {
        encode_command(out, &parts);
    }
}
