//! List commands: pushes and pops at both ends, ranges, search, and the blocking pops.
//!
//! A list is a [`VecDeque`](std::collections::VecDeque) of strings. Indexes follow Redis: `0`
//! is the head, `-1` the tail, and a range `start..=stop` is clamped to the list rather than
//! rejected. A command that removes the last element deletes the key, so a key never holds an
//! empty list; that is also what makes the blocking commands simple: a client blocks only on
//! keys that do not exist, and is served when one is created (see
//! [`blocking`](crate::server::blocking)).

use bytes::Bytes;

use super::pops::{blocking_pop, parse_mpop, pop_first, timeout_arg, wait};
use super::{Command, Ctx, DENYOOM, FAST, READONLY, WRITE, command, errors};
use crate::server::blocking::BlockOp;
use crate::server::db::Db;
use crate::server::notify;
use crate::server::reply::Reply;
use crate::server::value::{List, Str, WrongType};

pub(super) const COMMANDS: &[Command] = &[
    command("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @list @fast", lpush),
    command("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @list @fast", rpush),
    command("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @list @fast", lpushx),
    command("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @list @fast", rpushx),
    command("lpop", -2, WRITE | FAST, (1, 1, 1), "@write @list @fast", lpop),
    command("rpop", -2, WRITE | FAST, (1, 1, 1), "@write @list @fast", rpop),
    command("llen", 2, READONLY | FAST, (1, 1, 1), "@read @list @fast", llen),
    command("lindex", 3, READONLY, (1, 1, 1), "@read @list @slow", lindex),
    command("lset", 4, WRITE | DENYOOM, (1, 1, 1), "@write @list @slow", lset),
    command("lrange", 4, READONLY, (1, 1, 1), "@read @list @slow", lrange),
    command("ltrim", 4, WRITE, (1, 1, 1), "@write @list @slow", ltrim),
    command("lrem", 4, WRITE, (1, 1, 1), "@write @list @slow", lrem),
    command("linsert", 5, WRITE | DENYOOM, (1, 1, 1), "@write @list @slow", linsert),
    command("lpos", -3, READONLY, (1, 1, 1), "@read @list @slow", lpos),
    command("lmove", 5, WRITE | DENYOOM, (1, 2, 1), "@write @list @slow", lmove),
    command("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), "@write @list @slow", rpoplpush),
    command("lmpop", -4, WRITE, (0, 0, 0), "@write @list @slow", lmpop),
    command("blpop", -3, WRITE, (1, -2, 1), "@write @list @slow @blocking", blpop),
    command("brpop", -3, WRITE, (1, -2, 1), "@write @list @slow @blocking", brpop),
    command("blmove", 6, WRITE | DENYOOM, (1, 2, 1), "@write @list @slow @blocking", blmove),
    command(
        "brpoplpush",
        4,
        WRITE | DENYOOM,
        (1, 2, 1),
        "@write @list @slow @blocking",
        brpoplpush,
    ),
    command("blmpop", -5, WRITE, (0, 0, 0), "@write @list @slow @blocking", blmpop),
];

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Left,
    Right,
}

impl End {
    fn is_left(self) -> bool {
        self == End::Left
    }

    /// The keyspace event of a push at this end.
    fn push_event(self) -> &'static str {
        if self.is_left() { "lpush" } else { "rpush" }
    }

    /// The keyspace event of a pop from this end.
    fn pop_event(self) -> &'static str {
        if self.is_left() { "lpop" } else { "rpop" }
    }

    fn from_left(left: bool) -> End {
        if left { End::Left } else { End::Right }
    }

    /// `LEFT` or `RIGHT`, in any case.
    fn parse(arg: &[u8]) -> Option<End> {
        if arg.eq_ignore_ascii_case(b"left") {
            Some(End::Left)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Some(End::Right)
        } else {
            None
        }
    }
}

fn push_at(list: &mut List, end: End, element: Str) {
    match end {
        End::Left => list.push_front(element),
        End::Right => list.push_back(element),
    }
}

fn pop_at(list: &mut List, end: End) -> Option<Str> {
    match end {
        End::Left => list.pop_front(),
        End::Right => list.pop_back(),
    }
}

/// Deletes `key` if its list was emptied.
fn remove_if_empty(db: &mut Db, key: &[u8], now: i64) {
    if db.get::<List>(key, now).is_ok_and(|list| list.is_some_and(List::is_empty)) {
        db.remove(key);
        db.notify(notify::GENERIC, "del", key);
    }
}

/// After elements were popped from `end` of `key`: the event, and the key's removal if empty.
fn popped(db: &mut Db, key: &[u8], end: End, now: i64) {
    db.notify(notify::LIST, end.pop_event(), key);
    remove_if_empty(db, key, now);
}

/// Normalises Redis's inclusive `start..=stop` (negative counts from the tail) against a list
/// of `len`: the index range to visit, empty if nothing is in range.
fn clamp_range(start: i64, stop: i64, len: usize) -> std::ops::Range<usize> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop.min(len - 1) };
    if start > stop || start >= len { 0..0 } else { start as usize..stop as usize + 1 }
}

/// A Redis index (negative from the tail) as a position in a list of `len`.
fn position(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 { index.checked_add(len as i64)? } else { index };
    (0..len as i64).contains(&index).then_some(index as usize)
}

fn lpush(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    push(ctx, args, End::Left, false);
}

fn rpush(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    push(ctx, args, End::Right, false);
}

fn lpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    push(ctx, args, End::Left, true);
}

fn rpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    push(ctx, args, End::Right, true);
}

/// `[LR]PUSH[X] key element...`: replies with the new length.
fn push(ctx: &mut Ctx<'_>, args: &[Bytes], end: End, only_existing: bool) {
    let (key, now) = (&args[1], ctx.now);
    let db = ctx.db();
    let list = if only_existing {
        match db.get_mut::<List>(key, now) {
            Ok(Some(list)) => list,
            Ok(None) => return ctx.out.int(0),
            Err(_) => return ctx.wrong_type(),
        }
    } else {
        match db.get_or_create::<List>(key, now) {
            Ok(list) => list,
            Err(_) => return ctx.wrong_type(),
        }
    };
    for element in &args[2..] {
        push_at(list, end, Str::new(element));
    }
    let len = list.len();
    ctx.notify(notify::LIST, end.push_event(), key);
    ctx.out.int(len as i64);
}

fn lpop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    pop(ctx, args, End::Left);
}

fn rpop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    pop(ctx, args, End::Right);
}

/// `[LR]POP key [count]`: one element as a bulk, or with a count, an array of up to `count`.
fn pop(ctx: &mut Ctx<'_>, args: &[Bytes], end: End) {
    if args.len() > 3 {
        let name = ctx.client.last_command;
        return ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let Ok(count) = ctx.optional_count(args) else { return };
    let (key, now) = (&args[1], ctx.now);
    let list = match ctx.store.dbs[ctx.client.db].get_mut::<List>(key, now) {
        Ok(Some(list)) => list,
        Ok(None) if count.is_some() => return ctx.out.null_array(),
        Ok(None) => return ctx.out.null(),
        Err(_) => return ctx.wrong_type(),
    };
    let n = match count {
        None => {
            if let Some(element) = pop_at(list, end) {
                ctx.out.bulk(element.as_bytes());
            }
            1
        }
        Some(count) => {
            let n = count.min(list.len());
            ctx.out.array_len(n);
            for _ in 0..n {
                if let Some(element) = pop_at(list, end) {
                    ctx.out.bulk(element.as_bytes());
                }
            }
            n
        }
    };
    if n > 0 {
        popped(ctx.db(), key, end, now);
    }
}

fn llen(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.db().get::<List>(&args[1], now) {
        Ok(list) => {
            let len = list.map_or(0, List::len);
            ctx.out.int(len as i64);
        }
        Err(_) => ctx.wrong_type(),
    }
}

fn lindex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(index) = ctx.int_arg(&args[2]) else { return };
    let now = ctx.now;
    match ctx.store.dbs[ctx.client.db].get::<List>(&args[1], now) {
        Ok(Some(list)) => match position(index, list.len()) {
            Some(at) => ctx.out.bulk(list[at].as_bytes()),
            None => ctx.out.null(),
        },
        Ok(None) => ctx.out.null(),
        Err(_) => ctx.wrong_type(),
    }
}

fn lset(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(index) = ctx.int_arg(&args[2]) else { return };
    let now = ctx.now;
    match ctx.db().get_mut::<List>(&args[1], now) {
        Ok(Some(list)) => match position(index, list.len()) {
            Some(at) => {
                list[at] = Str::new(&args[3]);
                ctx.notify(notify::LIST, "lset", &args[1]);
                ctx.out.ok();
            }
            None => ctx.error("ERR index out of range"),
        },
        Ok(None) => ctx.error(errors::NO_SUCH_KEY),
        Err(_) => ctx.wrong_type(),
    }
}

fn lrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(start) = ctx.int_arg(&args[2]) else { return };
    let Some(stop) = ctx.int_arg(&args[3]) else { return };
    let now = ctx.now;
    match ctx.store.dbs[ctx.client.db].get::<List>(&args[1], now) {
        Ok(Some(list)) => {
            let range = clamp_range(start, stop, list.len());
            ctx.out.array_len(range.len());
            for element in list.range(range) {
                ctx.out.bulk(element.as_bytes());
            }
        }
        Ok(None) => ctx.out.array_len(0),
        Err(_) => ctx.wrong_type(),
    }
}

fn ltrim(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(start) = ctx.int_arg(&args[2]) else { return };
    let Some(stop) = ctx.int_arg(&args[3]) else { return };
    let (key, now) = (&args[1], ctx.now);
    match ctx.db().get_mut::<List>(key, now) {
        Ok(Some(list)) => {
            let keep = clamp_range(start, stop, list.len());
            list.truncate(keep.end);
            list.drain(..keep.start);
            ctx.notify(notify::LIST, "ltrim", key);
            remove_if_empty(ctx.db(), key, now);
            ctx.out.ok();
        }
        Ok(None) => ctx.out.ok(),
        Err(_) => ctx.wrong_type(),
    }
}

/// `LREM key count element`: removes up to `count` matches from the head (all if 0, from the
/// tail if negative).
fn lrem(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(count) = ctx.int_arg(&args[2]) else { return };
    let (key, element, now) = (&args[1], &args[3][..], ctx.now);
    let list = match ctx.db().get_mut::<List>(key, now) {
        Ok(Some(list)) => list,
        Ok(None) => return ctx.out.int(0),
        Err(_) => return ctx.wrong_type(),
    };
    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
    let mut removed = 0;
    if count >= 0 {
        list.retain(|e| {
            let matched = removed < limit && e.as_bytes() == element;
            removed += usize::from(matched);
            !matched
        });
    } else {
        let mut at = list.len();
        while at > 0 && removed < limit {
            at -= 1;
            if list[at].as_bytes() == element {
                list.remove(at);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        ctx.notify(notify::LIST, "lrem", key);
        remove_if_empty(ctx.db(), key, now);
    }
    ctx.out.int(removed as i64);
}

fn linsert(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let after = if args[2].eq_ignore_ascii_case(b"after") {
        true
    } else if args[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return ctx.error(errors::SYNTAX);
    };
    let (key, pivot, now) = (&args[1], &args[3][..], ctx.now);
    // Look before changing: a missing pivot must not count as a change for WATCH.
    let found = match ctx.db().get::<List>(key, now) {
        Ok(Some(list)) => list.iter().position(|e| e.as_bytes() == pivot),
        Ok(None) => return ctx.out.int(0),
        Err(_) => return ctx.wrong_type(),
    };
    let Some(at) = found else { return ctx.out.int(-1) };
    if let Ok(Some(list)) = ctx.db().get_mut::<List>(key, now) {
        list.insert(at + usize::from(after), Str::new(&args[4]));
        let len = list.len();
        ctx.notify(notify::LIST, "linsert", key);
        ctx.out.int(len as i64);
    }
}

/// `LPOS key element [RANK rank] [COUNT n] [MAXLEN len]`.
fn lpos(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut at = 3;
    while at < args.len() {
        let has_value = at + 1 < args.len();
        let option = args[at].to_ascii_lowercase();
        match &option[..] {
            b"rank" if has_value => {
                let Some(value) = ctx.int_arg(&args[at + 1]) else { return };
                if value == 0 {
                    return ctx.error(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from \
                         the second ... or use negative to start from the end of the list",
                    );
                }
                rank = value;
            }
            b"count" if has_value => {
                let message = "ERR COUNT can't be negative";
                let Some(value) = ctx.int_in(&args[at + 1], 0, message) else { return };
                count = Some(value as usize);
            }
            b"maxlen" if has_value => {
                let message = "ERR MAXLEN can't be negative";
                let Some(value) = ctx.int_in(&args[at + 1], 0, message) else { return };
                maxlen = value as usize;
            }
            _ => return ctx.error(errors::SYNTAX),
        }
        at += 2;
    }
    let now = ctx.now;
    let list = match ctx.store.dbs[ctx.client.db].get::<List>(&args[1], now) {
        Ok(Some(list)) => list,
        Ok(None) if count.is_some() => return ctx.out.array_len(0),
        Ok(None) => return ctx.out.null(),
        Err(_) => return ctx.wrong_type(),
    };
    let element = &args[2][..];
    let len = list.len();
    let scan = if maxlen == 0 { len } else { maxlen.min(len) };
    // Indexes of matches in search order (from the tail when the rank is negative), skipping
    // the first |rank| - 1 of them.
    let from_tail = rank < 0;
    let skip = (rank.unsigned_abs() - 1) as usize;
    let matches = (0..scan)
        .map(|i| if from_tail { len - 1 - i } else { i })
        .filter(|&i| list[i].as_bytes() == element)
        .skip(skip);
    match count {
        None => match matches.into_iter().next() {
            Some(index) => ctx.out.int(index as i64),
            None => ctx.out.null(),
        },
        Some(count) => {
            let limit = if count == 0 { usize::MAX } else { count };
            let found: Vec<usize> = matches.take(limit).collect();
            ctx.out.array_len(found.len());
            for index in found {
                ctx.out.int(index as i64);
            }
        }
    }
}

fn lmove(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(from) = End::parse(&args[3]) else { return ctx.error(errors::SYNTAX) };
    let Some(to) = End::parse(&args[4]) else { return ctx.error(errors::SYNTAX) };
    move_and_reply(ctx, &args[1], &args[2], from, to);
}

fn rpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    move_and_reply(ctx, &args[1], &args[2], End::Right, End::Left);
}

/// Pops an element of `source` and pushes it onto `destination`, writing it to `out`.
/// `Ok(false)`, writing nothing, if `source` does not exist; both types are checked before
/// anything changes.
fn move_element(
    db: &mut Db,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
    out: &mut Reply<'_>,
    now: i64,
) -> Result<bool, WrongType> {
    if db.get::<List>(source, now)?.is_none() {
        return Ok(false);
    }
    db.get::<List>(destination, now)?;
    let Some(list) = db.get_mut::<List>(source, now)? else { return Ok(false) };
    let Some(element) = pop_at(list, from) else { return Ok(false) };
    out.bulk(element.as_bytes());
    // A rotation (source = destination) keeps the key, and its TTL.
    push_at(db.get_or_create::<List>(destination, now)?, to, element);
    db.notify(notify::LIST, to.push_event(), destination);
    popped(db, source, from, now);
    Ok(true)
}

/// `LMOVE` and `RPOPLPUSH`, and `BLMOVE` on a list that has elements.
fn move_and_reply(ctx: &mut Ctx<'_>, source: &[u8], destination: &[u8], from: End, to: End) {
    let (db, now) = (ctx.client.db, ctx.now);
    match move_element(&mut ctx.store.dbs[db], source, destination, from, to, &mut ctx.out, now) {
        Ok(true) => {}
        Ok(false) => ctx.out.null(),
        Err(WrongType) => ctx.wrong_type(),
    }
}

const ENDS: [&[u8]; 2] = [b"left", b"right"];

fn lmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some((keys, left, count)) = parse_mpop(ctx, &args[1..], ENDS) else { return };
    if let Ok(false) = pop_first(ctx, keys, &BlockOp::PopMany { left, count }) {
        ctx.out.null_array();
    }
}

fn blpop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    blocking_pop(ctx, &args[1..args.len() - 1], &args[args.len() - 1], BlockOp::Pop { left: true });
}

fn brpop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (keys, timeout) = (&args[1..args.len() - 1], &args[args.len() - 1]);
    blocking_pop(ctx, keys, timeout, BlockOp::Pop { left: false });
}

fn blmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    // The timeout is parsed after the other arguments, as in Redis.
    let Some((keys, left, count)) = parse_mpop(ctx, &args[2..], ENDS) else { return };
    blocking_pop(ctx, keys, &args[1], BlockOp::PopMany { left, count });
}

fn blmove(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(from) = End::parse(&args[3]) else { return ctx.error(errors::SYNTAX) };
    let Some(to) = End::parse(&args[4]) else { return ctx.error(errors::SYNTAX) };
    let Ok(deadline) = timeout_arg(ctx, &args[5]) else { return };
    blocking_move(ctx, &args[1], &args[2], from, to, deadline);
}

fn brpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Ok(deadline) = timeout_arg(ctx, &args[3]) else { return };
    blocking_move(ctx, &args[1], &args[2], End::Right, End::Left, deadline);
}

fn blocking_move(
    ctx: &mut Ctx<'_>,
    source: &[u8],
    destination: &[u8],
    from: End,
    to: End,
    deadline: Option<i64>,
) {
    let now = ctx.now;
    match ctx.db().get::<List>(source, now) {
        Err(_) => ctx.wrong_type(),
        Ok(Some(_)) => move_and_reply(ctx, source, destination, from, to),
        Ok(None) => {
            let op = BlockOp::Move {
                to: Str::new(destination),
                from_left: from.is_left(),
                to_left: to.is_left(),
            };
            wait(ctx, &[Bytes::copy_from_slice(source)], op, deadline);
        }
    }
}

/// Performs `op` on the list at `key` for a blocked client, writing its reply to `out`.
/// Returns false, doing nothing, if `key` holds no list.
pub(super) fn serve_blocked_list(
    db: &mut Db,
    key: &[u8],
    op: &BlockOp,
    out: &mut Reply<'_>,
    now: i64,
) -> bool {
    let Ok(Some(list)) = db.get_mut::<List>(key, now) else { return false };
    let end = match op {
        BlockOp::Pop { left } => {
            let Some(element) = pop_at(list, End::from_left(*left)) else { return false };
            out.array_len(2);
            out.bulk(key);
            out.bulk(element.as_bytes());
            End::from_left(*left)
        }
        BlockOp::PopMany { left, count } => {
            let n = (*count).min(list.len());
            out.array_len(2);
            out.bulk(key);
            out.array_len(n);
            for _ in 0..n {
                if let Some(element) = pop_at(list, End::from_left(*left)) {
                    out.bulk(element.as_bytes());
                }
            }
            End::from_left(*left)
        }
        BlockOp::ZPop { .. } | BlockOp::Stream(_) => return false,
        BlockOp::Move { to, from_left, to_left } => {
            let (from, to_end) = (End::from_left(*from_left), End::from_left(*to_left));
            return match move_element(db, key, to.as_bytes(), from, to_end, out, now) {
                Ok(moved) => moved,
                // The client gets the error and stops waiting, as in Redis.
                Err(WrongType) => {
                    out.error(errors::WRONGTYPE);
                    true
                }
            };
        }
    };
    popped(db, key, end, now);
    true
}

#[cfg(test)]
mod tests {
    use super::{clamp_range, position};

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(0, -1, 5), 0..5);
        assert_eq!(clamp_range(-100, 100, 5), 0..5);
        assert_eq!(clamp_range(2, 1, 5), 0..0);
        assert_eq!(clamp_range(5, 10, 5), 0..0);
        assert_eq!(clamp_range(-2, -1, 5), 3..5);
        assert_eq!(clamp_range(0, -6, 5), 0..0);
        assert_eq!(clamp_range(0, 0, 0), 0..0);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), 0..3);
    }

    #[test]
    fn positions_count_from_either_end() {
        assert_eq!(position(0, 3), Some(0));
        assert_eq!(position(-1, 3), Some(2));
        assert_eq!(position(-3, 3), Some(0));
        assert_eq!(position(-4, 3), None);
        assert_eq!(position(3, 3), None);
        assert_eq!(position(i64::MIN, 3), None);
    }
}
