//! The command journal: the engine's input, written ahead, so that replaying it rebuilds the
//! book and every event exactly.
//!
//! The engine is deterministic, so its state is a function of its input. Instead of saving
//! the book, an event-sourced engine saves the *commands*, durably, before it acts on them;
//! after a crash it replays them. [`snapshot`](crate::snapshot)s shorten the replay.
//!
//! ```text
//!   file:    magic "BYOOBJ3\n" (8 bytes), then records back to back
//!
//!   record:  0  4  body length n (u32 LE), 3 ≤ n ≤ 65536
//!            4  4  CRC-32 (IEEE) of the body (u32 LE)
//!            8  4  CRC-32 of bytes 0..8: the header's own check (u32 LE)
//!           12  n  body: one or more commands back to back
//!
//!   new order:  head   bits 0-1 type 0, bit 2 side (1 sell), bits 3-4 time in force
//!                      (0 GTC, 1 IOC, 2 FOK), bit 5 market, bit 6 post-only, bit 7 zero
//!               stp    self-trade prevention code (one byte)
//!               Δseq  id  account  Δprice (not for a market order)  qty
//!   cancel:     head 1, Δseq, id
//!   modify:     head 2, Δseq, id, Δprice, qty
//!
//!   numbers: LEB128 varints; Δ = zigzag varint of the difference from the previous
//!   command's value in the same record (from 0 for the first)
//! ```
//!
//! Most commands in a book's flow are a few ticks from the last price and one sequence number
//! after the last command, so differences are one or two bytes, and a command of the published
//! workload takes 5 to 12 bytes instead of 17 to 43 with fixed-width fields: less to write, to checksum and for the
//! disk to absorb. The differences restart in every record, so each record decodes alone,
//! which torn-tail recovery needs.
//!
//! A record is a group commit: the commands of one [`JournalWriter::commit`] (split into
//! records of at most 64 KiB), written together and acknowledged together. One CRC per group
//! rather than per command is what makes journaling cheap: a CRC over a 40-byte body costs
//! about as much as matching the command, while over kilobytes it runs at memory speed.
//!
//! Recovery reads records until the first one that is incomplete or fails a check. If no
//! record header that checks out (and whose record fits in the file) follows it, it is a
//! torn tail: the last write, cut short or zero-filled by the crash, and so never
//! acknowledged. It is cut off, and the cut is made durable. If a good header follows a bad
//! record, the damage is not a torn write, and recovery stops with [`JournalError::Corrupt`]
//! rather than silently drop commands that were acknowledged. The header's own CRC keeps that
//! search linear: each later offset costs 12 bytes of work, and garbage passes for a header
//! once in 2^32 offsets. (One case it cannot tell apart: a crash during a write whose pages
//! reached the disk out of order leaves a hole before later pages of the same write. That is
//! reported as corruption, and the operator decides; nothing is dropped silently.)

use std::io;

use crate::le::u32_at;
use crate::types::{Command, NewOrder, SelfTradePrevention, Side, TimeInForce};
use crate::varint;

mod thread;
mod writer;

pub use thread::{DEFAULT_SPIN, JournalThread};
pub(crate) use writer::sync_parent;
pub use writer::{JournalFile, JournalWriter};

/// The file's first 8 bytes.
pub const MAGIC: [u8; 8] = *b"BYOOBJ3\n";
/// Bytes before a record's body.
pub const RECORD_HEADER: usize = 12;
/// The shortest body (one cancel: a type byte and two one-byte numbers).
pub const MIN_BODY: usize = 3;
/// The longest body a record may have; a longer length is corruption. Larger groups are
/// split into several records.
pub const MAX_BODY: usize = 64 * 1024;
/// The longest encoded command: a new order with every number at its longest.
const MAX_COMMAND: usize = 2 + 2 * varint::MAX_LEN + 5 + 2 * varint::MAX_LEN;

const NEW: u8 = 0;
const CANCEL: u8 = 1;
const MODIFY: u8 = 2;

/// Why a journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file is not a journal.
    #[error("not a journal: bad magic")]
    Magic,
    /// A damaged record with whole records after it: not a torn write.
    #[error("journal corrupt at byte {offset}: {why}, and {after} bytes follow it")]
    Corrupt {
        /// Where the bad record starts.
        offset: u64,
        /// What is wrong with it.
        why: &'static str,
        /// Bytes after it.
        after: u64,
    },
    /// An earlier write or sync failed: what reached the disk is unknown, so the writer
    /// refuses to go on. Reopen the journal to recover.
    #[error("journal writer failed earlier; reopen the journal to recover")]
    Poisoned,
    /// The operating system's error.
    #[error("journal I/O: {0}")]
    Io(#[from] io::Error),
}

/// A record being written or read: where it starts, and the previous command's sequence
/// number and price, against which the next command's are written as differences. Both start
/// at 0 in every record, so each record decodes alone.
#[derive(Clone, Copy, Debug, Default)]
struct Context {
    start: usize,
    seq: u64,
    price: i64,
}

impl Context {
    fn put_seq(&mut self, out: &mut Encoded<'_>, seq: u64) {
        out.put_signed(seq.wrapping_sub(self.seq) as i64);
        self.seq = seq;
    }

    fn put_price(&mut self, out: &mut Encoded<'_>, price: i64) {
        out.put_signed(price.wrapping_sub(self.price));
        self.price = price;
    }

    fn get_seq(&mut self, b: &mut &[u8]) -> Result<u64, &'static str> {
        self.seq = self.seq.wrapping_add(varint::get_signed(b)? as u64);
        Ok(self.seq)
    }

    fn get_price(&mut self, b: &mut &[u8]) -> Result<i64, &'static str> {
        self.price = self.price.wrapping_add(varint::get_signed(b)?);
        Ok(self.price)
    }
}

/// One command's encoding.
type Encoded<'a> = varint::Room<'a, MAX_COMMAND>;

/// Appends one command's encoding (a record body holds one or more of these).
fn encode_command(command: &Command, out: &mut Vec<u8>, record: &mut Context) {
    let mut b = Encoded::new(out);
    match *command {
        Command::New(o) => {
            let tif = match o.tif {
                TimeInForce::Gtc => 0,
                TimeInForce::Ioc => 1,
                TimeInForce::Fok => 2,
            };
            b.byte(
                NEW | o.side.code() << 2
                    | tif << 3
                    | u8::from(o.price.is_none()) << 5
                    | u8::from(o.post_only) << 6,
            );
            b.byte(o.stp.code());
            record.put_seq(&mut b, o.seq);
            b.put(o.id);
            b.put(o.account.into());
            if let Some(price) = o.price {
                record.put_price(&mut b, price);
            }
            b.put(o.qty);
        }
        Command::Cancel { seq, id } => {
            b.byte(CANCEL);
            record.put_seq(&mut b, seq);
            b.put(id);
        }
        Command::Modify { seq, id, price, qty } => {
            b.byte(MODIFY);
            record.put_seq(&mut b, seq);
            b.put(id);
            record.put_price(&mut b, price);
            b.put(qty);
        }
    }
}

/// Appends `commands` as records: one, or several if their bodies exceed [`MAX_BODY`].
/// Nothing is appended for no commands.
pub fn encode_records(commands: &[Command], out: &mut Vec<u8>) {
    let mut open = None;
    for command in commands {
        push_command(out, &mut open, command);
    }
    if let Some(record) = open {
        seal(out, record.start);
    }
}

/// Encodes `command` into the record `open`, first sealing it and opening another if the
/// command might not fit.
///
/// The open record is updated where it lies, not passed in and returned. Returned, it went
/// back through memory as three 8-byte stores that the caller read back at once with a
/// 16-byte load, which cannot be forwarded from them and waits for them to reach the cache:
/// a fifth of the encoder's time (12.1 -> 9.6 ns a command).
fn push_command(out: &mut Vec<u8>, open: &mut Option<Context>, command: &Command) {
    let record = match open {
        Some(record) if fits_another(out.len() - record.start - RECORD_HEADER) => record,
        _ => {
            if let Some(full) = open.take() {
                seal(out, full.start);
            }
            out.extend_from_slice(&[0; RECORD_HEADER]);
            open.insert(Context { start: out.len() - RECORD_HEADER, ..Context::default() })
        }
    };
    encode_command(command, out, record);
}

/// Whether a record whose body has `len` bytes takes another command: only if the longest
/// command would still fit. (Decoding checks the same rule, so that a record read back
/// re-encodes to the same bytes.)
fn fits_another(len: usize) -> bool {
    len + MAX_COMMAND <= MAX_BODY
}

/// Fills in the header of the record that starts at `start` and runs to the end of `out`.
fn seal(out: &mut [u8], start: usize) {
    let (header, body) = out[start..].split_at_mut(RECORD_HEADER);
    header[0..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
    header[4..8].copy_from_slice(&crc32fast::hash(body).to_le_bytes());
    let check = crc32fast::hash(&header[0..8]);
    header[8..12].copy_from_slice(&check.to_le_bytes());
}

/// Takes one byte from the front of `b`.
fn take_byte(b: &mut &[u8]) -> Result<u8, &'static str> {
    let (&byte, rest) = b.split_first().ok_or("command cut short by the record's end")?;
    *b = rest;
    Ok(byte)
}

/// Decodes one command from the front of `b`, a checked record body, advancing it.
fn decode_command(b: &mut &[u8], record: &mut Context) -> Result<Command, &'static str> {
    let head = take_byte(b)?;
    match head & 3 {
        NEW => {
            let stp = take_byte(b)?;
            if head & 0x80 != 0 {
                return Err("bad flags");
            }
            let side = Side::from_code(head >> 2 & 1).ok_or("bad side")?;
            let tif = match head >> 3 & 3 {
                0 => TimeInForce::Gtc,
                1 => TimeInForce::Ioc,
                2 => TimeInForce::Fok,
                _ => return Err("bad time in force"),
            };
            let stp = SelfTradePrevention::from_code(stp).ok_or("bad self-trade mode")?;
            let seq = record.get_seq(b)?;
            let id = varint::get(b)?;
            let account = u32::try_from(varint::get(b)?).map_err(|_| "account too large")?;
            let market = head & 1 << 5 != 0;
            let price = if market { None } else { Some(record.get_price(b)?) };
            let qty = varint::get(b)?;
            let post_only = head & 1 << 6 != 0;
            Ok(Command::New(NewOrder { seq, id, account, side, price, qty, tif, post_only, stp }))
        }
        _ if head > MODIFY => Err("unknown command type"),
        CANCEL => {
            let seq = record.get_seq(b)?;
            Ok(Command::Cancel { seq, id: varint::get(b)? })
        }
        _ => {
            let seq = record.get_seq(b)?;
            let id = varint::get(b)?;
            let price = record.get_price(b)?;
            Ok(Command::Modify { seq, id, price, qty: varint::get(b)? })
        }
    }
}

/// What [`scan`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Every command of every whole, valid record, in order.
    pub commands: Vec<Command>,
    /// How many commands each record held, in order: the groups that were committed.
    pub records: Vec<usize>,
    /// Bytes of the file they (and the magic) take: where the next record goes.
    pub valid_len: u64,
    /// Whether a torn last record follows them (and should be cut off).
    pub torn: bool,
}

/// Reads a whole journal file's bytes. Pure: no I/O.
pub fn scan(bytes: &[u8]) -> Result<Scan, JournalError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(JournalError::Magic);
    }
    let mut commands = Vec::new();
    let mut records = Vec::new();
    let mut at = MAGIC.len();
    while at < bytes.len() {
        let before = commands.len();
        match record_at(bytes, at, &mut commands) {
            Ok(next) => {
                records.push(commands.len() - before);
                at = next;
            }
            Err(why) => {
                commands.truncate(before);
                // Torn: nothing written after the bad record, so it was the last write, cut
                // short (or zero-filled) by the crash. Otherwise acknowledged records follow.
                if !(at + 1..bytes.len()).any(|next| header_at(bytes, next).is_ok()) {
                    return Ok(Scan { commands, records, valid_len: at as u64, torn: true });
                }
                let after = (bytes.len() - at) as u64;
                return Err(JournalError::Corrupt { offset: at as u64, why, after });
            }
        }
    }
    Ok(Scan { commands, records, valid_len: at as u64, torn: false })
}

/// The body of the record at `at` if its header checks out and the record fits in `bytes`.
fn header_at(bytes: &[u8], at: usize) -> Result<&[u8], &'static str> {
    let rest = &bytes[at..];
    if rest.len() < RECORD_HEADER {
        return Err("incomplete record header");
    }
    if crc32fast::hash(&rest[0..8]) != u32_at(rest, 8) {
        return Err("header checksum mismatch");
    }
    let len = u32_at(rest, 0) as usize;
    if !(MIN_BODY..=MAX_BODY).contains(&len) {
        return Err("impossible record length");
    }
    rest.get(RECORD_HEADER..RECORD_HEADER + len).ok_or("incomplete record")
}

/// Decodes the record at `at` onto `out`; returns where the next begins, or what is wrong
/// with it (`out` may then hold some of its commands).
fn record_at(bytes: &[u8], at: usize, out: &mut Vec<Command>) -> Result<usize, &'static str> {
    let body = header_at(bytes, at)?;
    if crc32fast::hash(body) != u32_at(bytes, at + 4) {
        return Err("checksum mismatch");
    }
    let mut rest = body;
    let mut record = Context::default();
    while !rest.is_empty() {
        let used = body.len() - rest.len();
        if used > 0 && !fits_another(used) {
            return Err("more commands in a record than a writer puts there");
        }
        out.push(decode_command(&mut rest, &mut record)?);
    }
    Ok(at + RECORD_HEADER + body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commands as records of one, two, one, two, ... commands.
    fn journal(commands: &[Command]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        let mut rest = commands;
        for size in [1, 2].into_iter().cycle() {
            let (group, tail) = rest.split_at(size.min(rest.len()));
            encode_records(group, &mut bytes);
            rest = tail;
            if rest.is_empty() {
                break;
            }
        }
        bytes
    }

    fn sample() -> Vec<Command> {
        vec![
            Command::New(NewOrder::limit(0, 1, Side::Sell, -5, 10).post_only().account(9)),
            Command::New(
                NewOrder::market(1, 2, Side::Buy, 3)
                    .tif(TimeInForce::Fok)
                    .stp(SelfTradePrevention::DecrementAndCancel),
            ),
            Command::Cancel { seq: 2, id: 1 },
            Command::Modify { seq: 3, id: 7, price: i64::MIN, qty: u64::MAX },
        ]
    }

    #[test]
    fn every_command_round_trips() {
        let bytes = journal(&sample());
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.commands, sample());
        assert_eq!(scan.records, [1, 2, 1]);
        assert_eq!((scan.valid_len, scan.torn), (bytes.len() as u64, false));
    }

    #[test]
    fn a_large_group_is_split_into_records_of_bounded_size() {
        // Ids whose varints are 9-10 bytes long: about 12 bytes a cancel, 6 records.
        let commands: Vec<Command> = (0..30_000u64)
            .map(|seq| Command::Cancel { seq, id: seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) })
            .collect();
        let mut bytes = MAGIC.to_vec();
        encode_records(&commands, &mut bytes);
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.commands, commands);
        assert!(scan.records.len() > 2, "{:?}", scan.records);
        let mut at = MAGIC.len();
        for _ in &scan.records {
            let body = header_at(&bytes, at).unwrap().len();
            assert!(
                body <= MAX_BODY && !fits_another(body) || at + RECORD_HEADER + body == bytes.len()
            );
            at += RECORD_HEADER + body;
        }
    }

    #[test]
    fn a_record_holding_more_than_a_writer_puts_there_is_refused() {
        // Cancels of 3 bytes each (seq difference 1, id 1): one more than the rule allows.
        let count = (MAX_BODY - MAX_COMMAND) / 3 + 2;
        let mut body = vec![CANCEL, 0, 1];
        (1..count).for_each(|_| body.extend_from_slice(&[CANCEL, 2, 1]));
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        let check = crc32fast::hash(&bytes[MAGIC.len()..]);
        bytes.extend_from_slice(&check.to_le_bytes());
        bytes.extend_from_slice(&body);
        let scan = scan(&bytes).unwrap();
        assert!(scan.torn && scan.commands.is_empty());
        // One command fewer is what the writer makes.
        let mut fewer = MAGIC.to_vec();
        let commands: Vec<Command> =
            (0..count as u64 - 1).map(|seq| Command::Cancel { seq, id: 1 }).collect();
        encode_records(&commands, &mut fewer);
        assert_eq!(fewer[MAGIC.len() + RECORD_HEADER..], body[..body.len() - 3]);
    }

    #[test]
    fn commands_take_a_few_bytes_each() {
        let mut bytes = Vec::new();
        let commands = [
            Command::New(NewOrder::limit(1000, 816_347, Side::Sell, 33_721, 88)),
            Command::Cancel { seq: 1001, id: 816_347 },
            Command::New(NewOrder::limit(1002, 216_493, Side::Buy, 33_724, 82)),
            Command::Modify { seq: 1003, id: 216_493, price: 33_725, qty: 83 },
        ];
        encode_records(&commands, &mut bytes);
        // new: 2 + seq 2 + id 3 + account 1 + price 3 + qty 1; cancel: 1 + 1 + 3;
        // new: 2 + 1 + 3 + 1 + price difference 1 + 1; modify: 1 + 1 + 3 + 1 + 1.
        assert_eq!(bytes.len(), RECORD_HEADER + 12 + 5 + 9 + 7);
    }

    #[test]
    fn the_writer_groups_each_commit_into_one_record() {
        let mut writer = JournalWriter::from_file(Vec::new());
        let sample = sample();
        sample[..3].iter().for_each(|c| writer.append(c));
        writer.commit().unwrap();
        writer.append(&sample[3]);
        writer.commit().unwrap();
        writer.commit().unwrap(); // nothing pending: nothing written
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(writer.file());
        let scan = scan(&bytes).unwrap();
        assert_eq!((scan.commands, scan.records), (sample, vec![3, 1]));
    }

    #[test]
    fn a_bad_record_followed_by_garbage_without_a_valid_header_is_torn() {
        let mut bytes = journal(&sample());
        let whole = bytes.len();
        bytes[whole - 1] ^= 1;
        // Plausible lengths everywhere, but no header checksum: still the torn last write.
        bytes.extend(std::iter::repeat_n([17, 0, 0, 0], 1000).flatten());
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.commands, sample()[..3]);
        assert!(scan.torn);
    }

    #[test]
    fn every_cut_of_the_last_record_is_a_torn_tail() {
        let whole = journal(&sample());
        let last_start = journal(&sample()[..3]).len();
        for cut in last_start..whole.len() {
            let scan = scan(&whole[..cut]).unwrap();
            assert_eq!(scan.commands, sample()[..3], "cut at {cut}");
            assert_eq!(scan.valid_len, last_start as u64);
            assert_eq!(scan.torn, cut > last_start);
        }
    }

    #[test]
    fn a_flipped_bit_in_the_last_record_is_torn_and_earlier_is_corrupt() {
        let whole = journal(&sample());
        let last_start = journal(&sample()[..3]).len();
        for at in MAGIC.len()..whole.len() {
            for bit in 0..8 {
                let mut bytes = whole.clone();
                bytes[at] ^= 1 << bit;
                match scan(&bytes) {
                    Ok(scan) => {
                        assert!(at >= last_start, "flip at {at} in an earlier record passed");
                        assert_eq!(scan.commands, sample()[..3]);
                        assert!(scan.torn);
                    }
                    Err(JournalError::Corrupt { offset, .. }) => {
                        assert!(at < last_start && offset as usize <= at, "flip at {at}")
                    }
                    Err(other) => panic!("flip at {at}: {other}"),
                }
            }
        }
    }

    #[test]
    fn not_a_journal() {
        assert!(matches!(scan(b"BYOOBJ0\n"), Err(JournalError::Magic)));
        assert!(matches!(scan(b""), Err(JournalError::Magic)));
    }
}
