//! Hash commands: fields and values under one key.
//!
//! A hash is a [`Dict`](crate::server::dict::Dict) of field to value, the same table as the
//! keyspace, so `HSCAN` has `SCAN`'s guarantee (every field present for the whole scan is
//! returned at least once) and `HRANDFIELD` samples in O(1). Numeric fields are stored as
//! text, as `INCR` stores counters; the key disappears with its last field.

use bytes::Bytes;

use super::keys::{parse_cursor, parse_scan_options, scan_some};
use super::{Command, Ctx, DENYOOM, FAST, READONLY, WRITE, command, errors, parse_int};
use crate::server::glob;
use crate::server::long_double::LongDouble;
use crate::server::notify;
use crate::server::sample;
use crate::server::value::{Hash, Str};

pub(super) const COMMANDS: &[Command] = &[
    command("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @hash @fast", hset),
    command("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @hash @fast", hset),
    command("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @hash @fast", hsetnx),
    command("hget", 3, READONLY | FAST, (1, 1, 1), "@read @hash @fast", hget),
    command("hmget", -3, READONLY | FAST, (1, 1, 1), "@read @hash @fast", hmget),
    command("hgetall", 2, READONLY, (1, 1, 1), "@read @hash @slow", hgetall),
    command("hkeys", 2, READONLY, (1, 1, 1), "@read @hash @slow", hkeys),
    command("hvals", 2, READONLY, (1, 1, 1), "@read @hash @slow", hvals),
    command("hdel", -3, WRITE | FAST, (1, 1, 1), "@write @hash @fast", hdel),
    command("hlen", 2, READONLY | FAST, (1, 1, 1), "@read @hash @fast", hlen),
    command("hexists", 3, READONLY | FAST, (1, 1, 1), "@read @hash @fast", hexists),
    command("hstrlen", 3, READONLY | FAST, (1, 1, 1), "@read @hash @fast", hstrlen),
    command("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @hash @fast", hincrby),
    command(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "@write @hash @fast",
        hincrbyfloat,
    ),
    command("hscan", -3, READONLY, (1, 1, 1), "@read @hash @slow", hscan),
    command("hrandfield", -2, READONLY, (1, 1, 1), "@read @hash @slow", hrandfield),
];

/// `HSET key field value [field value ...]` (replies with the number of new fields) and the
/// older `HMSET` (replies `OK`).
fn hset(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if args.len() % 2 == 1 {
        let name = ctx.client.last_command;
        return ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let now = ctx.now;
    let Ok(hash) = ctx.db().get_or_create::<Hash>(&args[1], now) else {
        return ctx.wrong_type();
    };
    let mut created = 0;
    for pair in args[2..].chunks_exact(2) {
        match hash.get_mut(&pair[0][..]) {
            Some(value) => *value = Str::new(&pair[1]),
            None => {
                hash.insert_new(Str::new(&pair[0]), Str::new(&pair[1]));
                created += 1;
            }
        }
    }
    ctx.notify(notify::HASH, "hset", &args[1]);
    if ctx.client.last_command == "hset" { ctx.out.int(created) } else { ctx.out.ok() }
}

fn hsetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    // Look first: an existing field is not a change for WATCH.
    match ctx.db().get::<Hash>(&args[1], now) {
        Err(_) => return ctx.wrong_type(),
        Ok(Some(hash)) if hash.contains_key(&args[2][..]) => return ctx.out.int(0),
        Ok(_) => {}
    }
    if let Ok(hash) = ctx.db().get_or_create::<Hash>(&args[1], now) {
        hash.insert_new(Str::new(&args[2]), Str::new(&args[3]));
    }
    ctx.notify(notify::HASH, "hset", &args[1]);
    ctx.out.int(1);
}

fn hget(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.store.dbs[ctx.client.db].get::<Hash>(&args[1], now) {
        Ok(hash) => match hash.and_then(|h| h.get(&args[2][..])) {
            Some(value) => ctx.out.bulk(value.as_bytes()),
            None => ctx.out.null(),
        },
        Err(_) => ctx.wrong_type(),
    }
}

fn hmget(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.store.dbs[ctx.client.db].get::<Hash>(&args[1], now) {
        Ok(hash) => {
            ctx.out.array_len(args.len() - 2);
            for field in &args[2..] {
                match hash.and_then(|h| h.get(&field[..])) {
                    Some(value) => ctx.out.bulk(value.as_bytes()),
                    None => ctx.out.null(),
                }
            }
        }
        Err(_) => ctx.wrong_type(),
    }
}

/// What `HGETALL`, `HKEYS` and `HVALS` return of each field.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Both,
    Fields,
    Values,
}

fn hgetall(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    all(ctx, &args[1], Part::Both);
}

fn hkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    all(ctx, &args[1], Part::Fields);
}

fn hvals(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    all(ctx, &args[1], Part::Values);
}

/// `HGETALL` is a map in RESP3 (a flat array in RESP2); `HKEYS` and `HVALS` are arrays.
fn all(ctx: &mut Ctx<'_>, key: &[u8], part: Part) {
    let now = ctx.now;
    let hash = match ctx.store.dbs[ctx.client.db].get::<Hash>(key, now) {
        Ok(hash) => hash,
        Err(_) => return ctx.wrong_type(),
    };
    let len = hash.map_or(0, Hash::len);
    if part == Part::Both {
        ctx.out.map_len(len);
    } else {
        ctx.out.array_len(len);
    }
    for (field, value) in hash.into_iter().flat_map(Hash::iter) {
        if part != Part::Values {
            ctx.out.bulk(field.as_bytes());
        }
        if part != Part::Fields {
            ctx.out.bulk(value.as_bytes());
        }
    }
}

fn hdel(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (key, now) = (&args[1], ctx.now);
    let db = ctx.db();
    let hash = match db.get::<Hash>(key, now) {
        Ok(Some(hash)) => hash,
        Ok(None) => return ctx.out.int(0),
        Err(_) => return ctx.wrong_type(),
    };
    if !args[2..].iter().any(|field| hash.contains_key(&field[..])) {
        return ctx.out.int(0);
    }
    let mut removed = 0;
    if let Ok(Some(hash)) = db.get_mut::<Hash>(key, now) {
        for field in &args[2..] {
            removed += i64::from(hash.remove(&field[..]).is_some());
        }
        let emptied = hash.len() == 0;
        db.notify(notify::HASH, "hdel", key);
        if emptied {
            db.remove(key);
            db.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.out.int(removed);
}

fn hlen(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Ok(hash) = ctx.read::<Hash>(&args[1]) {
        let len = hash.map_or(0, Hash::len);
        ctx.out.int(len as i64);
    }
}

fn hexists(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Ok(hash) = ctx.read::<Hash>(&args[1]) {
        let exists = hash.is_some_and(|h| h.contains_key(&args[2][..]));
        ctx.out.int(i64::from(exists));
    }
}

fn hstrlen(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Ok(hash) = ctx.read::<Hash>(&args[1]) {
        let len = hash.and_then(|h| h.get(&args[2][..])).map_or(0, Str::len);
        ctx.out.int(len as i64);
    }
}

fn hincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(by) = ctx.int_arg(&args[3]) else { return };
    let (key, field, now) = (&args[1], &args[2][..], ctx.now);
    let current = match ctx.read::<Hash>(key) {
        Err(()) => return,
        Ok(hash) => match hash.and_then(|h| h.get(field)) {
            None => 0,
            Some(value) => match parse_int(value.as_bytes()) {
                Some(n) => n,
                None => return ctx.error("ERR hash value is not an integer"),
            },
        },
    };
    let Some(value) = current.checked_add(by) else {
        return ctx.error("ERR increment or decrement would overflow");
    };
    let mut buf = [0; 20];
    let text = crate::server::reply::format_i64(&mut buf, value);
    if let Ok(hash) = ctx.db().get_or_create::<Hash>(key, now) {
        hash.insert(Str::new(field), Str::new(text));
    }
    ctx.notify(notify::HASH, "hincrby", key);
    ctx.out.int(value);
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(by) = LongDouble::parse(&args[3]) else { return ctx.error(errors::NOT_FLOAT) };
    if !by.is_finite() {
        return ctx.error("ERR value is NaN or Infinity");
    }
    let (key, field, now) = (&args[1], &args[2][..], ctx.now);
    let current = match ctx.read::<Hash>(key) {
        Err(()) => return,
        Ok(hash) => match hash.and_then(|h| h.get(field)) {
            None => LongDouble::ZERO,
            Some(value) => match LongDouble::parse(value.as_bytes()) {
                Some(n) => n,
                None => return ctx.error("ERR hash value is not a float"),
            },
        },
    };
    // In `long double`, as Redis computes it (see `long_double`).
    let Some(value) = current.add(&by).filter(LongDouble::is_finite) else {
        return ctx.error("ERR increment would produce NaN or Infinity");
    };
    let text = value.to_human();
    if let Ok(hash) = ctx.db().get_or_create::<Hash>(key, now) {
        hash.insert(Str::new(field), Str::new(text.as_bytes()));
    }
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    ctx.propagate(&[b"HSET", key, field, text.as_bytes()]);
    ctx.out.bulk(text.as_bytes());
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`: `[cursor, [field, value, ...]]`.
fn hscan(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(cursor) = parse_cursor(&args[2]) else { return ctx.error("ERR invalid cursor") };
    let Some(options) = parse_scan_options(ctx, args, 3, false) else { return };
    let Ok(hash) = ctx.read::<Hash>(&args[1]) else { return };
    let mut found: Vec<(Str, Str)> = Vec::new();
    let next = match hash {
        Some(hash) => scan_some(hash, cursor, options.count, |field, value| {
            let wanted =
                options.pattern.as_ref().is_none_or(|p| glob::matches(p, field.as_bytes(), false));
            if wanted {
                found.push((field.clone(), value.clone()));
            }
        }),
        None => 0,
    };
    ctx.out.array_len(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array_len(found.len() * 2);
    for (field, value) in found {
        ctx.out.bulk(field.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
}

/// `HRANDFIELD key [count [WITHVALUES]]`.
fn hrandfield(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Ok(count) = ctx.random_count(args, Some(b"withvalues")) else { return };
    if ctx.read::<Hash>(&args[1]).is_err() {
        return;
    }
    let (db, now) = (ctx.client.db, ctx.now);
    let Some((count, with_values)) = count else {
        let (dbs, random) = ctx.store.split_random();
        return match dbs[db].get::<Hash>(&args[1], now) {
            Ok(Some(hash)) => match hash.random(random) {
                Some((field, _)) => ctx.out.bulk(field.as_bytes()),
                None => ctx.out.null(),
            },
            _ => ctx.out.null(),
        };
    };
    let resp3 = ctx.out.is_resp3();
    let (dbs, random) = ctx.store.split_random();
    let Ok(Some(hash)) = dbs[db].get::<Hash>(&args[1], now) else {
        return ctx.out.array_len(0);
    };
    let n = count.unsigned_abs() as usize;
    let picked = if count < 0 {
        sample::with_repeats(hash, n, random)
    } else {
        sample::distinct(hash, n, random)
    };
    // RESP3 pairs each field with its value; RESP2 flattens them.
    ctx.out.array_len(if with_values && !resp3 { picked.len() * 2 } else { picked.len() });
    for (field, value) in picked {
        if with_values && resp3 {
            ctx.out.array_len(2);
        }
        ctx.out.bulk(field.as_bytes());
        if with_values {
            ctx.out.bulk(value.as_bytes());
        }
    }
}
