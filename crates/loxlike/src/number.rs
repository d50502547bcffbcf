//! How the two reference interpreters print numbers.
//!
//! jlox prints `Double.toString` with a trailing `.0` removed: the shortest digits that
//! round-trip, in plain notation for magnitudes in [10^-3, 10^7) and `1.0E21`-style scientific
//! notation outside it. clox prints C's `printf("%g")`: six significant digits, trailing zeros
//! dropped, scientific notation (`1e+21`) when the exponent is below -4 or at least 6.

use std::fmt::Write;

/// Java's `Double.toString(value)`.
pub fn java_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let magnitude = value.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let text = format!("{value}");
        return if text.contains('.') { text } else { text + ".0" };
    }
    // Shortest round-trip digits, as `d.ddde±x`.
    let text = format!("{value:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa =
        if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
    format!("{mantissa}E{exponent}")
}

/// jlox's `stringify` for numbers: `Double.toString` without a trailing `.0`.
pub fn jlox(value: f64) -> String {
    let text = java_double(value);
    match text.strip_suffix(".0") {
        Some(integer) => integer.to_string(),
        None => text,
    }
}

/// C's `printf("%g", value)` as glibc prints it.
pub fn clox(value: f64) -> String {
    let mut out = String::new();
    write_clox(&mut out, value);
    out
}

/// Appends C's `printf("%g", value)` to `out`.
pub fn write_clox(out: &mut String, value: f64) {
    if value.is_nan() {
        // glibc prints the sign bit of a NaN; 0/0 on x86 produces a negative one.
        out.push_str(if value.is_sign_negative() { "-nan" } else { "nan" });
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if value == value.trunc() && value.abs() < 1e6 {
        // The common case: an integer %g prints as-is (and -0 as "-0").
        if value == 0.0 && value.is_sign_negative() {
            out.push_str("-0");
        } else {
            let _ = write!(out, "{}", value as i64);
        }
        return;
    }
    // Round to six significant digits first: the exponent after rounding decides the style.
    let sci = format!("{value:.5e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..6).contains(&exponent) {
        let mantissa = trim_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exponent.abs());
    } else {
        let decimals = (5 - exponent).max(0) as usize;
        let fixed = format!("{value:.decimals$}");
        out.push_str(trim_zeros(&fixed));
    }
}

fn trim_zeros(text: &str) -> &str {
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jlox_matches_java() {
        let cases = [
            (1.0, "1"),
            (-0.0, "-0"),
            (123.456, "123.456"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e7, "1.0E7"),
            (12345678.0, "1.2345678E7"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1e21, "1.0E21"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (value, want) in cases {
            assert_eq!(jlox(value), want, "{value}");
        }
        assert_eq!(java_double(123.0), "123.0");
    }

    #[test]
    fn clox_matches_printf_g() {
        let cases = [
            (1.0, "1"),
            (-0.0, "-0"),
            (123.456, "123.456"),
            (0.1 + 0.2, "0.3"),
            (1e6, "1e+06"),
            (999999.0, "999999"),
            (999999.5, "1e+06"),
            (123456.7, "123457"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (1e21, "1e+21"),
            (2.5, "2.5"),
            (1.0 / 3.0, "0.333333"),
            (-1e-300, "-1e-300"),
            (1e100, "1e+100"),
            (f64::INFINITY, "inf"),
        ];
        for (value, want) in cases {
            assert_eq!(clox(value), want, "{value}");
        }
    }
}
