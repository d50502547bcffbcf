//! What the multi-key and blocking pops of lists and sorted sets share: `numkeys key... END
//! [COUNT n]` parsing, the timeout, "pop from the first key that has something", and blocking
//! when none has (the registry itself is [`blocking`](crate::server::blocking)).

use bytes::Bytes;

use super::{Ctx, errors, lists, xread, zsets};
use crate::server::blocking::{BlockOp, Blocked, block};
use crate::server::db::Db;
use crate::server::reply::Reply;
use crate::server::value::{Str, Value};

/// `numkeys key... FIRST|SECOND [COUNT count]` from `args[0]` (`ends` names the two ends:
/// `LEFT`/`RIGHT` for `LMPOP`, `MIN`/`MAX` for `ZMPOP`): the keys, whether the first end was
/// named, and the count.
pub(super) fn parse_mpop<'a>(
    ctx: &mut Ctx<'_>,
    args: &'a [Bytes],
    ends: [&[u8]; 2],
) -> Option<(&'a [Bytes], bool, usize)> {
    let numkeys = ctx.int_in(&args[0], 1, "ERR numkeys should be greater than 0")? as usize;
    let Some(end_at) = numkeys.checked_add(1).filter(|&at| at < args.len()) else {
        ctx.error(errors::SYNTAX);
        return None;
    };
    let first = if args[end_at].eq_ignore_ascii_case(ends[0]) {
        true
    } else if args[end_at].eq_ignore_ascii_case(ends[1]) {
        false
    } else {
        ctx.error(errors::SYNTAX);
        return None;
    };
    let count = match &args[end_at + 1..] {
        [] => 1,
        [option, value] if option.eq_ignore_ascii_case(b"count") => {
            ctx.int_in(value, 1, "ERR count should be greater than 0")? as usize
        }
        _ => {
            ctx.error(errors::SYNTAX);
            return None;
        }
    };
    Some((&args[1..end_at], first, count))
}

/// A blocking command's timeout in seconds (fractions allowed), as an absolute deadline in
/// Unix milliseconds; `None` for 0, which waits forever.
pub(super) fn timeout_arg(ctx: &mut Ctx<'_>, arg: &[u8]) -> Result<Option<i64>, ()> {
    let Some(seconds) = super::parse_float(arg) else {
        ctx.error("ERR timeout is not a float or out of range");
        return Err(());
    };
    let ms = (seconds * 1000.0).ceil();
    if ms < 0.0 {
        ctx.error("ERR timeout is negative");
        return Err(());
    }
    if !ms.is_finite() || ms >= i64::MAX as f64 / 2.0 {
        ctx.error("ERR timeout is out of range");
        return Err(());
    }
    Ok((ms > 0.0).then(|| ctx.now.saturating_add(ms as i64)))
}

/// Whether `op` pops from a value like `value`.
fn pops_from(op: &BlockOp, value: &Value) -> bool {
    match op {
        BlockOp::ZPop { .. } => matches!(value, Value::ZSet(_)),
        BlockOp::Pop { .. } | BlockOp::PopMany { .. } | BlockOp::Move { .. } => {
            matches!(value, Value::List(_))
        }
        BlockOp::Stream(_) => matches!(value, Value::Stream(_)),
    }
}

/// Performs `op` on the first of `keys` that exists, replying as `op` says; `Ok(false)` if
/// none exists, `Err` after `WRONGTYPE` for a key of another type.
pub(super) fn pop_first(ctx: &mut Ctx<'_>, keys: &[Bytes], op: &BlockOp) -> Result<bool, ()> {
    let (db, now) = (ctx.client.db, ctx.now);
    for key in keys {
        match ctx.store.dbs[db].lookup(key, now) {
            None => continue,
            Some(value) if pops_from(op, value) => {
                serve_blocked(&mut ctx.store.dbs[db], key, op, &mut ctx.out, now);
                return Ok(true);
            }
            Some(_) => {
                ctx.wrong_type();
                return Err(());
            }
        }
    }
    Ok(false)
}

/// `BLPOP`, `BRPOP`, `BLMPOP`, `BZPOPMIN`, `BZPOPMAX`, `BZMPOP`: pop now if any key has
/// elements, else block.
pub(super) fn blocking_pop(ctx: &mut Ctx<'_>, keys: &[Bytes], timeout: &[u8], op: BlockOp) {
    let Ok(deadline) = timeout_arg(ctx, timeout) else { return };
    if let Ok(false) = pop_first(ctx, keys, &op) {
        wait(ctx, keys, op, deadline);
    }
}

/// Blocks the client on `keys`, unless it runs inside `EXEC`, where nothing may block: then
/// the reply is the timeout's.
pub(super) fn wait(ctx: &mut Ctx<'_>, keys: &[Bytes], op: BlockOp, deadline: Option<i64>) {
    if ctx.client.in_exec {
        return ctx.out.null_array();
    }
    let keys = keys.iter().map(|k| Str::new(k)).collect();
    let blocked = Blocked { db: ctx.client.db, keys, op, resp3: ctx.client.resp3, deadline };
    block(ctx.store, ctx.client.id, blocked);
    ctx.client.blocked = true;
}

/// Performs a blocked client's operation on `key`, writing its reply to `out`. Returns the
/// commands that have its effect, for the AOF, or `None`, doing nothing, if `key` cannot serve
/// the operation now (it does not hold the type the operation pops from, or a stream has
/// nothing new for the reader).
pub(crate) fn serve_blocked(
    db: &mut Db,
    key: &[u8],
    op: &BlockOp,
    out: &mut Reply<'_>,
    now: i64,
) -> Option<Vec<Vec<Vec<u8>>>> {
    let served = match op {
        BlockOp::ZPop { max, count, shape } => {
            zsets::serve_blocked_zset(db, key, *max, *count, *shape, out, now)
        }
        BlockOp::Pop { .. } | BlockOp::PopMany { .. } | BlockOp::Move { .. } => {
            lists::serve_blocked_list(db, key, op, out, now)
        }
        BlockOp::Stream(read) => return xread::serve_blocked_read(db, key, read, out, now),
    };
    served.then(|| vec![op.logged_as(key)])
}
