//! The algebra of several sorted sets: `ZUNION`, `ZINTER`, `ZDIFF`, their `STORE` forms, and
//! `ZINTERCARD`, with `WEIGHTS` and `AGGREGATE`.

use bytes::Bytes;

use super::{reply_pairs, store_result};
use crate::server::cmd::{Ctx, errors, parse_float};
use crate::server::value::{Set, Str, Value};
use crate::server::zset::SortedSet;

/// Which combination.
#[derive(Clone, Copy, PartialEq)]
enum Algebra {
    Union,
    Inter,
    Diff,
}

/// How scores of one member in several inputs combine.
#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            // inf + -inf is NaN; Redis stores 0 then.
            Aggregate::Sum => {
                let sum = a + b;
                if sum.is_nan() { 0.0 } else { sum }
            }
            Aggregate::Min => a.min(b),
            Aggregate::Max => a.max(b),
        }
    }
}

/// An input: a sorted set, or a plain set whose members all score 1.
enum Input<'a> {
    Missing,
    Sorted(&'a SortedSet),
    Plain(&'a Set),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Sorted(z) => z.score(member),
            Input::Plain(s) => s.contains_key(member).then_some(1.0),
        }
    }

    fn members(&self) -> Box<dyn Iterator<Item = (&Str, f64)> + '_> {
        match self {
            Input::Missing => Box::new(std::iter::empty()),
            Input::Sorted(z) => Box::new(z.iter()),
            Input::Plain(s) => Box::new(s.keys().map(|m| (m, 1.0))),
        }
    }
}

/// A parsed `ZUNION`-family request: keys, weights, aggregate, and the options.
struct AlgebraQuery<'a> {
    keys: &'a [Bytes],
    weights: Vec<f64>,
    aggregate: Aggregate,
    scores: bool,
    limit: usize,
}

/// Parses `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] [LIMIT n]`
/// from `args[at]`, allowing only what `op` (and `store`, `card`) accept.
fn parse_algebra<'a>(
    ctx: &mut Ctx<'_>,
    args: &'a [Bytes],
    at: usize,
    op: Algebra,
    store: bool,
    card: bool,
) -> Option<AlgebraQuery<'a>> {
    let name = ctx.client.last_command;
    let numkeys = ctx.int_arg(&args[at])?;
    if numkeys < 1 {
        ctx.error(&format!("ERR at least 1 input key is needed for '{name}' command"));
        return None;
    }
    let numkeys = numkeys as usize;
    if numkeys > args.len() - at - 1 {
        ctx.error(errors::SYNTAX);
        return None;
    }
    let keys = &args[at + 1..at + 1 + numkeys];
    // Redis looks the inputs up before it reads the options: a key of another type is
    // `WRONGTYPE` even when a weight is not a number.
    let now = ctx.now;
    let db = &mut ctx.store.dbs[ctx.client.db];
    if keys
        .iter()
        .any(|key| !matches!(db.lookup(key, now), None | Some(Value::ZSet(_) | Value::Set(_))))
    {
        ctx.wrong_type();
        return None;
    }
    let mut query = AlgebraQuery {
        keys,
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        scores: false,
        limit: usize::MAX,
    };
    let mut i = at + 1 + numkeys;
    while i < args.len() {
        let left = args.len() - i;
        let option = args[i].to_ascii_lowercase();
        match &option[..] {
            b"weights" if op != Algebra::Diff && !card && left > numkeys => {
                for w in 0..numkeys {
                    match parse_float(&args[i + 1 + w]) {
                        Some(weight) => query.weights[w] = weight,
                        None => {
                            ctx.error("ERR weight value is not a float");
                            return None;
                        }
                    }
                }
                i += numkeys;
            }
            b"aggregate" if op != Algebra::Diff && !card && left >= 2 => {
                query.aggregate = match &args[i + 1].to_ascii_lowercase()[..] {
                    b"sum" => Aggregate::Sum,
                    b"min" => Aggregate::Min,
                    b"max" => Aggregate::Max,
                    _ => {
                        ctx.error(errors::SYNTAX);
                        return None;
                    }
                };
                i += 1;
            }
            b"withscores" if !store && !card => query.scores = true,
            b"limit" if card && left >= 2 => {
                query.limit = match ctx.int_in(&args[i + 1], 0, "ERR LIMIT can't be negative")? {
                    0 => usize::MAX,
                    n => n as usize,
                };
                i += 1;
            }
            _ => {
                ctx.error(errors::SYNTAX);
                return None;
            }
        }
        i += 1;
    }
    Some(query)
}

/// Computes `op` over the inputs named by `query`, whose types `parse_algebra` has checked;
/// `Err` only without inputs, which `parse_algebra` refuses.
fn compute(ctx: &mut Ctx<'_>, query: &AlgebraQuery<'_>, op: Algebra) -> Result<SortedSet, ()> {
    let db = &ctx.store.dbs[ctx.client.db];
    let inputs: Vec<Input<'_>> = query
        .keys
        .iter()
        .map(|key| match db.keys().get(&key[..]) {
            Some(Value::ZSet(z)) => Input::Sorted(z),
            Some(Value::Set(s)) => Input::Plain(s),
            _ => Input::Missing,
        })
        .collect();
    let weighted = |score: f64, weight: f64| {
        let product = score * weight;
        if product.is_nan() { 0.0 } else { product }
    };
    let mut result = SortedSet::default();
    match op {
        Algebra::Union => {
            for (input, &weight) in inputs.iter().zip(&query.weights) {
                for (member, score) in input.members() {
                    let score = weighted(score, weight);
                    let combined = match result.score(member.as_bytes()) {
                        Some(current) => query.aggregate.apply(current, score),
                        None => score,
                    };
                    result.insert(member.as_bytes(), combined);
                }
            }
        }
        Algebra::Inter => {
            let mut order: Vec<usize> = (0..inputs.len()).collect();
            order.sort_by_key(|&i| inputs[i].len());
            let (first, rest) = order.split_first().ok_or(())?;
            'members: for (member, score) in inputs[*first].members() {
                let mut combined = weighted(score, query.weights[*first]);
                for &i in rest {
                    match inputs[i].score(member.as_bytes()) {
                        Some(s) => {
                            combined =
                                query.aggregate.apply(combined, weighted(s, query.weights[i]))
                        }
                        None => continue 'members,
                    }
                }
                result.insert(member.as_bytes(), combined);
                if result.len() >= query.limit {
                    break;
                }
            }
        }
        Algebra::Diff => {
            let (first, rest) = inputs.split_first().ok_or(())?;
            for (member, score) in first.members() {
                if rest.iter().all(|input| input.score(member.as_bytes()).is_none()) {
                    result.insert(member.as_bytes(), score);
                }
            }
        }
    }
    Ok(result)
}

fn algebra_store(ctx: &mut Ctx<'_>, args: &[Bytes], op: Algebra) {
    let Some(query) = parse_algebra(ctx, args, 2, op, true, false) else { return };
    let Ok(result) = compute(ctx, &query, op) else { return };
    store_result(ctx, &args[1], result);
}

fn algebra_reply(ctx: &mut Ctx<'_>, args: &[Bytes], op: Algebra) {
    let Some(query) = parse_algebra(ctx, args, 1, op, false, false) else { return };
    let Ok(result) = compute(ctx, &query, op) else { return };
    let items: Vec<(&Str, f64)> = result.iter().collect();
    reply_pairs(&mut ctx.out, &items, query.scores);
}

pub(super) fn zunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, args, Algebra::Union);
}

pub(super) fn zinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, args, Algebra::Inter);
}

pub(super) fn zdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_store(ctx, args, Algebra::Diff);
}

pub(super) fn zunion(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_reply(ctx, args, Algebra::Union);
}

pub(super) fn zinter(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_reply(ctx, args, Algebra::Inter);
}

pub(super) fn zdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    algebra_reply(ctx, args, Algebra::Diff);
}

pub(super) fn zintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let Some(query) = parse_algebra(ctx, args, 1, Algebra::Inter, false, true) else { return };
    let Ok(result) = compute(ctx, &query, Algebra::Inter) else { return };
    ctx.out.int(result.len() as i64);
}
