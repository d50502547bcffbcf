//! String commands: `GET`, `SET` and its relatives, counters, and byte ranges.
//!
//! A Redis string is a byte array of up to `proto-max-bulk-len` bytes. Counters are strings
//! too: `INCR` parses the value as a strict decimal `i64` and stores the result back as text,
//! and a key's TTL survives every command here except `SET` (without `KEEPTTL`) and the forms
//! that set a new one.

use bytes::Bytes;

use super::{Command, Ctx, DENYOOM, FAST, READONLY, WRITE, command, errors, parse_int, string_at};
use crate::server::long_double::LongDouble;
use crate::server::notify;
use crate::server::reply::format_i64;
use crate::server::value::{Str, Value};

pub(super) const COMMANDS: &[Command] = &[
    command("get", 2, READONLY | FAST, (1, 1, 1), "@read @string @fast", get),
    command("set", -3, WRITE | DENYOOM, (1, 1, 1), "@write @string @slow", set),
    command("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @string @fast", setnx),
    command("setex", 4, WRITE | DENYOOM, (1, 1, 1), "@write @string @slow", setex),
    command("psetex", 4, WRITE | DENYOOM, (1, 1, 1), "@write @string @slow", psetex),
    command("mget", -2, READONLY | FAST, (1, -1, 1), "@read @string @fast", mget),
    command("mset", -3, WRITE | DENYOOM, (1, -1, 2), "@write @string @slow", mset),
    command("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), "@write @string @slow", msetnx),
    command("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @string @fast", incr),
    command("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @string @fast", decr),
    command("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @string @fast", incrby),
    command("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @string @fast", decrby),
    command(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "@write @string @fast",
        incrbyfloat,
    ),
    command("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @string @fast", append),
    command("strlen", 2, READONLY | FAST, (1, 1, 1), "@read @string @fast", strlen),
    command("getrange", 4, READONLY, (1, 1, 1), "@read @string @slow", getrange),
    command("lcs", -3, READONLY, (1, 2, 1), "@read @string @slow", super::lcs::lcs),
    command("substr", 4, READONLY, (1, 1, 1), "@read @string @slow", getrange),
    command("setrange", 4, WRITE | DENYOOM, (1, 1, 1), "@write @string @slow", setrange),
    command("getdel", 2, WRITE | FAST, (1, 1, 1), "@write @string @fast", getdel),
    command("getex", -2, WRITE | FAST, (1, 1, 1), "@write @string @fast", getex),
    command("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "@write @string @fast", getset),
];

fn string(bytes: &[u8]) -> Value {
    Value::Str(Str::new(bytes))
}

fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let _ = reply_value(ctx, &args[1]);
}

/// Writes the string at `key` (or null); `Err` after writing `WRONGTYPE`.
fn reply_value(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<(), ()> {
    match string_at(ctx.store, ctx.client.db, key, ctx.now) {
        Ok(Some(s)) => ctx.out.bulk(s.as_bytes()),
        Ok(None) => ctx.out.null(),
        Err(_) => {
            ctx.wrong_type();
            return Err(());
        }
    }
    Ok(())
}

/// The expiry-related options shared by `SET` and `GETEX`.
#[derive(Clone, Copy, Default, PartialEq)]
struct Options {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// The option that carried a time, and the argument index of the time.
    expire: Option<(ExpireUnit, usize)>,
}

#[derive(Clone, Copy, PartialEq)]
enum ExpireUnit {
    /// `EX`: seconds from now.
    Ex,
    /// `PX`: milliseconds from now.
    Px,
    /// `EXAT`: Unix seconds.
    ExAt,
    /// `PXAT`: Unix milliseconds.
    PxAt,
}

/// Parses `SET` options (from argument 3) or `GETEX` options (from argument 2), with
/// Redis's rule that conflicting options are a syntax error.
fn parse_options(args: &[Bytes], for_set: bool) -> Option<Options> {
    let mut o = Options::default();
    let mut at = if for_set { 3 } else { 2 };
    while at < args.len() {
        let opt = args[at].to_ascii_uppercase();
        let has_next = at + 1 < args.len();
        let timed = o.expire.is_some();
        match &opt[..] {
            b"NX" if for_set && !o.xx => o.nx = true,
            b"XX" if for_set && !o.nx => o.xx = true,
            b"GET" if for_set => o.get = true,
            b"KEEPTTL" if for_set && !o.persist && !timed => o.keep_ttl = true,
            b"PERSIST" if !for_set && !timed && !o.keep_ttl => o.persist = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT"
                if has_next && !o.keep_ttl && !o.persist && !timed =>
            {
                let unit = match &opt[..] {
                    b"EX" => ExpireUnit::Ex,
                    b"PX" => ExpireUnit::Px,
                    b"EXAT" => ExpireUnit::ExAt,
                    _ => ExpireUnit::PxAt,
                };
                o.expire = Some((unit, at + 1));
                at += 1;
            }
            _ => return None,
        }
        at += 1;
    }
    Some(o)
}

/// The absolute expiry time for an `EX`/`PX`/`EXAT`/`PXAT` argument, or `None` after
/// replying with Redis's error (not an integer; not positive; overflow).
fn expire_time(ctx: &mut Ctx<'_>, unit: ExpireUnit, arg: &[u8], command: &str) -> Option<i64> {
    let value = ctx.int_arg(arg)?;
    let seconds = matches!(unit, ExpireUnit::Ex | ExpireUnit::ExAt);
    if value <= 0 || (seconds && value > i64::MAX / 1000) {
        ctx.invalid_expire(command);
        return None;
    }
    let mut ms = if seconds { value * 1000 } else { value };
    if matches!(unit, ExpireUnit::Ex | ExpireUnit::Px) {
        // Redis adds without checking and then tests for a wrap to a non-positive value.
        ms = ms.wrapping_add(ctx.now);
    }
    if ms <= 0 {
        ctx.invalid_expire(command);
        return None;
    }
    Some(ms)
}

fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(options) = parse_options(args, true) else {
        return ctx.error(errors::SYNTAX);
    };
    set_generic(ctx, options, &args[1], &args[2], args, "set", false);
}

/// `SET` and the commands that are forms of it. With `int_replies` (`SETNX`) the replies are
/// 1 and 0; otherwise `OK`, and null when `NX`/`XX` stops the write.
fn set_generic(
    ctx: &mut Ctx<'_>,
    options: Options,
    key: &[u8],
    value: &[u8],
    args: &[Bytes],
    command: &str,
    int_replies: bool,
) {
    let expire = match options.expire {
        Some((unit, at)) => match expire_time(ctx, unit, &args[at], command) {
            Some(ms) => Some(ms),
            None => return,
        },
        None => None,
    };
    if options.get && reply_value(ctx, key).is_err() {
        return;
    }
    let now = ctx.now;
    let found = ctx.db().exists(key, now);
    if (options.nx && found) || (options.xx && !found) {
        if !options.get {
            match int_replies {
                true => ctx.out.int(0),
                false => ctx.out.null(),
            }
        }
        return;
    }
    let db = ctx.db();
    db.set(key, string(value), options.keep_ttl);
    db.notify(notify::STRING, "set", key);
    if let Some(at) = expire {
        db.set_expire(key, at);
        db.notify(notify::GENERIC, "expire", key);
        // The log gets the absolute time: a relative one would restart on replay.
        ctx.propagate(&[b"SET", key, value, b"PXAT", at.to_string().as_bytes()]);
    }
    if !options.get {
        match int_replies {
            true => ctx.out.int(1),
            false => ctx.out.ok(),
        }
    }
}

fn setnx(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let options = Options { nx: true, ..Options::default() };
    set_generic(ctx, options, &args[1], &args[2], args, "setnx", true);
}

fn setex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let options = Options { expire: Some((ExpireUnit::Ex, 2)), ..Options::default() };
    set_generic(ctx, options, &args[1], &args[3], args, "setex", false);
}

fn psetex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let options = Options { expire: Some((ExpireUnit::Px, 2)), ..Options::default() };
    set_generic(ctx, options, &args[1], &args[3], args, "psetex", false);
}

fn getset(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if reply_value(ctx, &args[1]).is_ok() {
        ctx.db().set(&args[1], string(&args[2]), false);
        ctx.notify(notify::STRING, "set", &args[1]);
    }
}

fn mget(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ctx.out.array_len(args.len() - 1);
    for key in &args[1..] {
        match string_at(ctx.store, ctx.client.db, key, ctx.now) {
            Ok(Some(s)) => ctx.out.bulk(s.as_bytes()),
            // MGET answers null for a key of another type rather than failing.
            Ok(None) | Err(_) => ctx.out.null(),
        }
    }
}

fn mset(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    mset_generic(ctx, args, "mset", false);
}

fn msetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    mset_generic(ctx, args, "msetnx", true);
}

fn mset_generic(ctx: &mut Ctx<'_>, args: &[Bytes], name: &str, nx: bool) {
    if args.len().is_multiple_of(2) {
        return ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let now = ctx.now;
    if nx && args[1..].chunks(2).any(|pair| ctx.db().exists(&pair[0], now)) {
        return ctx.out.int(0);
    }
    for pair in args[1..].chunks(2) {
        ctx.db().set(&pair[0], string(&pair[1]), false);
        ctx.notify(notify::STRING, "set", &pair[0]);
    }
    if nx { ctx.out.int(1) } else { ctx.out.ok() }
}

fn incr(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    incr_by(ctx, &args[1], 1);
}

fn decr(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    incr_by(ctx, &args[1], -1);
}

fn incrby(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if let Some(by) = ctx.int_arg(&args[2]) {
        incr_by(ctx, &args[1], by);
    }
}

fn decrby(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(by) = ctx.int_arg(&args[2]) else { return };
    match by.checked_neg() {
        Some(by) => incr_by(ctx, &args[1], by),
        None => ctx.error("ERR decrement would overflow"),
    }
}

/// Adds `by` to the integer at `key` (0 if missing), keeping its TTL.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], by: i64) {
    let current = match ctx.read_string(key) {
        Ok(Some(s)) => match parse_int(s.as_bytes()) {
            Some(n) => Some(n),
            None => return ctx.error(errors::NOT_INTEGER),
        },
        Ok(None) => None,
        Err(_) => return ctx.wrong_type(),
    };
    let Some(value) = current.unwrap_or(0).checked_add(by) else {
        return ctx.error("ERR increment or decrement would overflow");
    };
    let mut buf = [0; 20];
    let text = format_i64(&mut buf, value);
    let db = ctx.db();
    match current {
        Some(_) => db.set(key, string(text), true),
        None => {
            db.add(key, string(text));
        }
    }
    db.notify(notify::STRING, "incrby", key);
    ctx.out.int(value);
}

fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let key = &args[1];
    let current = match ctx.read_string(key) {
        Ok(Some(s)) => match LongDouble::parse(s.as_bytes()) {
            Some(n) => Some(n),
            None => return ctx.error(errors::NOT_FLOAT),
        },
        Ok(None) => None,
        Err(_) => return ctx.wrong_type(),
    };
    let Some(by) = LongDouble::parse(&args[2]) else {
        return ctx.error(errors::NOT_FLOAT);
    };
    // In `long double`, as Redis computes it (see `long_double`).
    let value = current.as_ref().unwrap_or(&LongDouble::ZERO).add(&by);
    let Some(value) = value.filter(LongDouble::is_finite) else {
        return ctx.error("ERR increment would produce NaN or Infinity");
    };
    let text = value.to_human();
    match current {
        Some(_) => ctx.db().set(key, string(text.as_bytes()), true),
        None => {
            ctx.db().add(key, string(text.as_bytes()));
        }
    }
    ctx.notify(notify::STRING, "incrbyfloat", key);
    // The log gets the result: replaying the sum could round differently.
    ctx.propagate(&[b"SET", key, text.as_bytes(), b"KEEPTTL"]);
    ctx.out.bulk(text.as_bytes());
}

fn append(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (key, tail) = (&args[1], &args[2]);
    let max = ctx.store.cached.max_bulk as i64;
    let now = ctx.now;
    match ctx.db().get_mut::<Str>(key, now) {
        Err(_) => ctx.wrong_type(),
        Ok(Some(s)) => {
            if (s.len() + tail.len()) as i64 > max {
                return ctx.error(errors::TOO_BIG);
            }
            let buf = s.make_growable();
            buf.extend_from_slice(tail);
            let len = buf.len();
            ctx.notify(notify::STRING, "append", key);
            ctx.out.int(len as i64);
        }
        Ok(None) => {
            ctx.db().add(key, string(tail));
            ctx.notify(notify::STRING, "append", key);
            ctx.out.int(tail.len() as i64);
        }
    }
}

fn strlen(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    match ctx.read_string(&args[1]) {
        Ok(s) => {
            let len = s.map_or(0, Str::len);
            ctx.out.int(len as i64);
        }
        Err(_) => ctx.wrong_type(),
    }
}

fn getrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(start) = ctx.int_arg(&args[2]) else { return };
    let Some(end) = ctx.int_arg(&args[3]) else { return };
    let bytes = match string_at(ctx.store, ctx.client.db, &args[1], ctx.now) {
        Ok(Some(s)) => s.as_bytes(),
        Ok(None) => return ctx.out.bulk(b""),
        Err(_) => return ctx.wrong_type(),
    };
    match byte_range(bytes.len() as i64, start, end) {
        Some((from, to)) => ctx.out.bulk(&bytes[from..=to]),
        None => ctx.out.bulk(b""),
    }
}

/// `GETRANGE`'s index rules: negative indices count from the end, both ends are clamped, and
/// an empty range is `None`.
fn byte_range(len: i64, mut start: i64, mut end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    if start > end || len == 0 { None } else { Some((start as usize, end as usize)) }
}

fn setrange(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let (key, patch) = (&args[1], &args[3]);
    let Some(offset) = ctx.int_arg(&args[2]) else { return };
    if offset < 0 {
        return ctx.error("ERR offset is out of range");
    }
    let max = ctx.store.cached.max_bulk as i64;
    let too_big = offset.checked_add(patch.len() as i64).is_none_or(|total| total > max);
    let now = ctx.now;
    match ctx.db().get_mut::<Str>(key, now) {
        Err(_) => ctx.wrong_type(),
        Ok(Some(s)) => {
            if patch.is_empty() {
                let len = s.len();
                return ctx.out.int(len as i64);
            }
            if too_big {
                return ctx.error(errors::TOO_BIG);
            }
            let buf = s.make_growable();
            let end = offset as usize + patch.len();
            if buf.len() < end {
                buf.resize(end, 0);
            }
            buf[offset as usize..end].copy_from_slice(patch);
            let len = buf.len();
            ctx.notify(notify::STRING, "setrange", key);
            ctx.out.int(len as i64);
        }
        Ok(None) => {
            if patch.is_empty() {
                return ctx.out.int(0);
            }
            if too_big {
                return ctx.error(errors::TOO_BIG);
            }
            let mut buf = vec![0; offset as usize + patch.len()];
            buf[offset as usize..].copy_from_slice(patch);
            let len = buf.len();
            ctx.db().add(key, Value::Str(Str::Growable(Box::new(buf))));
            ctx.notify(notify::STRING, "setrange", key);
            ctx.out.int(len as i64);
        }
    }
}

fn getdel(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if reply_value(ctx, &args[1]).is_ok() && ctx.db().remove(&args[1]).is_some() {
        ctx.notify(notify::GENERIC, "del", &args[1]);
    }
}

fn getex(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(options) = parse_options(args, false) else {
        return ctx.error(errors::SYNTAX);
    };
    let key = &args[1];
    let value = match ctx.read_string(key) {
        Ok(Some(s)) => s.clone(),
        Ok(None) => return ctx.out.null(),
        Err(_) => return ctx.wrong_type(),
    };
    let expire = match options.expire {
        Some((unit, at)) => match expire_time(ctx, unit, &args[at], "getex") {
            Some(ms) => Some((unit, ms)),
            None => return,
        },
        None => None,
    };
    ctx.out.bulk(value.as_bytes());
    let now = ctx.now;
    let db = ctx.db();
    match expire {
        Some((ExpireUnit::ExAt | ExpireUnit::PxAt, ms)) if ms <= now => {
            db.remove(key);
            db.notify(notify::GENERIC, "del", key);
            ctx.propagate(&[b"DEL", key]);
        }
        Some((_, ms)) => {
            db.set_expire(key, ms);
            db.notify(notify::GENERIC, "expire", key);
            ctx.propagate(&[b"PEXPIREAT", key, ms.to_string().as_bytes()]);
        }
        None if options.persist && db.persist(key) => {
            db.notify(notify::GENERIC, "persist", key);
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn getrange_clamps_like_redis() {
        assert_eq!(byte_range(5, 0, -1), Some((0, 4)));
        assert_eq!(byte_range(5, -3, -1), Some((2, 4)));
        assert_eq!(byte_range(5, 3, 100), Some((3, 4)));
        assert_eq!(byte_range(5, -1, -5), None);
        assert_eq!(byte_range(5, 4, 2), None);
        assert_eq!(byte_range(0, 0, -1), None);
        assert_eq!(byte_range(5, -100, 0), Some((0, 0)));
    }
}
