//! Set commands: membership, random members, and the algebra of several sets.
//!
//! A set is a [`Dict`](crate::server::dict::Dict) of members to nothing. Missing keys are empty
//! sets everywhere. The algebra follows Redis: `SINTER` walks the smallest set and probes the
//! others; `SUNION` and `SDIFF` walk each set once. The `...STORE` forms overwrite the
//! destination whatever it held (and delete it if the result is empty); every source key is
//! type-checked before anything is computed.

use bytes::Bytes;

use super::keys::{parse_cursor, parse_scan_options, scan_some};
use super::{Command, Ctx, DENYOOM, FAST, READONLY, WRITE, command, errors};
use crate::server::db::Db;
use crate::server::glob;
use crate::server::notify;
use crate::server::reply::Reply;
use crate::server::sample;
use crate::server::value::{Set, Str, Value};

pub(super) const COMMANDS: &[Command] = &[
    command("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @set @fast", sadd),
    command("srem", -3, WRITE | FAST, (1, 1, 1), "@write @set @fast", srem),
    command("smembers", 2, READONLY, (1, 1, 1), "@read @set @slow", smembers),
    command("sismember", 3, READONLY | FAST, (1, 1, 1), "@read @set @fast", sismember),
    command("smismember", -3, READONLY | FAST, (1, 1, 1), "@read @set @fast", smismember),
    command("scard", 2, READONLY | FAST, (1, 1, 1), "@read @set @fast", scard),
    command("spop", -2, WRITE | FAST, (1, 1, 1), "@write @set @fast", spop),
    command("srandmember", -2, READONLY, (1, 1, 1), "@read @set @slow", srandmember),
    command("smove", 4, WRITE | FAST, (1, 2, 1), "@write @set @fast", smove),
    command("sinter", -2, READONLY, (1, -1, 1), "@read @set @slow", sinter),
    command("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), "@write @set @slow", sinterstore),
    command("sintercard", -3, READONLY, (0, 0, 0), "@read @set @slow", sintercard),
    command("sunion", -2, READONLY, (1, -1, 1), "@read @set @slow", sunion),
    command("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), "@write @set @slow", sunionstore),
    command("sdiff", -2, READONLY, (1, -1, 1), "@read @set @slow", sdiff),
    command("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), "@write @set @slow", sdiffstore),
    command("sscan", -3, READONLY, (1, 1, 1), "@read @set @slow", sscan),
];

fn sadd(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    let Ok(set) = ctx.db().get_or_create::<Set>(&args[1], now) else {
        return ctx.wrong_type();
    };
    let mut added = 0;
    for member in &args[2..] {
        if !set.contains_key(&member[..]) {
            set.insert_new(Str::new(member), ());
            added += 1;
        }
    }
    if added > 0 {
        ctx.notify(notify::SET, "sadd", &args[1]);
    }
    ctx.out.int(added);
}

fn srem(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (key, now) = (&args[1], ctx.now);
    match ctx.read::<Set>(key) {
        Err(()) => return,
        Ok(set) if !set.is_some_and(|s| args[2..].iter().any(|m| s.contains_key(&m[..]))) => {
            return ctx.out.int(0);
        }
        Ok(_) => {}
    }
    let db = ctx.db();
    let mut removed = 0;
    if let Ok(Some(set)) = db.get_mut::<Set>(key, now) {
        for member in &args[2..] {
            removed += i64::from(set.remove(&member[..]).is_some());
        }
        let emptied = set.len() == 0;
        db.notify(notify::SET, "srem", key);
        remove_if(db, emptied, key);
    }
    ctx.out.int(removed);
}

/// Deletes `key`, whose set was `emptied`.
fn remove_if(db: &mut Db, emptied: bool, key: &[u8]) {
    if emptied {
        db.remove(key);
        db.notify(notify::GENERIC, "del", key);
    }
}

/// Writes `members` as a set reply (`~` in RESP3).
fn reply_members<'m>(out: &mut Reply<'_>, len: usize, members: impl Iterator<Item = &'m Str>) {
    out.set_len(len);
    for member in members {
        out.bulk(member.as_bytes());
    }
}

fn smembers(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.store.dbs[ctx.client.db].get::<Set>(&args[1], now) {
        Ok(set) => {
            let len = set.map_or(0, Set::len);
            reply_members(&mut ctx.out, len, set.into_iter().flat_map(Set::keys));
        }
        Err(_) => ctx.wrong_type(),
    }
}

fn sismember(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Ok(set) = ctx.read::<Set>(&args[1]) {
        let member = set.is_some_and(|s| s.contains_key(&args[2][..]));
        ctx.out.int(i64::from(member));
    }
}

fn smismember(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.store.dbs[ctx.client.db].get::<Set>(&args[1], now) {
        Ok(set) => {
            ctx.out.array_len(args.len() - 2);
            for member in &args[2..] {
                ctx.out.int(i64::from(set.is_some_and(|s| s.contains_key(&member[..]))));
            }
        }
        Err(_) => ctx.wrong_type(),
    }
}

fn scard(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Ok(set) = ctx.read::<Set>(&args[1]) {
        let len = set.map_or(0, Set::len);
        ctx.out.int(len as i64);
    }
}

/// `SPOP key [count]`: removes and returns random members.
fn spop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Ok(count) = ctx.optional_count(args) else { return };
    let (key, db, now) = (&args[1], ctx.client.db, ctx.now);
    let len = match ctx.read::<Set>(key) {
        Err(()) => return,
        Ok(None) if count.is_some() => return ctx.out.set_len(0),
        Ok(None) => return ctx.out.null(),
        Ok(Some(set)) => set.len(),
    };
    let wanted = count.unwrap_or(1).min(len);
    let (dbs, random) = ctx.store.split_random();
    let popped: Vec<Str> = match dbs[db].get::<Set>(key, now) {
        Ok(Some(set)) => sample::distinct(set, wanted, random).into_iter().map(|(m, ())| m.clone()),
        _ => return,
    }
    .collect();
    if let Ok(Some(set)) = ctx.db().get_mut::<Set>(key, now) {
        for member in &popped {
            set.remove(member.as_bytes());
        }
        let emptied = set.len() == 0;
        if !popped.is_empty() {
            ctx.notify(notify::SET, "spop", key);
            // The log gets what was drawn, not another draw.
            let mut parts: Vec<&[u8]> = vec![b"SREM", key];
            parts.extend(popped.iter().map(Str::as_bytes));
            ctx.propagate(&parts);
        }
        remove_if(ctx.db(), emptied, key);
    }
    match count {
        None => {
            if let Some(member) = popped.first() {
                ctx.out.bulk(member.as_bytes());
            }
        }
        Some(_) => reply_members(&mut ctx.out, popped.len(), popped.iter()),
    }
}

/// `SRANDMEMBER key [count]`: random members, distinct for a positive count, with repeats
/// for a negative one.
fn srandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Ok(count) = ctx.random_count(args, None) else { return };
    let count = count.map(|(count, _)| count);
    let (key, db, now) = (&args[1], ctx.client.db, ctx.now);
    if ctx.read::<Set>(key).is_err() {
        return;
    }
    let (dbs, random) = ctx.store.split_random();
    let set = match dbs[db].get::<Set>(key, now) {
        Ok(Some(set)) => set,
        _ if count.is_some() => return ctx.out.array_len(0),
        _ => return ctx.out.null(),
    };
    let Some(count) = count else {
        return match set.random(random) {
            Some((member, ())) => ctx.out.bulk(member.as_bytes()),
            None => ctx.out.null(),
        };
    };
    let n = count.unsigned_abs() as usize;
    let picked = if count < 0 {
        sample::with_repeats(set, n, random)
    } else {
        sample::distinct(set, n, random)
    };
    ctx.out.array_len(picked.len());
    for (member, ()) in picked {
        ctx.out.bulk(member.as_bytes());
    }
}

fn smove(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (source, destination, member, now) = (&args[1], &args[2], &args[3][..], ctx.now);
    let db = ctx.db();
    let present = match db.get::<Set>(source, now) {
        Ok(None) => return ctx.out.int(0),
        Err(_) => return ctx.wrong_type(),
        Ok(Some(set)) => set.contains_key(member),
    };
    let already_there = match db.get::<Set>(destination, now) {
        Err(_) => return ctx.wrong_type(),
        Ok(set) => set.is_some_and(|set| set.contains_key(member)),
    };
    if source == destination || !present {
        return ctx.out.int(i64::from(present));
    }
    if let Ok(Some(set)) = db.get_mut::<Set>(source, now) {
        set.remove(member);
        let emptied = set.len() == 0;
        db.notify(notify::SET, "srem", source);
        remove_if(db, emptied, source);
    }
    // The destination changes (for WATCH) only if the member is new to it.
    if !already_there && let Ok(set) = db.get_or_create::<Set>(destination, now) {
        set.insert_new(Str::new(member), ());
        db.notify(notify::SET, "sadd", destination);
    }
    ctx.out.int(1);
}

/// The sets at `keys` (`None` for a missing key), or `Err` after replying `WRONGTYPE` if any
/// key holds another type.
fn sources<'c>(ctx: &'c mut Ctx<'_>, keys: &[Bytes]) -> Result<Vec<Option<&'c Set>>, ()> {
    let now = ctx.now;
    let db = &mut ctx.store.dbs[ctx.client.db];
    // Expire and type-check first (which needs the database mutably), then borrow the sets.
    let mut wrong = false;
    for key in keys {
        wrong |= db.get::<Set>(key, now).is_err();
    }
    if wrong {
        ctx.wrong_type();
        return Err(());
    }
    let db = &ctx.store.dbs[ctx.client.db];
    Ok(keys.iter().map(|key| db.keys().get(&key[..]).and_then(as_set)).collect())
}

fn as_set(value: &Value) -> Option<&Set> {
    match value {
        Value::Set(set) => Some(set),
        _ => None,
    }
}

/// Which combination of sets.
#[derive(Clone, Copy)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

/// Computes `op` over the sets at `keys`, up to `limit` members for an intersection.
fn combine(sets: &[Option<&Set>], op: Algebra, limit: usize) -> Vec<Str> {
    match op {
        Algebra::Inter => {
            let Some(mut present) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else {
                return Vec::new();
            };
            present.sort_by_key(|set| set.len());
            let Some((smallest, others)) = present.split_first() else { return Vec::new() };
            smallest
                .keys()
                .filter(|m| others.iter().all(|set| set.contains_key(m.as_bytes())))
                .take(limit)
                .cloned()
                .collect()
        }
        Algebra::Union => {
            let mut union = Set::default();
            for member in sets.iter().flatten().flat_map(|set| set.keys()) {
                if !union.contains_key(member.as_bytes()) {
                    union.insert_new(member.clone(), ());
                }
            }
            union.keys().cloned().collect()
        }
        Algebra::Diff => {
            let Some((Some(first), others)) = sets.split_first() else { return Vec::new() };
            first
                .keys()
                .filter(|m| !others.iter().flatten().any(|set| set.contains_key(m.as_bytes())))
                .cloned()
                .collect()
        }
    }
}

/// `SINTER`, `SUNION`, `SDIFF`: the result as a set reply.
fn algebra(ctx: &mut Ctx<'_>, keys: &[Bytes], op: Algebra) {
    let Ok(sets) = sources(ctx, keys) else { return };
    let result = combine(&sets, op, usize::MAX);
    reply_members(&mut ctx.out, result.len(), result.iter());
}

/// The `...STORE` forms: the result replaces `destination`; replies with its size.
fn algebra_store(ctx: &mut Ctx<'_>, destination: &[u8], keys: &[Bytes], op: Algebra) {
    let Ok(sets) = sources(ctx, keys) else { return };
    let result = combine(&sets, op, usize::MAX);
    let len = result.len();
    let event = ctx.client.last_command;
    let db = ctx.db();
    if result.is_empty() {
        if db.remove(destination).is_some() {
            db.notify(notify::GENERIC, "del", destination);
        }
    } else {
        let set: Set = result.into_iter().map(|member| (member, ())).collect();
        db.set(destination, Value::Set(Box::new(set)), false);
        db.notify(notify::SET, event, destination);
    }
    ctx.out.int(len as i64);
}

fn sinter(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra(ctx, &args[1..], Algebra::Inter);
}

fn sunion(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra(ctx, &args[1..], Algebra::Union);
}

fn sdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra(ctx, &args[1..], Algebra::Diff);
}

fn sinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, &args[1], &args[2..], Algebra::Inter);
}

fn sunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, &args[1], &args[2..], Algebra::Union);
}

fn sdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, &args[1], &args[2..], Algebra::Diff);
}

/// `SINTERCARD numkeys key... [LIMIT limit]`: the size of the intersection, counting at most
/// `limit` members (0: no limit).
fn sintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(numkeys) = ctx.int_in(&args[1], 1, "ERR numkeys should be greater than 0") else {
        return;
    };
    let numkeys = numkeys as usize;
    if numkeys > args.len() - 2 {
        return ctx.error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = usize::MAX;
    let mut at = 2 + numkeys;
    while at < args.len() {
        if !args[at].eq_ignore_ascii_case(b"limit") || at + 1 >= args.len() {
            return ctx.error(errors::SYNTAX);
        }
        match ctx.int_in(&args[at + 1], 0, "ERR LIMIT can't be negative") {
            Some(0) => limit = usize::MAX,
            Some(n) => limit = n as usize,
            None => return,
        }
        at += 2;
    }
    let Ok(sets) = sources(ctx, &args[2..2 + numkeys]) else { return };
    let count = combine(&sets, Algebra::Inter, limit).len();
    ctx.out.int(count as i64);
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`.
fn sscan(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(cursor) = parse_cursor(&args[2]) else { return ctx.error("ERR invalid cursor") };
    let Some(options) = parse_scan_options(ctx, args, 3, false) else { return };
    let Ok(set) = ctx.read::<Set>(&args[1]) else { return };
    let mut found: Vec<Str> = Vec::new();
    let next = match set {
        Some(set) => scan_some(set, cursor, options.count, |member, ()| {
            if options.pattern.as_ref().is_none_or(|p| glob::matches(p, member.as_bytes(), false)) {
                found.push(member.clone());
            }
        }),
        None => 0,
    };
    ctx.out.array_len(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array_len(found.len());
    for member in found {
        ctx.out.bulk(member.as_bytes());
    }
}
