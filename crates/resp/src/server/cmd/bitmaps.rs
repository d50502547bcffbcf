//! Bitmap commands: `SETBIT`, `GETBIT`, `BITCOUNT`, `BITPOS`, `BITOP`, `BITFIELD` and
//! `BITFIELD_RO`. A bitmap is an ordinary string (see `server/bits.rs` for how its bits are
//! numbered); these commands only read and write it bit by bit.
//!
//! The order in which each command checks its arguments, the key's type and its existence is
//! Redis's, because it decides which error a client sees: `BITCOUNT` of a missing key is 0
//! whatever its other arguments, `BITPOS` checks its bit before the key, and `BITFIELD` parses
//! every operation before it looks at the key.

use bytes::Bytes;

use super::{Command, Ctx, DENYOOM, FAST, READONLY, WRITE, command, errors, parse_int};
use crate::server::bits::{self, Overflow};
use crate::server::notify;
use crate::server::value::{Str, Value};

pub(super) const COMMANDS: &[Command] = &[
    command("setbit", 4, WRITE | DENYOOM, (1, 1, 1), "@write @bitmap @slow", setbit),
    command("getbit", 3, READONLY | FAST, (1, 1, 1), "@read @bitmap @fast", getbit),
    command("bitcount", -2, READONLY, (1, 1, 1), "@read @bitmap @slow", bitcount),
    command("bitpos", -3, READONLY, (1, 1, 1), "@read @bitmap @slow", bitpos),
    command("bitop", -4, WRITE | DENYOOM, (2, -1, 1), "@write @bitmap @slow", bitop),
    command("bitfield", -2, WRITE | DENYOOM, (1, 1, 1), "@write @bitmap @slow", bitfield),
    command("bitfield_ro", -2, READONLY | FAST, (1, 1, 1), "@read @bitmap @fast", bitfield_ro),
];

const OFFSET_ERROR: &str = "ERR bit offset is not an integer or out of range";

/// A bit offset: a non-negative integer addressing a byte below `proto-max-bulk-len`. With
/// `width`, the form `#n` means the `n`th field of that width (`BITFIELD`).
fn bit_offset(ctx: &mut Ctx<'_>, arg: &[u8], width: Option<u32>) -> Option<u64> {
    let max_bytes = ctx.store.cached.max_bulk as u64;
    let offset = match (arg.strip_prefix(b"#"), width) {
        // Redis multiplies in C's `long long`; a product that wraps negative is refused below.
        (Some(index), Some(width)) => parse_int(index).map(|n| n.wrapping_mul(i64::from(width))),
        _ => parse_int(arg),
    };
    let offset = offset.and_then(|n| u64::try_from(n).ok()).filter(|&n| n >> 3 < max_bytes);
    if offset.is_none() {
        ctx.error(OFFSET_ERROR);
    }
    offset
}

/// `SETBIT key offset 0|1`: replies with the bit's previous value, growing the string with
/// zero bytes as needed.
fn setbit(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(offset) = bit_offset(ctx, &args[2], None) else { return };
    let on = match &args[3][..] {
        b"0" => 0,
        b"1" => 1,
        _ => return ctx.error("ERR bit is not an integer or out of range"),
    };
    let written = write_bitmap(ctx, &args[1], offset / 8 + 1, |bytes| {
        let was = bits::get_field(bytes, offset, 1);
        bits::set_field(bytes, offset, 1, on);
        (was, was != on)
    });
    if let Some(was) = written {
        ctx.out.int(was as i64);
    }
}

/// Runs `write` on the string at `key`, created empty if missing and grown with zero bytes to
/// at least `len` bytes first; `write` returns its result and whether it changed a bit. A
/// change (creating or growing the string counts as one) is what `WATCH`, the AOF and the
/// keyspace events see, as in Redis, which counts a `SETBIT` or `BITFIELD` that leaves every
/// bit as it was as no change at all. `None` after replying `WRONGTYPE`.
fn write_bitmap<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    len: u64,
    write: impl FnOnce(&mut Vec<u8>) -> (R, bool),
) -> Option<R> {
    let now = ctx.now;
    // The offset's check keeps `len` below `proto-max-bulk-len`, so it fits a usize.
    let len = len as usize;
    let written = ctx.db().change_string(key, now, |bytes| {
        let grown = bytes.len() < len;
        if grown {
            bytes.resize(len, 0);
        }
        let (result, changed) = write(bytes);
        (result, grown || changed)
    });
    let Ok((result, changed)) = written else {
        ctx.wrong_type();
        return None;
    };
    if changed {
        ctx.notify(notify::STRING, "setbit", key);
    }
    Some(result)
}

/// `GETBIT key offset`: 0 past the end of the string or for a missing key.
fn getbit(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(offset) = bit_offset(ctx, &args[2], None) else { return };
    match ctx.read_string(&args[1]) {
        Ok(s) => {
            let bit = s.map_or(0, |s| bits::get_field(s.as_bytes(), offset, 1));
            ctx.out.int(bit as i64);
        }
        Err(_) => ctx.wrong_type(),
    }
}

/// Reads the `BIT|BYTE` unit of a range: true for bits.
fn in_bits(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<bool> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Some(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Some(false)
    } else {
        ctx.error(errors::SYNTAX);
        None
    }
}

/// `BITCOUNT key [start end [BYTE|BIT]]`.
fn bitcount(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let len = match ctx.read_string(&args[1]) {
        Ok(Some(s)) => s.len(),
        Ok(None) => return ctx.out.int(0),
        Err(_) => return ctx.wrong_type(),
    };
    let range = match args.len() {
        2 => bits::bit_range(len, 0, -1, false),
        4 | 5 => {
            let Some(start) = ctx.int_arg(&args[2]) else { return };
            let Some(end) = ctx.int_arg(&args[3]) else { return };
            if start < 0 && end < 0 && start > end {
                return ctx.out.int(0);
            }
            let unit = if args.len() == 5 { in_bits(ctx, &args[4]) } else { Some(false) };
            let Some(unit) = unit else { return };
            bits::bit_range(len, start, end, unit)
        }
        _ => return ctx.error(errors::SYNTAX),
    };
    let bytes = bytes(ctx, &args[1]);
    let count = match range {
        Some((first, last)) if within(bytes, last) => bits::count_ones(bytes, first, last),
        _ => 0,
    };
    ctx.out.int(count as i64);
}

/// Whether bit `last` lies within `bytes` (as a range from `bit_range` over the string just
/// read does; checked rather than assumed, since an index past the end would panic).
fn within(bytes: &[u8], last: u64) -> bool {
    last / 8 < bytes.len() as u64
}

/// The bytes of the string at `key`, found a moment ago by the same command (so not counted
/// as another keyspace hit); empty if it is gone.
fn bytes<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> &'c [u8] {
    let now = ctx.now;
    match ctx.db().get::<Str>(key, now) {
        Ok(Some(s)) => s.as_bytes(),
        _ => &[],
    }
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`: the first bit equal to `bit` in the range. A
/// string reads as followed by zeros, so a search for 0 without an explicit end finds the
/// first bit past the string; with one, it finds nothing (-1).
fn bitpos(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(bit) = ctx.int_arg(&args[2]) else { return };
    if bit != 0 && bit != 1 {
        return ctx.error("ERR The bit argument must be 1 or 0.");
    }
    let len = match ctx.read_string(&args[1]) {
        Ok(Some(s)) => s.len(),
        Ok(None) => return ctx.out.int(if bit == 1 { -1 } else { 0 }),
        Err(_) => return ctx.wrong_type(),
    };
    let (range, end_given) = match args.len() {
        3 => (bits::bit_range(len, 0, -1, false), false),
        4..=6 => {
            let Some(start) = ctx.int_arg(&args[3]) else { return };
            let unit = if args.len() == 6 { in_bits(ctx, &args[5]) } else { Some(false) };
            let Some(unit) = unit else { return };
            // Without an end there is no unit either: the range runs to the last byte.
            let end = match args.get(4) {
                Some(end) => ctx.int_arg(end),
                None => Some(len as i64 - 1),
            };
            let Some(end) = end else { return };
            (bits::bit_range(len, start, end, unit), args.len() > 4)
        }
        _ => return ctx.error(errors::SYNTAX),
    };
    let bytes = bytes(ctx, &args[1]);
    let Some((first, last)) = range.filter(|&(_, last)| within(bytes, last)) else {
        return ctx.out.int(-1);
    };
    let found = bits::first_position(bytes, first, last, bit == 1);
    let position = match found {
        Some(position) => position as i64,
        None if bit == 0 && !end_given => last as i64 + 1,
        None => -1,
    };
    ctx.out.int(position);
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`: stores the bitwise combination of the
/// strings, the shorter ones read as padded with zeros, and replies with its length. An
/// empty result deletes `destkey`.
fn bitop(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let op = args[1].to_ascii_lowercase();
    let combine: fn(u8, u8) -> u8 = match &op[..] {
        b"and" => |a, b| a & b,
        b"or" => |a, b| a | b,
        b"xor" => |a, b| a ^ b,
        b"not" => |a, _| a, // one source only: the complement is taken below
        _ => return ctx.error(errors::SYNTAX),
    };
    let not = &op[..] == b"not";
    if not && args.len() != 4 {
        return ctx.error("ERR BITOP NOT must be called with a single source key.");
    }
    // Each source is folded into the result as it is read. A byte past the end of every
    // source so far is 0 in all of them, and AND, OR and XOR of zeros are 0: growing the
    // result with zeros keeps it right.
    let mut result: Vec<u8> = Vec::new();
    for (i, key) in args[3..].iter().enumerate() {
        let Ok(source) = ctx.read_string(key) else { return ctx.wrong_type() };
        let source = source.map_or(&[][..], Str::as_bytes);
        if result.len() < source.len() {
            result.resize(source.len(), 0);
        }
        for (j, byte) in result.iter_mut().enumerate() {
            let other = source.get(j).copied().unwrap_or(0);
            *byte = if i == 0 { other } else { combine(*byte, other) };
        }
    }
    if not {
        result.iter_mut().for_each(|byte| *byte = !*byte);
    }
    let len = result.len();
    let target = &args[2];
    if result.is_empty() {
        if ctx.db().remove(target).is_some() {
            ctx.notify(notify::GENERIC, "del", target);
        }
    } else {
        ctx.db().set(target, Value::Str(Str::Growable(Box::new(result))), false);
        ctx.notify(notify::STRING, "set", target);
    }
    ctx.out.int(len as i64);
}

/// One operation of `BITFIELD`.
#[derive(Clone, Copy)]
struct FieldOp {
    kind: FieldOpKind,
    signed: bool,
    width: u32,
    offset: u64,
    /// The value to store or the increment.
    value: i64,
    overflow: Overflow,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOpKind {
    Get,
    Set,
    IncrBy,
}

/// Reads `i<bits>` (1 to 64) or `u<bits>` (1 to 63).
fn field_type(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<(bool, u32)> {
    let signed = match arg.first() {
        Some(b'i') => Some(true),
        Some(b'u') => Some(false),
        _ => None,
    };
    let width = parse_int(arg.get(1..).unwrap_or_default());
    match (signed, width) {
        (Some(signed), Some(width)) if (1..=if signed { 64 } else { 63 }).contains(&width) => {
            Some((signed, width as u32))
        }
        _ => {
            ctx.error(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not \
                 supported but i64 is.",
            );
            None
        }
    }
}

/// Parses `BITFIELD`'s operations, or replies with the first error.
fn field_ops(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Option<Vec<FieldOp>> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut at = 2;
    while at < args.len() {
        let left = args.len() - at - 1;
        let name = args[at].to_ascii_lowercase();
        let kind = match &name[..] {
            b"get" if left >= 2 => FieldOpKind::Get,
            b"set" if left >= 3 => FieldOpKind::Set,
            b"incrby" if left >= 3 => FieldOpKind::IncrBy,
            b"overflow" if left >= 1 => {
                overflow = match &args[at + 1].to_ascii_lowercase()[..] {
                    b"wrap" => Overflow::Wrap,
                    b"sat" => Overflow::Sat,
                    b"fail" => Overflow::Fail,
                    _ => {
                        ctx.error("ERR Invalid OVERFLOW type specified");
                        return None;
                    }
                };
                at += 2;
                continue;
            }
            _ => {
                ctx.error(errors::SYNTAX);
                return None;
            }
        };
        let (signed, width) = field_type(ctx, &args[at + 1])?;
        let offset = bit_offset(ctx, &args[at + 2], Some(width))?;
        let value = match kind {
            FieldOpKind::Get => 0,
            FieldOpKind::Set | FieldOpKind::IncrBy => ctx.int_arg(&args[at + 3])?,
        };
        ops.push(FieldOp { kind, signed, width, offset, value, overflow });
        at += if kind == FieldOpKind::Get { 3 } else { 4 };
    }
    Some(ops)
}

/// Runs one write (`SET` or `INCRBY`) on `bytes`: the reply (the old value for `SET`, the
/// new one for `INCRBY`, `None` when `OVERFLOW FAIL` refused it) and whether a bit changed.
fn write_field(bytes: &mut [u8], op: FieldOp) -> (Option<i64>, bool) {
    let (offset, width) = (op.offset, op.width);
    let (reply, new, old) = if op.signed {
        let old = bits::get_signed_field(bytes, offset, width);
        let (base, increment) =
            if op.kind == FieldOpKind::IncrBy { (old, op.value) } else { (op.value, 0) };
        let (Ok(new) | Err(Some(new))) = bits::add_signed(base, increment, width, op.overflow)
        else {
            return (None, false);
        };
        let reply = if op.kind == FieldOpKind::IncrBy { new } else { old };
        (reply, new as u64, old as u64)
    } else {
        let old = bits::get_field(bytes, offset, width);
        let (base, increment) =
            if op.kind == FieldOpKind::IncrBy { (old, op.value) } else { (op.value as u64, 0) };
        let (Ok(new) | Err(Some(new))) = bits::add_unsigned(base, increment, width, op.overflow)
        else {
            return (None, false);
        };
        let reply = if op.kind == FieldOpKind::IncrBy { new as i64 } else { old as i64 };
        (reply, new, old)
    };
    bits::set_field(bytes, offset, width, new);
    let mask = if width == 64 { u64::MAX } else { !(u64::MAX << width) };
    (Some(reply), new & mask != old & mask)
}

/// Reads one field for `GET`.
fn read_field(bytes: &[u8], op: FieldOp) -> i64 {
    if op.signed {
        bits::get_signed_field(bytes, op.offset, op.width)
    } else {
        bits::get_field(bytes, op.offset, op.width) as i64
    }
}

/// `BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...`: the operations run in order, each seeing the ones before.
fn bitfield(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    bitfield_generic(ctx, args, false);
}

/// `BITFIELD_RO key [GET type offset] ...`.
fn bitfield_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    bitfield_generic(ctx, args, true);
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: &[Bytes], read_only: bool) {
    let Some(ops) = field_ops(ctx, args) else { return };
    let key = &args[1];
    let writes = ops.iter().filter(|op| op.kind != FieldOpKind::Get);
    let Some(end) = writes.map(|op| op.offset + u64::from(op.width)).max() else {
        // Only reads: a missing key reads as zeros.
        let values: Vec<i64> = match ctx.read_string(key) {
            Ok(s) => {
                let bytes = s.map_or(&[][..], Str::as_bytes);
                ops.iter().map(|&op| read_field(bytes, op)).collect()
            }
            Err(_) => return ctx.wrong_type(),
        };
        ctx.out.array_len(values.len());
        return values.into_iter().for_each(|value| ctx.out.int(value));
    };
    if read_only {
        return ctx.error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let replies = write_bitmap(ctx, key, end.div_ceil(8), |bytes| {
        let mut changed = false;
        let replies: Vec<Option<i64>> = ops
            .iter()
            .map(|&op| match op.kind {
                FieldOpKind::Get => Some(read_field(bytes, op)),
                FieldOpKind::Set | FieldOpKind::IncrBy => {
                    let (reply, bit_changed) = write_field(bytes, op);
                    changed |= bit_changed;
                    reply
                }
            })
            .collect();
        (replies, changed)
    });
    let Some(replies) = replies else { return };
    ctx.out.array_len(replies.len());
    for reply in replies {
        match reply {
            Some(value) => ctx.out.int(value),
            None => ctx.out.null(),
        }
    }
}
