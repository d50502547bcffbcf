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

/// Bytes written straight into the end of a `Vec` that was first given `N` bytes of room
/// (the longest thing to be written): one capacity check for a whole command rather than
/// one per byte, and no second copy. Dropping it cuts the room back to what was written.
///
/// Why not a stack array copied into the `Vec` afterwards: that copy reads back, in wide
/// loads, bytes stored one at a time an instant before, and a load that spans several
/// smaller stores cannot be forwarded from them; it waits for them to reach the cache.
/// That wait was 60% of the journal encoder's time.
pub(crate) struct Room<'a, const N: usize> {
    out: &'a mut Vec<u8>,
    /// Where the next byte goes.
    end: usize,
}

impl<'a, const N: usize> Room<'a, N> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        let end = out.len();
        // A constant-length copy of zeros: a few wide stores, no call.
        out.extend_from_slice(&[0; N]);
        Room { out, end }
    }

    pub(crate) fn byte(&mut self, byte: u8) {
        self.out[self.end] = byte;
        self.end += 1;
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
}

impl<const N: usize> Drop for Room<'_, N> {
    fn drop(&mut self) {
        self.out.truncate(self.end);
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
            let mut out = Vec::new();
            Room::<MAX_LEN>::new(&mut out).put(v);
            out
        };
        assert_eq!(spell(0), [0]);
        assert_eq!(spell(127), [0x7f]);
        assert_eq!(spell(300), [0xac, 0x02]);
        assert_eq!(spell(u64::MAX).len(), MAX_LEN);
        assert_eq!(*spell(u64::MAX).last().unwrap(), 1);
        let mut zig = Vec::new();
        let mut room = Room::<{ 6 * MAX_LEN }>::new(&mut zig);
        [0, -1, 1, -2, i64::MAX, i64::MIN].iter().for_each(|&v| room.put_signed(v));
        drop(room);
        assert_eq!(zig[..4], [0, 1, 2, 3]);
        // Appending keeps what was there and cuts the room back to what was written.
        let mut out = vec![7];
        Room::<MAX_LEN>::new(&mut out).put(300);
        assert_eq!(out, [7, 0xac, 0x02]);
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
            let mut out = Vec::new();
            let mut room = Room::<{ 2 * MAX_LEN }>::new(&mut out);
            room.put(v);
            room.put_signed(s);
            drop(room);
            let mut rest = &out[..];
            prop_assert_eq!(get(&mut rest), Ok(v));
            prop_assert_eq!(get_signed(&mut rest), Ok(s));
            prop_assert!(rest.is_empty());
            let mut one = Vec::new();
            Room::<MAX_LEN>::new(&mut one).put(v);
            for cut in 0..one.len() {
                let mut prefix = &one[..cut];
                prop_assert!(get(&mut prefix).is_err());
            }
        }

        /// Whatever the bytes, a value read re-encodes to exactly the bytes it took.
        #[test]
        fn a_value_has_one_spelling(bytes in prop::collection::vec(any::<u8>(), 0..12)) {
            let mut rest = &bytes[..];
            if let Ok(v) = get(&mut rest) {
                let used = bytes.len() - rest.len();
                let mut again = Vec::new();
                Room::<MAX_LEN>::new(&mut again).put(v);
                prop_assert_eq!(&again[..], &bytes[..used]);
            }
        }
    }
}
