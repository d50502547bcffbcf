//! C's `strtod`, which is how Lua CJSON reads a number: the longest prefix of the input that
//! is a number in any of C's spellings, and how many bytes it took.
//!
//! That is more than JSON allows, and CJSON relies on it when `decode_invalid_numbers` is on
//! (the default): a leading `+`, leading zeros, `1.` and `-.5`, hexadecimal with a binary
//! exponent (`0x1.8p3`), `inf`, `infinity` and `nan` in any case, `nan(chars)`. A prefix
//! that stops early is not an error here (`1e+` reads as `1` and leaves `e+`); the decoder
//! then meets the rest as the next token.

/// The number at the start of `text` and its length in bytes, or `None` where `strtod` would
/// convert nothing.
pub(super) fn strtod(text: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    let signed = matches!(at(0), b'+' | b'-');
    let start = usize::from(signed);
    let negative = at(0) == b'-';
    let apply_sign = |value: f64| if negative { -value } else { value };

    if let Some((value, len)) = special(&text[start..]) {
        return Some((apply_sign(value), start + len));
    }
    if at(start) == b'0' && matches!(at(start + 1), b'x' | b'X') {
        if let Some((value, len)) = hexadecimal(&text[start + 2..]) {
            return Some((apply_sign(value), start + 2 + len));
        }
        // "0x" with no hex digit after it is the number 0 followed by an `x`.
        return Some((apply_sign(0.0), start + 1));
    }
    let len = decimal_len(&text[start..])?;
    let digits = std::str::from_utf8(&text[start..start + len]).ok()?;
    // Rust's parser rounds correctly, as glibc's strtod does, however many digits there are.
    let value: f64 = digits.parse().ok()?;
    Some((apply_sign(value), start + len))
}

/// `inf`, `infinity` and `nan` (with an optional `(n-char-sequence)`), in any case.
fn special(text: &[u8]) -> Option<(f64, usize)> {
    let starts = |word: &str| {
        text.len() >= word.len() && text[..word.len()].eq_ignore_ascii_case(word.as_bytes())
    };
    if starts("infinity") {
        return Some((f64::INFINITY, 8));
    }
    if starts("inf") {
        return Some((f64::INFINITY, 3));
    }
    if !starts("nan") {
        return None;
    }
    let chars = text[3..].iter().skip(1).take_while(|b| b.is_ascii_alphanumeric() || **b == b'_');
    let chars = chars.count();
    let closed = text.get(3) == Some(&b'(') && text.get(4 + chars) == Some(&b')');
    Some((f64::NAN, if closed { 5 + chars } else { 3 }))
}

/// The length of `digits [. digits] [e [sign] digits]` at the start (at least one digit in
/// the mantissa; an exponent without digits is not part of the number).
fn decimal_len(text: &[u8]) -> Option<usize> {
    let digits_from =
        |i: usize| text[i.min(text.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
    let whole = digits_from(0);
    let mut len = whole;
    let mut fraction = 0;
    if text.get(len) == Some(&b'.') {
        fraction = digits_from(len + 1);
        len += 1 + fraction;
    }
    if whole + fraction == 0 {
        return None;
    }
    if matches!(text.get(len), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(text.get(len + 1), Some(b'+' | b'-')));
        let exponent = digits_from(len + 1 + sign);
        if exponent > 0 {
            len += 1 + sign + exponent;
        }
    }
    Some(len)
}

/// What follows `0x`: hex digits with an optional point, then an optional binary exponent
/// `p[sign]digits`. `None` if there is no hex digit.
fn hexadecimal(text: &[u8]) -> Option<(f64, usize)> {
    // The first 16 significant hex digits fill a u64; any non-zero digit after them is
    // folded into its lowest bit, which lies below the 53 bits a double keeps, so that
    // the conversion still rounds to nearest, ties to even, as if every digit were kept.
    let mut mantissa: u64 = 0;
    let mut significant = 0;
    let mut exponent: i64 = 0;
    let mut any_digit = false;
    let mut seen_point = false;
    let mut len = 0;
    while let Some(&byte) = text.get(len) {
        if byte == b'.' && !seen_point {
            seen_point = true;
            len += 1;
            continue;
        }
        let Some(digit) = (byte as char).to_digit(16) else { break };
        any_digit = true;
        len += 1;
        if significant == 0 && digit == 0 {
            // Leading zeros count only for where the point is.
            if seen_point {
                exponent -= 4;
            }
            continue;
        }
        if significant < 16 {
            mantissa = mantissa << 4 | u64::from(digit);
            significant += 1;
            if seen_point {
                exponent -= 4;
            }
        } else {
            mantissa |= u64::from(digit != 0);
            if !seen_point {
                exponent += 4;
            }
        }
    }
    if !any_digit {
        return None;
    }
    if matches!(text.get(len), Some(b'p' | b'P')) {
        let sign = matches!(text.get(len + 1), Some(b'+' | b'-'));
        let from = len + 1 + usize::from(sign);
        let digits = text[from.min(text.len())..].iter().take_while(|b| b.is_ascii_digit());
        let mut count = 0;
        let mut value: i64 = 0;
        for digit in digits {
            value = (value * 10 + i64::from(digit - b'0')).min(100_000);
            count += 1;
        }
        if count > 0 {
            exponent += if text[len + 1] == b'-' { -value } else { value };
            len = from + count;
        }
    }
    // Exact unless the result is subnormal (then rounded twice) or out of range.
    Some((scale(mantissa as f64, exponent), len))
}

/// `value * 2^exponent`, in steps that stay within a double's range.
fn scale(mut value: f64, mut exponent: i64) -> f64 {
    while exponent > 1000 && value.is_finite() && value != 0.0 {
        value *= 2f64.powi(1000);
        exponent -= 1000;
    }
    while exponent < -1000 && value != 0.0 {
        value *= 2f64.powi(-1000);
        exponent += 1000;
    }
    value * 2f64.powi(exponent as i32)
}

#[cfg(test)]
mod tests {
    use super::strtod;

    /// Each input, and what glibc's strtod gives: the value and the bytes it took.
    #[test]
    fn prefixes_as_glibc_reads_them() {
        for (text, value, len) in [
            ("0", 0.0, 1),
            ("-0", -0.0, 2),
            ("123abc", 123.0, 3),
            ("+5", 5.0, 2),
            ("007", 7.0, 3),
            ("1.", 1.0, 2),
            ("-.5", -0.5, 3),
            ("1e5", 1e5, 3),
            ("1E-2x", 0.01, 4),
            ("1e+", 1.0, 1),
            ("1e", 1.0, 1),
            ("2.5e3.1", 2500.0, 5),
            ("0x10", 16.0, 4),
            ("0X1.8p1", 3.0, 7),
            ("0x1p-2", 0.25, 6),
            ("0x.8", 0.5, 4),
            ("0xg", 0.0, 1),
            ("-0x", -0.0, 2),
            ("0x1p", 1.0, 3),
            ("0x1fffffffffffff", 9007199254740991.0, 16),
            // 2^53 + 1 rounds to even (2^53); 2^53 + 1 + a tiny bit rounds up (2^53 + 2).
            ("0x20000000000001", 9007199254740992.0, 16),
            ("0x20000000000001.000000001", 9007199254740994.0, 26),
            ("inf", f64::INFINITY, 3),
            ("-Infinity", f64::NEG_INFINITY, 9),
            ("INFINITE", f64::INFINITY, 3),
            ("1e400", f64::INFINITY, 5),
            ("1e-400", 0.0, 6),
            ("0.1000000000000000055511151231257827", 0.1, 36),
        ] {
            let (got, took) = strtod(text.as_bytes()).unwrap();
            assert_eq!((got.to_bits(), took), (value.to_bits(), len), "{text}");
        }
        for (text, len) in
            [("nan", 3), ("-NaN", 4), ("nan(123_x)", 10), ("nan(", 3), ("nan(a b)", 3)]
        {
            let (got, took) = strtod(text.as_bytes()).unwrap();
            assert!(got.is_nan() && took == len, "{text}: {got} {took}");
        }
        for text in ["", "-", "+", ".", "-.", "e5", "x", "in", "na", "- 1"] {
            assert_eq!(strtod(text.as_bytes()), None, "{text}");
        }
    }
}
