//! `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]`: the longest common subsequence
//! of two strings, by the textbook dynamic programme.
//!
//! `table[i][j]` is the length of the LCS of the first `i` bytes of `a` and the first `j` of
//! `b`: one more than `table[i-1][j-1]` when `a[i-1] == b[j-1]`, else the larger of
//! `table[i-1][j]` and `table[i][j-1]`. Walking back from the corner, taking the diagonal on a
//! match and otherwise the neighbour with the larger value, spells the subsequence backwards;
//! runs of consecutive diagonal steps are the matching ranges `IDX` reports, last first, as
//! Redis does. The table has `(len(a)+1) * (len(b)+1)` cells of 4 bytes, and a table larger
//! than `proto-max-bulk-len` is refused before it is allocated.

use bytes::Bytes;

use super::{Ctx, errors, parse_int};
use crate::server::value::Str;

/// A match reported by `IDX`: inclusive byte ranges in `a` and in `b`.
#[derive(Debug, PartialEq)]
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

impl Match {
    fn len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// The LCS table, row-major with `b.len() + 1` columns.
fn table(a: &[u8], b: &[u8]) -> Vec<u32> {
    let columns = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * columns];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            lcs[i * columns + j] = if a[i - 1] == b[j - 1] {
                lcs[(i - 1) * columns + j - 1] + 1
            } else {
                lcs[(i - 1) * columns + j].max(lcs[i * columns + j - 1])
            };
        }
    }
    lcs
}

/// Walks the table back from the corner: the subsequence, and the matching ranges (last
/// first).
fn walk(a: &[u8], b: &[u8], lcs: &[u32]) -> (Vec<u8>, Vec<Match>) {
    let columns = b.len() + 1;
    let mut result = vec![0; lcs[lcs.len() - 1] as usize];
    let mut matches = Vec::new();
    let mut current: Option<Match> = None;
    let (mut i, mut j, mut idx) = (a.len(), b.len(), result.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            match &mut current {
                None => current = Some(Match { a: (i - 1, i - 1), b: (j - 1, j - 1) }),
                // Contiguous with the range so far: extend it backwards.
                Some(m) if m.a.0 == i && m.b.0 == j => {
                    m.a.0 -= 1;
                    m.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            if current.as_ref().is_some_and(|m| m.a.0 == 0 || m.b.0 == 0) {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if lcs[(i - 1) * columns + j] > lcs[i * columns + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        if emit && let Some(m) = current.take() {
            matches.push(m);
        }
    }
    (result, matches)
}

pub(super) fn lcs(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let mut strings = [Str::new(b""), Str::new(b"")];
    for (slot, key) in strings.iter_mut().zip(&args[1..3]) {
        match ctx.read_string(key) {
            Ok(Some(s)) => *slot = s.clone(),
            Ok(None) => {}
            Err(_) => return ctx.error("ERR The specified keys must contain string values"),
        }
    }
    let (mut len_only, mut idx, mut with_len, mut min_len) = (false, false, false, 0usize);
    let mut at = 3;
    while at < args.len() {
        let option = args[at].to_ascii_lowercase();
        match &option[..] {
            b"idx" => idx = true,
            b"len" => len_only = true,
            b"withmatchlen" => with_len = true,
            b"minmatchlen" if at + 1 < args.len() => {
                let Some(n) = parse_int(&args[at + 1]) else {
                    return ctx.error(errors::NOT_INTEGER);
                };
                min_len = usize::try_from(n).unwrap_or(0);
                at += 1;
            }
            _ => return ctx.error(errors::SYNTAX),
        }
        at += 1;
    }
    if len_only && idx {
        return ctx.error("ERR If you want both the length and indexes, please just use IDX.");
    }
    let (a, b) = (strings[0].as_bytes(), strings[1].as_bytes());
    let cells = (a.len() as u128 + 1) * (b.len() as u128 + 1);
    if cells * 4 > ctx.store.cached.max_bulk as u128 {
        return ctx
            .error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let lcs = table(a, b);
    let length = i64::from(lcs[lcs.len() - 1]);
    if len_only {
        return ctx.out.int(length);
    }
    let (result, matches) = walk(a, b, &lcs);
    if !idx {
        return ctx.out.bulk(&result);
    }
    let kept: Vec<&Match> = matches.iter().filter(|m| min_len == 0 || m.len() >= min_len).collect();
    ctx.out.map_len(2);
    ctx.out.bulk(b"matches");
    ctx.out.array_len(kept.len());
    for m in kept {
        ctx.out.array_len(2 + usize::from(with_len));
        for (start, end) in [m.a, m.b] {
            ctx.out.array_len(2);
            ctx.out.int(start as i64);
            ctx.out.int(end as i64);
        }
        if with_len {
            ctx.out.int(m.len() as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(length);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_from_the_redis_documentation() {
        let (a, b) = (b"ohmytext".as_slice(), b"mynewtext".as_slice());
        let lcs = table(a, b);
        let (result, matches) = walk(a, b, &lcs);
        assert_eq!(result, b"mytext");
        assert_eq!(matches, vec![Match { a: (4, 7), b: (5, 8) }, Match { a: (2, 3), b: (0, 1) }]);
    }

    #[test]
    fn empty_and_disjoint_strings() {
        for (a, b) in [(&b""[..], &b"abc"[..]), (b"abc", b""), (b"abc", b"xyz")] {
            let lcs = table(a, b);
            assert_eq!(walk(a, b, &lcs), (Vec::new(), Vec::new()));
        }
    }
}
