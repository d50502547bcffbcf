//! The `long double` that Redis computes `INCRBYFLOAT` and `HINCRBYFLOAT` in, emulated
//! exactly: on x86-64 it is the x87 extended format, a 64-bit significand and a 15-bit
//! exponent, so `0.1 + 0.2` prints as `0.3` where `f64` gives `0.30000000000000004`.
//!
//! Three steps, each as C does it, on exact integers:
//!
//! ```text
//!   parse    "0.1"  ->  1 / 10           strtold: round the exact value to 64 bits
//!   add      a + b  ->  exact sum        then round it to 64 bits
//!   format   %.17Lf ->  "0.10000000000000000"   round the exact value to 17 decimals
//! ```
//!
//! A value is `sig * 2^exp`. Rounding is always to nearest, ties to even, as the processor
//! and glibc do by default. Subnormal values keep the smallest exponent and fewer bits;
//! anything above the largest finite value is infinite.
//!
//! Most numbers a client sends have a few digits and a small exponent, and everything about
//! them fits in a `u128`: those take integer arithmetic with no allocation. Only the others
//! (long mantissas, exponents in the hundreds or thousands) use `BigUint`. The tests check the
//! `u128` paths against the `BigUint` arithmetic written the plain way.

use num_bigint::{BigInt, BigUint, Sign};

/// The exponent of a subnormal value's lowest bit, which is also the smallest normal value's
/// (`2^-16382` is `2^63 * 2^-16445`).
const MIN_EXP: i64 = -16445;
/// The largest exponent of a finite value: `(2^64 - 1) * 2^16320` is about 1.19e4932.
const MAX_EXP: i64 = 16320;
/// The longest text Redis reads as a number (`MAX_LONG_DOUBLE_CHARS`).
const MAX_TEXT: usize = 5 * 1024;

/// A `long double` that is not NaN.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LongDouble {
    /// `(-1)^neg * sig * 2^exp`; zero has `sig == 0`.
    Finite {
        neg: bool,
        sig: u64,
        exp: i64,
    },
    Infinite {
        neg: bool,
    },
}

impl LongDouble {
    pub(crate) const ZERO: LongDouble = LongDouble::Finite { neg: false, sig: 0, exp: 0 };

    /// What Redis's `string2ld` accepts: all of `text` read by `strtold` (decimal or hex,
    /// `inf`), no leading space, not NaN, and not a value so large or so small that `strtold`
    /// reports a range error and returns infinity or zero.
    pub(crate) fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.is_empty() || text.len() >= MAX_TEXT || text[0].is_ascii_whitespace() {
            return None;
        }
        let (neg, body) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Infinite { neg });
        }
        let hex = body.len() > 1 && body[0] == b'0' && body[1].eq_ignore_ascii_case(&b'x');
        let (value, exact_zero) =
            if hex { parse_digits(&body[2..], 16, b'p')? } else { parse_digits(body, 10, b'e')? };
        let rounded = match value {
            Magnitude::Binary { n: Digits::Small(n), exp } => {
                round_small(neg, n.into(), exp, false)
            }
            Magnitude::Binary { n: Digits::Big(n), exp } => round(neg, n, exp, false),
            Magnitude::Decimal { n, exp10 } => {
                match n.small().and_then(|n| decimal_to_binary_small(n, exp10)) {
                    Some((m, exp, sticky)) => round_small(neg, m, exp, sticky),
                    None => {
                        let (m, exp, sticky) = decimal_to_binary(n.into_big(), exp10);
                        round(neg, m, exp, sticky)
                    }
                }
            }
        };
        match rounded {
            // strtold's range errors: overflow, and a nonzero value that rounds to zero.
            LongDouble::Infinite { .. } => None,
            LongDouble::Finite { sig: 0, .. } if !exact_zero => None,
            finite => Some(finite),
        }
    }

    pub(crate) fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// The sum, rounded once; `None` for infinity minus infinity (NaN).
    pub(crate) fn add(&self, other: &LongDouble) -> Option<LongDouble> {
        use LongDouble::{Finite, Infinite};
        match (self, other) {
            (Infinite { neg: a }, Infinite { neg: b }) if a != b => None,
            (Infinite { neg }, _) | (_, Infinite { neg }) => Some(Infinite { neg: *neg }),
            (Finite { neg: na, sig: sa, exp: ea }, Finite { neg: nb, sig: sb, exp: eb }) => {
                let low = (*ea).min(*eb);
                // Terms less than 2^63 apart in scale add exactly in an `i128`.
                if (*ea).max(*eb) - low < 63 {
                    let term = |neg: bool, sig: u64, exp: i64| {
                        let magnitude = i128::from(sig) << (exp - low);
                        if neg { -magnitude } else { magnitude }
                    };
                    let sum = term(*na, *sa, *ea) + term(*nb, *sb, *eb);
                    let neg = sum < 0 || (sum == 0 && *na && *nb);
                    return Some(round_small(neg, sum.unsigned_abs(), low, false));
                }
                let term = |neg: bool, sig: u64, exp: i64| {
                    let magnitude = BigUint::from(sig) << (exp - low) as u64;
                    BigInt::from_biguint(if neg { Sign::Minus } else { Sign::Plus }, magnitude)
                };
                let sum = term(*na, *sa, *ea) + term(*nb, *sb, *eb);
                // An exact zero is +0, unless both terms were -0 (IEEE's rule).
                let neg = sum.sign() == Sign::Minus || (sum.sign() == Sign::NoSign && *na && *nb);
                Some(round(neg, sum.magnitude().clone(), low, false))
            }
        }
    }

    /// What Redis's `ld2string` makes of it for humans: `%.17Lf`, then the trailing zeros
    /// and a bare point dropped, and `-0` written `0`; `inf` and `-inf` for infinities.
    pub(crate) fn to_human(&self) -> String {
        let (neg, sig, exp) = match *self {
            LongDouble::Infinite { neg } => return if neg { "-inf" } else { "inf" }.to_owned(),
            LongDouble::Finite { neg, sig, exp } => (neg, sig, exp),
        };
        // The value times 10^17, rounded to an integer: its digits are `%.17Lf`'s. Below
        // 2^121 before the shift, so a `u128` holds it unless the value is large.
        let scaled = u128::from(sig) * 100_000_000_000_000_000;
        let digits = match exp {
            ..0 => {
                let shift = exp.unsigned_abs();
                let kept = scaled.checked_shr(shift as u32).unwrap_or(0);
                let half = 1u128.checked_shl(shift as u32 - 1).unwrap_or(u128::MAX);
                let dropped = scaled - kept.checked_shl(shift as u32).unwrap_or(0);
                let up = dropped > half || (dropped == half && kept & 1 == 1);
                format!("{:0>18}", kept + u128::from(up))
            }
            0..=6 => format!("{:0>18}", scaled << exp),
            _ => format!("{:0>18}", BigUint::from(scaled) << exp as u64),
        };
        let (whole, fraction) = digits.split_at(digits.len() - 17);
        let fraction = fraction.trim_end_matches('0');
        let mut text = if neg { String::from("-") } else { String::new() };
        text.push_str(whole);
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(fraction);
        }
        if text == "-0" { "0".to_owned() } else { text }
    }
}

/// A parsed magnitude before rounding: `n * 2^exp` (hex) or `n * 10^exp10` (decimal).
enum Magnitude {
    Binary { n: Digits, exp: i64 },
    Decimal { n: Digits, exp10: i64 },
}

/// The digits of a mantissa as an integer: in a `u64` when they fit.
enum Digits {
    Small(u64),
    Big(BigUint),
}

impl Digits {
    fn small(&self) -> Option<u64> {
        match *self {
            Digits::Small(n) => Some(n),
            Digits::Big(_) => None,
        }
    }

    fn into_big(self) -> BigUint {
        match self {
            Digits::Small(n) => BigUint::from(n),
            Digits::Big(n) => n,
        }
    }
}

/// Reads `digits[.digits][<marker>[+-]digits]` in `radix`, all of `text`, in either case;
/// also says whether the value is exactly zero (no range error for it). Exponents are clamped
/// far beyond any finite value, so that a thousand-digit exponent cannot make the arithmetic
/// slow.
fn parse_digits(text: &[u8], radix: u32, marker: u8) -> Option<(Magnitude, bool)> {
    let (mantissa, exponent) = match text.iter().position(|b| b.eq_ignore_ascii_case(&marker)) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = match mantissa.iter().position(|&b| b == b'.') {
        Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
        None => (mantissa, &[][..]),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digit = |byte: &u8| char::from(*byte).to_digit(radix);
    if !whole.iter().chain(fraction).all(|byte| digit(byte).is_some()) {
        return None;
    }
    let values = || whole.iter().chain(fraction).filter_map(digit);
    // 19 decimal or 15 hex digits always fit in a `u64`, leading zeros aside.
    let significant = values().skip_while(|&d| d == 0).count();
    let small = if radix == 10 { 19 } else { 15 };
    let zero = significant == 0;
    let n = if significant <= small {
        Digits::Small(values().fold(0, |n, d| n * u64::from(radix) + u64::from(d)))
    } else {
        Digits::Big(values().fold(BigUint::from(0u32), |n, d| n * radix + d))
    };
    let mut exp: i64 = match exponent {
        None => 0,
        Some(text) => {
            let (sign, digits) = match text.first() {
                Some(b'-') => (-1, &text[1..]),
                Some(b'+') => (1, &text[1..]),
                _ => (1, text),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value =
                digits.iter().fold(0i64, |v, &d| (v * 10 + i64::from(d - b'0')).min(1 << 40));
            sign * value
        }
    };
    if radix == 16 {
        exp -= 4 * fraction.len() as i64;
        Some((Magnitude::Binary { n, exp }, zero))
    } else {
        exp -= fraction.len() as i64;
        Some((Magnitude::Decimal { n, exp10: exp }, zero))
    }
}

/// [`decimal_to_binary`] for a mantissa in a `u64` and an exponent from -17 to 19, in
/// `u128` arithmetic; `None` outside that range. A product `n * 10^19` is below 2^128; a
/// divisor up to 10^17 (below 2^57) leaves a quotient of at least 70 bits when `n` is shifted
/// to the top of the `u128`.
fn decimal_to_binary_small(n: u64, exp10: i64) -> Option<(u128, i64, bool)> {
    match exp10 {
        _ if n == 0 => Some((0, 0, false)),
        0..=19 => Some((u128::from(n) * 10u128.pow(exp10 as u32), 0, false)),
        -17..=-1 => {
            let divisor = 10u128.pow((-exp10) as u32);
            let shift = u128::from(n).leading_zeros();
            let scaled = u128::from(n) << shift;
            Some((scaled / divisor, -i64::from(shift), scaled % divisor != 0))
        }
        _ => None,
    }
}

/// `n * 10^exp10` as `m * 2^exp` plus a sticky flag (true when the value is a little more
/// than that), with at least 66 bits in `m` when it is not exact, so that rounding it to 64
/// bits is right. Values far out of range skip the arithmetic: they overflow or vanish.
fn decimal_to_binary(n: BigUint, exp10: i64) -> (BigUint, i64, bool) {
    if n.bits() == 0 {
        return (n, 0, false);
    }
    // log2 of the value, to within a few bits: 10 is 2^3.32...
    let log2 = n.bits() as f64 + exp10 as f64 * std::f64::consts::LOG2_10;
    if log2 > (MAX_EXP + 70) as f64 {
        return (BigUint::from(1u32), MAX_EXP + 70, false); // overflows when rounded
    }
    if log2 < (MIN_EXP - 70) as f64 {
        return (BigUint::from(1u32), MIN_EXP - 70, false); // rounds to zero
    }
    if exp10 >= 0 {
        return (n * BigUint::from(10u32).pow(exp10 as u32), 0, false);
    }
    let divisor = BigUint::from(10u32).pow((-exp10) as u32);
    let shift = (66 + divisor.bits()).saturating_sub(n.bits());
    let scaled = n << shift;
    let quotient = &scaled / &divisor;
    let inexact = &quotient * &divisor != scaled;
    (quotient, -(shift as i64), inexact)
}

/// Rounds `n * 2^exp` (plus a little more if `sticky`) to a 64-bit significand, ties to
/// even, keeping the exponent at least `MIN_EXP`; infinite above the largest finite value.
///
/// A `BigUint` wider than 128 bits is first cut to 128, its dropped bits folded into
/// `sticky`: the rounding point is at least 64 bits further up, so only whether anything was
/// dropped matters to it.
fn round(neg: bool, n: BigUint, exp: i64, sticky: bool) -> LongDouble {
    let excess = n.bits().saturating_sub(128);
    let sticky = sticky || n.trailing_zeros().is_some_and(|zeros| zeros < excess);
    let top = u128::try_from(n >> excess).unwrap_or(u128::MAX);
    round_small(neg, top, exp + excess as i64, sticky)
}

/// [`round`] for a `u128`.
fn round_small(neg: bool, n: u128, exp: i64, sticky: bool) -> LongDouble {
    if n == 0 {
        return LongDouble::Finite { neg, sig: 0, exp: 0 };
    }
    // Right shift that leaves 64 bits, or fewer for a subnormal value.
    let bits = i64::from(128 - n.leading_zeros());
    let shift = (bits - 64).max(MIN_EXP - exp);
    let (sig, mut exp) = if shift <= 0 {
        (n << shift.unsigned_abs(), exp + shift)
    } else {
        let shift_u32 = u32::try_from(shift).unwrap_or(u32::MAX);
        let kept = n.checked_shr(shift_u32).unwrap_or(0);
        let dropped = n - kept.checked_shl(shift_u32).unwrap_or(0);
        // Above 128 the half is beyond any `u128`: nothing dropped can reach it.
        let half = 1u128.checked_shl(shift_u32 - 1);
        let up = half
            .is_some_and(|half| dropped > half || (dropped == half && (sticky || kept & 1 == 1)));
        (kept + u128::from(up), exp + shift)
    };
    // Rounding up can carry into a 65th bit: 2^64 is 2^63 one exponent higher.
    let sig = if sig >> 64 != 0 {
        exp += 1;
        sig >> 1
    } else {
        sig
    };
    if exp > MAX_EXP {
        return LongDouble::Infinite { neg };
    }
    LongDouble::Finite { neg, sig: sig as u64, exp }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SET k a` then `INCRBYFLOAT k b` on Redis 7.0.15, x86-64: (a, b, reply).
    const REDIS: &[(&str, &str, &str)] = &[
        ("0.2", "0.1", "0.3"),
        ("0", "1.23", "1.23"),
        ("10.5", "0.1", "10.6"),
        ("1.5", "0.1", "1.6"),
        ("5.0e3", "2.0e2", "5200"),
        ("0", "9223372036854775800", "9223372036854775800"),
        ("0", "1e20", "100000000000000000000"),
        ("1e20", "1", "100000000000000000000"),
        ("0", "0.33333333333333331", "0.33333333333333331"),
        ("1", "-1", "0"),
        ("-0.0000000000000000001", "0", "0"),
        ("0", "0x10", "16"),
        ("0", "0x1.8p1", "3"),
        ("3", "-5.5", "-2.5"),
        ("0", ".5", "0.5"),
        ("0", "5.", "5"),
        ("0", "0e99999", "0"),
        ("0", "1e-4940", "0"),
        ("0", "2.5e-18", "0"),
        ("0", "-0.000000000000000005", "0"),
        ("0", "0.000000000000000015", "0.00000000000000002"),
        ("0", "0.000000000000000025", "0.00000000000000002"),
        ("0", "1e400", BIG),
    ];

    /// Redis's reply for `1e400`: the long double nearest to it, every digit.
    const BIG: &str = "10000000000000000000281880683947586514586453433629052038625910693539\
        68553400862986203936399484832416052209405392731761620029582277725925573402382897659334\
        06610177974474345461739178624481166749717237789438243915933380474706750262466844013592\
        37513603830343735485505244955964979021825038280091068414947402456898653040951017512658\
        09261582758892018347251164331659136266413817630973480634373249743022194688\
        0";

    #[test]
    fn sums_print_as_redis_prints_them() {
        for &(a, b, reply) in REDIS {
            let a = LongDouble::parse(a.as_bytes()).unwrap();
            let b = LongDouble::parse(b.as_bytes()).unwrap();
            assert_eq!(a.add(&b).unwrap().to_human(), reply, "{a:?} + {b:?}");
        }
    }

    #[test]
    fn parse_takes_what_string2ld_takes() {
        for good in ["1", "+1", "-1", ".5", "5.", "1e3", "1E-3", "0x1p-2", "inf", "-Infinity"] {
            assert!(LongDouble::parse(good.as_bytes()).is_some(), "{good}");
        }
        for bad in [
            "", " 1", "1 ", "nan", "1e", "1e+", ".", "0x", "0x1p", "abc", "1.2.3", "--1",
            // Out of range both ways: Redis's "value is not a valid float".
            "1e5000", "1e-5000",
        ] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        // A long double reaches further than f64 both ways.
        assert!(LongDouble::parse(b"1e400").is_some_and(|v| v.is_finite()));
        assert!(LongDouble::parse(b"1e-4940").is_some());
        assert!(LongDouble::parse(b"0e99999").is_some());
        assert!(LongDouble::parse(&vec![b'1'; MAX_TEXT]).is_none());
    }

    proptest::proptest! {
        /// Any bytes, and text shaped like numbers of every kind: parsing never panics, and
        /// what parses adds and prints; the sum does not depend on the order, adding zero
        /// changes nothing, and what is printed reads back.
        #[test]
        fn hostile_text_parses_or_is_refused(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            a in "[+-]?(0[xX])?[0-9a-fA-F]{0,25}(\\.[0-9a-fA-F]{0,25})?([eEpP][+-]?[0-9]{0,6})?",
            b in "[+-]?[0-9]{0,20}(\\.[0-9]{0,20})?([eE][+-]?[0-9]{0,4})?|inf|-inf|nan",
        ) {
            let _ = LongDouble::parse(&bytes);
            let (Some(a), Some(b)) = (LongDouble::parse(a.as_bytes()), LongDouble::parse(b.as_bytes()))
            else {
                return Ok(());
            };
            let sum = a.add(&b);
            proptest::prop_assert_eq!(&sum, &b.add(&a));
            if let Some(sum) = sum.filter(LongDouble::is_finite) {
                let printed = sum.to_human();
                proptest::prop_assert!(LongDouble::parse(printed.as_bytes()).is_some(), "{}", printed);
                let plus_zero = sum.add(&LongDouble::ZERO).map(|v| v.to_human());
                proptest::prop_assert_eq!(plus_zero, Some(printed));
            }
        }
    }

    /// The plain `BigUint` rounding that `round_small` must agree with.
    fn round_exact(neg: bool, n: BigUint, exp: i64, sticky: bool) -> LongDouble {
        if n.bits() == 0 {
            return LongDouble::Finite { neg, sig: 0, exp: 0 };
        }
        let shift = (n.bits() as i64 - 64).max(MIN_EXP - exp);
        let (sig, mut exp) = if shift <= 0 {
            (n << (-shift) as u64, exp + shift)
        } else {
            let kept = &n >> shift as u64;
            let dropped = n - (&kept << shift as u64);
            let half = BigUint::from(1u32) << (shift - 1) as u64;
            let up = dropped > half || (dropped == half && (sticky || kept.bit(0)));
            (if up { kept + 1u32 } else { kept }, exp + shift)
        };
        let sig = if sig.bits() > 64 {
            exp += 1;
            sig >> 1u32
        } else {
            sig
        };
        if exp > MAX_EXP {
            return LongDouble::Infinite { neg };
        }
        LongDouble::Finite { neg, sig: sig.iter_u64_digits().next().unwrap_or(0), exp }
    }

    /// The plain `BigUint` `%.17Lf` digits that `to_human` must agree with.
    fn units_exact(sig: u64, exp: i64) -> String {
        let scaled = BigUint::from(sig) * BigUint::from(10u32).pow(17);
        let units = if exp >= 0 {
            scaled << exp as u64
        } else {
            let shift = (-exp) as u64;
            let kept = &scaled >> shift;
            let dropped = scaled - (&kept << shift);
            let half = BigUint::from(1u32) << (shift - 1);
            if dropped > half || (dropped == half && kept.bit(0)) { kept + 1u32 } else { kept }
        };
        units.to_string()
    }

    /// The plain `BigInt` sum that `add`'s `i128` path must agree with.
    fn add_exact(a: (bool, u64, i64), b: (bool, u64, i64)) -> LongDouble {
        let low = a.2.min(b.2);
        let term = |(neg, sig, exp): (bool, u64, i64)| {
            let magnitude = BigUint::from(sig) << (exp - low) as u64;
            BigInt::from_biguint(if neg { Sign::Minus } else { Sign::Plus }, magnitude)
        };
        let sum = term(a) + term(b);
        let neg = sum.sign() == Sign::Minus || (sum.sign() == Sign::NoSign && a.0 && b.0);
        round_exact(neg, sum.magnitude().clone(), low, false)
    }

    fn exponent() -> impl proptest::strategy::Strategy<Value = i64> {
        proptest::prop_oneof![
            -200i64..200,
            MIN_EXP - 200..MIN_EXP + 200,
            MAX_EXP - 200..MAX_EXP + 10
        ]
    }

    proptest::proptest! {
        #[test]
        fn the_u128_paths_agree_with_plain_big_integers(
            n in proptest::num::u128::ANY,
            small in 0u128..1 << 70,
            exp in exponent(),
            other in exponent(),
            (neg, sticky) in (proptest::bool::ANY, proptest::bool::ANY),
            (sig_a, sig_b) in (proptest::num::u64::ANY, proptest::num::u64::ANY),
            digits in proptest::num::u64::ANY,
            exp10 in -17i64..=19,
        ) {
            for m in [n, small, n >> 64] {
                proptest::prop_assert_eq!(
                    round_small(neg, m, exp, sticky),
                    round_exact(neg, BigUint::from(m), exp, sticky)
                );
                // And the `BigUint` entry point, which cuts wide numbers to 128 bits.
                let wide = (BigUint::from(m) << 200u32) + u32::from(sticky);
                proptest::prop_assert_eq!(
                    round(neg, wide.clone(), exp, false),
                    round_exact(neg, wide, exp, false)
                );
            }
            let value = LongDouble::Finite { neg: false, sig: sig_a, exp: exp.min(MAX_EXP) };
            let mut exact = format!("{:0>18}", units_exact(sig_a, exp.min(MAX_EXP)));
            exact.insert(exact.len() - 17, '.');
            let exact = exact.trim_end_matches('0').trim_end_matches('.');
            proptest::prop_assert_eq!(value.to_human(), exact);
            let digits = digits % 10_000_000_000_000_000_000;
            let (m, e, s) = decimal_to_binary_small(digits, exp10).unwrap();
            let (bm, be, bs) = decimal_to_binary(BigUint::from(digits), exp10);
            proptest::prop_assert_eq!(round_small(neg, m, e, s), round_exact(neg, bm, be, bs));
            for (ea, eb) in [(exp, exp), (exp, exp + 62), (other, exp), (exp, other)] {
                let (ea, eb) = (ea.clamp(MIN_EXP, MAX_EXP), eb.clamp(MIN_EXP, MAX_EXP));
                let a = LongDouble::Finite { neg, sig: sig_a, exp: ea };
                let b = LongDouble::Finite { neg: !sticky, sig: sig_b, exp: eb };
                proptest::prop_assert_eq!(
                    a.add(&b),
                    Some(add_exact((neg, sig_a, ea), (!sticky, sig_b, eb)))
                );
            }
        }
    }

    #[test]
    fn infinities_and_their_difference() {
        let inf = LongDouble::parse(b"inf").unwrap();
        let minus = LongDouble::parse(b"-inf").unwrap();
        assert_eq!(inf.add(&minus), None);
        assert!(!inf.add(&LongDouble::ZERO).unwrap().is_finite());
        let big = LongDouble::parse(b"1e4932").unwrap();
        assert!(!big.add(&big).unwrap().is_finite(), "overflow is infinite");
    }
}
