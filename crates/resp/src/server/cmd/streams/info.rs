//! `XINFO`: a stream's groups, a group's consumers, and the stream itself, in summary or in
//! full with every pending entry.

use bytes::Bytes;

use super::{no_such_group, reply_entries, reply_entry, reply_id};
use crate::server::cmd::connection::help;
use crate::server::cmd::{Ctx, errors};
use crate::server::reply::Reply;
use crate::server::store::Store;
use crate::server::stream::{Group, Stream, StreamId, UNKNOWN_READ};
use crate::server::value::Value;

/// The stream at `key` for `XINFO`, or the error to reply (`no such key`, `WRONGTYPE`).
fn info_target<'s>(
    store: &'s mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<&'s Stream, &'static str> {
    match store.dbs[db].lookup(key, now) {
        None => Err(errors::NO_SUCH_KEY),
        Some(Value::Stream(stream)) => Ok(stream),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// `XINFO CONSUMERS key group`
pub(super) fn xinfo_consumers(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = ctx.now;
    let stream = match info_target(ctx.store, ctx.client.db, &args[2], now) {
        Ok(stream) => stream,
        Err(text) => return ctx.error(text),
    };
    let Some(group) = stream.groups.get(&args[3][..]) else {
        return no_such_group(ctx, &args[3], &args[2]);
    };
    let out = &mut ctx.out;
    out.array_len(group.consumers.len());
    for (name, consumer) in &group.consumers {
        out.map_len(3);
        out.bulk(b"name");
        out.bulk(name.as_bytes());
        out.bulk(b"pending");
        out.int(consumer.pel.len() as i64);
        out.bulk(b"idle");
        out.int((now - consumer.seen_time).max(0));
    }
}

/// Writes a group's position, three pairs of `XINFO GROUPS` and `XINFO STREAM FULL`:
/// `last-delivered-id`, `entries-read` and `lag` (the last two null when unknown).
fn reply_group_position(out: &mut Reply<'_>, stream: &Stream, group: &Group) {
    out.bulk(b"last-delivered-id");
    reply_id(out, group.last_id);
    out.bulk(b"entries-read");
    if group.entries_read == UNKNOWN_READ {
        out.null();
    } else {
        out.int(group.entries_read);
    }
    out.bulk(b"lag");
    match stream.lag(group) {
        Some(lag) => out.int(lag),
        None => out.null(),
    }
}

/// `XINFO GROUPS key`
pub(super) fn xinfo_groups(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let stream = match info_target(ctx.store, ctx.client.db, &args[2], ctx.now) {
        Ok(stream) => stream,
        Err(text) => return ctx.error(text),
    };
    let out = &mut ctx.out;
    out.array_len(stream.groups.len());
    for (name, group) in &stream.groups {
        out.map_len(6);
        out.bulk(b"name");
        out.bulk(name.as_bytes());
        out.bulk(b"consumers");
        out.int(group.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(group.pel.len() as i64);
        reply_group_position(out, stream, group);
    }
}

/// `XINFO STREAM key [FULL [COUNT n]]`
pub(super) fn xinfo_stream(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let options = &args[3..];
    let full = !options.is_empty();
    let mut count = 10;
    if full {
        let valid = (options.len() == 1 || options.len() == 3)
            && options[0].eq_ignore_ascii_case(b"full")
            && (options.len() == 1 || options[1].eq_ignore_ascii_case(b"count"));
        if !valid {
            return crate::server::cmd::pubsub::subcommand_syntax_error(ctx, args);
        }
        if let Some(n) = options.get(2) {
            let Some(n) = ctx.int_arg(n) else { return };
            count = if n < 0 { 10 } else { n as usize };
        }
    }
    let stream = match info_target(ctx.store, ctx.client.db, &args[2], ctx.now) {
        Ok(stream) => stream,
        Err(text) => return ctx.error(text),
    };
    let out = &mut ctx.out;
    out.map_len(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(stream.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(stream.node_count() as i64);
    // There is no radix tree here; a tree over n keys has about n + 1 nodes.
    out.bulk(b"radix-tree-nodes");
    out.int(stream.node_count() as i64 + 1);
    out.bulk(b"last-generated-id");
    reply_id(out, stream.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, stream.max_deleted);
    out.bulk(b"entries-added");
    out.int(stream.entries_added);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, stream.first_id());
    let limit = if count == 0 { usize::MAX } else { count };
    if !full {
        out.bulk(b"groups");
        out.int(stream.groups.len() as i64);
        let first = stream.range(StreamId::MIN, StreamId::MAX).next();
        let last = stream.range(StreamId::MIN, StreamId::MAX).next_back();
        for (name, entry) in [(&b"first-entry"[..], first), (b"last-entry", last)] {
            out.bulk(name);
            match entry {
                Some((id, fields)) => reply_entry(out, id, fields),
                None => out.null(),
            }
        }
        return;
    }
    out.bulk(b"entries");
    reply_entries(out, stream.range(StreamId::MIN, StreamId::MAX).take(limit));
    out.bulk(b"groups");
    out.array_len(stream.groups.len());
    for (name, group) in &stream.groups {
        out.map_len(7);
        out.bulk(b"name");
        out.bulk(name.as_bytes());
        reply_group_position(out, stream, group);
        out.bulk(b"pel-count");
        out.int(group.pel.len() as i64);
        out.bulk(b"pending");
        out.array_len(group.pel.len().min(limit));
        for (id, pending) in group.pel.iter().take(limit) {
            out.array_len(4);
            reply_id(out, *id);
            out.bulk(pending.consumer.as_bytes());
            out.int(pending.delivery_time);
            out.int(pending.delivery_count);
        }
        out.bulk(b"consumers");
        out.array_len(group.consumers.len());
        for (name, consumer) in &group.consumers {
            out.map_len(4);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"seen-time");
            out.int(consumer.seen_time);
            out.bulk(b"pel-count");
            out.int(consumer.pel.len() as i64);
            out.bulk(b"pending");
            out.array_len(consumer.pel.len().min(limit));
            for id in consumer.pel.iter().take(limit) {
                let pending = &group.pel[id];
                out.array_len(3);
                reply_id(out, *id);
                out.int(pending.delivery_time);
                out.int(pending.delivery_count);
            }
        }
    }
}

pub(super) fn xinfo_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    help(
        ctx,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
}
