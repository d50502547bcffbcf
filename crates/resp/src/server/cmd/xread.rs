//! `XREAD` and `XREADGROUP`: reading the entries of several streams after given IDs, now or,
//! with `BLOCK`, when they arrive.
//!
//! A plain reader asks for the entries after an ID (`$` meaning "after the last one now").
//! A group reader asks either for new entries (`>`: those after the group's cursor, which it
//! moves, each recorded as pending for the consumer unless `NOACK`), or for its own history
//! (an ID: its pending entries after that ID, whose delivery count goes up).
//!
//! A reader that gets nothing and said `BLOCK ms` waits ([`blocking`](crate::server::blocking)).
//! `XADD` wakes the readers of its stream; each is served if the stream now has entries after
//! its ID (for a group reader, after the group's cursor *at that moment*, since other
//! consumers of the group may have been served first). A group reader is also woken, with a
//! `NOGROUP` error, when its stream or its group disappears.
//!
//! The AOF never sees `XREADGROUP` itself: what it changed is logged as `XCLAIM ... FORCE
//! JUSTID LASTID` per delivered entry, `XGROUP SETID ... ENTRIESREAD` for the group's cursor,
//! and `XGROUP CREATECONSUMER` for a consumer created under `NOACK`, the commands Redis
//! propagates (see `deliver` and `history` for where this server logs more than Redis).

use bytes::{Bytes, BytesMut};

use super::stream_groups::{Delivery, consumer_for, setid_words, xclaim_words};
use super::streams::{reply_entries, reply_entry, reply_id, strict_id};
use super::{Command, Ctx, READONLY, WRITE, command, errors, pops};
use crate::server::blocking::BlockOp;
use crate::server::db::Db;
use crate::server::reply::Reply;
use crate::server::stream::{Pending, Stream, StreamId};
use crate::server::value::{Str, Value};

pub(super) const COMMANDS: &[Command] = &[
    command("xread", -4, READONLY, (0, 0, 0), "@read @stream @slow @blocking", xread),
    command("xreadgroup", -7, WRITE, (0, 0, 0), "@write @stream @slow @blocking", xreadgroup),
];

/// How many entries a blocked reader without `COUNT` gets at most (Redis's
/// `XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// A blocked read: the keys with the ID to read after, and the group, if any.
#[derive(Clone, Debug)]
pub(crate) struct StreamRead {
    keys: Vec<(Str, StreamId)>,
    count: usize,
    group: Option<GroupRead>,
}

/// The group part of a blocked `XREADGROUP`.
#[derive(Clone, Debug)]
struct GroupRead {
    group: Str,
    consumer: Str,
    noack: bool,
}

fn xread(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    read(ctx, args, false);
}

fn xreadgroup(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    read(ctx, args, true);
    ctx.propagate_nothing();
}

/// `XREAD [COUNT n] [BLOCK ms] STREAMS key... id...` and `XREADGROUP GROUP group consumer
/// [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...`, with Redis's order of checks.
fn read(ctx: &mut Ctx<'_>, args: &[Bytes], xreadgroup: bool) {
    let mut timeout = None;
    let mut count = 0;
    let mut streams_at = None;
    let mut group: Option<(&[u8], &[u8])> = None;
    let mut noack = false;
    let mut at = 1;
    while at < args.len() {
        let more = args.len() - 1 - at;
        let option = &args[at];
        if option.eq_ignore_ascii_case(b"block") && more > 0 {
            if ctx.client.in_script {
                // The command's name as the script spelled it, as Redis echoes `argv[0]`.
                let name = String::from_utf8_lossy(&args[0]);
                return ctx.error(&format!(
                    "ERR {name} command is not allowed with BLOCK option from scripts"
                ));
            }
            at += 1;
            let Some(deadline) = block_timeout(ctx, &args[at]) else { return };
            timeout = Some(deadline);
        } else if option.eq_ignore_ascii_case(b"count") && more > 0 {
            at += 1;
            let Some(n) = ctx.int_arg(&args[at]) else { return };
            count = n.max(0) as usize;
        } else if option.eq_ignore_ascii_case(b"streams") && more > 0 {
            if !(args.len() - at - 1).is_multiple_of(2) {
                return ctx.error(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must \
                     be specified.",
                );
            }
            streams_at = Some(at + 1);
            break;
        } else if option.eq_ignore_ascii_case(b"group") && more >= 2 {
            if !xreadgroup {
                return ctx
                    .error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
            }
            group = Some((&args[at + 1], &args[at + 2]));
            at += 2;
        } else if option.eq_ignore_ascii_case(b"noack") {
            if !xreadgroup {
                return ctx
                    .error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
            }
            noack = true;
        } else {
            return ctx.error(errors::SYNTAX);
        }
        at += 1;
    }
    let Some(streams_at) = streams_at else { return ctx.error(errors::SYNTAX) };
    if xreadgroup && group.is_none() {
        return ctx.error("ERR Missing GROUP option for XREADGROUP");
    }
    let n = (args.len() - streams_at) / 2;
    let (keys, id_args) = args[streams_at..].split_at(n);
    let Some(ids) = parse_ids(ctx, keys, id_args, group.map(|(g, _)| g)) else { return };
    let group_read = group.map(|(group, consumer)| GroupRead {
        group: Str::new(group),
        consumer: Str::new(consumer),
        noack,
    });

    // Serve what can be served now, each stream's part written aside: the number of parts is
    // known only at the end.
    let mut parts = BytesMut::new();
    let mut served = 0;
    let mut logged = Vec::new();
    for (key, &after) in keys.iter().zip(&ids) {
        let (db, now, resp3) = (ctx.client.db, ctx.now, ctx.client.resp3);
        let db = &mut ctx.store.dbs[db];
        let Some(Value::Stream(stream)) = db.lookup(key, now) else { continue };
        let read = match group {
            None => (stream.last_live_id().is_some_and(|last| last > after))
                .then_some(Read::After(after)),
            // An ID asks for the consumer's history, always answered.
            Some(_) if after != StreamId::MAX => Some(Read::History(after)),
            Some((name, _)) => {
                let cursor = stream.groups.get(name).map_or(StreamId::MAX, |g| g.last_id);
                (stream.last_live_id().is_some_and(|last| last > cursor))
                    .then_some(Read::After(cursor))
            }
        };
        let Some(read) = read else { continue };
        served += 1;
        let mut out = Reply::new(&mut parts, resp3);
        if !resp3 {
            out.array_len(2);
        }
        out.bulk(key);
        logged.extend(serve(db, key, read, group_read.as_ref(), count, &mut out, now));
    }
    if served > 0 {
        if ctx.client.resp3 {
            ctx.out.map_len(served);
        } else {
            ctx.out.array_len(served);
        }
        ctx.out.encoded(&parts);
        for command in &logged {
            let words: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
            ctx.propagate(&words);
        }
        return;
    }
    let Some(deadline) = timeout else { return ctx.out.null_array() };
    // Block on each key once, with the first ID given for it.
    let mut waits: Vec<(Str, StreamId)> = Vec::new();
    for (key, &after) in keys.iter().zip(&ids) {
        if !waits.iter().any(|(k, _)| k.as_bytes() == &key[..]) {
            waits.push((Str::new(key), after));
        }
    }
    let wait_keys: Vec<Bytes> =
        waits.iter().map(|(k, _)| Bytes::copy_from_slice(k.as_bytes())).collect();
    let read = StreamRead {
        keys: waits,
        count: if count == 0 { BLOCKED_DEFAULT_COUNT } else { count },
        group: group_read,
    };
    pops::wait(ctx, &wait_keys, BlockOp::Stream(Box::new(read)), deadline);
}

/// `BLOCK`'s milliseconds as a deadline in Unix milliseconds (`None`: wait forever).
fn block_timeout(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<Option<i64>> {
    let Some(ms) = super::parse_int(arg) else {
        ctx.error("ERR timeout is not an integer or out of range");
        return None;
    };
    if ms < 0 {
        ctx.error("ERR timeout is negative");
        return None;
    }
    if ms == 0 {
        return Some(None);
    }
    match ctx.now.checked_add(ms) {
        Some(deadline) => Some(Some(deadline)),
        None => {
            ctx.error("ERR timeout is out of range");
            None
        }
    }
}

/// The ID to read after for each key (`StreamId::MAX` for `>`), checking types and groups
/// first, as Redis does key by key.
fn parse_ids(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    id_args: &[Bytes],
    group: Option<&[u8]>,
) -> Option<Vec<StreamId>> {
    let mut ids = Vec::with_capacity(keys.len());
    for (key, arg) in keys.iter().zip(id_args) {
        let last_id = match ctx.read::<Stream>(key) {
            Err(()) => return None,
            Ok(stream) => {
                if let Some(group) = group
                    && !stream.is_some_and(|s| s.groups.contains_key(group))
                {
                    let text = format!(
                        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP \
                         option",
                        String::from_utf8_lossy(key),
                        String::from_utf8_lossy(group)
                    );
                    ctx.error(&text);
                    return None;
                }
                stream.map_or(StreamId::MIN, |s| s.last_id)
            }
        };
        let id = match &arg[..] {
            b"$" if group.is_some() => {
                ctx.error(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read \
                     the history of this consumer by specifying a proper ID, or use the > ID to \
                     get new messages. The $ ID would just return an empty result set.",
                );
                return None;
            }
            b"$" => last_id,
            b">" if group.is_none() => {
                ctx.error(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP \
                     <group> <consumer> option.",
                );
                return None;
            }
            b">" => StreamId::MAX,
            _ => strict_id(ctx, arg)?,
        };
        ids.push(id);
    }
    Some(ids)
}

/// What a reader gets from one stream.
#[derive(Clone, Copy, Debug)]
enum Read {
    /// The entries after the ID (for a group reader, the group's cursor: `XREADGROUP ... >`).
    After(StreamId),
    /// A group reader's own pending entries after the ID.
    History(StreamId),
}

/// Writes one stream's entries for a reader (`count` 0 = all); returns the commands that log
/// what it changed.
fn serve(
    db: &mut Db,
    key: &[u8],
    read: Read,
    group: Option<&GroupRead>,
    count: usize,
    out: &mut Reply<'_>,
    now: i64,
) -> Vec<Vec<Vec<u8>>> {
    let limit = if count == 0 { usize::MAX } else { count };
    let Some(group) = group else {
        // A plain read changes nothing: no `WATCH` change, nothing logged.
        let Ok(Some(stream)) = db.get::<Stream>(key, now) else { return Vec::new() };
        let (Read::After(after) | Read::History(after)) = read;
        let start = after.next().unwrap_or(StreamId::MAX);
        reply_entries(out, stream.range(start, StreamId::MAX).take(limit));
        return Vec::new();
    };
    let Ok(Some(stream)) = db.get_mut::<Stream>(key, now) else { return Vec::new() };
    let created = consumer_for(stream, &group.group, &group.consumer, now);
    let mut logged = Vec::new();
    if created && group.noack {
        logged.push(vec![
            b"XGROUP".to_vec(),
            b"CREATECONSUMER".to_vec(),
            key.to_vec(),
            group.group.as_bytes().to_vec(),
            group.consumer.as_bytes().to_vec(),
        ]);
    }
    let to = Delivery { key, group: &group.group, consumer: &group.consumer, now };
    logged.extend(match read {
        Read::History(after) => history(stream, &to, after, limit, out),
        Read::After(after) => deliver(stream, &to, after, limit, group.noack, out),
    });
    if created {
        db.notify(crate::server::notify::STREAM, "xgroup-createconsumer", key);
    }
    logged
}

/// Delivers the entries after `after` to a consumer: moves the group's cursor, records each as
/// pending (unless `noack`), and writes them. Returns the commands to log.
fn deliver(
    stream: &mut Stream,
    to: &Delivery<'_>,
    after: StreamId,
    limit: usize,
    noack: bool,
    out: &mut Reply<'_>,
) -> Vec<Vec<Vec<u8>>> {
    let start = after.next().unwrap_or(StreamId::MAX);
    let ids: Vec<StreamId> =
        stream.range(start, StreamId::MAX).take(limit).map(|(id, _)| id).collect();
    reply_entries(out, ids.iter().filter_map(|&id| stream.get(id).map(|fields| (id, fields))));
    let mut logged = Vec::new();
    let mut moved = false;
    for &id in &ids {
        moved |= stream.advance_group(to.group.as_bytes(), id);
        if noack {
            continue;
        }
        let Some(group) = stream.groups.get_mut(to.group.as_bytes()) else { break };
        // A first delivery, or (after `XGROUP SETID` moved the cursor back) a redelivery that
        // starts the entry over with this consumer.
        let pending = group.pel.entry(id).or_insert_with(|| Pending {
            consumer: to.consumer.clone(),
            delivery_time: to.now,
            delivery_count: 1,
        });
        pending.delivery_time = to.now;
        pending.delivery_count = 1;
        group.reassign(id, to.consumer.as_bytes());
        logged.push(xclaim_words(to, group, id));
    }
    // The cursor's move is logged with the read counter. (Redis logs it only under NOACK,
    // relying on the claims' LASTID, which moves the cursor but not the counter, so that
    // after a replay its `entries-read` and `lag` can differ from before.)
    if moved && let Some(group) = stream.groups.get(to.group.as_bytes()) {
        logged.push(setid_words(to, group));
    }
    logged
}

/// Writes the consumer's pending entries after `after` (an entry deleted since delivery as
/// `[id, null]`), counting one more delivery of each that still exists. Returns the commands
/// to log: unlike Redis, which leaves a history read out of the AOF, this server logs the new
/// delivery times and counts, so that a replay gives back exactly what `XPENDING` showed.
fn history(
    stream: &mut Stream,
    to: &Delivery<'_>,
    after: StreamId,
    limit: usize,
    out: &mut Reply<'_>,
) -> Vec<Vec<Vec<u8>>> {
    let start = after.next().unwrap_or(StreamId::MAX);
    let ids: Vec<StreamId> = stream
        .groups
        .get(to.group.as_bytes())
        .and_then(|g| g.consumers.get(to.consumer.as_bytes()))
        .map(|c| c.pel.range(start..).take(limit).copied().collect())
        .unwrap_or_default();
    let mut logged = Vec::new();
    out.array_len(ids.len());
    for &id in &ids {
        match stream.get(id) {
            Some(fields) => reply_entry(out, id, fields),
            None => {
                out.array_len(2);
                reply_id(out, id);
                out.null_array();
                continue;
            }
        }
        let Some(group) = stream.groups.get_mut(to.group.as_bytes()) else { continue };
        if let Some(pending) = group.pel.get_mut(&id) {
            pending.delivery_time = to.now;
            pending.delivery_count += 1;
            logged.push(xclaim_words(to, group, id));
        }
    }
    logged
}

/// Serves a blocked reader from the stream at `key` if it has something for it (or its group
/// is gone: then with a `NOGROUP` error). Returns the commands to log, or `None` to keep the
/// reader waiting.
pub(super) fn serve_blocked_read(
    db: &mut Db,
    key: &[u8],
    read: &StreamRead,
    out: &mut Reply<'_>,
    now: i64,
) -> Option<Vec<Vec<Vec<u8>>>> {
    let after = read.keys.iter().find(|(k, _)| k.as_bytes() == key)?.1;
    let stream = match db.lookup(key, now) {
        Some(Value::Stream(stream)) => stream,
        _ if read.group.is_some() => return Some(group_gone(out)),
        _ => return None,
    };
    let after = match &read.group {
        None => after,
        Some(group) => match stream.groups.get(group.group.as_bytes()) {
            Some(group) => group.last_id,
            None => return Some(group_gone(out)),
        },
    };
    if stream.last_id <= after {
        return None;
    }
    if out.is_resp3() {
        out.map_len(1);
    } else {
        out.array_len(1);
        out.array_len(2);
    }
    out.bulk(key);
    Some(serve(db, key, Read::After(after), read.group.as_ref(), read.count, out, now))
}

/// The error for a group reader whose group (or stream) disappeared while it waited.
fn group_gone(out: &mut Reply<'_>) -> Vec<Vec<Vec<u8>>> {
    out.error("NOGROUP the consumer group this client was blocked on no longer exists");
    Vec::new()
}
