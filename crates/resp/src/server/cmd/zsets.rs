//! Sorted set commands: scores, ranks, ranges by rank, score or member, pops, and the
//! algebra of several sets.
//!
//! The structure is [`SortedSet`]: a member-to-score table plus a skip list with spans. Scores
//! are `f64` (NaN is never stored); replies carry them as `%.17g` text in RESP2 and as doubles
//! in RESP3. Where RESP3 lets a reply say "pairs", `WITHSCORES` results and counted pops are
//! arrays of `[member, score]` arrays; RESP2 flattens them.

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
use crate::server::value::{Set, Str, Value};
use crate::server::zset::{LexRange, ScoreRange, SortedSet};

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

// ---- ranges ------------------------------------------------------------------------------

/// What a range selects by.
#[derive(Clone, Copy, PartialEq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// A parsed `ZRANGE`-family request.
struct RangeQuery {
    by: By,
    reverse: bool,
    scores: bool,
    /// `LIMIT offset count` (count < 0: no limit).
    limit: Option<(i64, i64)>,
}

/// Parses the options after `key min max` (from `args[from]`); `store` forbids `WITHSCORES`.
fn parse_range_options(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    from: usize,
    mut query: RangeQuery,
    store: bool,
    fixed: bool,
) -> Option<RangeQuery> {
    let mut at = from;
    while at < args.len() {
        let option = args[at].to_ascii_lowercase();
        match &option[..] {
            b"withscores" if !store => query.scores = true,
            b"limit" if at + 2 < args.len() => {
                let offset = ctx.int_arg(&args[at + 1])?;
                let count = ctx.int_arg(&args[at + 2])?;
                query.limit = Some((offset, count));
                at += 2;
            }
            b"rev" if !fixed => query.reverse = true,
            b"bylex" if !fixed && query.by == By::Rank => query.by = By::Lex,
            b"byscore" if !fixed && query.by == By::Rank => query.by = By::Score,
            _ => {
                ctx.error(errors::SYNTAX);
                return None;
            }
        }
        at += 1;
    }
    if query.limit.is_some() && query.by == By::Rank {
        ctx.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        return None;
    }
    if query.scores && query.by == By::Lex {
        ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    Some(query)
}

/// The bounds of a range, parsed for its kind.
enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn parse_bounds(ctx: &mut Ctx<'_>, query: &RangeQuery, min: &[u8], max: &[u8]) -> Option<Bounds> {
    // A reversed score or lex range is written max first.
    let (min, max) = if query.reverse && query.by != By::Rank { (max, min) } else { (min, max) };
    match query.by {
        By::Rank => {
            let start = ctx.int_arg(min)?;
            let stop = ctx.int_arg(max)?;
            Some(Bounds::Rank(start, stop))
        }
        By::Score => match ScoreRange::parse(min, max) {
            Some(range) => Some(Bounds::Score(range)),
            None => {
                ctx.error(NOT_A_FLOAT_RANGE);
                None
            }
        },
        By::Lex => match LexRange::parse(min, max) {
            Some(range) => Some(Bounds::Lex(range)),
            None => {
                ctx.error(NOT_A_LEX_RANGE);
                None
            }
        },
    }
}

/// Redis's inclusive rank range against `len`, as a half-open range (empty if out of range).
fn rank_range(start: i64, stop: i64, len: usize) -> std::ops::Range<usize> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop.min(len - 1) };
    if start > stop || start >= len { 0..0 } else { start as usize..stop as usize + 1 }
}

/// The members `query` selects, with their scores.
fn select<'z>(zset: &'z SortedSet, query: &RangeQuery, bounds: &Bounds) -> Vec<(&'z Str, f64)> {
    let (offset, count) = query.limit.unwrap_or((0, -1));
    if offset < 0 {
        return Vec::new();
    }
    let (offset, count) = (offset as usize, usize::try_from(count).unwrap_or(usize::MAX));
    match bounds {
        Bounds::Rank(start, stop) => {
            zset.by_rank(rank_range(*start, *stop, zset.len()), query.reverse).collect()
        }
        Bounds::Score(range) => {
            zset.by_score(range, query.reverse).skip(offset).take(count).collect()
        }
        Bounds::Lex(range) => zset.by_lex(range, query.reverse).skip(offset).take(count).collect(),
    }
}

/// Runs a range query on `args[key_at]` with bounds at the two arguments after it.
fn range(ctx: &mut Ctx<'_>, args: &[Bytes], key_at: usize, query: RangeQuery, fixed: bool) {
    let Some(query) = parse_range_options(ctx, args, key_at + 3, query, false, fixed) else {
        return;
    };
    let Some(bounds) = parse_bounds(ctx, &query, &args[key_at + 1], &args[key_at + 2]) else {
        return;
    };
    let now = ctx.now;
    match ctx.store.dbs[ctx.client.db].get::<SortedSet>(&args[key_at], now) {
        Ok(Some(zset)) => {
            let items = select(zset, &query, &bounds);
            reply_pairs(&mut ctx.out, &items, query.scores);
        }
        Ok(None) => ctx.out.array_len(0),
        Err(_) => ctx.wrong_type(),
    }
}

fn query(by: By, reverse: bool) -> RangeQuery {
    RangeQuery { by, reverse, scores: false, limit: None }
}

fn zrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Rank, false), false);
}

fn zrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Rank, true), true);
}

fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Score, false), true);
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Score, true), true);
}

fn zrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Lex, false), true);
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Lex, true), true);
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
fn zrangestore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(query) = parse_range_options(ctx, args, 5, query(By::Rank, false), true, false) else {
        return;
    };
    let Some(bounds) = parse_bounds(ctx, &query, &args[3], &args[4]) else { return };
    let now = ctx.now;
    let result: SortedSet = match ctx.store.dbs[ctx.client.db].get::<SortedSet>(&args[2], now) {
        Ok(Some(zset)) => {
            let mut result = SortedSet::default();
            for (member, score) in select(zset, &query, &bounds) {
                result.insert(member.as_bytes(), score);
            }
            result
        }
        Ok(None) => SortedSet::default(),
        Err(_) => return ctx.wrong_type(),
    };
    store_result(ctx, &args[1], result);
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

/// The `ZREMRANGEBY...` commands: removes what the range selects; replies with the count.
fn remove_range(ctx: &mut Ctx<'_>, args: &[Bytes], by: By) {
    let query = query(by, false);
    let Some(bounds) = parse_bounds(ctx, &query, &args[2], &args[3]) else { return };
    let (key, now) = (&args[1], ctx.now);
    let doomed: Vec<Str> = match ctx.read::<SortedSet>(key) {
        Err(()) => return,
        Ok(None) => return ctx.out.int(0),
        Ok(Some(zset)) => {
            select(zset, &query, &bounds).into_iter().map(|(m, _)| m.clone()).collect()
        }
    };
    if !doomed.is_empty()
        && let Ok(Some(zset)) = ctx.db().get_mut::<SortedSet>(key, now)
    {
        for member in &doomed {
            zset.remove(member.as_bytes());
        }
        let event = ctx.client.last_command;
        ctx.notify(notify::ZSET, event, key);
    }
    remove_if_empty(ctx.db(), key, now);
    ctx.out.int(doomed.len() as i64);
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    remove_range(ctx, args, By::Rank);
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    remove_range(ctx, args, By::Score);
}

fn zremrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    remove_range(ctx, args, By::Lex);
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

// ---- algebra -----------------------------------------------------------------------------

/// Which combination.
#[derive(Clone, Copy, PartialEq)]
enum Algebra {
    Union,
    Inter,
    Diff,
}

/// How scores of one member in several inputs combine.
#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            // inf + -inf is NaN; Redis stores 0 then.
            Aggregate::Sum => {
                let sum = a + b;
                if sum.is_nan() { 0.0 } else { sum }
            }
            Aggregate::Min => a.min(b),
            Aggregate::Max => a.max(b),
        }
    }
}

/// An input: a sorted set, or a plain set whose members all score 1.
enum Input<'a> {
    Missing,
    Sorted(&'a SortedSet),
    Plain(&'a Set),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Sorted(z) => z.score(member),
            Input::Plain(s) => s.contains_key(member).then_some(1.0),
        }
    }

    fn members(&self) -> Box<dyn Iterator<Item = (&Str, f64)> + '_> {
        match self {
            Input::Missing => Box::new(std::iter::empty()),
            Input::Sorted(z) => Box::new(z.iter()),
            Input::Plain(s) => Box::new(s.keys().map(|m| (m, 1.0))),
        }
    }
}

/// A parsed `ZUNION`-family request: keys, weights, aggregate, and the options.
struct AlgebraQuery<'a> {
    keys: &'a [Bytes],
    weights: Vec<f64>,
    aggregate: Aggregate,
    scores: bool,
    limit: usize,
}

/// Parses `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] [LIMIT n]`
/// from `args[at]`, allowing only what `op` (and `store`, `card`) accept.
fn parse_algebra<'a>(
    ctx: &mut Ctx<'_>,
    args: &'a [Bytes],
    at: usize,
    op: Algebra,
    store: bool,
    card: bool,
) -> Option<AlgebraQuery<'a>> {
    let name = ctx.client.last_command;
    let numkeys = ctx.int_arg(&args[at])?;
    if numkeys < 1 {
        ctx.error(&format!("ERR at least 1 input key is needed for '{name}' command"));
        return None;
    }
    let numkeys = numkeys as usize;
    if numkeys > args.len() - at - 1 {
        ctx.error(errors::SYNTAX);
        return None;
    }
    let keys = &args[at + 1..at + 1 + numkeys];
    let mut query = AlgebraQuery {
        keys,
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        scores: false,
        limit: usize::MAX,
    };
    let mut i = at + 1 + numkeys;
    while i < args.len() {
        let left = args.len() - i;
        let option = args[i].to_ascii_lowercase();
        match &option[..] {
            b"weights" if op != Algebra::Diff && !card && left > numkeys => {
                for w in 0..numkeys {
                    match parse_float(&args[i + 1 + w]) {
                        Some(weight) => query.weights[w] = weight,
                        None => {
                            ctx.error("ERR weight value is not a float");
                            return None;
                        }
                    }
                }
                i += numkeys;
            }
            b"aggregate" if op != Algebra::Diff && !card && left >= 2 => {
                query.aggregate = match &args[i + 1].to_ascii_lowercase()[..] {
                    b"sum" => Aggregate::Sum,
                    b"min" => Aggregate::Min,
                    b"max" => Aggregate::Max,
                    _ => {
                        ctx.error(errors::SYNTAX);
                        return None;
                    }
                };
                i += 1;
            }
            b"withscores" if !store && !card => query.scores = true,
            b"limit" if card && left >= 2 => {
                query.limit = match ctx.int_in(&args[i + 1], 0, "ERR LIMIT can't be negative")? {
                    0 => usize::MAX,
                    n => n as usize,
                };
                i += 1;
            }
            _ => {
                ctx.error(errors::SYNTAX);
                return None;
            }
        }
        i += 1;
    }
    Some(query)
}

/// Computes `op` over the inputs named by `query`, or `Err` after `WRONGTYPE`.
fn compute(ctx: &mut Ctx<'_>, query: &AlgebraQuery<'_>, op: Algebra) -> Result<SortedSet, ()> {
    let now = ctx.now;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let mut wrong = false;
    for key in query.keys {
        wrong |= !matches!(db.lookup(key, now), None | Some(Value::ZSet(_) | Value::Set(_)));
    }
    if wrong {
        ctx.wrong_type();
        return Err(());
    }
    let db = &ctx.store.dbs[ctx.client.db];
    let inputs: Vec<Input<'_>> = query
        .keys
        .iter()
        .map(|key| match db.keys().get(&key[..]) {
            Some(Value::ZSet(z)) => Input::Sorted(z),
            Some(Value::Set(s)) => Input::Plain(s),
            _ => Input::Missing,
        })
        .collect();
    let weighted = |score: f64, weight: f64| {
        let product = score * weight;
        if product.is_nan() { 0.0 } else { product }
    };
    let mut result = SortedSet::default();
    match op {
        Algebra::Union => {
            for (input, &weight) in inputs.iter().zip(&query.weights) {
                for (member, score) in input.members() {
                    let score = weighted(score, weight);
                    let combined = match result.score(member.as_bytes()) {
                        Some(current) => query.aggregate.apply(current, score),
                        None => score,
                    };
                    result.insert(member.as_bytes(), combined);
                }
            }
        }
        Algebra::Inter => {
            let mut order: Vec<usize> = (0..inputs.len()).collect();
            order.sort_by_key(|&i| inputs[i].len());
            let (first, rest) = order.split_first().ok_or(())?;
            'members: for (member, score) in inputs[*first].members() {
                let mut combined = weighted(score, query.weights[*first]);
                for &i in rest {
                    match inputs[i].score(member.as_bytes()) {
                        Some(s) => {
                            combined =
                                query.aggregate.apply(combined, weighted(s, query.weights[i]))
                        }
                        None => continue 'members,
                    }
                }
                result.insert(member.as_bytes(), combined);
                if result.len() >= query.limit {
                    break;
                }
            }
        }
        Algebra::Diff => {
            let (first, rest) = inputs.split_first().ok_or(())?;
            for (member, score) in first.members() {
                if rest.iter().all(|input| input.score(member.as_bytes()).is_none()) {
                    result.insert(member.as_bytes(), score);
                }
            }
        }
    }
    Ok(result)
}

fn algebra_store(ctx: &mut Ctx<'_>, args: &[Bytes], op: Algebra) {
    let Some(query) = parse_algebra(ctx, args, 2, op, true, false) else { return };
    let Ok(result) = compute(ctx, &query, op) else { return };
    store_result(ctx, &args[1], result);
}

fn algebra_reply(ctx: &mut Ctx<'_>, args: &[Bytes], op: Algebra) {
    let Some(query) = parse_algebra(ctx, args, 1, op, false, false) else { return };
    let Ok(result) = compute(ctx, &query, op) else { return };
    let items: Vec<(&Str, f64)> = result.iter().collect();
    reply_pairs(&mut ctx.out, &items, query.scores);
}

fn zunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, args, Algebra::Union);
}

fn zinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, args, Algebra::Inter);
}

fn zdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, args, Algebra::Diff);
}

fn zunion(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_reply(ctx, args, Algebra::Union);
}

fn zinter(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_reply(ctx, args, Algebra::Inter);
}

fn zdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_reply(ctx, args, Algebra::Diff);
}

fn zintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(query) = parse_algebra(ctx, args, 1, Algebra::Inter, false, true) else { return };
    let Ok(result) = compute(ctx, &query, Algebra::Inter) else { return };
    ctx.out.int(result.len() as i64);
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
