//! The store: a keydir in memory, an append-only log on disk, and the rules that keep them
//! agreeing through crashes.
//!
//! Writes go through one mutex (`writer`), which owns the active file: a write encodes its
//! record, appends it, fsyncs if the durability mode says so, and then points the keydir at
//! it. Reads never take the writer lock: they look the key up under the keydir's read lock,
//! take a reference to the data file, and do one positioned read, checking the record's CRC
//! and key before returning the value.
//!
//! Locks are always taken in the order writer → keydir → files, and the keydir is only
//! changed after the bytes it points at were written, so it never points at unwritten data.
//! Any failed write or fsync *poisons* the store: the disk may now hold a partial record or
//! lose data that was only in the page cache, so further writes are refused until a reopen
//! has recovered the files. Reads keep working.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result, io};
use crate::format::{self, DATA_MAGIC, Decoded, RECORD_HEADER};
use crate::keydir::{KeyDir, Loc};
use crate::options::{Durability, Options};
use crate::recovery::{self, RecoveryReport};
use crate::storage::{FsStorage, OpenMode, Storage, StorageFile};

/// One data file, open for reading (and appending, while it is the active file).
pub(crate) struct DataFile {
    pub(crate) id: u32,
    pub(crate) path: PathBuf,
    pub(crate) file: Box<dyn StorageFile>,
    /// Bytes in the file, magic included.
    pub(crate) bytes: AtomicU64,
    /// Bytes of records no key points at any more: superseded values and tombstones.
    pub(crate) dead: AtomicU64,
}

impl DataFile {
    pub(crate) fn new(id: u32, path: PathBuf, file: Box<dyn StorageFile>, bytes: u64) -> Self {
        DataFile { id, path, file, bytes: AtomicU64::new(bytes), dead: AtomicU64::new(0) }
    }
}

/// Creates data file `id` with its magic, durable: the file is fsynced, and so is the
/// directory, so that its name survives a crash too.
pub(crate) fn create_data_file(
    storage: &dyn Storage,
    dir: &Path,
    id: u32,
) -> Result<Arc<DataFile>> {
    let path = dir.join(data_name(id));
    let file = storage.open(&path, OpenMode::CreateNew).map_err(io("create", &path))?;
    file.append(&DATA_MAGIC).map_err(io("write", &path))?;
    file.sync().map_err(io("fsync", &path))?;
    storage.sync_dir(dir).map_err(io("fsync directory", dir))?;
    Ok(Arc::new(DataFile::new(id, path, file, DATA_MAGIC.len() as u64)))
}

/// The file name of data file `id`.
pub(crate) fn data_name(id: u32) -> String {
    format!("{id:010}.data")
}

/// The file name of the hint file for data file `id`.
pub(crate) fn hint_name(id: u32) -> String {
    format!("{id:010}.hint")
}

/// The write side: the active file and the counters only writers advance.
pub(crate) struct Writer {
    pub(crate) active: Arc<DataFile>,
    /// Bytes in the active file.
    pub(crate) len: u64,
    pub(crate) next_seq: u64,
    pub(crate) next_file_id: u32,
    /// Reused encoding buffer.
    buf: Vec<u8>,
}

/// Group commit's shared state: how far the log is known to be durable, and whether an
/// fsync is running.
#[derive(Default)]
struct GroupState {
    /// (file id, length): everything up to here has been fsynced.
    durable: (u32, u64),
    syncing: bool,
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) options: Options,
    pub(crate) keydir: RwLock<KeyDir>,
    pub(crate) files: RwLock<BTreeMap<u32, Arc<DataFile>>>,
    pub(crate) writer: Mutex<Writer>,
    group: Mutex<GroupState>,
    group_done: Condvar,
    poison: Mutex<Option<String>>,
    pub(crate) merging: Mutex<()>,
    /// The directory lock, released when the last reference goes.
    _lock: Box<dyn Send + Sync>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// A Bitcask store: a directory of append-only data files and an in-memory keydir.
///
/// `Bitcask` is `Send + Sync`: share it between threads with an `Arc`. Only one `Bitcask`
/// (in any process) may have a directory open at a time; a second `open` fails with
/// [`Error::Locked`].
///
/// ```
/// use byo_bitcask::{Bitcask, Options};
///
/// let dir = tempfile::tempdir()?;
/// let store = Bitcask::open(dir.path(), Options::default())?;
/// store.put(b"language", b"Rust")?;
/// assert_eq!(store.get(b"language")?.as_deref(), Some(&b"Rust"[..]));
/// store.delete(b"language")?;
/// assert_eq!(store.get(b"language")?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Bitcask {
    pub(crate) inner: Arc<Inner>,
    syncer: Option<Syncer>,
    report: RecoveryReport,
}

impl Bitcask {
    /// Opens (or creates) the store in `dir` on the real file system.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Bitcask> {
        Bitcask::open_with(dir, options, FsStorage)
    }

    /// Opens the store on a chosen [`Storage`], e.g. a
    /// [`FaultyStorage`](crate::fault::FaultyStorage) in tests.
    ///
    /// Opening recovers the files: it finishes or discards an interrupted merge, loads the
    /// keydir from hint files where they are valid and by scanning data files elsewhere, cuts
    /// a torn tail off the newest file, and applies the [`CorruptionPolicy`] to damage
    /// elsewhere. [`recovery_report`](Self::recovery_report) says what it found.
    ///
    /// [`CorruptionPolicy`]: crate::CorruptionPolicy
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: Options,
        storage: impl Storage + 'static,
    ) -> Result<Bitcask> {
        options.validate().map_err(Error::Options)?;
        let dir = dir.as_ref().to_path_buf();
        let storage: Arc<dyn Storage> = Arc::new(storage);
        storage.create_dir_all(&dir).map_err(io("create directory", &dir))?;
        let dir_lock = lock_dir(&*storage, &dir, options.lock_wait)?;
        let recovered = recovery::recover(&*storage, &dir, &options)?;
        let durable = (recovered.active.id, recovered.active_len);
        let inner = Arc::new(Inner {
            dir,
            storage,
            keydir: RwLock::new(recovered.keydir),
            files: RwLock::new(recovered.files),
            writer: Mutex::new(Writer {
                active: recovered.active,
                len: recovered.active_len,
                next_seq: recovered.next_seq,
                next_file_id: recovered.next_file_id,
                buf: Vec::new(),
            }),
            group: Mutex::new(GroupState { durable, syncing: false }),
            group_done: Condvar::new(),
            poison: Mutex::new(None),
            merging: Mutex::new(()),
            options,
            _lock: dir_lock,
        });
        let syncer = match inner.options.durability {
            Durability::Interval(every) => Some(Syncer::start(inner.clone(), every)),
            _ => None,
        };
        Ok(Bitcask { inner, syncer, report: recovered.report })
    }

    /// What opening found and repaired.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let found = {
            let keydir = read(&self.inner.keydir);
            keydir.get(key).map(|loc| (loc, self.inner.file(loc.file_id)))
        };
        match found {
            None => Ok(None),
            Some((loc, file)) => self.inner.read_value(&*file?, loc, key).map(Some),
        }
    }

    /// Whether `key` has a value. Reads no file.
    pub fn contains(&self, key: &[u8]) -> bool {
        read(&self.inner.keydir).get(key).is_some()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        read(&self.inner.keydir).len()
    }

    /// Whether the store has no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `value` under `key`. When it returns `Ok`, the write is as durable as the
    /// [`Durability`] mode promises.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.check_size("key", key.len(), 1, self.inner.options.max_key_size)?;
        self.inner.check_size("value", value.len(), 0, self.inner.options.max_value_size)?;
        self.inner.write_record(key, Some(value)).map(drop)
    }

    /// Deletes `key`, returning whether it had a value. Writes a tombstone only if it did.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.inner.check_size("key", key.len(), 1, self.inner.options.max_key_size)?;
        self.inner.write_record(key, None)
    }

    /// Every key, in no particular order: a snapshot taken now.
    pub fn keys(&self) -> Vec<Vec<u8>> {
        read(&self.inner.keydir).iter().map(|(key, _)| key.to_vec()).collect()
    }

    /// Folds over every (key, value) of a snapshot taken when it starts: writes made during
    /// the fold are not seen, and a merge cannot pull files from under it.
    pub fn fold<A>(&self, init: A, mut f: impl FnMut(A, &[u8], &[u8]) -> A) -> Result<A> {
        let (entries, files) = {
            let keydir = read(&self.inner.keydir);
            let files = read(&self.inner.files).clone();
            let entries: Vec<(Box<[u8]>, Loc)> =
                keydir.iter().map(|(key, loc)| (key.into(), loc)).collect();
            (entries, files)
        };
        let mut acc = init;
        for (key, loc) in entries {
            let file = files.get(&loc.file_id).ok_or_else(|| self.inner.missing(loc.file_id))?;
            let value = self.inner.read_value(file, loc, &key)?;
            acc = f(acc, &key, &value);
        }
        Ok(acc)
    }

    /// Makes every write so far durable, whatever the durability mode.
    pub fn sync(&self) -> Result<()> {
        self.inner.sync_now()
    }

    /// Size and garbage per data file, to decide when to [`merge`](Self::merge).
    pub fn stats(&self) -> Stats {
        let active = lock(&self.inner.writer).active.id;
        let files: Vec<FileStats> = read(&self.inner.files)
            .values()
            .map(|f| FileStats {
                id: f.id,
                bytes: f.bytes.load(Ordering::Relaxed),
                dead_bytes: f.dead.load(Ordering::Relaxed),
                active: f.id == active,
            })
            .collect();
        Stats { keys: self.len(), files }
    }

    /// Syncs and closes the store, releasing the directory lock. Dropping the store does the
    /// same but cannot report a failure.
    pub fn close(mut self) -> Result<()> {
        self.stop_syncer();
        self.inner.sync_now()
    }

    fn stop_syncer(&mut self) {
        if let Some(syncer) = self.syncer.take() {
            syncer.stop();
        }
    }
}

impl Drop for Bitcask {
    fn drop(&mut self) {
        self.stop_syncer();
        // Best effort: an error here has no one to report to, and the next open recovers.
        let _ = self.inner.sync_now();
    }
}

/// Takes the directory's writer lock, retrying for up to `wait` (see [`Options::lock_wait`]).
fn lock_dir(storage: &dyn Storage, dir: &Path, wait: Duration) -> Result<Box<dyn Send + Sync>> {
    let path = dir.join("LOCK");
    let deadline = Instant::now() + wait;
    loop {
        if let Some(guard) = storage.lock(&path).map_err(io("lock", &path))? {
            return Ok(guard);
        }
        if Instant::now() >= deadline {
            return Err(Error::Locked { path: dir.to_path_buf() });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sizes and garbage of one data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStats {
    /// The file's id (its name is the id, zero-padded, then `.data`).
    pub id: u32,
    /// Bytes in the file.
    pub bytes: u64,
    /// Bytes of records that no key points at: superseded values and tombstones.
    pub dead_bytes: u64,
    /// Whether this is the file being appended to (merge leaves it alone).
    pub active: bool,
}

/// Sizes and garbage of the whole store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Live keys.
    pub keys: usize,
    /// Every data file, by id.
    pub files: Vec<FileStats>,
}

impl Stats {
    /// Bytes in all data files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Bytes of dead records in all data files.
    pub fn dead_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.dead_bytes).sum()
    }

    /// Dead bytes over total bytes, from 0 (no garbage) towards 1.
    pub fn fragmentation(&self) -> f64 {
        match self.total_bytes() {
            0 => 0.0,
            total => self.dead_bytes() as f64 / total as f64,
        }
    }
}

impl Inner {
    fn check_size(&self, what: &'static str, len: usize, min: usize, max: u32) -> Result<()> {
        if len < min || len > max as usize {
            return Err(Error::Size { what, len, min, max: max as usize });
        }
        Ok(())
    }

    pub(crate) fn missing(&self, id: u32) -> Error {
        // The keydir only points into files in the map: a violation is a bug, reported as an
        // error rather than a panic so a reader thread survives it.
        Error::Io {
            op: "find",
            path: self.dir.join(data_name(id)),
            source: std::io::Error::other("keydir points at a file the store does not have"),
        }
    }

    pub(crate) fn file(&self, id: u32) -> Result<Arc<DataFile>> {
        read(&self.files).get(&id).cloned().ok_or_else(|| self.missing(id))
    }

    /// Reads and checks the record at `loc`, returning its value.
    pub(crate) fn read_value(&self, file: &DataFile, loc: Loc, key: &[u8]) -> Result<Vec<u8>> {
        let prefix = RECORD_HEADER + key.len();
        let mut buf = vec![0; prefix + loc.value_len as usize];
        file.file.read_exact_at(&mut buf, u64::from(loc.offset)).map_err(io("read", &file.path))?;
        let corrupt =
            |kind| Error::Corrupt { path: file.path.clone(), offset: loc.offset.into(), kind };
        match format::decode_record(&buf, self.options.limits()) {
            Decoded::Item(record, _) if record.key == key => {
                buf.drain(..prefix);
                Ok(buf)
            }
            Decoded::Corrupt(kind) => Err(corrupt(kind)),
            _ => Err(corrupt(crate::Corruption::Checksum)),
        }
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        match &*lock(&self.poison) {
            Some(why) => Err(Error::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    /// Refuses further writes; the first reason is kept.
    pub(crate) fn poison(&self, why: &Error) {
        lock(&self.poison).get_or_insert_with(|| why.to_string());
    }

    /// Poisons the store with `error` and returns it.
    pub(crate) fn fail(&self, error: Error) -> Error {
        self.poison(&error);
        error
    }

    /// Appends a put (`Some(value)`) or a tombstone (`None`) and updates the keydir. For a
    /// tombstone, returns whether the key existed (no tombstone is written if it did not).
    fn write_record(&self, key: &[u8], value: Option<&[u8]>) -> Result<bool> {
        let mut w = lock(&self.writer);
        self.check_writable()?;
        {
            let keydir = read(&self.keydir);
            match value {
                None if keydir.get(key).is_none() => return Ok(false),
                // Checked before the append, so a refused key never reaches the disk. (A key
                // already present needs no room; that lookup is made only at the limit.)
                Some(_) if !keydir.has_room(key) && keydir.get(key).is_none() => {
                    return Err(Error::KeyDirFull);
                }
                _ => {}
            }
        }
        let seq = w.next_seq;
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        format::encode_record(&mut buf, seq, key, value);
        let record_len = buf.len() as u64;
        let result = self.append(&mut w, &buf);
        w.buf = buf;
        let offset = result?;
        if self.options.durability == Durability::Always {
            w.active.file.sync().map_err(|e| self.fail(io("fsync", &w.active.path)(e)))?;
        }
        let loc = Loc {
            file_id: w.active.id,
            offset: offset as u32,
            value_len: value.map_or(0, |v| v.len() as u32),
        };
        {
            let mut keydir = write(&self.keydir);
            let old = match value {
                // Room was checked under the writer lock, which is still held.
                Some(_) => keydir.insert(key, loc).map_err(|_| self.fail(Error::KeyDirFull))?,
                None => keydir.remove(key),
            };
            let files = read(&self.files);
            if let Some(old) = old {
                let old_len = RECORD_HEADER as u64 + key.len() as u64 + u64::from(old.value_len);
                if let Some(file) = files.get(&old.file_id) {
                    file.dead.fetch_add(old_len, Ordering::Relaxed);
                }
            }
            if value.is_none() {
                w.active.dead.fetch_add(record_len, Ordering::Relaxed);
            }
        }
        let written_to = (w.active.id, w.len);
        drop(w);
        if self.options.durability == Durability::GroupCommit {
            self.wait_durable(written_to)?;
        }
        Ok(true)
    }

    /// Appends `record` to the active file, rotating first if it would not fit. Returns the
    /// offset it was written at.
    fn append(&self, w: &mut Writer, record: &[u8]) -> Result<u64> {
        if w.len + record.len() as u64 > self.options.max_file_size {
            self.rotate(w)?;
        }
        let offset = w.len;
        if let Err(e) = w.active.file.append(record) {
            // Part of the record may be on disk. Cut it off so nothing follows garbage; the
            // store is poisoned either way, and recovery would cut it too.
            let _ = w.active.file.truncate(offset);
            return Err(self.fail(io("append to", &w.active.path)(e)));
        }
        w.len += record.len() as u64;
        w.next_seq += 1;
        w.active.bytes.store(w.len, Ordering::Relaxed);
        Ok(offset)
    }

    /// Seals the active file (fsync) and starts the next one.
    fn rotate(&self, w: &mut Writer) -> Result<()> {
        w.active.file.sync().map_err(|e| self.fail(io("fsync", &w.active.path)(e)))?;
        self.advance_durable((w.active.id, w.len));
        let id = w.next_file_id;
        let file = create_data_file(&*self.storage, &self.dir, id).map_err(|e| self.fail(e))?;
        w.next_file_id += 1;
        write(&self.files).insert(id, file.clone());
        w.active = file;
        w.len = DATA_MAGIC.len() as u64;
        Ok(())
    }

    fn advance_durable(&self, to: (u32, u64)) {
        let mut group = lock(&self.group);
        group.durable = group.durable.max(to);
    }

    /// fsyncs the active file now, covering everything written so far.
    fn sync_now(&self) -> Result<()> {
        self.check_writable()?;
        let (file, upto) = {
            let w = lock(&self.writer);
            (w.active.clone(), (w.active.id, w.len))
        };
        file.file.sync().map_err(|e| self.fail(io("fsync", &file.path)(e)))?;
        self.advance_durable(upto);
        Ok(())
    }

    /// Group commit: returns once the log is durable up to `target`. Whoever finds no fsync
    /// running becomes the leader and fsyncs everything written so far, for all waiters;
    /// the others wait for a leader whose fsync covers them.
    fn wait_durable(&self, target: (u32, u64)) -> Result<()> {
        let mut group = lock(&self.group);
        loop {
            self.check_writable()?;
            if group.durable >= target {
                return Ok(());
            }
            if group.syncing {
                group = self.group_done.wait(group).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            group.syncing = true;
            drop(group);
            let synced = self.sync_now();
            group = lock(&self.group);
            group.syncing = false;
            self.group_done.notify_all();
            synced?;
        }
    }
}

/// The background thread of [`Durability::Interval`].
struct Syncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Syncer {
    fn start(inner: Arc<Inner>, every: Duration) -> Syncer {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::spawn(move || {
            let (stopped, wake) = &*signal;
            let mut stopped = lock(stopped);
            while !*stopped {
                let (guard, _) =
                    wake.wait_timeout(stopped, every).unwrap_or_else(PoisonError::into_inner);
                stopped = guard;
                if !*stopped {
                    // A failure poisons the store; writers see it on their next call.
                    let _ = inner.sync_now();
                }
            }
        });
        Syncer { stop, thread }
    }

    fn stop(self) {
        *lock(&self.stop.0) = true;
        self.stop.1.notify_all();
        let _ = self.thread.join();
    }
}
