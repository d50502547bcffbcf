//! The command journal: the engine's input, written ahead, so that replaying it rebuilds the
//! book and every event exactly.
//!
//! The engine is deterministic, so its state is a function of its input. Instead of saving
//! the book, an event-sourced engine saves the *commands*, durably, before it acts on them;
//! after a crash it replays them. [`snapshot`](crate::snapshot)s shorten the replay.
//!
//! ```text
//!   file:    magic "BYOOBJ1\n" (8 bytes), then records back to back
//!
//!   record:  0  4  body length n (u32 LE), 17 ≤ n ≤ 64
//!            4  4  CRC-32 (IEEE) of the body (u32 LE)
//!            8  n  body
//!
//!   body of a new order (n = 43):          body of a cancel (n = 17):
//!            0  1  type 0                           0  1  type 1
//!            1  8  seq (u64)                        1  8  seq
//!            9  8  id (u64)                         9  8  id
//!           17  4  account (u32)             body of a modify (n = 33):
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
//! Recovery reads records until the first one that is incomplete or fails its CRC. If no
//! valid record can be found anywhere after it, it is a torn tail: the last write, cut short
//! or zero-filled by the crash, and so never acknowledged. It is cut off, and the cut is
//! made durable. If a valid record follows a bad one, the damage is not a torn write, and
//! recovery stops with [`JournalError::Corrupt`] rather than silently drop commands that
//! were acknowledged. (A CRC-32 passing on garbage by chance is a 1 in 2^32 event per offset.)

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use crate::le::{u32_at, u64_at};
use crate::types::{Command, NewOrder, SelfTradePrevention, Side, TimeInForce};

/// The file's first 8 bytes.
pub const MAGIC: [u8; 8] = *b"BYOOBJ1\n";
/// Bytes before a record's body.
pub const RECORD_HEADER: usize = 8;
/// The shortest body (a cancel).
pub const MIN_BODY: usize = 17;
/// The longest body any version of the format may write; a longer length is corruption.
pub const MAX_BODY: usize = 64;

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

/// Appends one command as a record.
pub fn encode(command: &Command, out: &mut Vec<u8>) {
    let mut body = [0u8; MAX_BODY];
    let len = match *command {
        Command::New(o) => {
            body[0] = NEW;
            body[1..9].copy_from_slice(&o.seq.to_le_bytes());
            body[9..17].copy_from_slice(&o.id.to_le_bytes());
            body[17..21].copy_from_slice(&o.account.to_le_bytes());
            body[21] = o.side.code();
            body[22] = match o.tif {
                TimeInForce::Gtc => 0,
                TimeInForce::Ioc => 1,
                TimeInForce::Fok => 2,
            };
            body[23] = u8::from(o.price.is_none()) | u8::from(o.post_only) << 1;
            body[24] = o.stp.code();
            body[25..33].copy_from_slice(&o.price.unwrap_or(0).to_le_bytes());
            body[33..41].copy_from_slice(&o.qty.to_le_bytes());
            NEW_LEN
        }
        Command::Cancel { seq, id } => {
            body[0] = CANCEL;
            body[1..9].copy_from_slice(&seq.to_le_bytes());
            body[9..17].copy_from_slice(&id.to_le_bytes());
            CANCEL_LEN
        }
        Command::Modify { seq, id, price, qty } => {
            body[0] = MODIFY;
            body[1..9].copy_from_slice(&seq.to_le_bytes());
            body[9..17].copy_from_slice(&id.to_le_bytes());
            body[17..25].copy_from_slice(&price.to_le_bytes());
            body[25..33].copy_from_slice(&qty.to_le_bytes());
            MODIFY_LEN
        }
    };
    let body = &body[..len];
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
}

/// Decodes a record body whose CRC has been checked.
fn decode_body(b: &[u8]) -> Result<Command, &'static str> {
    let (seq, id) = (u64_at(b, 1), u64_at(b, 9));
    match (b[0], b.len()) {
        (NEW, NEW_LEN) => {
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
            let account = u32_at(b, 17);
            let price = (b[23] & 1 == 0).then(|| u64_at(b, 25) as i64);
            Ok(Command::New(NewOrder {
                seq,
                id,
                account,
                side,
                price,
                qty: u64_at(b, 33),
                tif,
                post_only: b[23] & 2 != 0,
                stp,
            }))
        }
        (CANCEL, CANCEL_LEN) => Ok(Command::Cancel { seq, id }),
        (MODIFY, MODIFY_LEN) => {
            Ok(Command::Modify { seq, id, price: u64_at(b, 17) as i64, qty: u64_at(b, 25) })
        }
        _ => Err("unknown record type or length"),
    }
}

/// What [`scan`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Every whole, valid record, in order.
    pub commands: Vec<Command>,
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
    let mut at = MAGIC.len();
    while at < bytes.len() {
        match record_at(bytes, at) {
            Ok((command, next)) => {
                commands.push(command);
                at = next;
            }
            Err(why) => {
                // Torn: nothing valid after the bad record, so it was the last write, cut
                // short (or zero-filled) by the crash. Otherwise acknowledged records follow.
                if !(at + 1..bytes.len()).any(|next| record_at(bytes, next).is_ok()) {
                    return Ok(Scan { commands, valid_len: at as u64, torn: true });
                }
                let after = (bytes.len() - at) as u64;
                return Err(JournalError::Corrupt { offset: at as u64, why, after });
            }
        }
    }
    Ok(Scan { commands, valid_len: at as u64, torn: false })
}

/// The record at `at` and where the next begins, or what is wrong with it.
fn record_at(bytes: &[u8], at: usize) -> Result<(Command, usize), &'static str> {
    let rest = &bytes[at..];
    if rest.len() < RECORD_HEADER {
        return Err("incomplete record header");
    }
    let len = u32_at(rest, 0) as usize;
    if !(MIN_BODY..=MAX_BODY).contains(&len) {
        return Err("impossible record length");
    }
    let end = at + RECORD_HEADER + len;
    if end > bytes.len() {
        return Err("incomplete record");
    }
    let crc = u32_at(rest, 4);
    let body = &bytes[at + RECORD_HEADER..end];
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch");
    }
    decode_body(body).map(|command| (command, end))
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

/// Appends commands to a journal. Commands are buffered by [`append`](Self::append) and
/// become durable together at [`commit`](Self::commit) (one write, one fsync): a command may
/// be acted on, and its events published, only after the commit that covers it returns `Ok`.
#[derive(Debug)]
pub struct JournalWriter<F> {
    file: F,
    pending: Vec<u8>,
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
        Ok(JournalWriter { file, pending: Vec::new(), poisoned: false })
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
        Ok((JournalWriter { file, pending: Vec::new(), poisoned: false }, scan.commands))
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
        JournalWriter { file, pending: Vec::new(), poisoned: false }
    }

    /// Buffers one command; it is not durable until [`commit`](Self::commit).
    pub fn append(&mut self, command: &Command) {
        encode(command, &mut self.pending);
    }

    /// Writes and fsyncs everything appended since the last commit. After a failure the
    /// writer is poisoned: what reached the disk is unknown until the journal is reopened.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
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
    sender: Option<std::sync::mpsc::Sender<Vec<Command>>>,
    state: std::sync::Arc<(std::sync::Mutex<Durable>, std::sync::Condvar)>,
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
        let (sender, receiver) = std::sync::mpsc::channel::<Vec<Command>>();
        let state = std::sync::Arc::new((
            std::sync::Mutex::new(Durable::default()),
            std::sync::Condvar::new(),
        ));
        let shared = std::sync::Arc::clone(&state);
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

    /// Hands a batch to the journal thread; returns its ticket (1, 2, 3, ...).
    pub fn submit(&mut self, batch: Vec<Command>) -> Result<u64, JournalError> {
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

    fn journal(commands: &[Command]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for c in commands {
            encode(c, &mut bytes);
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
        assert_eq!((scan.valid_len, scan.torn), (bytes.len() as u64, false));
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
