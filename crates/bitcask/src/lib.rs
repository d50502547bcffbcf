//! A Bitcask key-value store that never loses an acknowledged write.
//!
//! Bitcask (Sheehy and Smith, Basho, 2010) is the simplest storage engine that is still
//! fast and robust: every write is appended to a log file, and an in-memory hash table, the
//! *keydir*, remembers where each key's newest value is. A read is one hash lookup and one
//! positioned read. Old values are garbage until *merge* rewrites the live ones into new files.
//!
//! ```text
//!   keydir (memory)                      data files (disk, append-only)
//!   ┌────────────┬────────────────┐      0000000003.data  [rec][rec][rec]...       immutable
//!   │ "apple"    │ file 4, off 96 │───┐  0000000004.data  [rec][rec][rec][rec]...  active
//!   │ "pear"     │ file 3, off 8  │   └──────────────────────────▲
//!   └────────────┴────────────────┘
//! ```
//!
//! What makes this one a reference implementation rather than a sketch is the crash story:
//!
//! - every record carries a CRC-32 and a sequence number, and lengths are checked against
//!   limits before anything is allocated ([`format`](mod@format));
//! - four [`Durability`] modes, from an fsync per write to none, with group commit sharing
//!   fsyncs between concurrent writers; a new file is followed by a directory fsync;
//! - on open, a torn tail is cut off before anything is appended after it, and other damage is
//!   handled by a [`CorruptionPolicy`] ([`recovery`](crate::RecoveryReport));
//! - merge runs while the store serves, and commits through one manifest so that a crash at
//!   any step loses nothing and resurrects nothing ([`merge`]);
//! - a failed write or fsync makes the store refuse writes until reopened;
//! - all I/O goes through a [`Storage`] trait, so tests inject faults ([`fault`]).
//!
//! # Quick start
//!
//! ```
//! use byo_bitcask::{Bitcask, Durability, Options};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Bitcask::open(dir.path(), Options::default().durability(Durability::Always))?;
//! store.put(b"apple", b"red")?;
//! store.put(b"apple", b"green")?; // the old record is now dead space
//! assert_eq!(store.get(b"apple")?, Some(b"green".to_vec()));
//! store.merge()?; // reclaims it
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod error;
pub mod fault;
pub mod format;
mod keydir;
pub mod merge;
mod options;
mod recovery;
mod scan;
mod storage;
mod store;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use crate::error::{Corruption, Error, Result};
pub use crate::merge::{MergeReport, MergeTrigger};
pub use crate::options::{CorruptionPolicy, Durability, Options};
pub use crate::recovery::{RecoveryReport, Skipped, TornTail};
pub use crate::storage::{FsStorage, OpenMode, Storage, StorageFile};
pub use crate::store::{Bitcask, FileStats, Stats};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
