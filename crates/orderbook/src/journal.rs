//! The command journal: the engine's input, written ahead, so that replaying it rebuilds the
//! book and every event exactly.
//!
//! The engine is deterministic, so its state is a function of its input. Instead of saving
//! the book, an event-sourced engine saves the *commands*, durably, before it acts on them;
//! after a crash it replays them. [`snapshot`](crate::snapshot)s shorten the replay.
//!
//! ```text
//!   file:    magic "BYOOBJ2\n" (8 bytes), then records back to back
//!
//!   record:  0  4  body length n (u32 LE), 17 ≤ n ≤ 65536
//!            4  4  CRC-32 (IEEE) of the body (u32 LE)
//!            8  4  CRC-32 of bytes 0..8: the header's own check (u32 LE)
//!           12  n  body: one or more commands back to back
//!
//!   new order (43 bytes):                  cancel (17 bytes):
//!            0  1  type 0                           0  1  type 1
//!            1  8  seq (u64)                        1  8  seq
//!            9  8  id (u64)                         9  8  id
//!           17  4  account (u32)             modify (33 bytes):
//!           21  1  side: 0 buy, 1 sell              0  1  type 2
//!           22  1  time in force: 0 GTC, 1 IOC,     1  8  seq
//!                  2 FOK                            9  8  id
//!           23  1  flags: bit 0 market,            17  8  price (i64)
//!                  bit 1 post-only                 25  8  qty (u64)
//!           24  1  self-trade prevention code
//!           25  8  price (i64; 0 for market)
//!           33  8  qty (u64)
//!           41  2  reserved, 0
//! ```
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

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::le::{u32_at, u64_at};
use crate::types::{Command, NewOrder, SelfTradePrevention, Side, TimeInForce};

/// The file's first 8 bytes.
pub const MAGIC: [u8; 8] = *b"BYOOBJ2\n";
/// Bytes before a record's body.
pub const RECORD_HEADER: usize = 12;
/// The shortest body (one cancel).
pub const MIN_BODY: usize = 17;
/// The longest body a record may have; a longer length is corruption. Larger groups are
/// split into several records.
pub const MAX_BODY: usize = 64 * 1024;
/// The longest encoded command.
const MAX_COMMAND: usize = NEW_LEN;

const NEW: u8 = 0;
const CANCEL: u8 = 1;
const MODIFY: u8 = 2;
const NEW_LEN: usize = 43;
const CANCEL_LEN: usize = 17;
const MODIFY_LEN: usize = 33;

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

/// Appends one command's encoding (a record body holds one or more of these).
fn encode_command(command: &Command, out: &mut Vec<u8>) {
    match *command {
        Command::New(o) => {
            let mut b = [0u8; NEW_LEN];
            b[0] = NEW;
            b[1..9].copy_from_slice(&o.seq.to_le_bytes());
            b[9..17].copy_from_slice(&o.id.to_le_bytes());
            b[17..21].copy_from_slice(&o.account.to_le_bytes());
            b[21] = o.side.code();
            b[22] = match o.tif {
                TimeInForce::Gtc => 0,
                TimeInForce::Ioc => 1,
                TimeInForce::Fok => 2,
            };
            b[23] = u8::from(o.price.is_none()) | u8::from(o.post_only) << 1;
            b[24] = o.stp.code();
            b[25..33].copy_from_slice(&o.price.unwrap_or(0).to_le_bytes());
            b[33..41].copy_from_slice(&o.qty.to_le_bytes());
            out.extend_from_slice(&b);
        }
        Command::Cancel { seq, id } => {
            let mut b = [0u8; CANCEL_LEN];
            b[0] = CANCEL;
            b[1..9].copy_from_slice(&seq.to_le_bytes());
            b[9..17].copy_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&b);
        }
        Command::Modify { seq, id, price, qty } => {
            let mut b = [0u8; MODIFY_LEN];
            b[0] = MODIFY;
            b[1..9].copy_from_slice(&seq.to_le_bytes());
            b[9..17].copy_from_slice(&id.to_le_bytes());
            b[17..25].copy_from_slice(&price.to_le_bytes());
            b[25..33].copy_from_slice(&qty.to_le_bytes());
            out.extend_from_slice(&b);
        }
    }
}

/// Appends `commands` as records: one, or several if their bodies exceed [`MAX_BODY`].
/// Nothing is appended for no commands.
pub fn encode_records(commands: &[Command], out: &mut Vec<u8>) {
    let mut open = None;
    for command in commands {
        open = Some(push_command(out, open, command));
    }
    if let Some(start) = open {
        seal(out, start);
    }
}

/// Encodes `command` into the record open at `open` (the offset of its header), first sealing
/// it and opening another if the command would not fit. Returns the open record's offset.
fn push_command(out: &mut Vec<u8>, open: Option<usize>, command: &Command) -> usize {
    let start = match open {
        Some(start) if out.len() - start - RECORD_HEADER + MAX_COMMAND <= MAX_BODY => start,
        _ => {
            if let Some(full) = open {
                seal(out, full);
            }
            out.extend_from_slice(&[0; RECORD_HEADER]);
            out.len() - RECORD_HEADER
        }
    };
    encode_command(command, out);
    start
}

/// Fills in the header of the record that starts at `start` and runs to the end of `out`.
fn seal(out: &mut [u8], start: usize) {
    let (header, body) = out[start..].split_at_mut(RECORD_HEADER);
    header[0..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
    header[4..8].copy_from_slice(&crc32fast::hash(body).to_le_bytes());
    let check = crc32fast::hash(&header[0..8]);
    header[8..12].copy_from_slice(&check.to_le_bytes());
}

/// Decodes one command from the front of a checked record body; returns it and its length.
fn decode_command(b: &[u8]) -> Result<(Command, usize), &'static str> {
    let len = match b[0] {
        NEW => NEW_LEN,
        CANCEL => CANCEL_LEN,
        MODIFY => MODIFY_LEN,
        _ => return Err("unknown command type"),
    };
    if b.len() < len {
        return Err("command cut short by the record's end");
    }
    let (seq, id) = (u64_at(b, 1), u64_at(b, 9));
    let command = match b[0] {
        NEW => {
            let side = Side::from_code(b[21]).ok_or("bad side")?;
            let tif = match b[22] {
                0 => TimeInForce::Gtc,
                1 => TimeInForce::Ioc,
                2 => TimeInForce::Fok,
                _ => return Err("bad time in force"),
            };
            if b[23] > 3 || b[41] != 0 || b[42] != 0 {
                return Err("bad flags");
            }
            let stp = SelfTradePrevention::from_code(b[24]).ok_or("bad self-trade mode")?;
            let market = b[23] & 1 != 0;
            let price = u64_at(b, 25) as i64;
            if market && price != 0 {
                return Err("market order with a price");
            }
            Command::New(NewOrder {
                seq,
                id,
                account: u32_at(b, 17),
                side,
                price: (!market).then_some(price),
                qty: u64_at(b, 33),
                tif,
                post_only: b[23] & 2 != 0,
                stp,
            })
        }
        CANCEL => Command::Cancel { seq, id },
        _ => Command::Modify { seq, id, price: u64_at(b, 17) as i64, qty: u64_at(b, 25) },
    };
    Ok((command, len))
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
    while !rest.is_empty() {
        let (command, len) = decode_command(rest)?;
        out.push(command);
        rest = &rest[len..];
    }
    Ok(at + RECORD_HEADER + body.len())
}

/// Where journal records go: a file, or a fault-injecting stand-in in tests.
pub trait JournalFile {
    /// Appends `data`.
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Makes everything written durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
}

impl JournalFile for File {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        Write::write_all(self, data)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

/// A journal in memory, for tests and tools: writes append, syncs do nothing.
impl JournalFile for Vec<u8> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.extend_from_slice(data);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends commands to a journal. Commands are buffered by [`append`](Self::append) and
/// become durable together at [`commit`](Self::commit) (one write, one fsync): a command may
/// be acted on, and its events published, only after the commit that covers it returns `Ok`.
#[derive(Debug)]
pub struct JournalWriter<F> {
    file: F,
    pending: Vec<u8>,
    /// Where the record being filled starts in `pending`, if one is.
    open: Option<usize>,
    poisoned: bool,
}

impl JournalWriter<File> {
    /// Creates a new, empty journal at `path` (which must not exist), durable along with its
    /// directory entry.
    pub fn create(path: &Path) -> Result<Self, JournalError> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Write::write_all(&mut file, &MAGIC)?;
        file.sync_all()?;
        sync_parent(path)?;
        Ok(Self::from_file(file))
    }

    /// Opens an existing journal: reads every command, cuts off a torn tail (durably), and
    /// positions the writer after the last whole record.
    pub fn open(path: &Path) -> Result<(Self, Vec<Command>), JournalError> {
        // Append mode: every write goes to the end, wherever reading left the cursor.
        let mut file = OpenOptions::new().read(true).append(true).open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let scan = scan(&bytes)?;
        if scan.torn {
            file.set_len(scan.valid_len)?;
            file.sync_all()?;
        }
        Ok((Self::from_file(file), scan.commands))
    }
}

/// Makes a new or renamed directory entry for `path` durable.
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

impl<F: JournalFile> JournalWriter<F> {
    /// A writer over an already-initialised journal file positioned at its end.
    pub fn from_file(file: F) -> Self {
        JournalWriter { file, pending: Vec::new(), open: None, poisoned: false }
    }

    /// Buffers one command; it is not durable until [`commit`](Self::commit).
    pub fn append(&mut self, command: &Command) {
        self.open = Some(push_command(&mut self.pending, self.open, command));
    }

    /// Writes and fsyncs everything appended since the last commit. After a failure the
    /// writer is poisoned: what reached the disk is unknown until the journal is reopened.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        if let Some(start) = self.open.take() {
            seal(&mut self.pending, start);
        }
        let result = self.file.write_all(&self.pending).and_then(|()| self.file.sync());
        self.pending.clear();
        result.map_err(|e| {
            self.poisoned = true;
            JournalError::Io(e)
        })
    }

    /// Bytes appended but not yet committed.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The file underneath.
    pub fn file(&self) -> &F {
        &self.file
    }
}

/// A journal writer on its own thread, for group commit off the matching path.
///
/// The matching thread hands over each batch of commands ([`submit`](Self::submit)) and goes
/// on matching; the journal thread encodes them, and makes everything that has arrived durable
/// with one write and one fsync, so the slower the disk, the larger each group. The engine is
/// deterministic, so matching may run ahead of durability: only *publishing* a batch's events
/// must wait until [`durable`](Self::durable) reaches its ticket (write-ahead is about what the
/// world sees, not about when the book computes it).
#[derive(Debug)]
pub struct JournalThread {
    sender: Option<std::sync::mpsc::Sender<Arc<[Command]>>>,
    state: Arc<(std::sync::Mutex<Durable>, std::sync::Condvar)>,
    handle: Option<std::thread::JoinHandle<()>>,
    submitted: u64,
}

#[derive(Debug, Default)]
struct Durable {
    batches: u64,
    failed: Option<String>,
}

impl JournalThread {
    /// Starts the thread over a writer.
    pub fn spawn<F: JournalFile + Send + 'static>(mut writer: JournalWriter<F>) -> Self {
        let (sender, receiver) = std::sync::mpsc::channel::<Arc<[Command]>>();
        let state =
            Arc::new((std::sync::Mutex::new(Durable::default()), std::sync::Condvar::new()));
        let shared = Arc::clone(&state);
        let handle = std::thread::spawn(move || {
            // Block for one batch, then take whatever else is waiting: one group, one fsync.
            while let Ok(first) = receiver.recv() {
                let mut group = 1;
                first.iter().for_each(|c| writer.append(c));
                while let Ok(more) = receiver.try_recv() {
                    more.iter().for_each(|c| writer.append(c));
                    group += 1;
                }
                let result = writer.commit();
                let (lock, wake) = &*shared;
                let mut durable = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match result {
                    Ok(()) => durable.batches += group,
                    Err(e) => durable.failed = Some(e.to_string()),
                }
                wake.notify_all();
                if durable.failed.is_some() {
                    return;
                }
            }
        });
        JournalThread { sender: Some(sender), state, handle: Some(handle), submitted: 0 }
    }

    /// Hands a batch to the journal thread; returns its ticket (1, 2, 3, ...). The batch is
    /// shared, not copied: the matching thread keeps reading it.
    pub fn submit(&mut self, batch: Arc<[Command]>) -> Result<u64, JournalError> {
        let sent = self.sender.as_ref().map(|s| s.send(batch));
        if !matches!(sent, Some(Ok(()))) {
            return Err(JournalError::Poisoned);
        }
        self.submitted += 1;
        Ok(self.submitted)
    }

    /// How many batches are durable now (they are made durable in order).
    pub fn durable(&self) -> Result<u64, JournalError> {
        let durable = self.state.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &durable.failed {
            Some(_) => Err(JournalError::Poisoned),
            None => Ok(durable.batches),
        }
    }

    /// Blocks until batch `ticket` is durable.
    pub fn wait(&self, ticket: u64) -> Result<(), JournalError> {
        let (lock, wake) = &*self.state;
        let mut durable = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while durable.batches < ticket {
            if durable.failed.is_some() {
                return Err(JournalError::Poisoned);
            }
            durable = wake.wait(durable).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        Ok(())
    }
}

impl Drop for JournalThread {
    /// Closes the channel and waits for the thread to finish what it was given.
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
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
        let commands: Vec<Command> =
            (0..10_000).map(|seq| Command::Cancel { seq, id: seq * 7 }).collect();
        let mut bytes = MAGIC.to_vec();
        encode_records(&commands, &mut bytes);
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.commands, commands);
        let per_record = (MAX_BODY - MAX_COMMAND) / CANCEL_LEN + 1;
        assert_eq!(scan.records, [per_record, per_record, 10_000 - 2 * per_record]);
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
        assert_eq!(last_start + RECORD_HEADER + MODIFY_LEN, whole.len());
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
