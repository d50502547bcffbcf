//! Persistence: the append-only file (AOF).
//!
//! Every command that changed the dataset is appended to a log, in the protocol clients speak;
//! on start the log is replayed through the ordinary command dispatcher. Three questions shape
//! the design.
//!
//! **What is logged.** A command is logged if it is a write command and it changed something
//! (the databases count changes, like Redis's `server.dirty`). A command whose effect depends
//! on when or by chance it ran is logged as the deterministic command that has the same effect:
//! `EXPIRE k 10` as `PEXPIREAT k <absolute ms>`, `SET k v EX 10` as `SET k v PXAT <ms>`,
//! `INCRBYFLOAT` as `SET ... KEEPTTL` with the result, `SPOP` as `SREM` of what it popped, and
//! a pop performed for a blocked client as the plain pop. Replay then rebuilds exactly the
//! dataset that was acknowledged. Keys that expire are not logged as deleted: the replayed
//! `PEXPIREAT` puts the same deadline back, and the deadline has passed on replay too. The
//! commands of a transaction are logged between `MULTI` and `EXEC`, so that replay applies
//! them all or none.
//!
//! **When it reaches the disk.** The log is appended once per batch of pipelined commands,
//! before their replies are written, while the store's lock is held (so the log's order is the
//! order in which commands ran). `appendfsync always` also syncs before replying, so an
//! acknowledged write survives a power cut; `everysec` syncs once a second from another
//! thread, so up to a second of writes can be lost; `no` leaves it to the kernel. If writing
//! fails, write commands are refused with `MISCONF` until a write succeeds again, and under
//! `always` the failed batch is not acknowledged at all: its connection is closed without
//! its replies.
//!
//! **How it stays small.** The log is a directory of parts in Redis 7's layout
//! ([`manifest`]): a base snapshot and incr files. A rewrite (`BGREWRITEAOF`, or automatically
//! when the incr part has grown by `auto-aof-rewrite-percentage` of the base and is at least
//! `auto-aof-rewrite-min-size`) snapshots the dataset as commands ([`rewrite`]) under the lock,
//! switches logging to a new incr file, and writes the snapshot to disk on another thread; the
//! manifest, replaced atomically, then names the new base and the new incr file, and the old
//! parts are deleted. A crash at any point leaves a manifest whose parts rebuild the dataset.
//!
//! Replay ([`load`]) truncates a torn tail of the last part, as Redis does with
//! `aof-load-truncated yes`, and refuses to start on anything else that is not a command.

mod load;
mod manifest;
mod rewrite;
mod sink;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::BytesMut;

use super::reply::Reply;
pub(crate) use load::{Ending, replay};
pub(crate) use manifest::{Manifest, Part};
pub(crate) use rewrite::snapshot;
pub(crate) use sink::{FileSink, Sink, sync_dir, write_atomically};

/// Appends `parts` to `out` as a RESP array of bulk strings (a command as clients send it),
/// with the server's reply writer.
pub(crate) fn encode_command(out: &mut BytesMut, parts: &[&[u8]]) {
    let mut writer = Reply::new(out, false);
    writer.array_len(parts.len());
    for part in parts {
        writer.bulk(part);
    }
}

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub(crate) fn parse(text: &str) -> Fsync {
        match text {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// A rewrite whose snapshot is being written by another thread.
#[derive(Debug)]
pub(crate) struct Rewriting {
    /// The base part being written.
    base: Part,
    /// The incr parts the new base makes obsolete (every one before the current).
    obsolete: Vec<Part>,
    /// Set by the writing thread when it is done: the base's size, or why it failed.
    done: Arc<Mutex<Option<Result<u64, String>>>>,
}

/// The log, as the store drives it (under the store's lock).
#[derive(Debug)]
pub(crate) struct Aof {
    pub(crate) dir: PathBuf,
    prefix: String,
    manifest: Manifest,
    /// The incr part commands are appended to.
    sink: Box<dyn Sink>,
    /// Commands logged since the last write to `sink`.
    pending: BytesMut,
    /// The database the log's last `SELECT` chose.
    selected: Option<usize>,
    pub(crate) fsync: Fsync,
    /// Inside `EXEC`: whether its `MULTI` was logged yet.
    in_exec: Option<bool>,
    /// Set when a handler logged its own form of the command that is running.
    pub(crate) replaced: bool,
    /// Written and not yet synced (for `everysec`).
    unsynced: bool,
    /// Why the last write or sync failed, while it does (`MISCONF`).
    pub(crate) error: Option<String>,
    pub(crate) base_size: u64,
    pub(crate) rewriting: Option<Rewriting>,
    pub(crate) last_rewrite_ok: bool,
}

impl Aof {
    /// The log over an already open incr part named in `manifest`.
    pub(crate) fn new(
        dir: PathBuf,
        prefix: String,
        manifest: Manifest,
        sink: Box<dyn Sink>,
        fsync: Fsync,
        base_size: u64,
    ) -> Aof {
        Aof {
            dir,
            prefix,
            manifest,
            sink,
            pending: BytesMut::new(),
            selected: None,
            fsync,
            in_exec: None,
            replaced: false,
            unsynced: false,
            error: None,
            base_size,
            rewriting: None,
            last_rewrite_ok: true,
        }
    }

    /// Logs a command that ran in database `db`.
    pub(crate) fn append(&mut self, db: usize, parts: &[&[u8]]) {
        if self.in_exec == Some(false) {
            encode_command(&mut self.pending, &[b"MULTI"]);
            self.in_exec = Some(true);
        }
        if self.selected != Some(db) {
            encode_command(&mut self.pending, &[b"SELECT", db.to_string().as_bytes()]);
            self.selected = Some(db);
        }
        encode_command(&mut self.pending, parts);
    }

    /// `EXEC` starts running its queue: its commands are logged as a transaction.
    pub(crate) fn begin_exec(&mut self) {
        self.in_exec = Some(false);
    }

    /// A script starts: its writes are logged as one transaction, closed by
    /// [`Aof::end_exec`]. Returns false, changing nothing, inside `EXEC`, whose transaction
    /// holds them already.
    pub(crate) fn begin_script(&mut self) -> bool {
        if self.in_exec.is_some() {
            return false;
        }
        self.in_exec = Some(false);
        true
    }

    /// `EXEC` is done: closes the transaction if anything in it was logged.
    pub(crate) fn end_exec(&mut self) {
        if self.in_exec.take() == Some(true) {
            encode_command(&mut self.pending, &[b"EXEC"]);
        }
    }

    /// Writes what was logged since the last call, and syncs under `always`. On failure the
    /// log keeps it to try again, records the error, and returns it.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self
            .sink
            .append(&self.pending)
            .and_then(|()| if self.fsync == Fsync::Always { self.sink.sync() } else { Ok(()) });
        match result {
            Ok(()) => {
                self.pending.clear();
                self.unsynced = self.fsync != Fsync::Always;
                self.error = None;
                Ok(())
            }
            Err(e) => {
                self.error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// For `everysec`: a handle to sync outside the lock, if anything was written since the
    /// last sync.
    pub(crate) fn take_sync_handle(&mut self) -> Option<File> {
        if !self.unsynced {
            return None;
        }
        self.unsynced = false;
        self.sink.sync_handle()
    }

    /// Syncs now (turning the AOF off, or shutting down).
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        self.sink.sync()
    }

    /// The size of the log: the base plus the current incr part.
    pub(crate) fn current_size(&self) -> u64 {
        self.base_size + self.sink.len()
    }

    /// Whether the incr part has grown enough for an automatic rewrite.
    pub(crate) fn wants_rewrite(&self, percentage: u64, min_size: u64) -> bool {
        let grown = self.sink.len();
        percentage > 0
            && self.rewriting.is_none()
            && grown >= min_size
            && grown.saturating_mul(100) >= self.base_size.saturating_mul(percentage)
    }

    /// Starts a rewrite from `snapshot`, the dataset as commands: logging moves to a new incr
    /// part (named in the manifest at once, so a crash replays old base, old incr, new incr),
    /// and a thread writes the snapshot as the new base. Call [`Aof::finish_rewrite`] later.
    pub(crate) fn start_rewrite(&mut self, snapshot: BytesMut) -> io::Result<()> {
        self.flush()?;
        self.sink.sync()?;
        let incr = self.manifest.next_incr(&self.prefix);
        let sink = FileSink::open(&self.dir.join(&incr.name))?;
        sync_dir(&self.dir)?;
        let mut manifest = self.manifest.clone();
        let obsolete = manifest.incrs.clone();
        manifest.incrs.push(incr);
        self.commit(manifest)?;
        self.sink = Box::new(sink);
        self.selected = None;
        let base = self.manifest.next_base(&self.prefix);
        let done = Arc::new(Mutex::new(None));
        let (dir, name, slot) = (self.dir.clone(), base.name.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let result = write_atomically(&dir, &name, &snapshot)
                .map(|()| snapshot.len() as u64)
                .map_err(|e| e.to_string());
            *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
        });
        self.rewriting = Some(Rewriting { base, obsolete, done });
        Ok(())
    }

    /// If the rewrite's snapshot is written: names it in the manifest as the base, with the
    /// incr parts since, and deletes the parts it replaces. Returns whether a rewrite ended.
    pub(crate) fn finish_rewrite(&mut self) -> bool {
        let Some(rewriting) = &self.rewriting else { return false };
        let outcome =
            rewriting.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let Some(outcome) = outcome else { return false };
        let Some(rewriting) = self.rewriting.take() else { return false };
        let result = outcome.map_err(io::Error::other).and_then(|size| {
            let mut manifest = self.manifest.clone();
            let old_base = manifest.base.replace(rewriting.base.clone());
            manifest.incrs.retain(|part| !rewriting.obsolete.contains(part));
            self.commit(manifest)?;
            for part in old_base.iter().chain(&rewriting.obsolete) {
                let _ = std::fs::remove_file(self.dir.join(&part.name));
            }
            self.base_size = size;
            Ok(())
        });
        if result.is_err() {
            let _ = std::fs::remove_file(self.dir.join(&rewriting.base.name));
        }
        self.last_rewrite_ok = result.is_ok();
        true
    }

    /// Replaces the manifest on disk, then in memory.
    fn commit(&mut self, manifest: Manifest) -> io::Result<()> {
        write_atomically(&self.dir, &manifest_name(&self.prefix), manifest.format().as_bytes())?;
        self.manifest = manifest;
        Ok(())
    }
}

/// The manifest's file name: `<appendfilename>.manifest`.
pub(crate) fn manifest_name(prefix: &str) -> String {
    format!("{prefix}.manifest")
}

/// Creates a fresh log in `dir` holding `snapshot` as its base, replacing whatever log was
/// there (whose parts are deleted once the new manifest is in place).
pub(crate) fn create(dir: &Path, prefix: &str, snapshot: &[u8], fsync: Fsync) -> io::Result<Aof> {
    std::fs::create_dir_all(dir)?;
    let old = std::fs::read_to_string(dir.join(manifest_name(prefix)))
        .ok()
        .and_then(|text| Manifest::parse(&text).ok());
    let previous = old.clone().unwrap_or_default();
    let base = previous.next_base(prefix);
    let incr = previous.next_incr(prefix);
    write_atomically(dir, &base.name, snapshot)?;
    let sink = FileSink::open(&dir.join(&incr.name))?;
    sync_dir(dir)?;
    let manifest = Manifest { base: Some(base), incrs: vec![incr], history: Vec::new() };
    write_atomically(dir, &manifest_name(prefix), manifest.format().as_bytes())?;
    if let Some(old) = old {
        for part in old.base.iter().chain(&old.incrs).chain(&old.history) {
            let _ = std::fs::remove_file(dir.join(&part.name));
        }
    }
    let base_size = snapshot.len() as u64;
    Ok(Aof::new(dir.to_path_buf(), prefix.to_string(), manifest, Box::new(sink), fsync, base_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that fails when told to.
    #[derive(Debug, Default)]
    struct FlakyDisk {
        data: Arc<Mutex<Vec<u8>>>,
        synced: Arc<Mutex<usize>>,
        fail: Arc<Mutex<bool>>,
    }

    impl Sink for FlakyDisk {
        fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
            if *self.fail.lock().unwrap() {
                return Err(io::Error::other("No space left on device"));
            }
            self.data.lock().unwrap().extend_from_slice(bytes);
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            if *self.fail.lock().unwrap() {
                return Err(io::Error::other("Input/output error"));
            }
            *self.synced.lock().unwrap() = self.data.lock().unwrap().len();
            Ok(())
        }
        fn sync_handle(&self) -> Option<File> {
            None
        }
        fn len(&self) -> u64 {
            self.data.lock().unwrap().len() as u64
        }
    }

    fn log_over(disk: FlakyDisk, fsync: Fsync) -> Aof {
        let manifest = Manifest::default();
        Aof::new(PathBuf::from("."), "appendonly.aof".into(), manifest, Box::new(disk), fsync, 0)
    }

    #[test]
    fn under_always_a_flush_is_synced_before_it_returns() {
        let disk = FlakyDisk::default();
        let (data, synced) = (Arc::clone(&disk.data), Arc::clone(&disk.synced));
        let mut aof = log_over(disk, Fsync::Always);
        aof.append(0, &[b"SET", b"k", b"v"]);
        aof.flush().unwrap();
        let expected =
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        assert_eq!(&data.lock().unwrap()[..], &expected[..]);
        assert_eq!(*synced.lock().unwrap(), expected.len());
    }

    #[test]
    fn a_failed_write_is_kept_reported_and_retried() {
        let disk = FlakyDisk::default();
        let (data, fail) = (Arc::clone(&disk.data), Arc::clone(&disk.fail));
        let mut aof = log_over(disk, Fsync::EverySec);
        *fail.lock().unwrap() = true;
        aof.append(3, &[b"INCR", b"n"]);
        assert!(aof.flush().is_err());
        assert_eq!(aof.error.as_deref(), Some("No space left on device"));
        assert!(data.lock().unwrap().is_empty());
        *fail.lock().unwrap() = false;
        aof.append(3, &[b"INCR", b"n"]);
        aof.flush().unwrap();
        assert_eq!(aof.error, None);
        let written = data.lock().unwrap().clone();
        let mut commands = 0;
        replay(&written[..], |_| commands += 1).unwrap();
        assert_eq!(commands, 3, "SELECT and both INCRs, in order, nothing lost");
    }

    #[test]
    fn a_transaction_is_logged_whole() {
        let disk = FlakyDisk::default();
        let data = Arc::clone(&disk.data);
        let mut aof = log_over(disk, Fsync::No);
        aof.begin_exec();
        aof.end_exec();
        aof.begin_exec();
        aof.append(0, &[b"INCR", b"a"]);
        aof.append(0, &[b"INCR", b"b"]);
        aof.end_exec();
        aof.flush().unwrap();
        let mut names = Vec::new();
        replay(&data.lock().unwrap()[..], |args| names.push(args[0].clone())).unwrap();
        let names: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
        assert_eq!(names, vec![&b"MULTI"[..], b"SELECT", b"INCR", b"INCR", b"EXEC"]);
    }
}
