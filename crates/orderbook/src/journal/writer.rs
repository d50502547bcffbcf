//! Appending to a journal: [`JournalWriter`] buffers commands into records and makes each group
//! durable with one write and one fsync, over any [`JournalFile`].

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use super::{Context, JournalError, MAGIC, push_command, scan, seal};
use crate::types::Command;

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
    /// The record being filled in `pending`, if one is.
    open: Option<Context>,
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
        push_command(&mut self.pending, &mut self.open, command);
    }

    /// Writes and fsyncs everything appended since the last commit. After a failure the
    /// writer is poisoned: what reached the disk is unknown until the journal is reopened.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        if let Some(record) = self.open.take() {
            seal(&mut self.pending, record.start);
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
