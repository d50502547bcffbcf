//! A storage layer that fails on command: short (torn) writes, a full disk, failing fsyncs.
//!
//! Wrap any [`Storage`] (normally [`FsStorage`](crate::FsStorage)) and arm faults from the
//! test while the store runs on top of it:
//!
//! ```
//! use byo_bitcask::{Bitcask, Options};
//! use byo_bitcask::fault::FaultyStorage;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let disk = FaultyStorage::new(byo_bitcask::FsStorage);
//! let store = Bitcask::open_with(dir.path(), Options::default(), disk.clone()).unwrap();
//! disk.fail_syncs(true);
//! assert!(store.put(b"k", b"v").is_err()); // the fsync failed, so the put is not acknowledged
//! assert!(store.put(b"k2", b"v").is_err()); // and the store refuses writes until reopened
//! ```

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::storage::{OpenMode, Storage, StorageFile};

/// The faults armed now, shared by the storage and every file it opened.
#[derive(Debug, Default)]
struct Plan {
    /// Bytes appended through this layer so far.
    written: u64,
    /// An append crossing this total writes up to it, then fails.
    short_write_at: Option<u64>,
    /// Appends that would cross this total fail with "no space", writing nothing.
    disk_full_at: Option<u64>,
    /// Every file and directory fsync fails.
    fail_syncs: bool,
    /// Mutating operations (append, fsync, truncate, create, rename, remove) so far.
    mutations: u64,
    /// Once `mutations` reaches this, every mutating operation fails: the process "died".
    crash_at: Option<u64>,
}

impl Plan {
    /// Counts a mutating operation, or refuses it if the crash point has passed.
    fn mutate(&mut self) -> io::Result<()> {
        if self.crash_at.is_some_and(|at| self.mutations >= at) {
            return Err(io::Error::other("injected crash: no further writes reach the disk"));
        }
        self.mutations += 1;
        Ok(())
    }
}

/// A [`Storage`] wrapper whose faults are armed by the test. Clones share one plan.
#[derive(Clone, Debug)]
pub struct FaultyStorage {
    inner: Arc<dyn Storage>,
    plan: Arc<Mutex<Plan>>,
}

impl FaultyStorage {
    /// Wraps `inner`, with no fault armed.
    pub fn new(inner: impl Storage + 'static) -> Self {
        FaultyStorage { inner: Arc::new(inner), plan: Arc::default() }
    }

    fn plan(&self) -> MutexGuard<'_, Plan> {
        lock(&self.plan)
    }

    /// After `bytes` more bytes, an append writes only up to that point and then fails, as a
    /// crash or an I/O error mid-write would leave it.
    pub fn short_write_after(&self, bytes: u64) {
        let mut plan = self.plan();
        plan.short_write_at = Some(plan.written + bytes);
    }

    /// After `bytes` more bytes, appends fail with "no space left on device".
    pub fn disk_full_after(&self, bytes: u64) {
        let mut plan = self.plan();
        plan.disk_full_at = Some(plan.written + bytes);
    }

    /// Makes every fsync (of files and directories) fail, or succeed again.
    pub fn fail_syncs(&self, fail: bool) {
        self.plan().fail_syncs = fail;
    }

    /// After `operations` more mutating operations (appends, fsyncs, truncations, creations,
    /// renames, removals), every one fails, as if the process had died there: nothing after
    /// that point reaches the disk. Walking `operations` over 0, 1, 2, ... crashes a
    /// multi-step procedure, such as a merge, at each of its steps in turn.
    pub fn crash_after(&self, operations: u64) {
        let mut plan = self.plan();
        plan.crash_at = Some(plan.mutations + operations);
    }

    /// Mutating operations performed so far (see [`crash_after`](Self::crash_after)).
    pub fn mutations(&self) -> u64 {
        self.plan().mutations
    }

    /// Disarms every fault.
    pub fn heal(&self) {
        let mut plan = self.plan();
        plan.short_write_at = None;
        plan.disk_full_at = None;
        plan.fail_syncs = false;
        plan.crash_at = None;
    }

    /// Bytes appended through this layer so far.
    pub fn bytes_written(&self) -> u64 {
        self.plan().written
    }
}

fn lock(plan: &Mutex<Plan>) -> MutexGuard<'_, Plan> {
    plan.lock().unwrap_or_else(PoisonError::into_inner)
}

fn sync_fault(plan: &Mutex<Plan>) -> io::Result<()> {
    let mut plan = lock(plan);
    plan.mutate()?;
    if plan.fail_syncs {
        return Err(io::Error::other("injected fsync failure"));
    }
    Ok(())
}

fn mutation(plan: &Mutex<Plan>) -> io::Result<()> {
    lock(plan).mutate()
}

impl Storage for FaultyStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn StorageFile>> {
        if mode == OpenMode::CreateNew {
            mutation(&self.plan)?;
        }
        let inner = self.inner.open(path, mode)?;
        Ok(Box::new(FaultyFile { inner, plan: self.plan.clone() }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        mutation(&self.plan)?;
        self.inner.remove(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        mutation(&self.plan)?;
        self.inner.rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sync_fault(&self.plan)?;
        self.inner.sync_dir(dir)
    }

    fn lock(&self, path: &Path) -> io::Result<Option<Box<dyn Send + Sync>>> {
        self.inner.lock(path)
    }
}

struct FaultyFile {
    inner: Box<dyn StorageFile>,
    plan: Arc<Mutex<Plan>>,
}

impl StorageFile for FaultyFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }

    fn append(&self, data: &[u8]) -> io::Result<()> {
        let mut plan = lock(&self.plan);
        plan.mutate()?;
        let end = plan.written + data.len() as u64;
        if plan.disk_full_at.is_some_and(|full| end > full) {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "injected: disk full"));
        }
        if let Some(at) = plan.short_write_at.filter(|&at| end > at) {
            let keep = (at - plan.written) as usize;
            self.inner.append(&data[..keep])?;
            plan.written += keep as u64;
            plan.short_write_at = None;
            return Err(io::Error::new(io::ErrorKind::WriteZero, "injected: short write"));
        }
        self.inner.append(data)?;
        plan.written = end;
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        sync_fault(&self.plan)?;
        self.inner.sync()
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        mutation(&self.plan)?;
        self.inner.truncate(len)
    }
}
