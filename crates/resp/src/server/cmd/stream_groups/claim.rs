//! Claiming: `XCLAIM` and `XAUTOCLAIM` give pending entries to another consumer.

use bytes::Bytes;

use super::{
    Delivery, consumer_for, log_all, no_such_key_or_group, setid_words, stream_mut, xclaim_words,
};
use crate::server::cmd::streams::{interval_start, reply_entry, reply_id, strict_id};
use crate::server::cmd::{Ctx, errors, parse_int};
use crate::server::notify;
use crate::server::reply::Reply;
use crate::server::stream::{IdSyntax, Pending, Stream, StreamId, parse_id};
use crate::server::value::Str;

/// Whether the stream at `args[1]` exists and has group `args[2]`; `Err` after `WRONGTYPE`.
fn has_group(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<bool, ()> {
    Ok(ctx.read::<Stream>(&args[1])?.is_some_and(|s| s.groups.contains_key(&args[2][..])))
}

/// Parses an integer option of `XCLAIM`, replying with `message` if it is not one.
fn claim_int(ctx: &mut Ctx<'_>, arg: &[u8], message: &str) -> Option<i64> {
    let value = parse_int(arg);
    if value.is_none() {
        ctx.error(message);
    }
    value
}

/// How a claim changes a pending entry.
struct Claim {
    /// The delivery time to record.
    time: i64,
    /// The delivery count to set, or `None` to add one (unless `justid`).
    retry_count: Option<i64>,
    justid: bool,
}

/// Gives pending entry `id` (which exists in the stream and the PEL) to `to.consumer` and
/// writes it (or its ID) to the reply; returns the `XCLAIM` to log.
fn claim_one(
    stream: &mut Stream,
    to: &Delivery<'_>,
    id: StreamId,
    claim: &Claim,
    out: &mut Reply<'_>,
) -> Vec<Vec<u8>> {
    if let Some(group) = stream.groups.get_mut(to.group.as_bytes()) {
        if let Some(pending) = group.pel.get_mut(&id) {
            pending.delivery_time = claim.time;
            match claim.retry_count {
                Some(count) => pending.delivery_count = count,
                None if !claim.justid => pending.delivery_count += 1,
                None => {}
            }
        }
        group.reassign(id, to.consumer.as_bytes());
    }
    if claim.justid {
        reply_id(out, id);
    } else if let Some(fields) = stream.get(id) {
        reply_entry(out, id, fields);
    }
    stream.groups.get(to.group.as_bytes()).map_or_else(Vec::new, |g| xclaim_words(to, g, id))
}

/// Drops pending entry `id`, deleted from the stream, from the group; returns the `XCLAIM`
/// to log (replaying it drops the entry too, the stream lacking it).
fn drop_deleted(stream: &mut Stream, to: &Delivery<'_>, id: StreamId) -> Vec<Vec<u8>> {
    let Some(group) = stream.groups.get_mut(to.group.as_bytes()) else { return Vec::new() };
    let owner = group.pel.get(&id).map(|p| p.consumer.clone());
    let words = owner.map_or_else(Vec::new, |owner| {
        xclaim_words(&Delivery { consumer: &owner, ..*to }, group, id)
    });
    group.acknowledge(id);
    words
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n]
/// [FORCE] [JUSTID] [LASTID id]`
pub(super) fn xclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    match has_group(ctx, args) {
        Err(()) => return,
        Ok(false) => return no_such_key_or_group(ctx, args),
        Ok(true) => {}
    }
    let Some(min_idle) = claim_int(ctx, &args[4], "ERR Invalid min-idle-time argument for XCLAIM")
    else {
        return;
    };
    let min_idle = min_idle.max(0);
    let strict = IdSyntax { missing_seq: 0, strict: true, seq_star: false };
    let mut ids = Vec::new();
    let mut at = 5;
    while let Some(parsed) = args.get(at).and_then(|arg| parse_id(arg, strict)) {
        ids.push(parsed.id);
        at += 1;
    }
    let now = ctx.now;
    let (mut force, mut justid, mut time, mut retry_count, mut last_id) =
        (false, false, None, None, StreamId::MIN);
    while at < args.len() {
        let more = at + 1 < args.len();
        let option = &args[at];
        if option.eq_ignore_ascii_case(b"force") {
            force = true;
        } else if option.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else if option.eq_ignore_ascii_case(b"idle") && more {
            at += 1;
            let Some(idle) =
                claim_int(ctx, &args[at], "ERR Invalid IDLE option argument for XCLAIM")
            else {
                return;
            };
            time = Some(now - idle);
        } else if option.eq_ignore_ascii_case(b"time") && more {
            at += 1;
            let Some(t) = claim_int(ctx, &args[at], "ERR Invalid TIME option argument for XCLAIM")
            else {
                return;
            };
            time = Some(t);
        } else if option.eq_ignore_ascii_case(b"retrycount") && more {
            at += 1;
            let Some(n) =
                claim_int(ctx, &args[at], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
            else {
                return;
            };
            retry_count = Some(n);
        } else if option.eq_ignore_ascii_case(b"lastid") && more {
            at += 1;
            let Some(id) = strict_id(ctx, &args[at]) else { return };
            last_id = id;
        } else {
            let text =
                format!("ERR Unrecognized XCLAIM option '{}'", String::from_utf8_lossy(option));
            return ctx.error(&text);
        }
        at += 1;
    }
    // A bogus time (negative, or in the future) is taken as now, as Redis does.
    let time = time.filter(|&t| (0..=now).contains(&t)).unwrap_or(now);
    let claim = Claim { time, retry_count: retry_count.filter(|&n| n >= 0), justid };
    let resp3 = ctx.client.resp3;
    let (key, group_name, consumer) = (&args[1][..], Str::new(&args[2]), Str::new(&args[3]));
    let to = Delivery { key, group: &group_name, consumer: &consumer, now };
    let Some(stream) = stream_mut(ctx, key) else { return };
    let mut logged = Vec::new();
    let mut moved_cursor = false;
    if let Some(group) = stream.groups.get_mut(group_name.as_bytes())
        && last_id > group.last_id
    {
        group.last_id = last_id;
        moved_cursor = true;
    }
    let mut parts = bytes::BytesMut::new();
    let mut claimed = 0;
    let mut created = false;
    {
        let mut out = Reply::new(&mut parts, resp3);
        for &id in &ids {
            let pending =
                stream.groups.get(group_name.as_bytes()).and_then(|g| g.pel.get(&id)).cloned();
            if stream.get(id).is_none() {
                if pending.is_some() {
                    logged.push(drop_deleted(stream, &to, id));
                    moved_cursor = false;
                }
                continue;
            }
            let Some(group) = stream.groups.get_mut(group_name.as_bytes()) else { break };
            let is_forced = pending.is_none();
            if is_forced {
                if !force {
                    continue;
                }
            } else if min_idle > 0
                && pending.as_ref().is_some_and(|p| now - p.delivery_time < min_idle)
            {
                continue;
            }
            if is_forced {
                // Redis creates a forced entry as delivered once, then counts the claim.
                group.pel.insert(
                    id,
                    Pending { consumer: consumer.clone(), delivery_time: now, delivery_count: 1 },
                );
            }
            created |= consumer_for(stream, &group_name, &consumer, now);
            logged.push(claim_one(stream, &to, id, &claim, &mut out));
            moved_cursor = false;
            claimed += 1;
        }
    }
    if created {
        ctx.db().notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    if moved_cursor
        && let Some(group) =
            ctx.read::<Stream>(key).ok().flatten().and_then(|s| s.groups.get(group_name.as_bytes()))
    {
        logged.push(setid_words(&to, group));
    }
    ctx.out.array_len(claimed);
    ctx.out.encoded(&parts);
    ctx.propagate_nothing();
    log_all(ctx, &logged);
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]`: claims up to `n`
/// pending entries idle long enough, scanning from `start`; replies with the cursor to
/// continue from (`0-0` at the end), the claimed entries, and the IDs dropped from the PEL
/// because the stream no longer has them.
pub(super) fn xautoclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    /// How many PEL entries one call looks at per entry it may claim.
    const ATTEMPTS_FACTOR: i64 = 10;
    let Some(min_idle) =
        claim_int(ctx, &args[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM")
    else {
        return;
    };
    let min_idle = min_idle.max(0);
    let Some(start) = interval_start(ctx, &args[5]) else { return };
    let (mut count, mut justid) = (100, false);
    let mut at = 6;
    while at < args.len() {
        if args[at].eq_ignore_ascii_case(b"count") && at + 1 < args.len() {
            let max = i64::MAX / 16;
            let Some(n) = parse_int(&args[at + 1]).filter(|n| (1..=max).contains(n)) else {
                return ctx.error("ERR COUNT must be > 0");
            };
            count = n;
            at += 1;
        } else if args[at].eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return ctx.error(errors::SYNTAX);
        }
        at += 1;
    }
    match has_group(ctx, args) {
        Err(()) => return,
        Ok(false) => return no_such_key_or_group(ctx, args),
        Ok(true) => {}
    }
    let now = ctx.now;
    let (key, group_name, consumer) = (&args[1][..], Str::new(&args[2]), Str::new(&args[3]));
    let to = Delivery { key, group: &group_name, consumer: &consumer, now };
    let claim = Claim { time: now, retry_count: None, justid };
    let resp3 = ctx.client.resp3;
    let Some(stream) = stream_mut(ctx, key) else { return };
    let scan: Vec<StreamId> = stream
        .groups
        .get(group_name.as_bytes())
        .map(|g| g.pel.range(start..).map(|(id, _)| *id).collect())
        .unwrap_or_default();
    let (mut attempts, mut left) = (count.saturating_mul(ATTEMPTS_FACTOR), count);
    let (mut logged, mut deleted, mut created) = (Vec::new(), Vec::new(), false);
    let mut parts = bytes::BytesMut::new();
    let mut claimed = 0;
    let mut next = StreamId::MIN;
    {
        let mut out = Reply::new(&mut parts, resp3);
        let mut scan = scan.into_iter().peekable();
        while attempts > 0 && left > 0 {
            let Some(id) = scan.next() else { break };
            attempts -= 1;
            if stream.get(id).is_none() {
                logged.push(drop_deleted(stream, &to, id));
                deleted.push(id);
                left -= 1;
                continue;
            }
            let idle_enough = stream
                .groups
                .get(group_name.as_bytes())
                .and_then(|g| g.pel.get(&id))
                .is_some_and(|p| min_idle == 0 || now - p.delivery_time >= min_idle);
            if !idle_enough {
                continue;
            }
            created |= consumer_for(stream, &group_name, &consumer, now);
            logged.push(claim_one(stream, &to, id, &claim, &mut out));
            claimed += 1;
            left -= 1;
        }
        if let Some(&id) = scan.peek() {
            next = id;
        }
    }
    if created {
        ctx.db().notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    let out = &mut ctx.out;
    out.array_len(3);
    reply_id(out, next);
    out.array_len(claimed);
    out.encoded(&parts);
    out.array_len(deleted.len());
    for id in deleted {
        reply_id(out, id);
    }
    ctx.propagate_nothing();
    log_all(ctx, &logged);
}
