//! Snapshots: the book's whole state at one sequence number, so that recovery replays only
//! the journal's tail.
//!
//! A snapshot holds exactly what decides the engine's future output: every resting order
//! with its place in its queue, the accounts' exposures, the reference price, and the
//! sequence number of the last command applied. Restoring it and replaying the journal's
//! commands after that sequence number gives byte-identical events to replaying the whole
//! journal (the tests check this). The [`Config`] is not in the snapshot: it is the
//! operator's, and must be the same at restore as when the snapshot was taken.
//!
//! ```text
//!   header (48 bytes, little-endian):
//!    0  8  magic "BYOOBS1\n"
//!    8  1  flags: bit 0 = a command was applied (last seq valid), bit 1 = reference valid
//!    9  7  reserved, 0
//!   16  8  last seq (u64)
//!   24  8  reference price (i64)
//!   32  8  order count (u64)
//!   40  8  account count (u64)
//!   orders, 32 bytes each: bids then asks, each side's levels worst price first (so that
//!   appending rebuilds the price ladder without moving anything), each queue oldest first:
//!    0  8  id (u64)      16  8  qty (u64)       28  1  side       30  1  flags: bit 0 post-only
//!    8  8  price (i64)   24  4  account (u32)   29  1  stp code   31  1  reserved, 0
//!   accounts, 32 bytes each, ascending by account:
//!    0  4  account (u32)  4  4  reserved   8  8  position (i64)
//!   16  8  open buy (u64)  24  8  open sell (u64)
//!   trailer:  4  CRC-32 of everything before it
//! ```

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use crate::book::OrderBook;
use crate::config::Config;
use crate::le::{u32_at, u64_at};
use crate::levels::Resting;
use crate::risk::Exposure;
use crate::types::{SelfTradePrevention, Side};

/// The file's first 8 bytes.
pub const MAGIC: [u8; 8] = *b"BYOOBS1\n";
const HEADER: usize = 48;
const ORDER: usize = 32;
const ACCOUNT: usize = 32;
const TRAILER: usize = 4;

/// Why a snapshot could not be restored or saved.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not a snapshot.
    #[error("not a snapshot: bad magic or too short")]
    Magic,
    /// The checksum does not match: the file is damaged or incomplete.
    #[error("snapshot checksum mismatch: the file is damaged or incomplete")]
    Checksum,
    /// The counts do not match the file's size.
    #[error(
        "snapshot header announces {orders} orders and {accounts} accounts, which do not fit in {bytes} bytes"
    )]
    Length {
        /// Orders announced.
        orders: u64,
        /// Accounts announced.
        accounts: u64,
        /// The snapshot's size.
        bytes: usize,
    },
    /// The content is well-formed but not a valid book.
    #[error("snapshot invalid: {0}")]
    Invalid(String),
    /// The operating system's error.
    #[error("snapshot I/O: {0}")]
    Io(#[from] io::Error),
}

/// Writes `book`'s state as a snapshot.
pub fn write(book: &OrderBook, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    let flags = u8::from(book.last_seq.is_some()) | u8::from(book.reference.is_some()) << 1;
    out.push(flags);
    out.extend_from_slice(&[0; 7]);
    out.extend_from_slice(&book.last_seq.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&book.reference.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&(book.len() as u64).to_le_bytes());
    out.extend_from_slice(&(book.exposures.accounts.len() as u64).to_le_bytes());
    for side in [Side::Buy, Side::Sell] {
        for level in book.levels.iter_worst_first(side) {
            for order in book.levels.queue(level) {
                out.extend_from_slice(&order.id.to_le_bytes());
                out.extend_from_slice(&level.price.to_le_bytes());
                out.extend_from_slice(&order.qty.to_le_bytes());
                out.extend_from_slice(&order.account.to_le_bytes());
                out.extend_from_slice(&[
                    order.side.code(),
                    order.stp.code(),
                    order.post_only.into(),
                    0,
                ]);
            }
        }
    }
    for (&account, e) in &book.exposures.accounts {
        out.extend_from_slice(&account.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&e.position.to_le_bytes());
        out.extend_from_slice(&e.open_buy.to_le_bytes());
        out.extend_from_slice(&e.open_sell.to_le_bytes());
    }
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Rebuilds a book from a snapshot, under `config`. Everything is validated: a damaged or
/// inconsistent snapshot is an error, never a panic or a wrong book.
pub fn restore(bytes: &[u8], config: Config) -> Result<OrderBook, SnapshotError> {
    if bytes.len() < HEADER + TRAILER || bytes[..8] != MAGIC {
        return Err(SnapshotError::Magic);
    }
    let (body, trailer) = bytes.split_at(bytes.len() - TRAILER);
    if crc32fast::hash(body) != u32_at(trailer, 0) {
        return Err(SnapshotError::Checksum);
    }
    let invalid = |why: String| SnapshotError::Invalid(why);
    let flags = body[8];
    if flags > 3 || body[9..16] != [0; 7] {
        return Err(invalid(format!("unknown header flags {flags:#x}")));
    }
    let (orders, accounts) = (u64_at(body, 32), u64_at(body, 40));
    // Checked before anything is allocated: the counts must describe exactly this file.
    let expected = u128::from(orders) * ORDER as u128 + u128::from(accounts) * ACCOUNT as u128;
    if expected != (body.len() - HEADER) as u128 {
        return Err(SnapshotError::Length { orders, accounts, bytes: bytes.len() });
    }
    let mut book = OrderBook::with_config(config);
    book.last_seq = (flags & 1 != 0).then(|| u64_at(body, 16));
    book.reference = (flags & 2 != 0).then(|| u64_at(body, 24) as i64);
    let order_bytes = &body[HEADER..HEADER + orders as usize * ORDER];
    let mut previous: Option<(Side, i64)> = None;
    for (n, r) in order_bytes.chunks_exact(ORDER).enumerate() {
        let side = Side::from_code(r[28]).ok_or_else(|| invalid(format!("order {n}: bad side")))?;
        let stp = SelfTradePrevention::from_code(r[29])
            .ok_or_else(|| invalid(format!("order {n}: bad self-trade mode")))?;
        let (id, price, qty) = (u64_at(r, 0), u64_at(r, 8) as i64, u64_at(r, 16));
        if r[30] > 1 || r[31] != 0 || qty == 0 {
            return Err(invalid(format!("order {n} (id {id}): bad flags or zero quantity")));
        }
        // Bids before asks; on each side, prices move toward the best and never back.
        let in_order = match previous {
            None => true,
            Some((prev_side, prev_price)) if prev_side == side => match side {
                Side::Buy => price >= prev_price,
                Side::Sell => price <= prev_price,
            },
            Some((prev_side, _)) => prev_side == Side::Buy && side == Side::Sell,
        };
        if !in_order {
            return Err(invalid(format!("order {n} (id {id}) is out of priority order")));
        }
        previous = Some((side, price));
        let (hash, resting) = book.levels.probe(id);
        if resting.is_some() {
            return Err(invalid(format!("order id {id} appears twice")));
        }
        let account = u32_at(r, 24);
        let post_only = r[30] == 1;
        book.levels.push_back(Resting { id, hash, side, price, qty, account, stp, post_only });
    }
    if let (Some((bid, _)), Some((ask, _))) = (book.best(Side::Buy), book.best(Side::Sell))
        && bid >= ask
    {
        return Err(invalid(format!("crossed book: bid {bid} >= ask {ask}")));
    }
    let account_bytes = &body[HEADER + orders as usize * ORDER..];
    let mut last_account = None;
    for r in account_bytes.chunks_exact(ACCOUNT) {
        let account = u32_at(r, 0);
        if last_account.is_some_and(|last| last >= account) || u32_at(r, 4) != 0 {
            return Err(invalid(format!("account {account} out of order or malformed")));
        }
        last_account = Some(account);
        let exposure = Exposure {
            position: u64_at(r, 8) as i64,
            open_buy: u64_at(r, 16),
            open_sell: u64_at(r, 24),
        };
        book.exposures.accounts.insert(account, exposure);
    }
    Ok(book)
}

/// Saves a snapshot of `book` to `path` atomically: written to a temporary file beside it,
/// fsynced, renamed over `path`, and the directory fsynced, so that `path` always holds a
/// whole snapshot, old or new.
pub fn save(book: &OrderBook, path: &Path) -> Result<(), SnapshotError> {
    let mut bytes = Vec::with_capacity(HEADER + book.len() * ORDER + TRAILER);
    write(book, &mut bytes);
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::rename(tmp, path)?;
    crate::journal::sync_parent(path)?;
    Ok(())
}

/// Loads a snapshot saved by [`save`].
pub fn load(path: &Path, config: Config) -> Result<OrderBook, SnapshotError> {
    restore(&std::fs::read(path)?, config)
}
