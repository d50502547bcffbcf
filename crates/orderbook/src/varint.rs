//! Variable-length integers for the journal: LEB128 (seven bits per byte, low bits first, the
//! top bit set on every byte but the last) and zigzag for signed values.
//!
//! ```text
//!   300 = 0b10_0101100  →  [1_0101100, 0_0000010]  = AC 02
//!   zigzag: 0 → 0, -1 → 1, 1 → 2, -2 → 3, ...   (small magnitudes stay short either sign)
//! ```
//!
//! Decoding accepts exactly what encoding produces: a value has one spelling, so a journal
//! that scans without error re-encodes to the same bytes. An overlong spelling (a last byte of
//! 0 after the first) and a tenth byte above 1 (more than 64 bits) are errors.

/// The longest encoding of a `u64`.
pub(crate) const MAX_LEN: usize = 10;

/// A command's bytes being put together on the stack: one `extend_from_slice` per command
/// instead of a capacity check per byte.
pub(crate) struct Scratch<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Scratch<N> {
    pub(crate) fn new() -> Self {
        Scratch { bytes: [0; N], len: 0 }
    }

    pub(crate) fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    pub(crate) fn put(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80);
            value >>= 7;
        }
        self.byte(value as u8);
    }

    pub(crate) fn put_signed(&mut self, value: i64) {
        self.put(((value << 1) ^ (value >> 63)) as u64);
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Reads a value from the front of `bytes`, advancing it.
pub(crate) fn get(bytes: &mut &[u8]) -> Result<u64, &'static str> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(MAX_LEN) {
        let last = byte & 0x80 == 0;
        if i == MAX_LEN - 1 && byte > 1 {
            return Err("number too large");
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if last {
            if byte == 0 && i > 0 {
                return Err("number not in its shortest form");
            }
            *bytes = &bytes[i + 1..];
            return Ok(value);
        }
    }
    Err("number cut short by the record's end")
}

pub(crate) fn get_signed(bytes: &mut &[u8]) -> Result<i64, &'static str> {
    let zigzag = get(bytes)?;
    Ok((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_spellings() {
        let spell = |v: u64| {
            let mut out = Scratch::<MAX_LEN>::new();
            out.put(v);
            out.as_slice().to_vec()
        };
        assert_eq!(spell(0), [0]);
        assert_eq!(spell(127), [0x7f]);
        assert_eq!(spell(300), [0xac, 0x02]);
        assert_eq!(spell(u64::MAX).len(), MAX_LEN);
        assert_eq!(*spell(u64::MAX).last().unwrap(), 1);
        let mut zig = Scratch::<{ 6 * MAX_LEN }>::new();
        [0, -1, 1, -2, i64::MAX, i64::MIN].iter().for_each(|&v| zig.put_signed(v));
        assert_eq!(zig.as_slice()[..4], [0, 1, 2, 3]);
    }

    #[test]
    fn overlong_too_large_and_cut_short_spellings_are_errors() {
        for bad in [&[0x80, 0x00][..], &[0xff; 10], &[0x80; 3], &[], &[0x81, 0x80, 0x00]] {
            let mut rest = bad;
            assert!(get(&mut rest).is_err(), "{bad:?}");
        }
        let mut max = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..];
        assert_eq!(get(&mut max), Ok(u64::MAX));
    }

    proptest! {
        #[test]
        fn values_round_trip_and_every_prefix_is_cut_short(v in any::<u64>(), s in any::<i64>()) {
            let mut out = Scratch::<{ 2 * MAX_LEN }>::new();
            out.put(v);
            out.put_signed(s);
            let mut rest = out.as_slice();
            prop_assert_eq!(get(&mut rest), Ok(v));
            prop_assert_eq!(get_signed(&mut rest), Ok(s));
            prop_assert!(rest.is_empty());
            let mut one = Scratch::<MAX_LEN>::new();
            one.put(v);
            for cut in 0..one.as_slice().len() {
                let mut prefix = &one.as_slice()[..cut];
                prop_assert!(get(&mut prefix).is_err());
            }
        }

        /// Whatever the bytes, a value read re-encodes to exactly the bytes it took.
        #[test]
        fn a_value_has_one_spelling(bytes in prop::collection::vec(any::<u8>(), 0..12)) {
            let mut rest = &bytes[..];
            if let Ok(v) = get(&mut rest) {
                let used = bytes.len() - rest.len();
                let mut again = Scratch::<MAX_LEN>::new();
                again.put(v);
                prop_assert_eq!(again.as_slice(), &bytes[..used]);
            }
        }
    }
}
