//! Stream commands that do not involve consumer groups: `XADD`, `XRANGE`, `XREVRANGE`,
//! `XLEN`, `XDEL`, `XTRIM`, `XSETID` and `XINFO`; and what every stream command shares: ID
//! arguments and the shape of an entry in a reply.
//!
//! Two things are logged to the AOF differently from how the client sent them, because
//! replaying them as sent would not give the same stream: an `XADD` that let the server pick
//! the ID (`*` or `ms-*`) is logged with the ID it got, and an approximate trim (`MAXLEN ~ n`,
//! `MINID ~ id`) is logged as the exact trim that has the same effect (`MAXLEN = length
//! after`, `MINID = first ID after`), as Redis does.
//!
//! `XINFO` is in the `info` module.

mod info;

use bytes::Bytes;

use super::connection::container;
use super::{
    Command, Ctx, DENYOOM, FAST, READONLY, WRITE, command, errors, subcommand, with_subcommands,
};
use crate::server::notify;
use crate::server::reply::Reply;
use crate::server::stream::{
    AppendError, IdSyntax, NodeLimits, ParsedId, Stream, StreamId, Trim, parse_id,
};
use crate::server::value::{Str, Value, WrongType};
use info::{xinfo_consumers, xinfo_groups, xinfo_help, xinfo_stream};

pub(super) const COMMANDS: &[Command] = &[
    command("xadd", -5, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @stream @fast", xadd),
    command("xrange", -4, READONLY, (1, 1, 1), "@read @stream @slow", xrange),
    command("xrevrange", -4, READONLY, (1, 1, 1), "@read @stream @slow", xrevrange),
    command("xlen", 2, READONLY | FAST, (1, 1, 1), "@read @stream @fast", xlen),
    command("xdel", -3, WRITE | FAST, (1, 1, 1), "@write @stream @fast", xdel),
    command("xtrim", -4, WRITE, (1, 1, 1), "@write @stream @slow", xtrim),
    command("xsetid", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @stream @fast", xsetid),
    with_subcommands(
        "xinfo",
        -2,
        0,
        "@slow",
        container,
        &[
            subcommand("xinfo|consumers", "consumers", 4, READONLY, xinfo_consumers),
            subcommand("xinfo|groups", "groups", 3, READONLY, xinfo_groups),
            subcommand("xinfo|stream", "stream", -3, READONLY, xinfo_stream),
            subcommand("xinfo|help", "help", 2, 0, xinfo_help),
        ],
    ),
];

/// Redis's reply to an ID argument it cannot read.
const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// An ID where `-` and `+` are not allowed and `ms` means `ms-0`.
const STRICT: IdSyntax = IdSyntax { missing_seq: 0, strict: true, seq_star: false };

/// Parses an ID argument, or replies that it is invalid.
pub(super) fn id_arg(ctx: &mut Ctx<'_>, arg: &[u8], syntax: IdSyntax) -> Option<ParsedId> {
    let parsed = parse_id(arg, syntax);
    if parsed.is_none() {
        ctx.error(INVALID_ID);
    }
    parsed
}

/// Parses an exact ID (`ms` or `ms-seq`), or replies that it is invalid.
pub(super) fn strict_id(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<StreamId> {
    id_arg(ctx, arg, STRICT).map(|parsed| parsed.id)
}

/// The start of an interval (`XRANGE`, `XPENDING`, `XAUTOCLAIM`): `ms` means `ms-0`, `-` the
/// smallest ID, and `(id` starts after `id`.
pub(super) fn interval_start(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<StreamId> {
    let (id, exclusive) = interval_bound(ctx, arg, 0)?;
    if !exclusive {
        return Some(id);
    }
    let next = id.next();
    if next.is_none() {
        ctx.error("ERR invalid start ID for the interval");
    }
    next
}

/// The end of an interval: `ms` means the last ID of that millisecond, `+` the largest ID, and
/// `(id` ends before `id`.
pub(super) fn interval_end(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<StreamId> {
    let (id, exclusive) = interval_bound(ctx, arg, u64::MAX)?;
    if !exclusive {
        return Some(id);
    }
    let prev = id.prev();
    if prev.is_none() {
        ctx.error("ERR invalid end ID for the interval");
    }
    prev
}

fn interval_bound(ctx: &mut Ctx<'_>, arg: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    if arg.len() > 1 && arg[0] == b'(' {
        let syntax = IdSyntax { missing_seq, strict: true, seq_star: false };
        return id_arg(ctx, &arg[1..], syntax).map(|parsed| (parsed.id, true));
    }
    let syntax = IdSyntax { missing_seq, strict: false, seq_star: false };
    id_arg(ctx, arg, syntax).map(|parsed| (parsed.id, false))
}

/// An ID as a bulk string.
pub(super) fn reply_id(out: &mut Reply<'_>, id: StreamId) {
    out.bulk(&id.to_bytes());
}

/// An entry as every command replies with it: `[id, [field, value, ...]]`.
pub(super) fn reply_entry(out: &mut Reply<'_>, id: StreamId, fields: &[Str]) {
    out.array_len(2);
    reply_id(out, id);
    out.array_len(fields.len());
    for field in fields {
        out.bulk(field.as_bytes());
    }
}

/// Entries as an array.
pub(super) fn reply_entries<'a>(
    out: &mut Reply<'_>,
    entries: impl Iterator<Item = (StreamId, &'a [Str])>,
) {
    let entries: Vec<_> = entries.collect();
    out.array_len(entries.len());
    for (id, fields) in entries {
        reply_entry(out, id, fields);
    }
}

/// The node limits from the configuration.
fn node_limits(ctx: &Ctx<'_>) -> NodeLimits {
    let get = |name| u64::try_from(ctx.store.config.get_int(name)).unwrap_or(0);
    NodeLimits { entries: get("stream-node-max-entries"), bytes: get("stream-node-max-bytes") }
}

/// The trimming options of `XADD` and `XTRIM`, and where `XADD`'s ID is.
#[derive(Debug, Default)]
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// The most entries to remove; 0 for no limit.
    limit: u64,
    /// Where the `MAXLEN`/`MINID` value is, to rewrite it for the AOF.
    trim_at: usize,
    /// Where `LIMIT` is, if given.
    limit_at: Option<usize>,
    no_mkstream: bool,
    /// `XADD`'s ID (`None` for `*`) and its position.
    id: Option<ParsedId>,
    id_at: usize,
}

/// Parses `[NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]]` and, for `XADD`, the
/// ID, as Redis's `streamParseAddOrTrimArgsOrReply`, in its order of errors.
fn trim_args(ctx: &mut Ctx<'_>, args: &[Bytes], xadd: bool) -> Option<TrimArgs> {
    const BOTH: &str =
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
    let mut parsed = TrimArgs::default();
    let mut limit_given = false;
    let mut at = 2;
    while at < args.len() {
        let more = args.len() - 1 - at;
        let option = &args[at][..];
        let is = |name: &[u8]| option.eq_ignore_ascii_case(name);
        if xadd && option == b"*" {
            break;
        } else if (is(b"maxlen") || is(b"minid")) && more > 0 {
            if parsed.trim.is_some() {
                ctx.error(BOTH);
                return None;
            }
            parsed.approx = false;
            if more >= 2 && &args[at + 1][..] == b"~" {
                parsed.approx = true;
                at += 1;
            } else if more >= 2 && &args[at + 1][..] == b"=" {
                at += 1;
            }
            let value = &args[at + 1];
            parsed.trim = Some(if is(b"maxlen") {
                let max = ctx.int_arg(value)?;
                if max < 0 {
                    ctx.error("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                Trim::MaxLen(max as u64)
            } else {
                Trim::MinId(strict_id(ctx, value)?)
            });
            at += 1;
            parsed.trim_at = at;
        } else if is(b"limit") && more > 0 {
            let limit = ctx.int_arg(&args[at + 1])?;
            if limit < 0 {
                ctx.error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            parsed.limit = limit as u64;
            parsed.limit_at = Some(at);
            limit_given = true;
            at += 1;
        } else if xadd && is(b"nomkstream") {
            parsed.no_mkstream = true;
        } else if xadd {
            let syntax = IdSyntax { missing_seq: 0, strict: true, seq_star: true };
            parsed.id = Some(id_arg(ctx, option, syntax)?);
            break;
        } else {
            ctx.error(errors::SYNTAX);
            return None;
        }
        at += 1;
    }
    parsed.id_at = at;
    if parsed.limit != 0 && parsed.trim.is_none() {
        ctx.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && parsed.trim.is_none() {
        ctx.error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if limit_given {
        if !parsed.approx {
            ctx.error("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
    } else if parsed.approx {
        // Bound the work of an approximate trim to about 100 nodes.
        let per_node = ctx.store.config.get_int("stream-node-max-entries");
        let limit = per_node.saturating_mul(100);
        parsed.limit = if limit <= 0 { 10_000 } else { limit.min(1_000_000) as u64 };
    } else {
        parsed.limit = 0;
    }
    Some(parsed)
}

/// `args` as the AOF must see them: the ID `XADD` generated (if it did) in place of `*` or
/// `ms-*`, and an approximate trim as the exact one with the same effect (`~` becomes `=`,
/// the threshold is what the trim left, `LIMIT` goes). `None` if they can be logged as sent.
fn logged_form(
    args: &[Bytes],
    parsed: &TrimArgs,
    generated: Option<StreamId>,
    stream: &Stream,
) -> Option<Vec<Vec<u8>>> {
    let approx_trim = parsed.trim.is_some() && parsed.approx;
    if generated.is_none() && !approx_trim {
        return None;
    }
    let mut words: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    if let Some(id) = generated {
        words[parsed.id_at] = id.to_bytes();
    }
    if approx_trim {
        words[parsed.trim_at - 1] = b"=".to_vec();
        words[parsed.trim_at] = match parsed.trim {
            Some(Trim::MaxLen(_)) => stream.len().to_string().into_bytes(),
            _ => stream.first_id().to_bytes(),
        };
        if let Some(at) = parsed.limit_at {
            words.drain(at..at + 2);
        }
    }
    Some(words)
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value
/// [field value ...]`
fn xadd(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(parsed) = trim_args(ctx, args, true) else { return };
    let fields = args.get(parsed.id_at + 1..).unwrap_or(&[]);
    if fields.len() < 2 || !fields.len().is_multiple_of(2) {
        return ctx.error("ERR wrong number of arguments for 'xadd' command");
    }
    if let Some(ParsedId { id: StreamId::MIN, seq_given: true }) = parsed.id {
        return ctx.error("ERR The ID specified in XADD must be greater than 0-0");
    }
    let (key, now, limits) = (&args[1], ctx.now, node_limits(ctx));
    match ctx.read::<Stream>(key) {
        Err(()) => return,
        Ok(None) if parsed.no_mkstream => return ctx.out.null(),
        Ok(None) => {
            ctx.db().add(key, Value::Stream(Box::default()));
        }
        Ok(Some(_)) => {}
    }
    let Ok(Some(stream)) = ctx.store.dbs[ctx.client.db].get_mut::<Stream>(key, now) else {
        return;
    };
    if stream.last_id == StreamId::MAX {
        return ctx
            .error("ERR The stream has exhausted the last possible ID, unable to add more items");
    }
    let id = match parsed.id {
        None => {
            stream.next_auto_id(u64::try_from(now).unwrap_or(0)).ok_or(AppendError::NotAboveLast)
        }
        Some(requested) => stream.explicit_id(requested),
    };
    let fields: Vec<Str> = fields.iter().map(|f| Str::new(f)).collect();
    if let Err(error) = id.and_then(|id| stream.append(id, fields, limits).map(|()| id)) {
        return ctx.error(match error {
            AppendError::NotAboveLast => {
                "ERR The ID specified in XADD is equal or smaller than the target stream top item"
            }
            AppendError::TooLarge => "ERR Elements are too large to be stored",
        });
    }
    let id = stream.last_id;
    let trimmed = parsed.trim.map_or(0, |trim| stream.trim(trim, parsed.approx, parsed.limit));
    let generated = parsed.id.is_none_or(|requested| !requested.seq_given).then_some(id);
    let logged = match ctx.store.aof {
        Some(_) => logged_form(args, &parsed, generated, stream),
        None => None,
    };
    reply_id(&mut ctx.out, id);
    let db = ctx.db();
    db.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        db.notify(notify::STREAM, "xtrim", key);
    }
    db.signal_ready(key);
    if let Some(logged) = logged {
        let parts: Vec<&[u8]> = logged.iter().map(Vec::as_slice).collect();
        ctx.propagate(&parts);
    }
}

fn xrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, false);
}

fn xrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    range(ctx, args, true);
}

/// `XRANGE key start end [COUNT n]`, `XREVRANGE key end start [COUNT n]`.
fn range(ctx: &mut Ctx<'_>, args: &[Bytes], rev: bool) {
    let (start_arg, end_arg) = if rev { (&args[3], &args[2]) } else { (&args[2], &args[3]) };
    let Some(start) = interval_start(ctx, start_arg) else { return };
    let Some(end) = interval_end(ctx, end_arg) else { return };
    let mut count = None;
    let mut at = 4;
    while at < args.len() {
        if args[at].eq_ignore_ascii_case(b"count") && at + 1 < args.len() {
            let Some(n) = ctx.int_arg(&args[at + 1]) else { return };
            count = Some(n.max(0) as usize);
            at += 2;
        } else {
            return ctx.error(errors::SYNTAX);
        }
    }
    let (db, now) = (ctx.client.db, ctx.now);
    let stream = match ctx.store.dbs[db].get::<Stream>(&args[1], now) {
        Err(WrongType) => return ctx.wrong_type(),
        Ok(None) => return ctx.out.array_len(0),
        Ok(Some(stream)) => stream,
    };
    if count == Some(0) {
        return ctx.out.null_array();
    }
    let (entries, count) = (stream.range(start, end), count.unwrap_or(usize::MAX));
    if rev {
        reply_entries(&mut ctx.out, entries.rev().take(count));
    } else {
        reply_entries(&mut ctx.out, entries.take(count));
    }
}

fn xlen(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Ok(stream) = ctx.read::<Stream>(&args[1]) {
        let len = stream.map_or(0, Stream::len);
        ctx.out.int(len as i64);
    }
}

/// `XDEL key id [id ...]`
fn xdel(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    match ctx.read::<Stream>(&args[1]) {
        Err(()) => return,
        Ok(None) => return ctx.out.int(0),
        Ok(Some(_)) => {}
    }
    let mut ids = Vec::with_capacity(args.len() - 2);
    for arg in &args[2..] {
        let Some(id) = strict_id(ctx, arg) else { return };
        ids.push(id);
    }
    let now = ctx.now;
    let db = ctx.db();
    let Ok(Some(stream)) = db.get_mut::<Stream>(&args[1], now) else { return };
    let deleted = ids.iter().filter(|&&id| stream.delete(id)).count();
    if deleted > 0 {
        db.notify(notify::STREAM, "xdel", &args[1]);
    }
    ctx.out.int(deleted as i64);
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
fn xtrim(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(parsed) = trim_args(ctx, args, false) else { return };
    let Some(trim) = parsed.trim else { return };
    match ctx.read::<Stream>(&args[1]) {
        Err(()) => return,
        Ok(None) => return ctx.out.int(0),
        Ok(Some(stream)) => {
            // Nothing to do leaves the key untouched (no `WATCH` change, nothing logged).
            if !stream.trim_would_remove(trim, parsed.approx, parsed.limit) {
                return ctx.out.int(0);
            }
        }
    }
    let now = ctx.now;
    let Ok(Some(stream)) = ctx.store.dbs[ctx.client.db].get_mut::<Stream>(&args[1], now) else {
        return;
    };
    let deleted = stream.trim(trim, parsed.approx, parsed.limit);
    let logged = match ctx.store.aof {
        Some(_) => logged_form(args, &parsed, None, stream),
        None => None,
    };
    ctx.db().notify(notify::STREAM, "xtrim", &args[1]);
    if let Some(logged) = logged {
        let parts: Vec<&[u8]> = logged.iter().map(Vec::as_slice).collect();
        ctx.propagate(&parts);
    }
    ctx.out.int(deleted as i64);
}

/// `XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]`
fn xsetid(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(id) = strict_id(ctx, &args[2]) else { return };
    let mut entries_added = None;
    let mut max_deleted = StreamId::MIN;
    let mut at = 3;
    while at < args.len() {
        let more = at + 1 < args.len();
        if args[at].eq_ignore_ascii_case(b"entriesadded") && more {
            let Some(n) = ctx.int_arg(&args[at + 1]) else { return };
            if n < 0 {
                return ctx.error("ERR entries_added must be positive");
            }
            entries_added = Some(n);
        } else if args[at].eq_ignore_ascii_case(b"maxdeletedid") && more {
            let Some(deleted) = strict_id(ctx, &args[at + 1]) else { return };
            if id < deleted {
                return ctx.error(
                    "ERR The ID specified in XSETID is smaller than the provided \
                     max_deleted_entry_id",
                );
            }
            max_deleted = deleted;
        } else {
            return ctx.error(errors::SYNTAX);
        }
        at += 2;
    }
    match ctx.read::<Stream>(&args[1]) {
        Err(()) => return,
        Ok(None) => return ctx.error(errors::NO_SUCH_KEY),
        Ok(Some(stream)) => {
            if let Some(top) = stream.last_live_id() {
                if id < top {
                    return ctx.error(
                        "ERR The ID specified in XSETID is smaller than the target stream top item",
                    );
                }
                if entries_added.is_some_and(|n| (stream.len() as i64) > n) {
                    return ctx.error(
                        "ERR The entries_added specified in XSETID is smaller than the target \
                         stream length",
                    );
                }
            }
        }
    }
    let now = ctx.now;
    let db = ctx.db();
    if let Ok(Some(stream)) = db.get_mut::<Stream>(&args[1], now) {
        stream.last_id = id;
        if let Some(n) = entries_added {
            stream.entries_added = n;
        }
        if max_deleted != StreamId::MIN {
            stream.max_deleted = max_deleted;
        }
    }
    db.notify(notify::STREAM, "xsetid", &args[1]);
    ctx.out.ok();
}

/// Writes the `NOGROUP` error of `XINFO CONSUMERS` and `XGROUP`.
pub(super) fn no_such_group(ctx: &mut Ctx<'_>, group: &[u8], key: &[u8]) {
    let text = format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    );
    ctx.error(&text);
}
