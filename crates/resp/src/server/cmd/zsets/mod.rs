//! Sorted set commands: scores, ranks, ranges by rank, score or member, pops, and the
//! algebra of several sets.
//!
//! The structure is [`SortedSet`]: a member-to-score table plus a skip list with spans. Scores
//! are `f64` (NaN is never stored); replies carry them as `%.17g` text in RESP2 and as doubles
//! in RESP3. Where RESP3 lets a reply say "pairs", `WITHSCORES` results and counted pops are
//! arrays of `[member, score]` arrays; RESP2 flattens them.
//!
//! This module has the command table, the single-member commands, pops, random members and
//! `ZSCAN`; `ranges` the range queries and `algebra` the commands over several sets.

mod algebra;
mod ranges;

use bytes::Bytes;

use super::keys::{parse_cursor, parse_scan_options, scan_some};
use super::pops::{blocking_pop, parse_mpop, pop_first};
use super::{Command, Ctx, DENYOOM, FAST, READONLY, WRITE, command, errors, parse_float};
use crate::server::blocking::BlockOp;
use crate::server::db::Db;
use crate::server::glob;
use crate::server::notify;
use crate::server::reply::Reply;
use crate::server::sample;
use crate::server::value::{Str, Value};
use crate::server::zset::{LexRange, ScoreRange, SortedSet};
use algebra::{zdiff, zdiffstore, zinter, zintercard, zinterstore, zunion, zunionstore};
use ranges::{
    zrange, zrangebylex, zrangebyscore, zrangestore, zremrangebylex, zremrangebyrank,
    zremrangebyscore, zrevrange, zrevrangebylex, zrevrangebyscore,
};

pub(super) const COMMANDS: &[Command] = &[
    command("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @sortedset @fast", zadd),
    command("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @sortedset @fast", zincrby),
    command("zrem", -3, WRITE | FAST, (1, 1, 1), "@write @sortedset @fast", zrem),
    command("zscore", 3, READONLY | FAST, (1, 1, 1), "@read @sortedset @fast", zscore),
    command("zmscore", -3, READONLY | FAST, (1, 1, 1), "@read @sortedset @fast", zmscore),
    command("zcard", 2, READONLY | FAST, (1, 1, 1), "@read @sortedset @fast", zcard),
    command("zcount", 4, READONLY | FAST, (1, 1, 1), "@read @sortedset @fast", zcount),
    command("zlexcount", 4, READONLY | FAST, (1, 1, 1), "@read @sortedset @fast", zlexcount),
    command("zrank", 3, READONLY | FAST, (1, 1, 1), "@read @sortedset @fast", zrank),
    command("zrevrank", 3, READONLY | FAST, (1, 1, 1), "@read @sortedset @fast", zrevrank),
    command("zrange", -4, READONLY, (1, 1, 1), "@read @sortedset @slow", zrange),
    command("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), "@write @sortedset @slow", zrangestore),
    command("zrevrange", -4, READONLY, (1, 1, 1), "@read @sortedset @slow", zrevrange),
    command("zrangebyscore", -4, READONLY, (1, 1, 1), "@read @sortedset @slow", zrangebyscore),
    command(
        "zrevrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        "@read @sortedset @slow",
        zrevrangebyscore,
    ),
    command("zrangebylex", -4, READONLY, (1, 1, 1), "@read @sortedset @slow", zrangebylex),
    command("zrevrangebylex", -4, READONLY, (1, 1, 1), "@read @sortedset @slow", zrevrangebylex),
    command("zremrangebyrank", 4, WRITE, (1, 1, 1), "@write @sortedset @slow", zremrangebyrank),
    command("zremrangebyscore", 4, WRITE, (1, 1, 1), "@write @sortedset @slow", zremrangebyscore),
    command("zremrangebylex", 4, WRITE, (1, 1, 1), "@write @sortedset @slow", zremrangebylex),
    command("zpopmin", -2, WRITE | FAST, (1, 1, 1), "@write @sortedset @fast", zpopmin),
    command("zpopmax", -2, WRITE | FAST, (1, 1, 1), "@write @sortedset @fast", zpopmax),
    command("zmpop", -4, WRITE, (0, 0, 0), "@write @sortedset @slow", zmpop),
    command(
        "bzpopmin",
        -3,
        WRITE | FAST,
        (1, -2, 1),
        "@write @sortedset @fast @blocking",
        bzpopmin,
    ),
    command(
        "bzpopmax",
        -3,
        WRITE | FAST,
        (1, -2, 1),
        "@write @sortedset @fast @blocking",
        bzpopmax,
    ),
    command("bzmpop", -5, WRITE, (0, 0, 0), "@write @sortedset @slow @blocking", bzmpop),
    command("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), "@write @sortedset @slow", zunionstore),
    command("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), "@write @sortedset @slow", zinterstore),
    command("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), "@write @sortedset @slow", zdiffstore),
    command("zunion", -3, READONLY, (0, 0, 0), "@read @sortedset @slow", zunion),
    command("zinter", -3, READONLY, (0, 0, 0), "@read @sortedset @slow", zinter),
    command("zdiff", -3, READONLY, (0, 0, 0), "@read @sortedset @slow", zdiff),
    command("zintercard", -3, READONLY, (0, 0, 0), "@read @sortedset @slow", zintercard),
    command("zrandmember", -2, READONLY, (1, 1, 1), "@read @sortedset @slow", zrandmember),
    command("zscan", -3, READONLY, (1, 1, 1), "@read @sortedset @slow", zscan),
];

const NOT_A_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_A_LEX_RANGE: &str = "ERR min or max not valid string range item";

/// Writes `(member, score)` pairs: flat in RESP2, as `[member, score]` arrays in RESP3 when
/// `scores` is set; members only when it is not.
fn reply_pairs(out: &mut Reply<'_>, items: &[(&Str, f64)], scores: bool) {
    let nested = scores && out.is_resp3();
    out.array_len(if scores && !nested { items.len() * 2 } else { items.len() });
    for (member, score) in items {
        if nested {
            out.array_len(2);
        }
        out.bulk(member.as_bytes());
        if scores {
            out.double(*score);
        }
    }
}

// ---- ZADD and single-member commands ----------------------------------------------------

/// `ZADD` options.
#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

fn zadd(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let mut flags = AddFlags::default();
    let mut at = 2;
    while at < args.len() {
        match &args[at].to_ascii_lowercase()[..] {
            b"nx" => flags.nx = true,
            b"xx" => flags.xx = true,
            b"gt" => flags.gt = true,
            b"lt" => flags.lt = true,
            b"ch" => flags.ch = true,
            b"incr" => flags.incr = true,
            _ => break,
        }
        at += 1;
    }
    add(ctx, args, at, flags);
}

fn zincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    add(ctx, args, 2, AddFlags { incr: true, ..AddFlags::default() });
}

/// `ZADD` (and `ZINCRBY`) from the first score at `args[at]`, in Redis's order of checks.
fn add(ctx: &mut Ctx<'_>, args: &[Bytes], at: usize, flags: AddFlags) {
    let pairs = &args[at..];
    if pairs.is_empty() || pairs.len() % 2 == 1 {
        return ctx.error(errors::SYNTAX);
    }
    if flags.nx && flags.xx {
        return ctx.error("ERR XX and NX options at the same time are not compatible");
    }
    let exclusive = [flags.gt, flags.lt, flags.nx];
    if exclusive.iter().filter(|&&set| set).count() > 1 {
        return ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if flags.incr && pairs.len() > 2 {
        return ctx.error("ERR INCR option supports a single increment-element pair");
    }
    let mut scores = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks_exact(2) {
        match parse_float(&pair[0]) {
            Some(score) => scores.push(score),
            None => return ctx.error(errors::NOT_FLOAT),
        }
    }
    let (key, now) = (&args[1], ctx.now);
    let exists = match ctx.db().get::<SortedSet>(key, now) {
        Err(_) => return ctx.wrong_type(),
        Ok(zset) => zset.is_some(),
    };
    let (mut added, mut updated, mut last_score, mut processed) = (0, 0, 0.0, false);
    if exists || !flags.xx {
        let Ok(zset) = ctx.db().get_or_create::<SortedSet>(key, now) else { return };
        for (pair, &score) in pairs.chunks_exact(2).zip(&scores) {
            let member = &pair[1][..];
            let current = zset.score(member);
            let new = match current {
                Some(_) if flags.nx => continue,
                None if flags.xx => continue,
                Some(current) if flags.incr => current + score,
                _ => score,
            };
            if new.is_nan() {
                remove_if_empty(ctx.db(), key, now);
                return ctx.error("ERR resulting score is not a number (NaN)");
            }
            if let Some(current) = current
                && ((flags.lt && new >= current) || (flags.gt && new <= current))
            {
                continue;
            }
            processed = true;
            last_score = new;
            match current {
                None => added += 1,
                Some(current) if current != new => updated += 1,
                Some(_) => {}
            }
            zset.insert(member, new);
        }
        if added + updated > 0 {
            ctx.notify(notify::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
        }
        remove_if_empty(ctx.db(), key, now);
    }
    if flags.incr {
        if processed { ctx.out.double(last_score) } else { ctx.out.null() }
    } else {
        ctx.out.int(if flags.ch { added + updated } else { added });
    }
}

/// Replaces `destination` with `result` (deleting it if empty); replies with the size.
/// The keyspace event is the command's name (`zunionstore`, `zrangestore`, ...).
fn store_result(ctx: &mut Ctx<'_>, destination: &[u8], result: SortedSet) {
    let len = result.len();
    let event = ctx.client.last_command;
    let db = ctx.db();
    if len == 0 {
        if db.remove(destination).is_some() {
            db.notify(notify::GENERIC, "del", destination);
        }
    } else {
        db.set(destination, Value::ZSet(Box::new(result)), false);
        db.notify(notify::ZSET, event, destination);
    }
    ctx.out.int(len as i64);
}

/// Deletes `key` if its sorted set was emptied.
fn remove_if_empty(db: &mut Db, key: &[u8], now: i64) {
    if db.get::<SortedSet>(key, now).is_ok_and(|z| z.is_some_and(|z| z.len() == 0)) {
        db.remove(key);
        db.notify(notify::GENERIC, "del", key);
    }
}

fn zrem(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (key, now) = (&args[1], ctx.now);
    match ctx.read::<SortedSet>(key) {
        Err(()) => return,
        Ok(z) if !z.is_some_and(|z| args[2..].iter().any(|m| z.score(m).is_some())) => {
            return ctx.out.int(0);
        }
        Ok(_) => {}
    }
    let mut removed = 0;
    if let Ok(Some(zset)) = ctx.db().get_mut::<SortedSet>(key, now) {
        for member in &args[2..] {
            removed += i64::from(zset.remove(member).is_some());
        }
        ctx.notify(notify::ZSET, "zrem", key);
    }
    remove_if_empty(ctx.db(), key, now);
    ctx.out.int(removed);
}

fn zscore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Ok(zset) = ctx.read::<SortedSet>(&args[1]) {
        match zset.and_then(|z| z.score(&args[2])) {
            Some(score) => ctx.out.double(score),
            None => ctx.out.null(),
        }
    }
}

fn zmscore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Ok(zset) = ctx.read::<SortedSet>(&args[1]) else { return };
    let scores: Vec<Option<f64>> =
        args[2..].iter().map(|m| zset.and_then(|z| z.score(m))).collect();
    ctx.out.array_len(scores.len());
    for score in scores {
        match score {
            Some(score) => ctx.out.double(score),
            None => ctx.out.null(),
        }
    }
}

fn zcard(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Ok(zset) = ctx.read::<SortedSet>(&args[1]) {
        let len = zset.map_or(0, SortedSet::len);
        ctx.out.int(len as i64);
    }
}

fn zcount(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(range) = ScoreRange::parse(&args[2], &args[3]) else {
        return ctx.error(NOT_A_FLOAT_RANGE);
    };
    if let Ok(zset) = ctx.read::<SortedSet>(&args[1]) {
        let count = zset.map_or(0, |z| z.by_score(&range, false).count());
        ctx.out.int(count as i64);
    }
}

fn zlexcount(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(range) = LexRange::parse(&args[2], &args[3]) else {
        return ctx.error(NOT_A_LEX_RANGE);
    };
    if let Ok(zset) = ctx.read::<SortedSet>(&args[1]) {
        let count = zset.map_or(0, |z| z.by_lex(&range, false).count());
        ctx.out.int(count as i64);
    }
}

fn zrank(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    rank(ctx, args, false);
}

fn zrevrank(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    rank(ctx, args, true);
}

fn rank(ctx: &mut Ctx<'_>, args: &[Bytes], reverse: bool) {
    let Ok(zset) = ctx.read::<SortedSet>(&args[1]) else { return };
    let rank =
        zset.and_then(|z| z.rank(&args[2]).map(|r| if reverse { z.len() - 1 - r } else { r }));
    match rank {
        Some(rank) => ctx.out.int(rank as i64),
        None => ctx.out.null(),
    }
}

// ---- pops --------------------------------------------------------------------------------

/// How a pop reply is shaped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PopShape {
    /// `ZPOPMIN key`: `[member, score]`.
    Single,
    /// `ZPOPMIN key count`: pairs (nested in RESP3).
    Counted,
    /// `BZPOPMIN`: `[key, member, score]`.
    WithKey,
    /// `ZMPOP`, `BZMPOP`: `[key, [[member, score], ...]]`.
    KeyAndPairs,
}

/// Pops up to `count` members from the low end (the high end if `max`) of the sorted set at
/// `key`, which must exist, writing the reply.
fn pop_from(
    db: &mut Db,
    key: &[u8],
    max: bool,
    count: usize,
    shape: PopShape,
    out: &mut Reply<'_>,
    now: i64,
) {
    let Ok(Some(zset)) = db.get_mut::<SortedSet>(key, now) else { return };
    let n = count.min(zset.len());
    let popped: Vec<(Str, f64)> = zset.by_rank(0..n, max).map(|(m, s)| (m.clone(), s)).collect();
    for (member, _) in &popped {
        zset.remove(member.as_bytes());
    }
    let nested = match shape {
        PopShape::Single | PopShape::WithKey => false,
        PopShape::Counted => out.is_resp3(),
        PopShape::KeyAndPairs => true,
    };
    match shape {
        PopShape::Single | PopShape::Counted if nested => out.array_len(n),
        PopShape::Single | PopShape::Counted => out.array_len(n * 2),
        PopShape::WithKey => {
            out.array_len(n * 2 + 1);
            out.bulk(key);
        }
        PopShape::KeyAndPairs => {
            out.array_len(2);
            out.bulk(key);
            out.array_len(n);
        }
    }
    for (member, score) in &popped {
        if nested {
            out.array_len(2);
        }
        out.bulk(member.as_bytes());
        out.double(*score);
    }
    if n > 0 {
        db.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    }
    remove_if_empty(db, key, now);
}

fn zpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    zpop(ctx, args, false);
}

fn zpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    zpop(ctx, args, true);
}

fn zpop(ctx: &mut Ctx<'_>, args: &[Bytes], max: bool) {
    let Ok(count) = ctx.optional_count(args) else { return };
    match ctx.read::<SortedSet>(&args[1]) {
        Err(()) => return,
        Ok(None) => return ctx.out.array_len(0),
        Ok(Some(_)) if count == Some(0) => return ctx.out.array_len(0),
        Ok(Some(_)) => {}
    }
    let shape = if count.is_some() { PopShape::Counted } else { PopShape::Single };
    let (db, now) = (ctx.client.db, ctx.now);
    pop_from(&mut ctx.store.dbs[db], &args[1], max, count.unwrap_or(1), shape, &mut ctx.out, now);
}

const ENDS: [&[u8]; 2] = [b"min", b"max"];

fn zmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some((keys, min, count)) = parse_mpop(ctx, &args[1..], ENDS) else { return };
    let op = BlockOp::ZPop { max: !min, count, shape: PopShape::KeyAndPairs };
    if let Ok(false) = pop_first(ctx, keys, &op) {
        ctx.out.null_array();
    }
}

fn bzpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let op = BlockOp::ZPop { max: false, count: 1, shape: PopShape::WithKey };
    blocking_pop(ctx, &args[1..args.len() - 1], &args[args.len() - 1], op);
}

fn bzpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let op = BlockOp::ZPop { max: true, count: 1, shape: PopShape::WithKey };
    blocking_pop(ctx, &args[1..args.len() - 1], &args[args.len() - 1], op);
}

fn bzmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some((keys, min, count)) = parse_mpop(ctx, &args[2..], ENDS) else { return };
    let op = BlockOp::ZPop { max: !min, count, shape: PopShape::KeyAndPairs };
    blocking_pop(ctx, keys, &args[1], op);
}

/// Performs a sorted-set pop for a blocked client; false if `key` holds no sorted set.
pub(super) fn serve_blocked_zset(
    db: &mut Db,
    key: &[u8],
    max: bool,
    count: usize,
    shape: PopShape,
    out: &mut Reply<'_>,
    now: i64,
) -> bool {
    if !matches!(db.get::<SortedSet>(key, now), Ok(Some(_))) {
        return false;
    }
    pop_from(db, key, max, count, shape, out, now);
    true
}

// ---- random members and scanning ---------------------------------------------------------

/// `ZRANDMEMBER key [count [WITHSCORES]]`.
fn zrandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Ok(count) = ctx.random_count(args, Some(b"withscores")) else { return };
    if ctx.read::<SortedSet>(&args[1]).is_err() {
        return;
    }
    let (db, now) = (ctx.client.db, ctx.now);
    let Some((count, scores)) = count else {
        let (dbs, random) = ctx.store.split_random();
        return match dbs[db].get::<SortedSet>(&args[1], now) {
            Ok(Some(zset)) => match zset.scores().random(random) {
                Some((member, _)) => ctx.out.bulk(member.as_bytes()),
                None => ctx.out.null(),
            },
            _ => ctx.out.null(),
        };
    };
    let (dbs, random) = ctx.store.split_random();
    let Ok(Some(zset)) = dbs[db].get::<SortedSet>(&args[1], now) else {
        return ctx.out.array_len(0);
    };
    let n = count.unsigned_abs() as usize;
    let picked = if count < 0 {
        sample::with_repeats(zset.scores(), n, random)
    } else {
        sample::distinct(zset.scores(), n, random)
    };
    let items: Vec<(&Str, f64)> = picked.into_iter().map(|(m, &s)| (m, s)).collect();
    reply_pairs(&mut ctx.out, &items, scores);
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: `[cursor, [member, score, ...]]`.
fn zscan(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(cursor) = parse_cursor(&args[2]) else { return ctx.error("ERR invalid cursor") };
    let Some(options) = parse_scan_options(ctx, args, 3, false) else { return };
    let Ok(zset) = ctx.read::<SortedSet>(&args[1]) else { return };
    let mut found: Vec<(Str, f64)> = Vec::new();
    let next = match zset {
        Some(zset) => scan_some(zset.scores(), cursor, options.count, |member, &score| {
            if options.pattern.as_ref().is_none_or(|p| glob::matches(p, member.as_bytes(), false)) {
                found.push((member.clone(), score));
            }
        }),
        None => 0,
    };
    ctx.out.array_len(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array_len(found.len() * 2);
    for (member, score) in found {
        ctx.out.bulk(member.as_bytes());
        // ZSCAN sends scores as text in both protocols.
        ctx.out.bulk(crate::server::reply::format_double(score).as_bytes());
    }
}
