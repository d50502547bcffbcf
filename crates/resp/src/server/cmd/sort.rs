//! `SORT` and `SORT_RO`: the elements of a list, set or sorted set, sorted numerically or
//! (`ALPHA`) by bytes, by their own value or by other keys (`BY`), with `LIMIT`, `GET` and
//! `STORE`, following Redis's `sortCommandGeneric`.
//!
//! Patterns (`BY` and `GET`) name other keys through the element: the first `*` is replaced by
//! it, and a `->field` after the `*` reads a field of a hash; `GET #` is the element itself. A
//! `BY` pattern without `*` means "do not sort": lists and sorted sets keep their order
//! (reversed by `DESC`), and a set is sorted `ALPHA` anyway when the result is stored, so that
//! what is stored (and logged) does not depend on the table's order.
//!
//! Numeric sorting parses each weight as `strtod` would (a missing one counts as 0) and fails
//! with Redis's error on anything that is not a number; equal weights are ordered by the
//! elements' bytes, so that the result is deterministic.

use std::cmp::Ordering;

use bytes::Bytes;

use super::{Command, Ctx, DENYOOM, READONLY, WRITE, command, errors, parse_int};
use crate::server::db::Db;
use crate::server::notify;
use crate::server::value::{List, Str, Value};

pub(super) const COMMANDS: &[Command] = &[
    command(
        "sort",
        -2,
        WRITE | DENYOOM,
        (1, 1, 1),
        "@write @set @sortedset @list @slow @dangerous",
        sort,
    ),
    command(
        "sort_ro",
        -2,
        READONLY,
        (1, 1, 1),
        "@read @set @sortedset @list @slow @dangerous",
        sort_ro,
    ),
];

/// What the options ask for.
#[derive(Default)]
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    get: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

impl Options<'_> {
    /// `BY` a pattern without `*`: keep the elements' own order.
    fn dont_sort(&self) -> bool {
        self.by.is_some_and(|pattern| !pattern.contains(&b'*'))
    }
}

fn parse_options<'a>(ctx: &mut Ctx<'_>, args: &'a [Bytes], readonly: bool) -> Option<Options<'a>> {
    let mut options = Options::default();
    let mut at = 2;
    while at < args.len() {
        let left = args.len() - at - 1;
        match &args[at].to_ascii_lowercase()[..] {
            b"asc" => options.desc = false,
            b"desc" => options.desc = true,
            b"alpha" => options.alpha = true,
            b"limit" if left >= 2 => {
                let (Some(start), Some(count)) =
                    (parse_int(&args[at + 1]), parse_int(&args[at + 2]))
                else {
                    ctx.error(errors::NOT_INTEGER);
                    return None;
                };
                options.limit = Some((start, count));
                at += 2;
            }
            b"store" if left >= 1 && !readonly => {
                options.store = Some(&args[at + 1]);
                at += 1;
            }
            b"by" if left >= 1 => {
                options.by = Some(&args[at + 1]);
                at += 1;
            }
            b"get" if left >= 1 => {
                options.get.push(&args[at + 1]);
                at += 1;
            }
            _ => {
                ctx.error(errors::SYNTAX);
                return None;
            }
        }
        at += 1;
    }
    Some(options)
}

/// Redis's `lookupKeyByPattern`: the string (or, with `->field`, the hash field) that
/// `pattern` names for `element`; `#` is the element itself.
fn lookup(db: &mut Db, pattern: &[u8], element: &[u8], now: i64) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->").filter(|&at| at + 2 < after.len());
    let (postfix, field) = match arrow {
        Some(at) => (&after[..at], Some(&after[at + 2..])),
        None => (after, None),
    };
    let key = [&pattern[..star], element, postfix].concat();
    match (db.lookup(&key, now)?, field) {
        (Value::Str(s), None) => Some(s.as_bytes().to_vec()),
        (Value::Hash(hash), Some(field)) => hash.get(field).map(|v| v.as_bytes().to_vec()),
        _ => None,
    }
}

/// A weight as C's `strtod` reads a whole string: leading spaces skipped, the empty string
/// is 0; `None` if it is not a number (or is NaN).
fn strtod(text: &[u8]) -> Option<f64> {
    let text =
        std::str::from_utf8(text).ok()?.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if text.is_empty() {
        return Some(0.0);
    }
    text.parse::<f64>().ok().filter(|x| !x.is_nan())
}

/// An element and what it is compared by.
struct Item {
    element: Str,
    score: f64,
    /// The `BY` value for `ALPHA` sorting with a pattern (`None`: missing, sorts first).
    by: Option<Vec<u8>>,
}

fn sort(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    sort_generic(ctx, args, false);
}

fn sort_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    sort_generic(ctx, args, true);
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &[Bytes], readonly: bool) {
    let Some(mut options) = parse_options(ctx, args, readonly) else { return };
    let (now, db) = (ctx.now, ctx.client.db);
    let (elements, is_set): (Vec<Str>, bool) = match ctx.store.dbs[db].lookup(&args[1], now) {
        None => (Vec::new(), false),
        Some(Value::List(list)) => (list.iter().cloned().collect(), false),
        Some(Value::Set(set)) => (set.iter().map(|(m, ())| m.clone()).collect(), true),
        Some(Value::ZSet(zset)) => (zset.iter().map(|(m, _)| m.clone()).collect(), false),
        Some(Value::Str(_) | Value::Hash(_) | Value::Stream(_)) => return ctx.wrong_type(),
    };
    // A set's order is the hash table's: where it would reach the AOF (`STORE`) or a
    // script, it is made deterministic by sorting as `ALPHA` does, as Redis does.
    if options.dont_sort() && is_set && (options.store.is_some() || ctx.client.in_script) {
        options = Options { alpha: true, by: None, ..options };
    }
    let mut items: Vec<Item> =
        elements.into_iter().map(|element| Item { element, score: 0.0, by: None }).collect();
    if options.dont_sort() {
        if options.desc && !is_set {
            items.reverse();
        }
    } else if !weigh(ctx, &mut items, &options) {
        return ctx.error("ERR One or more scores can't be converted into double");
    } else {
        items.sort_by(|a, b| {
            let order = compare(a, b, &options);
            if options.desc { order.reverse() } else { order }
        });
    }
    let range = limit(items.len(), options.limit.unwrap_or((0, -1)));
    output(ctx, &items[range], &options);
}

/// Computes each item's weight (its score, or its `BY` value for `ALPHA`); false if a
/// numeric weight is not a number.
fn weigh(ctx: &mut Ctx<'_>, items: &mut [Item], options: &Options<'_>) -> bool {
    let (now, db) = (ctx.now, ctx.client.db);
    let mut all_numbers = true;
    for item in items.iter_mut() {
        let weight = match options.by {
            Some(pattern) => lookup(&mut ctx.store.dbs[db], pattern, item.element.as_bytes(), now),
            None => Some(item.element.as_bytes().to_vec()),
        };
        let Some(weight) = weight else { continue };
        if options.alpha {
            if options.by.is_some() {
                item.by = Some(weight);
            }
        } else {
            match strtod(&weight) {
                Some(score) => item.score = score,
                None => all_numbers = false,
            }
        }
    }
    all_numbers
}

fn compare(a: &Item, b: &Item, options: &Options<'_>) -> Ordering {
    if !options.alpha {
        return a
            .score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.element.as_bytes().cmp(b.element.as_bytes()));
    }
    if options.by.is_some() {
        // A missing weight sorts first.
        return a.by.cmp(&b.by);
    }
    a.element.as_bytes().cmp(b.element.as_bytes())
}

/// `LIMIT start count` over `len` items, clamped as Redis clamps it.
fn limit(len: usize, (start, count): (i64, i64)) -> std::ops::Range<usize> {
    let len = len as i64;
    let mut start = start.clamp(0, len);
    let count = count.clamp(-1, len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    if end < start { 0..0 } else { start as usize..end as usize + 1 }
}

/// Replies with (or stores) the elements, or with `GET`, the values the patterns name.
fn output(ctx: &mut Ctx<'_>, items: &[Item], options: &Options<'_>) {
    let (now, db) = (ctx.now, ctx.client.db);
    let mut values: Vec<Option<Vec<u8>>> = Vec::new();
    for item in items {
        if options.get.is_empty() {
            values.push(Some(item.element.as_bytes().to_vec()));
        }
        for pattern in &options.get {
            values.push(lookup(&mut ctx.store.dbs[db], pattern, item.element.as_bytes(), now));
        }
    }
    let Some(destination) = options.store else {
        ctx.out.array_len(values.len());
        for value in &values {
            match value {
                Some(bytes) => ctx.out.bulk(bytes),
                None => ctx.out.null(),
            }
        }
        return;
    };
    let count = values.len();
    let target = &mut ctx.store.dbs[db];
    if count > 0 {
        let list: List = values.into_iter().map(|v| Str::new(&v.unwrap_or_default())).collect();
        target.set(destination, Value::List(Box::new(list)), false);
        target.notify(notify::LIST, "sortstore", destination);
    } else if target.remove(destination).is_some() {
        target.notify(notify::GENERIC, "del", destination);
    }
    ctx.out.int(count as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_clamps_like_redis() {
        assert_eq!(limit(5, (0, -1)), 0..5);
        assert_eq!(limit(5, (1, 2)), 1..3);
        assert_eq!(limit(5, (-3, 2)), 0..2);
        assert_eq!(limit(5, (4, 100)), 4..5);
        assert_eq!(limit(5, (5, 1)), 0..0);
        assert_eq!(limit(5, (0, 0)), 0..0);
        assert_eq!(limit(0, (0, -1)), 0..0);
    }

    #[test]
    fn weights_parse_as_strtod_does() {
        assert_eq!(strtod(b" 1.5"), Some(1.5));
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"1e3"), Some(1000.0));
        assert_eq!(strtod(b"abc"), None);
        assert_eq!(strtod(b"1 "), None);
        assert_eq!(strtod(b"nan"), None);
    }
}
