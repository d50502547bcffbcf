//! The bytes on disk: data records, hint entries and file headers. Pure functions, no I/O.
//!
//! Every file starts with an 8-byte magic naming what it is (a data file appended to by the
//! store, a data file written by merge, a hint file, a manifest), so a stray file in the
//! directory is recognised instead of being parsed as garbage. Then come records, back to back.
//!
//! A data record:
//!
//! ```text
//!   offset  size  field
//!   0       4     crc32      CRC-32 (IEEE) of bytes 4 .. end of record
//!   4       8     seq        u64 LE, the store-wide write sequence number
//!   12      4     key_len    u32 LE, 1 ..= max key size
//!   16      4     value_len  u32 LE, 0 ..= max value size, or 0xFFFF_FFFF for a tombstone
//!   20      k     key
//!   20 + k  v     value      (absent for a tombstone)
//! ```
//!
//! A hint entry (hint files index the data files written by merge):
//!
//! ```text
//!   0       4     crc32      CRC-32 of bytes 4 .. end of entry
//!   4       8     seq        u64 LE
//!   12      4     key_len    u32 LE
//!   16      4     value_len  u32 LE
//!   20      8     offset     u64 LE, where the record starts in the data file
//!   28      k     key
//! ```
//!
//! A hint file ends with a trailer entry whose `key_len` is 0 (no real key is empty): its
//! `seq` field holds the number of entries and its `offset` field the length of the data file
//! it describes. A hint file without a valid trailer is incomplete and is not trusted.
//!
//! Decoding never trusts a length before checking it against the configured limits, so a
//! corrupt or hostile length field costs an error, not an allocation of what it claims.

use crate::error::Corruption;

/// Bytes of the magic that starts every file.
pub const MAGIC_LEN: usize = 8;
/// Magic at the start of every data file the store appends to.
pub const DATA_MAGIC: [u8; 8] = *b"BYOBCD1\n";
/// Magic at the start of every data file written by merge. Recovery loads these before the
/// others: they hold copies of records older than any record in a file that is not merged.
pub const MERGED_MAGIC: [u8; 8] = *b"BYOBCC1\n";
/// Magic at the start of every hint file.
pub const HINT_MAGIC: [u8; 8] = *b"BYOBCH1\n";
/// Magic at the start of every merge manifest.
pub const MANIFEST_MAGIC: [u8; 8] = *b"BYOBCM1\n";

/// Bytes before the key in a data record.
pub const RECORD_HEADER: usize = 20;
/// Bytes before the key in a hint entry.
pub const HINT_HEADER: usize = 28;
/// `value_len` of a tombstone.
pub const TOMBSTONE: u32 = u32::MAX;

/// The largest key and value sizes a decoder accepts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest key, in bytes.
    pub max_key: u32,
    /// Largest value, in bytes (below `u32::MAX`, which marks tombstones).
    pub max_value: u32,
}

/// One decoded data record, borrowing from the buffer it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The write sequence number.
    pub seq: u64,
    /// The key.
    pub key: &'a [u8],
    /// The value, or `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

impl Record<'_> {
    /// Bytes this record takes on disk.
    pub fn encoded_len(&self) -> usize {
        RECORD_HEADER + self.key.len() + self.value.map_or(0, <[u8]>::len)
    }
}

/// What decoding found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A whole, checked item, and the bytes it took.
    Item(T, usize),
    /// The buffer ends inside an item: at least this many bytes are needed in all.
    Incomplete(usize),
    /// The bytes are not a valid item.
    Corrupt(Corruption),
}

/// Appends the encoding of a put (`Some(value)`) or a tombstone (`None`) to `out`.
///
/// The caller has checked the sizes against its limits.
pub fn encode_record(out: &mut Vec<u8>, seq: u64, key: &[u8], value: Option<&[u8]>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    let value_len = value.map_or(TOMBSTONE, |v| v.len() as u32);
    out.extend_from_slice(&value_len.to_le_bytes());
    out.extend_from_slice(key);
    if let Some(value) = value {
        out.extend_from_slice(value);
    }
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The length of the record whose header starts `bytes`, after checking its size fields.
pub fn record_len(header: &[u8], limits: Limits) -> Result<usize, Corruption> {
    debug_assert!(header.len() >= RECORD_HEADER);
    let key_len = u32_at(header, 12);
    let value_len = u32_at(header, 16);
    if key_len == 0 || key_len > limits.max_key {
        return Err(Corruption::KeyLength(key_len));
    }
    if value_len != TOMBSTONE && value_len > limits.max_value {
        return Err(Corruption::ValueLength(value_len));
    }
    let value_len = if value_len == TOMBSTONE { 0 } else { value_len as usize };
    Ok(RECORD_HEADER + key_len as usize + value_len)
}

/// Decodes the data record at the start of `bytes`.
pub fn decode_record(bytes: &[u8], limits: Limits) -> Decoded<Record<'_>> {
    if bytes.len() < RECORD_HEADER {
        return Decoded::Incomplete(RECORD_HEADER);
    }
    let len = match record_len(bytes, limits) {
        Ok(len) => len,
        Err(corruption) => return Decoded::Corrupt(corruption),
    };
    if bytes.len() < len {
        return Decoded::Incomplete(len);
    }
    let record = &bytes[..len];
    if crc32fast::hash(&record[4..]) != u32_at(record, 0) {
        return Decoded::Corrupt(Corruption::Checksum);
    }
    let key_len = u32_at(record, 12) as usize;
    let key = &record[RECORD_HEADER..RECORD_HEADER + key_len];
    let value = (u32_at(record, 16) != TOMBSTONE).then(|| &record[RECORD_HEADER + key_len..]);
    Decoded::Item(Record { seq: u64_at(record, 4), key, value }, len)
}

/// One hint entry: where a key's record is in its data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint<'a> {
    /// The record's sequence number.
    pub seq: u64,
    /// The key.
    pub key: &'a [u8],
    /// The value's length.
    pub value_len: u32,
    /// Where the record starts in the data file.
    pub offset: u64,
}

/// The end of a hint file: how many entries it has and how long its data file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HintTrailer {
    /// Entries before the trailer.
    pub entries: u64,
    /// Length of the data file the hints describe.
    pub data_len: u64,
}

/// Appends a hint entry to `out`.
pub fn encode_hint(out: &mut Vec<u8>, hint: &Hint<'_>) {
    encode_hint_raw(out, hint.seq, hint.key, hint.value_len, hint.offset);
}

/// Appends a hint file's trailer to `out`.
pub fn encode_hint_trailer(out: &mut Vec<u8>, trailer: HintTrailer) {
    encode_hint_raw(out, trailer.entries, &[], 0, trailer.data_len);
}

fn encode_hint_raw(out: &mut Vec<u8>, seq: u64, key: &[u8], value_len: u32, offset: u64) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&value_len.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(key);
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// A decoded hint-file item: an entry, or the trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintItem<'a> {
    /// A key's location.
    Entry(Hint<'a>),
    /// The end of the file.
    Trailer(HintTrailer),
}

/// Decodes the hint entry or trailer at the start of `bytes`.
pub fn decode_hint(bytes: &[u8], limits: Limits) -> Decoded<HintItem<'_>> {
    if bytes.len() < HINT_HEADER {
        return Decoded::Incomplete(HINT_HEADER);
    }
    let key_len = u32_at(bytes, 12);
    if key_len > limits.max_key {
        return Decoded::Corrupt(Corruption::KeyLength(key_len));
    }
    let value_len = u32_at(bytes, 16);
    if value_len > limits.max_value {
        return Decoded::Corrupt(Corruption::ValueLength(value_len));
    }
    let len = HINT_HEADER + key_len as usize;
    if bytes.len() < len {
        return Decoded::Incomplete(len);
    }
    if crc32fast::hash(&bytes[4..len]) != u32_at(bytes, 0) {
        return Decoded::Corrupt(Corruption::Checksum);
    }
    let (seq, offset) = (u64_at(bytes, 4), u64_at(bytes, 20));
    let item = if key_len == 0 {
        HintItem::Trailer(HintTrailer { entries: seq, data_len: offset })
    } else {
        HintItem::Entry(Hint { seq, key: &bytes[HINT_HEADER..len], value_len, offset })
    };
    Decoded::Item(item, len)
}

/// A merge manifest: the data files a committed merge replaces, and the ones it wrote.
///
/// ```text
///   0   8       magic "BYOBCM1\n"
///   8   4       n_inputs    u32 LE
///   12  4·n     input ids   u32 LE each
///   ..  4       n_outputs   u32 LE
///   ..  4·m     output ids  u32 LE each
///   ..  4       crc32 of everything after the magic, up to here
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Data files the merge read; deleted when it completes.
    pub inputs: Vec<u32>,
    /// Data files the merge wrote (each with a hint file).
    pub outputs: Vec<u32>,
}

/// Encodes a manifest.
pub fn encode_manifest(manifest: &Manifest) -> Vec<u8> {
    let mut out = MANIFEST_MAGIC.to_vec();
    for ids in [&manifest.inputs, &manifest.outputs] {
        out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
        for id in ids {
            out.extend_from_slice(&id.to_le_bytes());
        }
    }
    let crc = crc32fast::hash(&out[MANIFEST_MAGIC.len()..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a whole manifest file.
pub fn decode_manifest(bytes: &[u8]) -> Result<Manifest, Corruption> {
    if bytes.len() < MANIFEST_MAGIC.len() + 12 || bytes[..8] != MANIFEST_MAGIC {
        return Err(Corruption::Magic);
    }
    let body_end = bytes.len() - 4;
    if crc32fast::hash(&bytes[8..body_end]) != u32_at(bytes, body_end) {
        return Err(Corruption::Checksum);
    }
    let mut at = 8;
    let mut read_ids = || {
        if at + 4 > body_end {
            return Err(Corruption::Truncated);
        }
        let count = u32_at(bytes, at) as usize;
        at += 4;
        // The count is checked against the bytes present before anything is allocated.
        if count > (body_end - at) / 4 {
            return Err(Corruption::Truncated);
        }
        let ids = (0..count).map(|i| u32_at(bytes, at + 4 * i)).collect();
        at += 4 * count;
        Ok(ids)
    };
    let inputs = read_ids()?;
    let outputs = read_ids()?;
    if at != body_end {
        return Err(Corruption::Truncated);
    }
    Ok(Manifest { inputs, outputs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: Limits = Limits { max_key: 64, max_value: 1024 };

    #[test]
    fn record_round_trip_and_layout() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 7, b"key", Some(b"value"));
        assert_eq!(buf.len(), RECORD_HEADER + 3 + 5);
        assert_eq!(&buf[4..12], &7u64.to_le_bytes());
        assert_eq!(&buf[12..16], &3u32.to_le_bytes());
        let want = Record { seq: 7, key: b"key", value: Some(b"value") };
        assert_eq!(decode_record(&buf, LIMITS), Decoded::Item(want, buf.len()));
    }

    #[test]
    fn tombstone_round_trip() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 9, b"gone", None);
        let want = Record { seq: 9, key: b"gone", value: None };
        assert_eq!(decode_record(&buf, LIMITS), Decoded::Item(want, RECORD_HEADER + 4));
    }

    #[test]
    fn oversized_lengths_are_corrupt_before_any_allocation() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 1, b"k", Some(b"v"));
        buf[16..20].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        assert_eq!(
            decode_record(&buf, LIMITS),
            Decoded::Corrupt(Corruption::ValueLength(u32::MAX - 1))
        );
        buf[12..16].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(decode_record(&buf, LIMITS), Decoded::Corrupt(Corruption::KeyLength(0)));
    }

    #[test]
    fn hint_round_trip_with_trailer() {
        let mut buf = Vec::new();
        let hint = Hint { seq: 3, key: b"abc", value_len: 10, offset: 8 };
        encode_hint(&mut buf, &hint);
        let first = buf.len();
        encode_hint_trailer(&mut buf, HintTrailer { entries: 1, data_len: 41 });
        assert_eq!(decode_hint(&buf, LIMITS), Decoded::Item(HintItem::Entry(hint), first));
        let trailer = HintTrailer { entries: 1, data_len: 41 };
        assert_eq!(
            decode_hint(&buf[first..], LIMITS),
            Decoded::Item(HintItem::Trailer(trailer), HINT_HEADER)
        );
    }

    #[test]
    fn manifest_round_trip_and_damage() {
        let manifest = Manifest { inputs: vec![1, 2, 5], outputs: vec![9] };
        let bytes = encode_manifest(&manifest);
        assert_eq!(decode_manifest(&bytes), Ok(manifest));
        for cut in 0..bytes.len() {
            assert!(decode_manifest(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[13] ^= 4;
        assert_eq!(decode_manifest(&flipped), Err(Corruption::Checksum));
    }

    proptest! {
        /// Every prefix of a record is Incomplete; every single bit flip is caught (CRC-32
        /// detects all single-bit errors); nothing panics.
        #[test]
        fn truncation_and_bit_flips_are_detected(
            key in prop::collection::vec(any::<u8>(), 1..64),
            value in prop::option::of(prop::collection::vec(any::<u8>(), 0..256)),
            seq in any::<u64>(),
        ) {
            let mut buf = Vec::new();
            encode_record(&mut buf, seq, &key, value.as_deref());
            for cut in 0..buf.len() {
                let decoded = decode_record(&buf[..cut], LIMITS);
                prop_assert!(matches!(decoded, Decoded::Incomplete(n) if n > cut), "cut {}", cut);
            }
            for bit in 0..buf.len() * 8 {
                let mut flipped = buf.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                let decoded = decode_record(&flipped, LIMITS);
                prop_assert!(!matches!(decoded, Decoded::Item(..)), "bit {} went unnoticed", bit);
            }
        }

        /// Arbitrary bytes never panic the decoders and never claim more than they hold.
        #[test]
        fn arbitrary_bytes_are_handled(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            if let Decoded::Item(record, len) = decode_record(&bytes, LIMITS) {
                prop_assert!(len <= bytes.len());
                prop_assert_eq!(record.encoded_len(), len);
            }
            if let Decoded::Item(_, len) = decode_hint(&bytes, LIMITS) {
                prop_assert!(len <= bytes.len());
            }
        }
    }
}
