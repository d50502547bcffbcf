//! Glob-style patterns, as `KEYS`, `SCAN MATCH`, `PSUBSCRIBE` and `CONFIG GET` use them.
//!
//! The syntax is Redis's `stringmatchlen`: `*` any run of bytes, `?` one byte, `[abc]`, `[^a]`
//! and `[a-z]` classes, and `\` to take the next byte literally. Its corners are Redis's too,
//! because clients see them: an empty text matches only the empty pattern, even `*` (`KEYS *`
//! and `SCAN` without `MATCH` list every key by not matching at all, but `PSUBSCRIBE *` is not
//! sent what is published to the empty channel); a `-` after a class's first byte makes a
//! range even when `]` ends it (`[a-]` is the range from `]` to `a`, and the class is
//! unterminated); an unterminated class runs to the end of the pattern.
//!
//! Redis matches recursively, once per `*`, which is exponential on patterns like
//! `a*a*a*a*b` (Redis caps the nesting instead). This matcher keeps only the position of the
//! most recent `*` and retries from one byte further on a mismatch: a later `*` can absorb
//! anything an earlier one could, so earlier choices never need revisiting, and the cost is
//! O(pattern x text) in the worst case.

/// Whether `text` matches `pattern`; with `nocase`, ASCII letters match either case.
pub(crate) fn matches(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    if text.is_empty() {
        // Redis's loop runs while both have bytes left, so nothing but the empty pattern
        // matches the empty text.
        return pattern.is_empty();
    }
    let (mut p, mut t) = (0, 0);
    // Where to resume after a mismatch: the pattern just past the last `*`, and the text
    // position that `*` should next try to absorb up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            // Collapse runs of stars.
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            star = Some((p, t));
            continue;
        }
        if let Some(next) = match_one(pattern, p, text[t], nocase) {
            p = next;
            t += 1;
            continue;
        }
        match star {
            Some((star_p, star_t)) => {
                p = star_p;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Matches the single-byte token at `pattern[p]` against `byte`; returns the position after
/// the token on success.
fn match_one(pattern: &[u8], p: usize, byte: u8, nocase: bool) -> Option<usize> {
    let eq = |a: u8, b: u8| if nocase { a.eq_ignore_ascii_case(&b) } else { a == b };
    match *pattern.get(p)? {
        b'?' => Some(p + 1),
        b'[' => match_class(pattern, p + 1, byte, nocase),
        b'\\' if p + 1 < pattern.len() => eq(pattern[p + 1], byte).then_some(p + 2),
        literal => eq(literal, byte).then_some(p + 1),
    }
}

/// Matches a `[...]` class whose body starts at `pattern[p]`. An unterminated class extends
/// to the end of the pattern, as in Redis.
fn match_class(pattern: &[u8], mut p: usize, byte: u8, nocase: bool) -> Option<usize> {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let (original, byte) = (byte, fold(byte));
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    while p < pattern.len() && pattern[p] != b']' {
        if pattern[p] == b'\\' && p + 1 < pattern.len() {
            // Redis compares an escaped byte exactly, even without case.
            matched |= pattern[p + 1] == original;
            p += 2;
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' {
            let (mut lo, mut hi) = (fold(pattern[p]), fold(pattern[p + 2]));
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            matched |= (lo..=hi).contains(&byte);
            p += 3;
        } else {
            matched |= fold(pattern[p]) == byte;
            p += 1;
        }
    }
    // Step over the closing bracket, if there is one.
    let after = (p + 1).min(pattern.len());
    (matched != negate).then_some(after)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn redis_glob_syntax() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", false),
            ("", "", true),
            ("*", "anything", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[b-a]llo", "hallo", true),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("foo*bar*baz", "foo_bar_bar_baz", true),
            ("foo*bar*baz", "foo_bar_bar_ba", false),
            ("a*", "b", false),
            ("*a", "ba", true),
            ("[", "x", false),
            ("[x", "x", true),
            ("key:*", "key:", true),
            ("[a-]", "^", true),
            ("[a-]", "b", false),
            ("[a-]x", "]", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(
                matches(pattern.as_bytes(), text.as_bytes(), false),
                *want,
                "{pattern} ~ {text}"
            );
        }
        assert!(matches(b"HELLO", b"hello", true));
        assert!(matches(b"[A-C]x", b"bX", true));
    }

    #[test]
    fn many_stars_do_not_blow_up() {
        let pattern = "a*".repeat(100) + "b";
        let text = "a".repeat(10_000);
        assert!(!matches(pattern.as_bytes(), text.as_bytes(), false));
    }
}
