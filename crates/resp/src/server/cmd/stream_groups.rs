//! Consumer-group commands: `XGROUP`, `XACK`, `XPENDING`, `XCLAIM` and `XAUTOCLAIM` (reading
//! in a group is `XREADGROUP`, in [`xread`](super::xread)).
//!
//! Claiming moves pending entries from one consumer to another: a consumer that died leaves
//! entries pending forever unless another takes them over. Each claim is logged to the AOF as
//! an idempotent `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID
//! cursor`, which recreates the pending entry exactly wherever it is replayed; a claim of an
//! entry deleted from the stream drops it from the PEL.

use bytes::Bytes;

use super::connection::{container, help};
use super::streams::{
    interval_end, interval_start, no_such_group, reply_entry, reply_id, strict_id,
};
use super::{Command, Ctx, FAST, READONLY, WRITE, command, errors, subcommand, with_subcommands};
use crate::server::notify;
use crate::server::stream::{Group, IdSyntax, Pending, Stream, StreamId, UNKNOWN_READ, parse_id};
use crate::server::value::{Str, Value};

pub(super) const COMMANDS: &[Command] = &[
    with_subcommands(
        "xgroup",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("xgroup|create", "create", -5, WRITE, xgroup_create),
            subcommand("xgroup|setid", "setid", -5, WRITE, xgroup_setid),
            subcommand("xgroup|destroy", "destroy", 4, WRITE, xgroup_destroy),
            subcommand("xgroup|createconsumer", "createconsumer", 5, WRITE, xgroup_createconsumer),
            subcommand("xgroup|delconsumer", "delconsumer", 5, WRITE, xgroup_delconsumer),
            subcommand("xgroup|help", "help", 2, 0, xgroup_help),
        ],
    ),
    command("xack", -4, WRITE | FAST, (1, 1, 1), "@write @stream @fast", xack),
    command("xpending", -3, READONLY, (1, 1, 1), "@read @stream @slow", xpending),
    command("xclaim", -6, WRITE | FAST, (1, 1, 1), "@write @stream @fast", xclaim),
    command("xautoclaim", -6, WRITE | FAST, (1, 1, 1), "@write @stream @fast", xautoclaim),
];

/// Who entries are delivered or claimed to, for the AOF's `XCLAIM`s.
pub(super) struct Delivery<'a> {
    pub(super) key: &'a [u8],
    pub(super) group: &'a Str,
    pub(super) consumer: &'a Str,
    pub(super) now: i64,
}

/// Looks consumer `name` of `group` up, refreshing its seen time, or creates it; returns
/// whether it was created.
pub(super) fn consumer_for(stream: &mut Stream, group: &Str, name: &Str, now: i64) -> bool {
    let Some(group) = stream.groups.get_mut(group.as_bytes()) else { return false };
    match group.consumers.get_mut(name.as_bytes()) {
        Some(consumer) => {
            consumer.seen_time = now;
            false
        }
        None => group.create_consumer(name.as_bytes(), now),
    }
}

/// The `XCLAIM` that recreates pending entry `id` of `group` as it now is.
pub(super) fn xclaim_words(to: &Delivery<'_>, group: &Group, id: StreamId) -> Vec<Vec<u8>> {
    let (owner, time, count) = group.pel.get(&id).map_or((to.consumer.clone(), to.now, 1), |p| {
        (p.consumer.clone(), p.delivery_time, p.delivery_count)
    });
    vec![
        b"XCLAIM".to_vec(),
        to.key.to_vec(),
        to.group.as_bytes().to_vec(),
        owner.as_bytes().to_vec(),
        b"0".to_vec(),
        id.to_bytes(),
        b"TIME".to_vec(),
        time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        group.last_id.to_bytes(),
    ]
}

/// The `XGROUP SETID ... ENTRIESREAD` that puts the group's cursor and read counter where
/// they now are.
pub(super) fn setid_words(to: &Delivery<'_>, group: &Group) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        to.key.to_vec(),
        to.group.as_bytes().to_vec(),
        group.last_id.to_bytes(),
        b"ENTRIESREAD".to_vec(),
        group.entries_read.to_string().into_bytes(),
    ]
}

/// Logs a list of commands to the AOF.
fn log_all(ctx: &mut Ctx<'_>, logged: &[Vec<Vec<u8>>]) {
    for command in logged {
        let words: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
        ctx.propagate(&words);
    }
}

/// Parses `XGROUP CREATE`/`SETID`'s options after the ID (`MKSTREAM` only for `CREATE`):
/// whether to create the stream, and `ENTRIESREAD`.
fn group_options(ctx: &mut Ctx<'_>, args: &[Bytes], create: bool) -> Option<(bool, i64)> {
    let (mut mkstream, mut entries_read) = (false, UNKNOWN_READ);
    let mut at = 5;
    while at < args.len() {
        if create && args[at].eq_ignore_ascii_case(b"mkstream") {
            mkstream = true;
            at += 1;
        } else if args[at].eq_ignore_ascii_case(b"entriesread") && at + 1 < args.len() {
            let n = ctx.int_arg(&args[at + 1])?;
            if n < 0 && n != UNKNOWN_READ {
                ctx.error("ERR value for ENTRIESREAD must be positive or -1");
                return None;
            }
            entries_read = n;
            at += 2;
        } else {
            super::pubsub::subcommand_syntax_error(ctx, args);
            return None;
        }
    }
    Some((mkstream, entries_read))
}

/// The checks every `XGROUP` subcommand with a key makes: the key holds a stream (or, with
/// `mkstream`, is absent), and for `needs_group` the group exists. Replies and returns `None`
/// on failure; else whether the stream exists.
fn group_target(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    mkstream: bool,
    needs_group: bool,
) -> Option<bool> {
    let stream = ctx.read::<Stream>(&args[2]).ok()?;
    let exists = stream.is_some();
    let has_group = stream.is_some_and(|s| s.groups.contains_key(&args[3][..]));
    if !exists && !mkstream {
        ctx.error(
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may \
             want to use the MKSTREAM option to create an empty stream automatically.",
        );
        return None;
    }
    if needs_group && !has_group {
        no_such_group(ctx, &args[3], &args[2]);
        return None;
    }
    Some(exists)
}

/// The stream at `key`, known to exist, to change.
fn stream_mut<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c mut Stream> {
    let now = ctx.now;
    ctx.store.dbs[ctx.client.db].get_mut::<Stream>(key, now).ok().flatten()
}

/// `XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]`
fn xgroup_create(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if args.len() > 8 {
        return super::pubsub::subcommand_syntax_error(ctx, args);
    }
    let Some((mkstream, entries_read)) = group_options(ctx, args, true) else { return };
    let Some(exists) = group_target(ctx, args, mkstream, false) else { return };
    let id = if &args[4][..] == b"$" {
        match ctx.read::<Stream>(&args[2]) {
            Ok(Some(stream)) => stream.last_id,
            _ => StreamId::MIN,
        }
    } else {
        let Some(id) = strict_id(ctx, &args[4]) else { return };
        id
    };
    if !exists {
        ctx.db().add(&args[2], Value::Stream(Box::default()));
    }
    let Ok(Some(stream)) = ctx.read::<Stream>(&args[2]) else { return };
    if stream.groups.contains_key(&args[3][..]) {
        return ctx.error("BUSYGROUP Consumer Group name already exists");
    }
    let Some(stream) = stream_mut(ctx, &args[2]) else { return };
    stream.create_group(&args[3], id, entries_read);
    ctx.db().notify(notify::STREAM, "xgroup-create", &args[2]);
    ctx.out.ok();
}

/// `XGROUP SETID key group id|$ [ENTRIESREAD n]`
fn xgroup_setid(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if args.len() != 5 && args.len() != 7 {
        return super::pubsub::subcommand_syntax_error(ctx, args);
    }
    let Some((_, entries_read)) = group_options(ctx, args, false) else { return };
    if group_target(ctx, args, false, true).is_none() {
        return;
    }
    let id = if &args[4][..] == b"$" {
        None
    } else {
        let syntax = IdSyntax { missing_seq: 0, strict: false, seq_star: false };
        let Some(parsed) = super::streams::id_arg(ctx, &args[4], syntax) else { return };
        Some(parsed.id)
    };
    let Some(stream) = stream_mut(ctx, &args[2]) else { return };
    let id = id.unwrap_or(stream.last_id);
    if let Some(group) = stream.groups.get_mut(&args[3][..]) {
        group.last_id = id;
        group.entries_read = entries_read;
    }
    ctx.db().notify(notify::STREAM, "xgroup-setid", &args[2]);
    ctx.out.ok();
}

/// `XGROUP DESTROY key group`
fn xgroup_destroy(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if group_target(ctx, args, false, false).is_none() {
        return;
    }
    let has_group =
        matches!(ctx.read::<Stream>(&args[2]), Ok(Some(s)) if s.groups.contains_key(&args[3][..]));
    if !has_group {
        return ctx.out.int(0);
    }
    if let Some(stream) = stream_mut(ctx, &args[2]) {
        stream.groups.remove(&args[3][..]);
    }
    let db = ctx.db();
    db.notify(notify::STREAM, "xgroup-destroy", &args[2]);
    // Readers blocked in that group get `NOGROUP`.
    db.signal_ready(&args[2]);
    ctx.out.int(1);
}

/// For `XGROUP CREATECONSUMER` and `DELCONSUMER`: whether consumer `args[4]` exists, after
/// the checks of [`group_target`] (`None` if they failed).
fn consumer_exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Option<bool> {
    group_target(ctx, args, false, true)?;
    let stream = ctx.read::<Stream>(&args[2]).ok().flatten()?;
    Some(stream.groups.get(&args[3][..]).is_some_and(|g| g.consumers.contains_key(&args[4][..])))
}

/// `XGROUP CREATECONSUMER key group consumer`
fn xgroup_createconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(exists) = consumer_exists(ctx, args) else { return };
    if exists {
        return ctx.out.int(0);
    }
    let now = ctx.now;
    if let Some(group) = stream_mut(ctx, &args[2]).and_then(|s| s.groups.get_mut(&args[3][..])) {
        group.create_consumer(&args[4], now);
    }
    ctx.db().notify(notify::STREAM, "xgroup-createconsumer", &args[2]);
    ctx.out.int(1);
}

/// `XGROUP DELCONSUMER key group consumer`: replies how many entries it had pending.
fn xgroup_delconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(exists) = consumer_exists(ctx, args) else { return };
    if !exists {
        return ctx.out.int(0);
    }
    let pending = stream_mut(ctx, &args[2])
        .and_then(|s| s.groups.get_mut(&args[3][..]))
        .and_then(|g| g.delete_consumer(&args[4]))
        .unwrap_or(0);
    ctx.db().notify(notify::STREAM, "xgroup-delconsumer", &args[2]);
    ctx.out.int(pending as i64);
}

fn xgroup_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
}

/// `XACK key group id [id ...]`: replies how many of the IDs were pending.
fn xack(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let has_group = match ctx.read::<Stream>(&args[1]) {
        Err(()) => return,
        Ok(stream) => stream.is_some_and(|s| s.groups.contains_key(&args[2][..])),
    };
    if !has_group {
        return ctx.out.int(0);
    }
    let mut ids = Vec::with_capacity(args.len() - 3);
    for arg in &args[3..] {
        let Some(id) = strict_id(ctx, arg) else { return };
        ids.push(id);
    }
    let pending = matches!(ctx.read::<Stream>(&args[1]),
        Ok(Some(s)) if s.groups.get(&args[2][..]).is_some_and(|g| ids.iter().any(|id| g.pel.contains_key(id))));
    if !pending {
        return ctx.out.int(0);
    }
    let acknowledged = stream_mut(ctx, &args[1])
        .and_then(|s| s.groups.get_mut(&args[2][..]))
        .map_or(0, |group| ids.iter().filter(|&&id| group.acknowledge(id)).count());
    ctx.out.int(acknowledged as i64);
}

/// `XPENDING key group [[IDLE ms] start end count [consumer]]`
fn xpending(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let summary = args.len() == 3;
    if !summary && !(6..=9).contains(&args.len()) {
        return ctx.error(errors::SYNTAX);
    }
    let mut range = None;
    if !summary {
        let mut at = 3;
        let mut min_idle = 0;
        if args[3].eq_ignore_ascii_case(b"idle") {
            let Some(idle) = ctx.int_arg(&args[4]) else { return };
            if args.len() < 8 {
                return ctx.error(errors::SYNTAX);
            }
            min_idle = idle;
            at += 2;
        }
        let Some(count) = ctx.int_arg(&args[at + 2]) else { return };
        let Some(start) = interval_start(ctx, &args[at]) else { return };
        let Some(end) = interval_end(ctx, &args[at + 1]) else { return };
        let consumer = args.get(at + 3).cloned();
        range = Some((start, end, count.max(0) as usize, min_idle, consumer));
    }
    let (db, now) = (ctx.client.db, ctx.now);
    let group = match ctx.store.dbs[db].lookup(&args[1], now) {
        Some(Value::Stream(stream)) => stream.groups.get(&args[2][..]),
        Some(_) => return ctx.wrong_type(),
        None => None,
    };
    let Some(group) = group else { return no_such_key_or_group(ctx, args) };
    let out = &mut ctx.out;
    let Some((start, end, count, min_idle, consumer)) = range else {
        out.array_len(4);
        out.int(group.pel.len() as i64);
        let (Some(first), Some(last)) = (group.pel.keys().next(), group.pel.keys().next_back())
        else {
            out.null();
            out.null();
            return out.null_array();
        };
        reply_id(out, *first);
        reply_id(out, *last);
        let owners: Vec<_> = group.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).collect();
        out.array_len(owners.len());
        for (name, consumer) in owners {
            out.array_len(2);
            out.bulk(name.as_bytes());
            out.bulk_int(consumer.pel.len() as i64);
        }
        return;
    };
    let ids: Vec<StreamId> = match &consumer {
        Some(name) => match group.consumers.get(&name[..]) {
            Some(consumer) => {
                consumer.pel.range(start..).take_while(|&&id| id <= end).copied().collect()
            }
            None => return out.array_len(0),
        },
        None => {
            group.pel.range(start..).take_while(|(id, _)| **id <= end).map(|(id, _)| *id).collect()
        }
    };
    let rows: Vec<(StreamId, &Pending)> = ids
        .iter()
        .map(|id| (*id, &group.pel[id]))
        .filter(|(_, p)| min_idle == 0 || now - p.delivery_time >= min_idle)
        .take(count)
        .collect();
    out.array_len(rows.len());
    for (id, pending) in rows {
        out.array_len(4);
        reply_id(out, id);
        out.bulk(pending.consumer.as_bytes());
        out.int((now - pending.delivery_time).max(0));
        out.int(pending.delivery_count);
    }
}

/// The `NOGROUP` error of `XCLAIM` and `XAUTOCLAIM`.
fn no_such_key_or_group(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let text = format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(&args[1]),
        String::from_utf8_lossy(&args[2])
    );
    ctx.error(&text);
}

/// Whether the stream at `args[1]` exists and has group `args[2]`; `Err` after `WRONGTYPE`.
fn has_group(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<bool, ()> {
    Ok(ctx.read::<Stream>(&args[1])?.is_some_and(|s| s.groups.contains_key(&args[2][..])))
}

/// Parses an integer option of `XCLAIM`, replying with `message` if it is not one.
fn claim_int(ctx: &mut Ctx<'_>, arg: &[u8], message: &str) -> Option<i64> {
    let value = super::parse_int(arg);
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
    out: &mut super::Reply<'_>,
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
fn xclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) {
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
        let mut out = super::Reply::new(&mut parts, resp3);
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
fn xautoclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) {
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
            let Some(n) = super::parse_int(&args[at + 1]).filter(|n| (1..=max).contains(n)) else {
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
        let mut out = super::Reply::new(&mut parts, resp3);
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
