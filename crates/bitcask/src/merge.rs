//! Merge: rewriting the live records of the immutable files into fresh files, and dropping the
//! rest, while the store keeps serving reads and writes.
//!
//! A log-structured store never overwrites, so every update and delete leaves a dead record
//! behind. Merge reclaims that space. It takes every data file except the active one as its
//! *inputs*, copies each record that the keydir still points at into new *output* files
//! (keeping its sequence number), writes a hint file for each output, and then swaps the
//! outputs in for the inputs.
//!
//! The swap must be atomic across a crash, and deleting files one by one is not: deleting a
//! file that holds a tombstone before the older file that holds the deleted value would bring
//! the value back. So a merge is committed by a single file, the *manifest*:
//!
//! ```text
//!   1. write outputs as NNN.data.tmp + NNN.hint.tmp; fsync them and the directory
//!   2. write MERGE.tmp (inputs, outputs), fsync, rename to MERGE, fsync the directory  ← commit
//!   3. rename the outputs to NNN.data / NNN.hint; fsync the directory
//!   4. point the keydir at the outputs (only where it still points at the input record)
//!   5. delete the inputs; fsync the directory; delete MERGE; fsync the directory
//! ```
//!
//! A crash before step 2 leaves `*.tmp` files, which the next open deletes: the inputs are
//! untouched. A crash after it leaves `MERGE`, and the next open finishes steps 3 and 5 from it.
//! Either way no record is lost and no deleted key returns. Records that are copied but then
//! overwritten or deleted while the merge runs are safe too: step 4 leaves such keys alone,
//! and on reopen the newer record wins because merged files (which start with their own
//! magic) are loaded before the files the store appended to.
//!
//! Tombstones are not copied. That is safe because all immutable files are merged together:
//! any older record of a deleted key is in an input too, and leaves with it.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, TryLockError};

use crate::error::{Corruption, Error, Result, io};
use crate::format::Record;
use crate::format::{self, HINT_MAGIC, Hint, HintTrailer, MERGED_MAGIC, Manifest, RECORD_HEADER};
use crate::keydir::Loc;
use crate::scan::{Scanner, Step};
use crate::storage::{OpenMode, Storage, StorageFile};
use crate::store::{Bitcask, DataFile, Inner, data_name, hint_name, lock, read, write};

/// The manifest that commits a merge.
pub(crate) const MANIFEST: &str = "MERGE";
const MANIFEST_TMP: &str = "MERGE.tmp";
/// A manifest lists file ids; one this large is not ours.
const MAX_MANIFEST: u64 = 64 << 20;

/// What a merge did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Data files merged away.
    pub inputs: usize,
    /// Data files written.
    pub outputs: usize,
    /// Live records copied.
    pub records: u64,
    /// Bytes in the inputs.
    pub bytes_before: u64,
    /// Bytes in the outputs.
    pub bytes_after: u64,
}

/// When [`Bitcask::merge_if_needed`] merges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MergeTrigger {
    /// Merge when dead bytes are at least this fraction of all bytes.
    pub fragmentation: f64,
    /// ... and at least this many bytes are dead (so small stores are left alone).
    pub dead_bytes: u64,
}

impl Default for MergeTrigger {
    fn default() -> Self {
        MergeTrigger { fragmentation: 0.5, dead_bytes: 64 << 20 }
    }
}

fn tmp_name(name: &str) -> String {
    format!("{name}.tmp")
}

impl Bitcask {
    /// Merges if the [`stats`](Bitcask::stats) cross `trigger`; returns what it did, if it ran.
    pub fn merge_if_needed(&self, trigger: MergeTrigger) -> Result<Option<MergeReport>> {
        let stats = self.stats();
        if stats.fragmentation() >= trigger.fragmentation
            && stats.dead_bytes() >= trigger.dead_bytes
        {
            return self.merge().map(Some);
        }
        Ok(None)
    }

    /// Rewrites the live records of every file but the active one, reclaiming the space of
    /// dead ones. Reads and writes continue meanwhile; a second concurrent `merge` fails with
    /// [`Error::MergeRunning`]. See the [module docs](crate::merge) for how it stays
    /// crash-safe.
    pub fn merge(&self) -> Result<MergeReport> {
        let inner = &*self.inner;
        let _running = match inner.merging.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::WouldBlock) => return Err(Error::MergeRunning),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        inner.check_writable()?;
        let active = lock(&inner.writer).active.id;
        let inputs: Vec<Arc<DataFile>> =
            read(&inner.files).values().filter(|f| f.id != active).cloned().collect();
        if inputs.is_empty() {
            return Ok(MergeReport::default());
        }
        let mut outputs = Outputs::default();
        let copied = copy_live(inner, &inputs, &mut outputs).and_then(|()| outputs.seal(inner));
        let manifest = Manifest {
            inputs: inputs.iter().map(|f| f.id).collect(),
            outputs: outputs.files.iter().map(|o| o.id).collect(),
        };
        if let Err(e) = copied.and_then(|()| commit(inner, &manifest)) {
            outputs.discard(inner);
            return Err(e);
        }
        // Committed: from here on a failure leaves the merge for the next open to finish, and
        // the store must not write on until then.
        let report = MergeReport {
            inputs: inputs.len(),
            outputs: outputs.files.len(),
            records: outputs.moves.len() as u64,
            bytes_before: inputs.iter().map(|f| f.bytes.load(Ordering::Relaxed)).sum(),
            bytes_after: outputs.files.iter().map(|o| o.len).sum(),
        };
        install(inner, &inputs, outputs).map_err(|e| inner.fail(e))?;
        Ok(report)
    }
}

/// One output file being written.
struct Output {
    id: u32,
    file: Box<dyn StorageFile>,
    len: u64,
    hints: Vec<u8>,
    entries: u64,
}

/// A record copied from `from` to `to`.
struct Move {
    key: Box<[u8]>,
    from: Loc,
    to: Loc,
}

#[derive(Default)]
struct Outputs {
    files: Vec<Output>,
    moves: Vec<Move>,
    buf: Vec<u8>,
}

impl Outputs {
    /// Appends a copy of a live record to the current output, starting a new one if needed.
    fn append(&mut self, inner: &Inner, record: &Record<'_>, from: Loc) -> Result<()> {
        let (key, value) = (record.key, record.value.unwrap_or_default());
        self.buf.clear();
        format::encode_record(&mut self.buf, record.seq, key, Some(value));
        let record_len = self.buf.len() as u64;
        let full =
            self.files.last().is_none_or(|o| o.len + record_len > inner.options.max_file_size);
        if full {
            let id = {
                let mut w = lock(&inner.writer);
                w.next_file_id += 1;
                w.next_file_id - 1
            };
            let path = inner.dir.join(tmp_name(&data_name(id)));
            let file =
                inner.storage.open(&path, OpenMode::CreateNew).map_err(io("create", &path))?;
            file.append(&MERGED_MAGIC).map_err(io("write", &path))?;
            let hints = HINT_MAGIC.to_vec();
            self.files.push(Output { id, file, len: MERGED_MAGIC.len() as u64, hints, entries: 0 });
        }
        // Non-empty: `full` is true when there is no output yet.
        let last = self.files.len() - 1;
        let out = &mut self.files[last];
        let path = || inner.dir.join(tmp_name(&data_name(out.id)));
        out.file.append(&self.buf).map_err(|e| io("write", path())(e))?;
        let hint = Hint { seq: record.seq, key, value_len: from.value_len, offset: out.len };
        format::encode_hint(&mut out.hints, &hint);
        let to = Loc { file_id: out.id, offset: out.len as u32, value_len: from.value_len };
        out.len += record_len;
        out.entries += 1;
        self.moves.push(Move { key: key.into(), from, to });
        Ok(())
    }

    /// Makes every output and its hint file durable, names included.
    fn seal(&mut self, inner: &Inner) -> Result<()> {
        for out in &mut self.files {
            let data_path = inner.dir.join(tmp_name(&data_name(out.id)));
            out.file.sync().map_err(io("fsync", &data_path))?;
            let trailer = HintTrailer { entries: out.entries, data_len: out.len };
            format::encode_hint_trailer(&mut out.hints, trailer);
            let hint_path = inner.dir.join(tmp_name(&hint_name(out.id)));
            write_durably(&*inner.storage, &hint_path, &out.hints)?;
        }
        inner.storage.sync_dir(&inner.dir).map_err(io("fsync directory", &inner.dir))
    }

    /// Deletes the outputs of a merge that will not commit (best effort: the next open
    /// deletes any `*.tmp` left behind).
    fn discard(&self, inner: &Inner) {
        for out in &self.files {
            for name in [data_name(out.id), hint_name(out.id)] {
                let _ = inner.storage.remove(&inner.dir.join(tmp_name(&name)));
            }
        }
        let _ = inner.storage.remove(&inner.dir.join(MANIFEST_TMP));
    }
}

/// Writes a new file and fsyncs it.
fn write_durably(storage: &dyn Storage, path: &Path, bytes: &[u8]) -> Result<()> {
    let file = storage.open(path, OpenMode::CreateNew).map_err(io("create", path))?;
    file.append(bytes).map_err(io("write", path))?;
    file.sync().map_err(io("fsync", path))
}

/// Copies every record of `inputs` that the keydir still points at.
fn copy_live(inner: &Inner, inputs: &[Arc<DataFile>], outputs: &mut Outputs) -> Result<()> {
    for input in inputs {
        let len = input.bytes.load(Ordering::Relaxed);
        let start = format::MAGIC_LEN as u64;
        let mut scanner = Scanner::new(&*input.file, len, start, inner.options.limits());
        loop {
            match scanner.next().map_err(io("read", &input.path))? {
                Step::End => break,
                // Damage that recovery skipped: the keydir points at nothing in it.
                Step::Failed { .. } => {
                    if scanner.resync().map_err(io("read", &input.path))?.is_none() {
                        break;
                    }
                }
                Step::Record { record, offset } => {
                    if record.value.is_none() {
                        continue;
                    }
                    let live = read(&inner.keydir)
                        .get(record.key)
                        .filter(|loc| loc.file_id == input.id && u64::from(loc.offset) == offset);
                    if let Some(from) = live {
                        outputs.append(inner, &record, from)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Step 2: makes the manifest durable under its final name.
fn commit(inner: &Inner, manifest: &Manifest) -> Result<()> {
    let tmp = inner.dir.join(MANIFEST_TMP);
    let path = inner.dir.join(MANIFEST);
    write_durably(&*inner.storage, &tmp, &format::encode_manifest(manifest))?;
    inner.storage.rename(&tmp, &path).map_err(io("rename", &tmp))?;
    inner.storage.sync_dir(&inner.dir).map_err(io("fsync directory", &inner.dir))
}

/// Steps 3 to 5, on a running store.
fn install(inner: &Inner, inputs: &[Arc<DataFile>], outputs: Outputs) -> Result<()> {
    let (storage, dir) = (&*inner.storage, &inner.dir);
    let mut installed = Vec::new();
    for out in &outputs.files {
        for name in [data_name(out.id), hint_name(out.id)] {
            let from = dir.join(tmp_name(&name));
            storage.rename(&from, &dir.join(&name)).map_err(io("rename", &from))?;
        }
    }
    storage.sync_dir(dir).map_err(io("fsync directory", dir))?;
    for out in &outputs.files {
        let path = dir.join(data_name(out.id));
        let file = storage.open(&path, OpenMode::Read).map_err(io("open", &path))?;
        installed.push(Arc::new(DataFile::new(out.id, path, file, out.len)));
    }
    {
        let mut keydir = write(&inner.keydir);
        let mut files = write(&inner.files);
        for file in installed {
            files.insert(file.id, file);
        }
        for Move { key, from, to } in &outputs.moves {
            if !keydir.compare_and_set(key, *from, *to) {
                // Overwritten or deleted while the merge ran: the copy is dead on arrival.
                let record = (RECORD_HEADER + key.len()) as u64 + u64::from(to.value_len);
                if let Some(file) = files.get(&to.file_id) {
                    file.dead.fetch_add(record, Ordering::Relaxed);
                }
            }
        }
        for input in inputs {
            files.remove(&input.id);
        }
    }
    delete_inputs(storage, dir, inputs.iter().map(|f| f.id))?;
    let manifest = dir.join(MANIFEST);
    storage.remove(&manifest).map_err(io("remove", &manifest))?;
    storage.sync_dir(dir).map_err(io("fsync directory", dir))
}

/// Step 5's deletions, tolerating files already gone (a finish after a crash).
fn delete_inputs(storage: &dyn Storage, dir: &Path, ids: impl Iterator<Item = u32>) -> Result<()> {
    for id in ids {
        for name in [data_name(id), hint_name(id)] {
            let path = dir.join(name);
            match storage.remove(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("remove", &path)(e));
                }
                _ => {}
            }
        }
    }
    storage.sync_dir(dir).map_err(io("fsync directory", dir))
}

/// At open: finishes a committed merge (returns true) and deletes the leftovers of an
/// uncommitted one (recording them in `removed`).
pub(crate) fn finish_or_discard(
    storage: &dyn Storage,
    dir: &Path,
    removed: &mut Vec<PathBuf>,
) -> Result<bool> {
    let names = storage.list(dir).map_err(io("list", dir))?;
    let finished = names.iter().any(|n| n == MANIFEST);
    if finished {
        let path = dir.join(MANIFEST);
        let manifest = read_manifest(storage, &path)?;
        for id in &manifest.outputs {
            for name in [data_name(*id), hint_name(*id)] {
                let tmp = tmp_name(&name);
                if names.contains(&tmp) {
                    storage
                        .rename(&dir.join(&tmp), &dir.join(&name))
                        .map_err(io("rename", &tmp))?;
                }
            }
        }
        storage.sync_dir(dir).map_err(io("fsync directory", dir))?;
        delete_inputs(storage, dir, manifest.inputs.iter().copied())?;
        storage.remove(&path).map_err(io("remove", &path))?;
        storage.sync_dir(dir).map_err(io("fsync directory", dir))?;
    }
    let mut any = false;
    for name in storage.list(dir).map_err(io("list", dir))? {
        if name.ends_with(".tmp") && (name == MANIFEST_TMP || is_merge_tmp(&name)) {
            let path = dir.join(&name);
            storage.remove(&path).map_err(io("remove", &path))?;
            removed.push(path);
            any = true;
        }
    }
    if any {
        storage.sync_dir(dir).map_err(io("fsync directory", dir))?;
    }
    Ok(finished)
}

fn is_merge_tmp(name: &str) -> bool {
    name.strip_suffix(".tmp").is_some_and(|stem| {
        crate::recovery::parse_id(stem, ".data").is_some()
            || crate::recovery::parse_id(stem, ".hint").is_some()
    })
}

fn read_manifest(storage: &dyn Storage, path: &Path) -> Result<Manifest> {
    let file = storage.open(path, OpenMode::Read).map_err(io("open", path))?;
    let len = file.len().map_err(io("stat", path))?;
    let corrupt = |kind| Error::Corrupt { path: path.into(), offset: 0, kind };
    if len > MAX_MANIFEST {
        return Err(corrupt(Corruption::Truncated));
    }
    let mut bytes = vec![0; len as usize];
    file.read_exact_at(&mut bytes, 0).map_err(io("read", path))?;
    format::decode_manifest(&bytes).map_err(corrupt)
}
