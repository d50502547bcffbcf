//! Errors, with the context a user needs to act on them.

use std::io;
use std::path::PathBuf;

/// What is wrong with bytes that should have been a record, hint or header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// The stored CRC does not match the bytes.
    #[error("checksum mismatch")]
    Checksum,
    /// A key length of 0 or above the configured maximum.
    #[error("key length {0} is out of range")]
    KeyLength(u32),
    /// A value length above the configured maximum.
    #[error("value length {0} is out of range")]
    ValueLength(u32),
    /// The file does not start with the magic bytes of its kind.
    #[error("bad magic bytes: not a byo-bitcask file of this kind")]
    Magic,
    /// The file ends inside a record that is not its last.
    #[error("file ends inside a record")]
    Truncated,
}

/// Everything that can go wrong in a [`Bitcask`](crate::Bitcask).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "append to", "fsync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Another process (or another `Bitcask` in this one) has the store open for writing.
    #[error("{} is locked by another writer; close it there first", path.display())]
    Locked {
        /// The store's directory.
        path: PathBuf,
    },
    /// A record in the middle of a data file failed its checks, and the store was opened
    /// with [`CorruptionPolicy::Fail`](crate::CorruptionPolicy::Fail).
    #[error("{} is corrupt at offset {offset}: {kind}; open with CorruptionPolicy::Skip \
             to skip damaged records, or restore the file", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Where the damaged record starts.
        offset: u64,
        /// What is wrong.
        kind: Corruption,
    },
    /// A file in the directory is named like a store file but is not one.
    #[error("{} is not a byo-bitcask file ({kind}); move it out of the store directory",
            path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Why it was rejected.
        kind: Corruption,
    },
    /// An empty key, or a key or value above the configured maximum.
    #[error("{what} of {len} bytes is out of range (allowed: {min} to {max})")]
    Size {
        /// "key" or "value".
        what: &'static str,
        /// The size given.
        len: usize,
        /// The smallest allowed.
        min: usize,
        /// The largest allowed.
        max: usize,
    },
    /// An earlier write or fsync failed, so the store no longer knows what reached the disk.
    /// Reads still work; reopen the store to recover and write again.
    #[error("an earlier write failed ({0}); the store is read-only until reopened")]
    Poisoned(String),
    /// The options do not fit together.
    #[error("invalid options: {0}")]
    Options(String),
    /// The keys of the store no longer fit in the keydir's 4 GiB key arena.
    #[error("the store's keys take more than 4 GiB of memory; delete keys or use shorter ones")]
    KeyDirFull,
    /// A merge is already running on this store.
    #[error("a merge is already running")]
    MergeRunning,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps an `io::Error` with what was being done and to which path.
pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { op, path, source }
}
