//! Keyspace commands: deleting, testing, renaming, listing and scanning keys, and their TTLs.

use std::hash::Hash;

use bytes::Bytes;

use super::connection::{container, help};
use super::{
    Command, Ctx, DENYOOM, FAST, LOADING, READONLY, STALE, WRITE, command, errors, subcommand,
    with_subcommands,
};
use crate::server::dict::Dict;
use crate::server::glob;
use crate::server::notify;
use crate::server::store::DATABASES;
use crate::server::value::{Str, Value};

pub(super) const COMMANDS: &[Command] = &[
    command("del", -2, WRITE, (1, -1, 1), "@keyspace @write @slow", del),
    command("unlink", -2, WRITE | FAST, (1, -1, 1), "@keyspace @write @fast", del),
    command("exists", -2, READONLY | FAST, (1, -1, 1), "@keyspace @read @fast", exists),
    // No access times are kept here (`OBJECT IDLETIME` is always 0), so touching a key is
    // only looking it up, which also expires it if its time has come.
    command("touch", -2, READONLY | FAST, (1, -1, 1), "@keyspace @read @fast", exists),
    command("type", 2, READONLY | FAST, (1, 1, 1), "@keyspace @read @fast", type_),
    command("expire", -3, WRITE | FAST, (1, 1, 1), "@keyspace @write @fast", expire),
    command("pexpire", -3, WRITE | FAST, (1, 1, 1), "@keyspace @write @fast", pexpire),
    command("expireat", -3, WRITE | FAST, (1, 1, 1), "@keyspace @write @fast", expireat),
    command("pexpireat", -3, WRITE | FAST, (1, 1, 1), "@keyspace @write @fast", pexpireat),
    command("ttl", 2, READONLY | FAST, (1, 1, 1), "@keyspace @read @fast", ttl),
    command("pttl", 2, READONLY | FAST, (1, 1, 1), "@keyspace @read @fast", pttl),
    command("expiretime", 2, READONLY | FAST, (1, 1, 1), "@keyspace @read @fast", expiretime),
    command("pexpiretime", 2, READONLY | FAST, (1, 1, 1), "@keyspace @read @fast", pexpiretime),
    command("persist", 2, WRITE | FAST, (1, 1, 1), "@keyspace @write @fast", persist),
    command("rename", 3, WRITE, (1, 2, 1), "@keyspace @write @slow", rename),
    command("renamenx", 3, WRITE | FAST, (1, 2, 1), "@keyspace @write @fast", renamenx),
    command("copy", -3, WRITE | DENYOOM, (1, 2, 1), "@keyspace @write @slow", copy),
    command("move", 3, WRITE | FAST, (1, 1, 1), "@keyspace @write @fast", move_),
    command("swapdb", 3, WRITE | FAST, (0, 0, 0), "@keyspace @write @fast @dangerous", swapdb),
    with_subcommands(
        "object",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("object|refcount", "refcount", 3, READONLY, object_refcount),
            subcommand("object|encoding", "encoding", 3, READONLY, object_encoding),
            subcommand("object|idletime", "idletime", 3, READONLY, object_idletime),
            subcommand("object|help", "help", 2, LOADING | STALE, object_help),
        ],
    ),
    command("keys", 2, READONLY, (0, 0, 0), "@keyspace @read @slow @dangerous", keys),
    command("scan", -2, READONLY, (0, 0, 0), "@keyspace @read @slow", scan),
    command("randomkey", 1, READONLY, (0, 0, 0), "@keyspace @read @slow", randomkey),
    command("dbsize", 1, READONLY | FAST, (0, 0, 0), "@keyspace @read @fast", dbsize),
    command("flushdb", -1, WRITE, (0, 0, 0), "@keyspace @write @slow @dangerous", flushdb),
    command("flushall", -1, WRITE, (0, 0, 0), "@keyspace @write @slow @dangerous", flushall),
];

fn del(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    let mut deleted = 0;
    for key in &args[1..] {
        // An expired key counts as absent, so it is not reported as deleted.
        if !db.expire_if_needed(key, now) && db.remove(key).is_some() {
            db.notify(notify::GENERIC, "del", key);
            deleted += 1;
        }
    }
    ctx.out.int(deleted);
}

fn exists(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    let count = args[1..].iter().filter(|key| db.exists(key, now)).count();
    ctx.out.int(count as i64);
}

fn type_(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    let name = ctx.db().lookup(&args[1], now).map_or("none", |value| value.type_name());
    ctx.out.simple(name);
}

/// Where a relative expiry counts from.
#[derive(Clone, Copy, PartialEq)]
enum Base {
    Now,
    Epoch,
}

fn expire(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    expire_generic(ctx, args, Base::Now, 1000);
}

fn pexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    expire_generic(ctx, args, Base::Now, 1);
}

fn expireat(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    expire_generic(ctx, args, Base::Epoch, 1000);
}

fn pexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    expire_generic(ctx, args, Base::Epoch, 1);
}

/// `EXPIRE`, `PEXPIRE`, `EXPIREAT` and `PEXPIREAT` with `NX`/`XX`/`GT`/`LT`, in Redis's order
/// of checks. `scale` converts the argument to milliseconds.
fn expire_generic(ctx: &mut Ctx<'_>, args: &[Bytes], base: Base, scale: i64) {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        match &opt.to_ascii_lowercase()[..] {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => {
                return ctx
                    .error(&format!("ERR Unsupported option {}", String::from_utf8_lossy(opt)));
            }
        }
    }
    if nx && (xx || gt || lt) {
        return ctx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return ctx.error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(when) = ctx.int_arg(&args[2]) else { return };
    let base_ms = if base == Base::Now { ctx.now } else { 0 };
    let Some(when) = when.checked_mul(scale).and_then(|ms| ms.checked_add(base_ms)) else {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return ctx.invalid_expire(&name);
    };
    let key = &args[1];
    let now = ctx.now;
    let db = ctx.db();
    if !db.exists(key, now) {
        return ctx.out.int(0);
    }
    let current = db.expire_at(key);
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|at| when <= at))
        || (lt && current.is_some_and(|at| when >= at));
    if refused {
        return ctx.out.int(0);
    }
    if when <= now {
        db.remove(key);
        db.notify(notify::GENERIC, "del", key);
        ctx.propagate(&[b"DEL", key]);
    } else {
        db.set_expire(key, when);
        db.notify(notify::GENERIC, "expire", key);
        ctx.propagate(&[b"PEXPIREAT", key, when.to_string().as_bytes()]);
    }
    ctx.out.int(1);
}

fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ttl_generic(ctx, &args[1], false, false);
}

fn pttl(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ttl_generic(ctx, &args[1], true, false);
}

fn expiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ttl_generic(ctx, &args[1], false, true);
}

fn pexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ttl_generic(ctx, &args[1], true, true);
}

/// -2 for a missing key, -1 for one without a TTL, else the remaining time (or, `absolute`,
/// the expiry time) in seconds rounded to nearest, or in milliseconds.
fn ttl_generic(ctx: &mut Ctx<'_>, key: &[u8], millis: bool, absolute: bool) {
    let now = ctx.now;
    let db = ctx.db();
    if !db.exists(key, now) {
        return ctx.out.int(-2);
    }
    let Some(at) = db.expire_at(key) else {
        return ctx.out.int(-1);
    };
    let remaining = if absolute { at } else { (at - now).max(0) };
    ctx.out.int(if millis { remaining } else { (remaining + 500) / 1000 });
}

fn persist(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    let removed = db.exists(&args[1], now) && db.persist(&args[1]);
    if removed {
        db.notify(notify::GENERIC, "persist", &args[1]);
    }
    ctx.out.int(i64::from(removed));
}

fn rename(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    rename_generic(ctx, args, false);
}

fn renamenx(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    rename_generic(ctx, args, true);
}

fn rename_generic(ctx: &mut Ctx<'_>, args: &[Bytes], nx: bool) {
    let (from, to) = (&args[1], &args[2]);
    let now = ctx.now;
    let db = ctx.db();
    if !db.exists(from, now) {
        return ctx.error(errors::NO_SUCH_KEY);
    }
    if from == to {
        return if nx { ctx.out.int(0) } else { ctx.out.ok() };
    }
    if nx && db.exists(to, now) {
        return ctx.out.int(0);
    }
    db.rename(from, to);
    db.notify(notify::GENERIC, "rename_from", from);
    db.notify(notify::GENERIC, "rename_to", to);
    if nx { ctx.out.int(1) } else { ctx.out.ok() }
}

fn keys(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let pattern = &args[1];
    let all = &pattern[..] == b"*";
    let now = ctx.now;
    let db = ctx.db();
    let found: Vec<Str> = db
        .keys()
        .keys()
        .filter(|key| {
            (all || glob::matches(pattern, key.as_bytes(), false))
                && db.is_live(key.as_bytes(), now)
        })
        .cloned()
        .collect();
    ctx.out.array_len(found.len());
    for key in found {
        ctx.out.bulk(key.as_bytes());
    }
}

/// A `SCAN` cursor as C's `strtoul` reads it: optional sign (a negative value wraps), decimal
/// digits, nothing else; the empty string is 0.
pub(crate) fn parse_cursor(text: &[u8]) -> Option<u64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return if text.is_empty() { Some(0) } else { None };
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if negative { value.wrapping_neg() } else { value })
}

/// `SCAN`'s options.
pub(crate) struct ScanOptions {
    pub(crate) count: usize,
    pub(crate) pattern: Option<Bytes>,
    pub(crate) type_name: Option<Bytes>,
}

/// Parses `[MATCH pattern] [COUNT n] [TYPE t]` from `args[from..]`, or replies with the error.
pub(crate) fn parse_scan_options(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    from: usize,
    allow_type: bool,
) -> Option<ScanOptions> {
    let mut options = ScanOptions { count: 10, pattern: None, type_name: None };
    let mut at = from;
    while at < args.len() {
        let has_value = at + 1 < args.len();
        match &args[at].to_ascii_lowercase()[..] {
            b"count" if has_value => {
                let count = ctx.int_arg(&args[at + 1])?;
                if count < 1 {
                    ctx.error(errors::SYNTAX);
                    return None;
                }
                options.count = usize::try_from(count).unwrap_or(usize::MAX);
            }
            b"match" if has_value => {
                let pattern = args[at + 1].clone();
                options.pattern = (&pattern[..] != b"*").then_some(pattern);
            }
            b"type" if has_value && allow_type => options.type_name = Some(args[at + 1].clone()),
            _ => {
                ctx.error(errors::SYNTAX);
                return None;
            }
        }
        at += 2;
    }
    Some(options)
}

/// One `SCAN`-family call's worth of a table: visits buckets from `cursor` until about
/// `count` entries were seen (or ten times `count` buckets were empty), and returns the next
/// cursor. Every entry present for the whole scan is visited at least once across the calls.
pub(crate) fn scan_some<K: Hash + Eq, V>(
    dict: &Dict<K, V>,
    mut cursor: u64,
    count: usize,
    mut visit: impl FnMut(&K, &V),
) -> u64 {
    let mut seen = 0;
    let mut budget = count.saturating_mul(10);
    loop {
        cursor = dict.scan(cursor, |key, value| {
            seen += 1;
            visit(key, value);
        });
        if cursor == 0 || budget == 0 || seen >= count {
            return cursor;
        }
        budget -= 1;
    }
}

fn scan(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(mut cursor) = parse_cursor(&args[1]) else {
        return ctx.error("ERR invalid cursor");
    };
    let Some(options) = parse_scan_options(ctx, args, 2, true) else { return };
    let now = ctx.now;
    let db = ctx.db();
    let mut found: Vec<Str> = Vec::new();
    cursor = scan_some(db.keys(), cursor, options.count, |key, _| found.push(key.clone()));
    found.retain(|key| {
        let key = key.as_bytes();
        if options.pattern.as_ref().is_some_and(|p| !glob::matches(p, key, false)) {
            return false;
        }
        if db.expire_if_needed(key, now) {
            return false;
        }
        match &options.type_name {
            Some(wanted) => db
                .lookup(key, now)
                .is_some_and(|v| v.type_name().as_bytes().eq_ignore_ascii_case(wanted)),
            None => true,
        }
    });
    ctx.out.array_len(2);
    ctx.out.bulk(cursor.to_string().as_bytes());
    ctx.out.array_len(found.len());
    for key in found {
        ctx.out.bulk(key.as_bytes());
    }
}

/// `COPY source destination [DB index] [REPLACE]`: copies the value and its TTL.
fn copy(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (source_db, now) = (ctx.client.db, ctx.now);
    let mut target_db = source_db;
    let mut replace = false;
    let mut at = 3;
    while at < args.len() {
        if args[at].eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if args[at].eq_ignore_ascii_case(b"db") && at + 1 < args.len() {
            let Some(index) = ctx.db_index_arg(&args[at + 1]) else { return };
            target_db = index;
            at += 1;
        } else {
            return ctx.error(errors::SYNTAX);
        }
        at += 1;
    }
    let (source, destination) = (&args[1], &args[2]);
    if source_db == target_db && source == destination {
        return ctx.error(errors::SAME_OBJECT);
    }
    let dbs = &mut ctx.store.dbs;
    let Some(value) = dbs[source_db].lookup(source, now).cloned() else {
        return ctx.out.int(0);
    };
    let expire = dbs[source_db].expire_at(source);
    let target = &mut dbs[target_db];
    if target.exists(destination, now) && !replace {
        return ctx.out.int(0);
    }
    target.set(destination, value, false);
    if let Some(at) = expire {
        target.set_expire(destination, at);
    }
    target.notify(notify::GENERIC, "copy_to", destination);
    ctx.out.int(1);
}

/// `MOVE key db`: moves the key with its TTL to another database, unless it is already
/// there (0, and nothing moves).
fn move_(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (source_db, now, key) = (ctx.client.db, ctx.now, &args[1]);
    let Some(target_db) = ctx.db_index_arg(&args[2]) else { return };
    if target_db == source_db {
        return ctx.error(errors::SAME_OBJECT);
    }
    let dbs = &mut ctx.store.dbs;
    if !dbs[source_db].exists(key, now) || dbs[target_db].exists(key, now) {
        return ctx.out.int(0);
    }
    let expire = dbs[source_db].expire_at(key);
    let Some(value) = dbs[source_db].remove(key) else { return ctx.out.int(0) };
    dbs[source_db].notify(notify::GENERIC, "move_from", key);
    let target = &mut dbs[target_db];
    target.add(key, value);
    if let Some(at) = expire {
        target.set_expire(key, at);
    }
    target.notify(notify::GENERIC, "move_to", key);
    ctx.out.int(1);
}

/// `SWAPDB index1 index2`: every client of one database sees the other's keys.
fn swapdb(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let index = |arg: &[u8]| super::parse_int(arg).filter(|n| i32::try_from(*n).is_ok());
    let Some(first) = index(&args[1]) else { return ctx.error("ERR invalid first DB index") };
    let Some(second) = index(&args[2]) else { return ctx.error("ERR invalid second DB index") };
    let in_range = |n: i64| usize::try_from(n).ok().filter(|&i| i < DATABASES);
    let (Some(first), Some(second)) = (in_range(first), in_range(second)) else {
        return ctx.error(errors::DB_RANGE);
    };
    if first != second {
        let (low, high) = ctx.store.dbs.split_at_mut(first.max(second));
        low[first.min(second)].swap_contents(&mut high[0]);
    }
    ctx.out.ok();
}

/// `OBJECT HELP`: Redis's text for the subcommands implemented here.
fn object_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
}

/// `OBJECT REFCOUNT key`: values are never shared here, so 1 (null for a missing key).
fn object_refcount(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.db().lookup(&args[2], now) {
        Some(_) => ctx.out.int(1),
        None => ctx.out.null(),
    }
}

/// `OBJECT ENCODING key`: the name of the representation Redis would report for the
/// structure used here (this server has one representation per type, plus inline strings).
fn object_encoding(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    let name = match ctx.db().lookup(&args[2], now) {
        None => return ctx.out.null(),
        Some(Value::Str(s)) if crate::number::parse_i64(s.as_bytes()).is_some() => "int",
        Some(Value::Str(Str::Inline { .. })) => "embstr",
        Some(Value::Str(_)) => "raw",
        Some(Value::List(_)) => "quicklist",
        Some(Value::Hash(_) | Value::Set(_)) => "hashtable",
        Some(Value::ZSet(_)) => "skiplist",
        Some(Value::Stream(_)) => "stream",
    };
    ctx.out.bulk(name.as_bytes());
}

/// `OBJECT IDLETIME key`: access times are not tracked; 0 for a present key.
fn object_idletime(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.db().lookup(&args[2], now) {
        Some(_) => ctx.out.int(0),
        None => ctx.out.null(),
    }
}

fn randomkey(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let now = ctx.now;
    let db_index = ctx.client.db;
    let (dbs, random) = ctx.store.split_random();
    match dbs[db_index].random_key(now, random) {
        Some(key) => ctx.out.bulk(key.as_bytes()),
        None => ctx.out.null(),
    }
}

fn dbsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let len = ctx.db().len();
    ctx.out.int(len as i64);
}

/// Checks `FLUSHDB`/`FLUSHALL`'s optional `ASYNC`/`SYNC` argument.
fn flush_mode_ok(ctx: &mut Ctx<'_>, args: &[Bytes]) -> bool {
    let ok = match args.len() {
        1 => true,
        2 => args[1].eq_ignore_ascii_case(b"async") || args[1].eq_ignore_ascii_case(b"sync"),
        _ => false,
    };
    if !ok {
        ctx.error(errors::SYNTAX);
    }
    ok
}

fn flushdb(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if flush_mode_ok(ctx, args) {
        ctx.db().clear();
        ctx.out.ok();
    }
}

fn flushall(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if flush_mode_ok(ctx, args) {
        ctx.store.dbs.iter_mut().for_each(|db| db.clear());
        ctx.out.ok();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_cursor;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+12"), Some(12));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b"1x"), None);
        assert_eq!(parse_cursor(b" 1"), None);
        assert_eq!(parse_cursor(b"-"), None);
    }
}
