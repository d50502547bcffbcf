//! How a store is opened: durability, corruption handling, limits.

use std::time::Duration;

/// When a write reaches stable storage, relative to `put` and `delete` returning.
///
/// | mode | a returned write survives | fsyncs |
/// |---|---|---|
/// | `Always` | power loss, kill -9 | one per write, under the write lock |
/// | `GroupCommit` | power loss, kill -9 | one per *batch* of concurrent writers |
/// | `Interval(d)` | kill -9; power loss loses up to `d` | one per `d`, in the background |
/// | `Never` | kill -9 (the OS has the data); power loss may lose anything unsynced | only on `sync`, rotation, merge and close |
///
/// In every mode a new file is followed by an fsync of the directory, and a file is fsynced
/// before the store moves on to the next one, so only the newest file can have a torn tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync every write before acknowledging it.
    Always,
    /// Writers append, then wait until a shared fsync covers their write: whoever arrives
    /// when no fsync is running starts one for everyone written so far. Concurrent writers
    /// share fsyncs, so throughput grows with the number of writers while every acknowledged
    /// write is durable.
    GroupCommit,
    /// A background thread fsyncs at this interval.
    Interval(Duration),
    /// Never fsync on the write path.
    Never,
}

/// What to do, when opening, with a damaged record that is not at the torn tail of the newest
/// file (a torn tail is always cut away: it is a write the crash interrupted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorruptionPolicy {
    /// Refuse to open, naming the file and offset ([`Error::Corrupt`](crate::Error::Corrupt)).
    Fail,
    /// Skip to the next valid record, and list what was skipped in the
    /// [`RecoveryReport`](crate::RecoveryReport). The damaged records' keys fall back to their
    /// previous values, if any.
    Skip,
}

/// Options for [`Bitcask::open`](crate::Bitcask::open).
#[derive(Clone, Debug)]
pub struct Options {
    /// When writes become durable. Default: [`Durability::GroupCommit`].
    pub durability: Durability,
    /// Damaged records found when opening. Default: [`CorruptionPolicy::Fail`].
    pub corruption: CorruptionPolicy,
    /// The active file is closed and a new one started when a write would take it past this
    /// many bytes. Default 256 MiB; at most 4 GiB (offsets are 32-bit).
    pub max_file_size: u64,
    /// The largest key, in bytes. Default 64 KiB.
    pub max_key_size: u32,
    /// The largest value, in bytes. Default 64 MiB; must leave a record within
    /// `max_file_size`.
    pub max_value_size: u32,
    /// How long `open` keeps trying to take the directory lock before it reports
    /// [`Error::Locked`](crate::Error::Locked). Default 1 s.
    ///
    /// A lock can be held for a moment by a process that is not a writer at all: a child
    /// forked by any thread of this process shares the lock's file descriptor until it execs,
    /// so a store closed and reopened while a process is being spawned would otherwise find
    /// itself locked out by its own past.
    pub lock_wait: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::GroupCommit,
            corruption: CorruptionPolicy::Fail,
            max_file_size: 256 << 20,
            max_key_size: 64 << 10,
            max_value_size: 64 << 20,
            lock_wait: Duration::from_secs(1),
        }
    }
}

impl Options {
    /// Sets [`durability`](Self::durability).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets [`corruption`](Self::corruption).
    pub fn corruption(mut self, policy: CorruptionPolicy) -> Self {
        self.corruption = policy;
        self
    }

    /// Sets [`max_file_size`](Self::max_file_size).
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Sets [`max_key_size`](Self::max_key_size).
    pub fn max_key_size(mut self, bytes: u32) -> Self {
        self.max_key_size = bytes;
        self
    }

    /// Sets [`max_value_size`](Self::max_value_size).
    pub fn max_value_size(mut self, bytes: u32) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Sets [`lock_wait`](Self::lock_wait).
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    pub(crate) fn limits(&self) -> crate::format::Limits {
        crate::format::Limits { max_key: self.max_key_size, max_value: self.max_value_size }
    }

    /// Checks that the limits fit together; the message says which does not.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let record = crate::format::RECORD_HEADER as u64
            + u64::from(self.max_key_size)
            + u64::from(self.max_value_size);
        if self.max_file_size > u64::from(u32::MAX) {
            return Err(format!("max_file_size {} is above 4 GiB", self.max_file_size));
        }
        if self.max_key_size == 0 || self.max_value_size == u32::MAX {
            return Err("max_key_size must be at least 1 and max_value_size below 4 GiB".into());
        }
        if record + 8 > self.max_file_size {
            return Err(format!(
                "a record of the largest key and value ({record} bytes) does not fit in \
                 max_file_size {}",
                self.max_file_size
            ));
        }
        if self.durability == Durability::Interval(std::time::Duration::ZERO) {
            return Err("Durability::Interval needs a non-zero interval".into());
        }
        Ok(())
    }
}
