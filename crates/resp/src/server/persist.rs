//! The store's side of the append-only file: replaying it at start, turning it on and off,
//! logging commands, rewrites, and the once-a-second work (`everysec` syncs, finishing and
//! starting rewrites). The log itself is in [`aof`](super::aof).

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Notify;

use super::aof::{self, Aof, Ending, FileSink, Fsync, Manifest, manifest_name};
use super::client::Client;
use super::cmd::{Ctx, execute};
use super::reply::Reply;
use super::store::{Store, unix_ms};

impl Store {
    /// The sum of the databases' change counters: a command changed the dataset if it moved.
    pub(crate) fn dirty(&self) -> u64 {
        self.dbs.iter().map(|db| db.dirty).sum()
    }

    /// Logs a command that ran in database `db`, if the AOF is on.
    pub(crate) fn propagate(&mut self, db: usize, parts: &[&[u8]]) {
        if let Some(aof) = &mut self.aof {
            aof.append(db, parts);
        }
    }

    /// The directory of the AOF parts: `<dir>/<appenddirname>`.
    fn aof_dir(&self) -> PathBuf {
        PathBuf::from(self.config.get("dir")).join(self.config.get("appenddirname"))
    }

    /// At start, with `appendonly yes`: replays the log if there is one (else creates an
    /// empty one) and starts logging. Fails if the log cannot be read or is damaged other
    /// than by a torn tail of its last part.
    pub(crate) fn open_aof(&mut self) -> io::Result<()> {
        let dir = self.aof_dir();
        let prefix = self.config.get("appendfilename").to_string();
        let fsync = Fsync::parse(self.config.get("appendfsync"));
        let manifest_path = dir.join(manifest_name(&prefix));
        let text = match std::fs::read_to_string(&manifest_path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.aof = Some(aof::create(&dir, &prefix, b"", fsync)?);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let manifest = Manifest::parse(&text).map_err(io::Error::other)?;
        let parts: Vec<_> = manifest.base.iter().chain(&manifest.incrs).cloned().collect();
        for (index, part) in parts.iter().enumerate() {
            self.replay_part(&dir.join(&part.name), &part.name, index + 1 == parts.len())?;
        }
        let base_size = manifest
            .base
            .as_ref()
            .and_then(|b| std::fs::metadata(dir.join(&b.name)).ok())
            .map_or(0, |m| m.len());
        let mut manifest = manifest;
        if manifest.incrs.is_empty() {
            // A log Redis wrote with only a base: logging needs an incr part.
            let incr = manifest.next_incr(&prefix);
            manifest.incrs.push(incr);
            aof::write_atomically(&dir, &manifest_name(&prefix), manifest.format().as_bytes())?;
        }
        let incr = manifest.incrs.last().map(|p| p.name.clone()).unwrap_or_default();
        let sink = FileSink::open(&dir.join(incr))?;
        aof::sync_dir(&dir)?;
        self.aof = Some(Aof::new(dir, prefix, manifest, Box::new(sink), fsync, base_size));
        Ok(())
    }

    /// Replays the part at `path`; `last` says whether a torn tail may be cut off.
    fn replay_part(&mut self, path: &std::path::Path, name: &str, last: bool) -> io::Result<()> {
        if name.ends_with(".rdb") {
            return Err(io::Error::other(format!(
                "{name}: RDB base files are not supported (write the base with \
                 aof-use-rdb-preamble no)"
            )));
        }
        let file = match File::open(path) {
            Ok(file) => file,
            // A manifest may name an incr part a crash kept from being created.
            Err(e) if e.kind() == io::ErrorKind::NotFound && last => return Ok(()),
            Err(e) => return Err(io::Error::new(e.kind(), format!("{name}: {e}"))),
        };
        match self.replay(io::BufReader::new(file))? {
            Ending::Complete => Ok(()),
            Ending::Truncated { valid }
                if last && self.config.get("aof-load-truncated") == "yes" =>
            {
                // Redis's "!!! Warning: short read while loading the AOF file": the torn
                // command is cut off and the rest is kept.
                let file = std::fs::OpenOptions::new().write(true).open(path)?;
                file.set_len(valid)?;
                file.sync_all()
            }
            Ending::Truncated { .. } => Err(io::Error::other(format!(
                "Unexpected end of file reading the append only file {name}"
            ))),
            Ending::BadFormat { offset } => Err(io::Error::other(format!(
                "Bad file format reading the append only file {name} at offset {offset}: \
                 make a backup of it, then repair or remove the damaged command"
            ))),
        }
    }

    /// Runs the commands of one part, as a client that never blocks and whose replies are
    /// dropped.
    fn replay(&mut self, source: impl io::Read) -> io::Result<Ending> {
        let mut client = Client::new(0, true, Arc::new(Notify::new()));
        client.in_exec = true; // nothing blocks while loading
        let mut scratch = bytes::BytesMut::new();
        let now = unix_ms();
        aof::replay(source, |args| {
            let mut ctx =
                Ctx { store: self, client: &mut client, out: Reply::new(&mut scratch, false), now };
            execute(&mut ctx, args);
            scratch.clear();
            // Nobody is subscribed yet, but recorded events must not pile up while loading.
            if self.cached.notify != 0 {
                self.publish_events();
            }
        })
    }

    /// `CONFIG SET appendonly yes` on a running server: the current dataset becomes the base
    /// of a fresh log (written before this returns).
    pub(crate) fn enable_aof(&mut self) -> io::Result<()> {
        if self.aof.is_some() {
            return Ok(());
        }
        let mut base = bytes::BytesMut::new();
        aof::snapshot(&self.dbs, unix_ms(), &mut base);
        let dir = self.aof_dir();
        let prefix = self.config.get("appendfilename").to_string();
        let fsync = Fsync::parse(self.config.get("appendfsync"));
        self.aof = Some(aof::create(&dir, &prefix, &base, fsync)?);
        Ok(())
    }

    /// `CONFIG SET appendonly no`: syncs what was logged and stops logging.
    pub(crate) fn disable_aof(&mut self) {
        if let Some(mut aof) = self.aof.take() {
            let _ = aof.sync();
        }
    }

    /// `BGREWRITEAOF`: starts a rewrite; `Err` with Redis's reply if one cannot start.
    pub(crate) fn rewrite_aof(&mut self) -> Result<(), String> {
        if self.aof.is_none() {
            // Without a log, the rewrite creates one from the dataset and stops there.
            self.enable_aof().map_err(|e| format!("ERR {e}"))?;
            self.disable_aof();
            return Ok(());
        }
        let mut base = bytes::BytesMut::new();
        aof::snapshot(&self.dbs, unix_ms(), &mut base);
        let Some(aof) = &mut self.aof else { return Ok(()) };
        if aof.rewriting.is_some() {
            return Err("ERR Background append only file rewriting already in progress".into());
        }
        aof.start_rewrite(base).map_err(|e| format!("ERR {e}"))
    }

    /// Writes the log after a batch of commands (before their replies go out). Under
    /// `always` a failure means the batch must not be acknowledged: returns false then.
    pub(crate) fn flush_aof(&mut self) -> bool {
        let Some(aof) = &mut self.aof else { return true };
        match aof.flush() {
            Ok(()) => true,
            Err(_) => aof.fsync != Fsync::Always,
        }
    }

    /// The once-a-second work: a handle to sync outside the lock (`everysec`), the end of a
    /// finished rewrite, and an automatic rewrite if the log has grown enough.
    pub(crate) fn aof_tick(&mut self) -> Option<File> {
        let percentage = self.config.get_int("auto-aof-rewrite-percentage").max(0) as u64;
        let min_size = self.config.get_int("auto-aof-rewrite-min-size").max(0) as u64;
        let aof = self.aof.as_mut()?;
        aof.finish_rewrite();
        if aof.wants_rewrite(percentage, min_size) {
            let _ = self.rewrite_aof();
        }
        let aof = self.aof.as_mut()?;
        // Retries a write that failed (under everysec/no the commands stay pending), so that
        // MISCONF lifts once the disk recovers even if no write command arrives.
        let _ = aof.flush();
        if aof.fsync == Fsync::EverySec { aof.take_sync_handle() } else { None }
    }

    /// Records the outcome of a sync done outside the lock.
    pub(crate) fn aof_synced(&mut self, result: io::Result<()>) {
        if let (Some(aof), Err(e)) = (&mut self.aof, result) {
            aof.error = Some(e.to_string());
        }
    }
}
