//! The rewrite's snapshot: the dataset as the shortest list of commands that rebuilds it.
//!
//! Each key becomes one command per up to [`ITEMS_PER_COMMAND`] elements (`SET`, `RPUSH`,
//! `SADD`, `HMSET`, `ZADD`) plus a `PEXPIREAT` if it has a TTL, and each non-empty database is
//! introduced by a `SELECT`, as in Redis's own rewrite with `aof-use-rdb-preamble no`. Keys
//! whose time has passed are left out.

use bytes::BytesMut;

use super::encode_command;
use crate::server::db::Db;
use crate::server::reply::format_double;
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
