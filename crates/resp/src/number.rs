//! Strict decimal integers, as Redis's `string2ll` reads them.
//!
//! Strict means one spelling per value: no sign on positive numbers, no leading zeros, no
//! `-0`, no spaces, nothing that overflows an `i64`. A length or count spelled any other way is
//! a protocol error, never a guess.

/// Parses `digits` as a strict decimal `i64`.
pub(crate) fn parse_i64(digits: &[u8]) -> Option<i64> {
    let (negative, rest) = match digits {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, digits),
    };
    match rest {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    // Accumulate as a negative number: its range is one larger, so i64::MIN fits.
    let mut value: i64 = 0;
    for &byte in rest {
        let digit = match byte {
            b'0'..=b'9' => i64::from(byte - b'0'),
            _ => return None,
        };
        value = value.checked_mul(10)?.checked_sub(digit)?;
    }
    if negative { Some(value) } else { value.checked_neg() }
}

#[cfg(test)]
mod tests {
    use super::parse_i64;

    #[test]
    fn one_spelling_per_value() {
        for (text, want) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-12", Some(-12)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("", None),
            ("-", None),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("1a", None),
        ] {
            assert_eq!(parse_i64(text.as_bytes()), want, "{text:?}");
        }
    }
}
