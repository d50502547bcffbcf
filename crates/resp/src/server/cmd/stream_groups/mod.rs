//! Consumer-group commands: `XGROUP`, `XACK`, `XPENDING`, `XCLAIM` and `XAUTOCLAIM` (reading
//! in a group is `XREADGROUP`, in [`xread`](super::xread)).
//!
//! Claiming moves pending entries from one consumer to another: a consumer that died leaves
//! entries pending forever unless another takes them over. Each claim is logged to the AOF as
//! an idempotent `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID
//! cursor`, which recreates the pending entry exactly wherever it is replayed; a claim of an
//! entry deleted from the stream drops it from the PEL.
//!
//! `XCLAIM` and `XAUTOCLAIM` are in the `claim` module.

mod claim;

use bytes::Bytes;

use super::connection::{container, help};
use super::streams::{interval_end, interval_start, no_such_group, reply_id, strict_id};
use super::{Command, Ctx, FAST, READONLY, WRITE, command, errors, subcommand, with_subcommands};
use crate::server::notify;
use crate::server::stream::{Group, IdSyntax, Pending, Stream, StreamId, UNKNOWN_READ};
use crate::server::value::{Str, Value};
use claim::{xautoclaim, xclaim};

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

/// The `NOGROUP` error of `XPENDING`, `XCLAIM` and `XAUTOCLAIM`.
fn no_such_key_or_group(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let text = format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(&args[1]),
        String::from_utf8_lossy(&args[2])
    );
    ctx.error(&text);
}
