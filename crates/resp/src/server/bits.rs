//! Strings read as arrays of bits, for the bitmap commands (`cmd/bitmaps.rs`).
//!
//! Bit 0 is the most significant bit of byte 0, so a bitmap reads left to right the way it is
//! printed. Bits past the end of a string read as 0; writes grow the string first.
//!
//! A bit field (`BITFIELD`) is `width` consecutive bits read as one integer, most significant
//! bit first, at any bit offset: fields need not be aligned to bytes. Its arithmetic is
//! Redis's: an increment or a stored value that does not fit `width` bits either wraps
//! (two's complement), saturates at the type's bound, or fails without writing.

/// The bits `[first, last]` (inclusive) that a `start end` range of `BITCOUNT` or `BITPOS`
/// selects in a string of `len` bytes: negative positions count from the end, positions are
/// bytes unless `in_bits`, and the range is clamped to the string. `None` if it is empty.
pub(crate) fn bit_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<(u64, u64)> {
    // A string is at most 512 MB, so its length in bits fits an i64 with room to spare.
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let from_end = |at: i64| if at < 0 { total + at } else { at };
    let start = from_end(start).max(0);
    let end = from_end(end).max(0).min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits { (start, end) } else { (start * 8, end * 8 + 7) })
}

/// The bits of `byte` from bit `from` to bit `to` of that byte (0 the most significant),
/// the others cleared.
fn within(byte: u8, from: u64, to: u64) -> u8 {
    let high = 0xFF_u8 >> from;
    let low = 0xFF_u8 << (7 - to);
    byte & high & low
}

/// How many bits in `[first, last]` are set; `last` must lie within `bytes`.
pub(crate) fn count_ones(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (first_byte, last_byte) = ((first / 8) as usize, (last / 8) as usize);
    if first_byte == last_byte {
        return u64::from(within(bytes[first_byte], first % 8, last % 8).count_ones());
    }
    let edges = within(bytes[first_byte], first % 8, 7).count_ones()
        + within(bytes[last_byte], 0, last % 8).count_ones();
    let middle = &bytes[first_byte + 1..last_byte];
    let mut words = middle.chunks_exact(8);
    let mut count = u64::from(edges);
    for word in &mut words {
        let word: [u8; 8] = word.try_into().unwrap_or_default();
        count += u64::from(u64::from_ne_bytes(word).count_ones());
    }
    count + words.remainder().iter().map(|b| u64::from(b.count_ones())).sum::<u64>()
}

/// The first bit in `[first, last]` that equals `bit`; `last` must lie within `bytes`.
pub(crate) fn first_position(bytes: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    let (first_byte, last_byte) = ((first / 8) as usize, (last / 8) as usize);
    // Looking for a 0 is looking for a 1 in the complement.
    let wanted = |byte: u8| if bit { byte } else { !byte };
    (first_byte..=last_byte).find_map(|at| {
        let from = if at == first_byte { first % 8 } else { 0 };
        let to = if at == last_byte { last % 8 } else { 7 };
        let hits = within(wanted(bytes[at]), from, to);
        (hits != 0).then(|| at as u64 * 8 + u64::from(hits.leading_zeros()))
    })
}

/// The `width`-bit unsigned field at bit `offset` (1 to 64 bits); bits past the end read 0.
pub(crate) fn get_field(bytes: &[u8], offset: u64, width: u32) -> u64 {
    (0..u64::from(width)).fold(0, |value, i| {
        let at = offset + i;
        let byte = bytes.get((at / 8) as usize).copied().unwrap_or(0);
        (value << 1) | u64::from(byte >> (7 - at % 8) & 1)
    })
}

/// The field at `offset` read as a two's complement signed integer of `width` bits.
pub(crate) fn get_signed_field(bytes: &[u8], offset: u64, width: u32) -> i64 {
    let value = get_field(bytes, offset, width);
    if width < 64 && value >> (width - 1) & 1 == 1 {
        (value | u64::MAX << width) as i64
    } else {
        value as i64
    }
}

/// Stores the low `width` bits of `value` at bit `offset`; the field must lie within `bytes`.
pub(crate) fn set_field(bytes: &mut [u8], offset: u64, width: u32, value: u64) {
    for i in 0..u64::from(width) {
        let at = offset + i;
        let mask = 0x80 >> (at % 8);
        let byte = &mut bytes[(at / 8) as usize];
        if value >> (u64::from(width) - 1 - i) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// What happens to a result that does not fit its field (`BITFIELD ... OVERFLOW`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Overflow {
    /// Keep the low bits (two's complement for signed fields): the default.
    Wrap,
    /// Clamp to the type's minimum or maximum.
    Sat,
    /// Leave the field unchanged and reply null.
    Fail,
}

/// `value + increment` in an unsigned field of `width` bits (1 to 63), as Redis's
/// `checkUnsignedBitfieldOverflow`: `Ok` with the sum when it fits, else `Err` with what
/// `overflow` makes of it (`None` for `Fail`). A stored value (`SET`) is checked as
/// `value + 0`, so a negative one, read as a huge unsigned number, overflows upwards.
pub(crate) fn add_unsigned(
    value: u64,
    increment: i64,
    width: u32,
    overflow: Overflow,
) -> Result<u64, Option<u64>> {
    let max = (1_u64 << width) - 1;
    let room_up = max.wrapping_sub(value) as i64;
    let room_down = (value as i64).wrapping_neg();
    let saturated = if value > max || (increment > 0 && increment > room_up) {
        max
    } else if increment < 0 && increment < room_down {
        0
    } else {
        return Ok(value.wrapping_add(increment as u64));
    };
    Err(match overflow {
        Overflow::Wrap => Some(value.wrapping_add(increment as u64) & !(u64::MAX << width)),
        Overflow::Sat => Some(saturated),
        Overflow::Fail => None,
    })
}

/// `value + increment` in a signed field of `width` bits (1 to 64), as Redis's
/// `checkSignedBitfieldOverflow`; see [`add_unsigned`].
pub(crate) fn add_signed(
    value: i64,
    increment: i64,
    width: u32,
    overflow: Overflow,
) -> Result<i64, Option<i64>> {
    let max = if width == 64 { i64::MAX } else { (1_i64 << (width - 1)) - 1 };
    let min = -max - 1;
    // These may wrap; each is used only where the checks before it make it meaningful.
    let room_up = (max as u64).wrapping_sub(value as u64) as i64;
    let room_down = min.wrapping_sub(value);
    let narrow = width != 64;
    let saturated = if value > max
        || (narrow && increment > room_up)
        || (value >= 0 && increment > 0 && increment > room_up)
    {
        max
    } else if value < min
        || (narrow && increment < room_down)
        || (value < 0 && increment < 0 && increment < room_down)
    {
        min
    } else {
        return Ok(value.wrapping_add(increment));
    };
    Err(match overflow {
        Overflow::Wrap => {
            let sum = (value as u64).wrapping_add(increment as u64);
            let wrapped = if width == 64 {
                sum
            } else if sum >> (width - 1) & 1 == 1 {
                sum | u64::MAX << width
            } else {
                sum & !(u64::MAX << width)
            };
            Some(wrapped as i64)
        }
        Overflow::Sat => Some(saturated),
        Overflow::Fail => None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The bits of `bytes`, one `bool` each: the obviously right model.
    fn bits(bytes: &[u8]) -> Vec<bool> {
        (0..bytes.len() * 8).map(|i| bytes[i / 8] >> (7 - i % 8) & 1 == 1).collect()
    }

    #[test]
    fn ranges_count_from_the_end_and_clamp() {
        assert_eq!(bit_range(3, 0, -1, false), Some((0, 23)));
        assert_eq!(bit_range(3, 1, 1, false), Some((8, 15)));
        assert_eq!(bit_range(3, -100, 100, false), Some((0, 23)));
        assert_eq!(bit_range(3, 5, 100, true), Some((5, 23)));
        assert_eq!(bit_range(3, -2, -1, true), Some((22, 23)));
        assert_eq!(bit_range(3, 2, 1, false), None);
        assert_eq!(bit_range(0, 0, -1, false), None);
        assert_eq!(bit_range(3, i64::MIN, i64::MAX, true), Some((0, 23)));
    }

    #[test]
    fn fields_read_and_write_across_bytes() {
        let mut bytes = [0u8; 3];
        set_field(&mut bytes, 4, 8, 0xAB);
        assert_eq!(bytes, [0x0A, 0xB0, 0]);
        assert_eq!(get_field(&bytes, 4, 8), 0xAB);
        assert_eq!(get_signed_field(&bytes, 4, 8), 0xAB_u8 as i8 as i64);
        assert_eq!(get_field(&bytes, 20, 8), 0); // past the end
        set_field(&mut bytes, 0, 24, u64::MAX);
        assert_eq!(get_signed_field(&bytes, 0, 24), -1);
    }

    #[test]
    fn overflow_as_redis_does() {
        // Values from Redis 7.0.15 (BITFIELD k OVERFLOW ... INCRBY ...).
        assert_eq!(add_unsigned(250, 10, 8, Overflow::Wrap), Err(Some(4)));
        assert_eq!(add_unsigned(250, 10, 8, Overflow::Sat), Err(Some(255)));
        assert_eq!(add_unsigned(250, 10, 8, Overflow::Fail), Err(None));
        assert_eq!(add_unsigned(3, -10, 8, Overflow::Sat), Err(Some(0)));
        assert_eq!(add_unsigned(3, -10, 8, Overflow::Wrap), Err(Some(249)));
        assert_eq!(add_unsigned(u64::MAX, 0, 8, Overflow::Wrap), Err(Some(255))); // SET -1
        assert_eq!(add_signed(120, 10, 8, Overflow::Wrap), Err(Some(-126)));
        assert_eq!(add_signed(120, 10, 8, Overflow::Sat), Err(Some(127)));
        assert_eq!(add_signed(-120, -10, 8, Overflow::Sat), Err(Some(-128)));
        assert_eq!(add_signed(i64::MAX, 1, 64, Overflow::Wrap), Err(Some(i64::MIN)));
        assert_eq!(add_signed(i64::MAX, -1, 64, Overflow::Fail), Ok(i64::MAX - 1));
        assert_eq!(add_signed(5, -3, 4, Overflow::Fail), Ok(2));
    }

    proptest! {
        #[test]
        fn counts_and_positions_match_the_bit_model(
            bytes in prop::collection::vec(any::<u8>(), 1..40),
            a in 0usize..320,
            b in 0usize..320,
            bit in any::<bool>(),
        ) {
            let model = bits(&bytes);
            let (first, last) = (a.min(b) % model.len(), a.max(b) % model.len());
            let (first, last) = (first.min(last), first.max(last));
            let want = model[first..=last].iter().filter(|&&b| b).count() as u64;
            prop_assert_eq!(count_ones(&bytes, first as u64, last as u64), want);
            let want = model[first..=last].iter().position(|&b| b == bit).map(|p| (p + first) as u64);
            prop_assert_eq!(first_position(&bytes, first as u64, last as u64, bit), want);
        }

        #[test]
        fn a_field_written_reads_back_and_leaves_the_rest(
            bytes in prop::collection::vec(any::<u8>(), 18..26),
            offset in 0u64..80,
            width in 1u32..=64,
            value in any::<u64>(),
        ) {
            let mut written = bytes.clone();
            set_field(&mut written, offset, width, value);
            let low = if width == 64 { value } else { value & !(u64::MAX << width) };
            prop_assert_eq!(get_field(&written, offset, width), low);
            let (before, after) = (bits(&bytes), bits(&written));
            for (i, (x, y)) in before.iter().zip(&after).enumerate() {
                let inside = (offset..offset + u64::from(width)).contains(&(i as u64));
                prop_assert!(inside || x == y, "bit {} changed", i);
            }
        }

        #[test]
        fn wrapping_is_the_low_bits_of_the_exact_sum(
            width in 1u32..=63,
            value in any::<u64>(),
            increment in any::<i64>(),
        ) {
            let value = value & !(u64::MAX << width);
            let exact = i128::from(value) + i128::from(increment);
            let fits = (0..1_i128 << width).contains(&exact);
            let wrapped = (exact.rem_euclid(1_i128 << width)) as u64;
            match add_unsigned(value, increment, width, Overflow::Wrap) {
                Ok(sum) => prop_assert!(fits && sum == exact as u64),
                Err(w) => prop_assert!(!fits && w == Some(wrapped)),
            }
            let signed = get_signed_field(&value.to_be_bytes(), 64 - u64::from(width), width);
            let exact = i128::from(signed) + i128::from(increment);
            let half = 1_i128 << (width - 1);
            let fits = (-half..half).contains(&exact);
            match add_signed(signed, increment, width, Overflow::Sat) {
                Ok(sum) => prop_assert!(fits && i128::from(sum) == exact),
                Err(s) => {
                    let bound = if exact > 0 { (half - 1) as i64 } else { -half as i64 };
                    prop_assert!(!fits && s == Some(bound));
                }
            }
        }
    }
}
