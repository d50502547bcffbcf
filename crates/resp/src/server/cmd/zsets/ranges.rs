//! Ranges: `ZRANGE` and its older forms by rank, score and member, `ZRANGESTORE`, and the
//! `ZREMRANGEBY...` commands.

use bytes::Bytes;

use super::{NOT_A_FLOAT_RANGE, NOT_A_LEX_RANGE, remove_if_empty, reply_pairs, store_result};
use crate::server::cmd::{Ctx, errors};
use crate::server::notify;
use crate::server::value::Str;
use crate::server::zset::{LexRange, ScoreRange, SortedSet};

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

pub(super) fn zrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Rank, false), false);
}

pub(super) fn zrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Rank, true), true);
}

pub(super) fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Score, false), true);
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Score, true), true);
}

pub(super) fn zrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Lex, false), true);
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, 1, query(By::Lex, true), true);
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
pub(super) fn zrangestore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
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

pub(super) fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    remove_range(ctx, args, By::Rank);
}

pub(super) fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    remove_range(ctx, args, By::Score);
}

pub(super) fn zremrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    remove_range(ctx, args, By::Lex);
}
