//! Reading a data file front to back, record by record: recovery and merge both do this.
//!
//! The scanner reads in chunks of [`CHUNK`] bytes, and never more than one record beyond a
//! chunk; a record's length is checked against the limits (by [`format::record_len`]) before
//! the scanner reads that far. So a corrupt length field costs an error, not a giant read.
//!
//! When a record fails, [`Scanner::resync`] looks for the next offset at which a whole,
//! checksummed record starts. Recovery uses that to tell a torn tail (nothing valid follows:
//! the crash cut the last write short) from damage in the middle of a file (valid records
//! follow: something overwrote bytes that were once good).

use std::io;

use crate::error::Corruption;
use crate::format::{self, Decoded, Limits, RECORD_HEADER, Record};
use crate::storage::StorageFile;

/// Bytes read from the file at a time.
pub(crate) const CHUNK: usize = 1 << 20;

/// How a record failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The file ends inside the record.
    Incomplete,
    /// The record's bytes are invalid.
    Corrupt(Corruption),
}

/// One step of a scan.
pub(crate) enum Step<'a> {
    /// A valid record starting at `offset`.
    Record { record: Record<'a>, offset: u64 },
    /// The bytes at `offset` are not a valid record.
    Failed { offset: u64, failure: Failure },
    /// The end of the file.
    End,
}

/// A cursor over the records of one file.
pub(crate) struct Scanner<'f> {
    file: &'f dyn StorageFile,
    /// The file length when the scan started: data files being scanned do not grow.
    len: u64,
    /// The offset of the next record.
    pos: u64,
    /// Bytes of the file from `buf_start`.
    buf: Vec<u8>,
    buf_start: u64,
    limits: Limits,
}

impl<'f> Scanner<'f> {
    /// A scan of `file` (of length `len`) from offset `start`.
    pub(crate) fn new(file: &'f dyn StorageFile, len: u64, start: u64, limits: Limits) -> Self {
        Scanner { file, len, pos: start, buf: Vec::new(), buf_start: start, limits }
    }

    /// Makes at least `need` bytes from `pos` available if the file has them; returns how
    /// many are available from `pos`.
    fn fill(&mut self, need: usize) -> io::Result<usize> {
        let rel = (self.pos - self.buf_start) as usize;
        let available = self.buf.len() - rel;
        if available >= need {
            return Ok(available);
        }
        self.buf.drain(..rel);
        self.buf_start = self.pos;
        let loaded_end = self.buf_start + self.buf.len() as u64;
        let file_left = (self.len - loaded_end) as usize;
        let more = (need - self.buf.len()).max(CHUNK).min(file_left);
        let old = self.buf.len();
        self.buf.resize(old + more, 0);
        self.file.read_exact_at(&mut self.buf[old..], loaded_end)?;
        Ok(self.buf.len())
    }

    /// The next record, a failure at the current offset, or the end. After a failure the
    /// scanner stays put; call [`resync`](Self::resync) to go on past it.
    pub(crate) fn next(&mut self) -> io::Result<Step<'_>> {
        let offset = self.pos;
        if offset >= self.len {
            return Ok(Step::End);
        }
        let incomplete = Step::Failed { offset, failure: Failure::Incomplete };
        if self.fill(RECORD_HEADER)? < RECORD_HEADER {
            return Ok(incomplete);
        }
        let rel = (self.pos - self.buf_start) as usize;
        let len = match format::record_len(&self.buf[rel..], self.limits) {
            Ok(len) => len,
            Err(kind) => return Ok(Step::Failed { offset, failure: Failure::Corrupt(kind) }),
        };
        if self.fill(len)? < len {
            return Ok(incomplete);
        }
        let rel = (self.pos - self.buf_start) as usize;
        match format::decode_record(&self.buf[rel..rel + len], self.limits) {
            Decoded::Item(record, used) => {
                self.pos += used as u64;
                Ok(Step::Record { record, offset })
            }
            Decoded::Corrupt(kind) => Ok(Step::Failed { offset, failure: Failure::Corrupt(kind) }),
            Decoded::Incomplete(_) => Ok(incomplete),
        }
    }

    /// Moves to the first offset after the current one where a valid record starts, and
    /// returns it; `None` (and the scanner at the end) if no valid record follows.
    ///
    /// Tries every byte offset, so it costs O(rest of file × record size) in the worst case.
    /// It only runs after damage, and a false match needs a random 32-bit CRC to agree.
    pub(crate) fn resync(&mut self) -> io::Result<Option<u64>> {
        let mut candidate = self.pos + 1;
        while candidate + RECORD_HEADER as u64 <= self.len {
            self.pos = candidate;
            if matches!(self.next()?, Step::Record { .. }) {
                self.pos = candidate;
                return Ok(Some(candidate));
            }
            candidate += 1;
        }
        self.pos = self.len;
        Ok(None)
    }
}
