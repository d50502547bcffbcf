//! Opening a store: turning whatever a crash left in the directory back into a keydir.
//!
//! In order:
//!
//! 1. **Finish or discard a merge.** A merge is committed by its manifest (`MERGE`, see
//!    [`crate::merge`]). If one exists, the merge had committed: finish it (rename its
//!    outputs into place, delete its inputs). Then delete every `*.tmp`: outputs of a merge
//!    that had not committed.
//! 2. **Load the data files, oldest records first**: the files written by merge (they start
//!    with their own magic), then the files written by the store, each group in id order. A
//!    merged file is loaded from its hint file if that is valid, otherwise by scanning. The
//!    record loaded last wins, and a tombstone removes its key.
//!
//!    Why that order is oldest-first: a merge takes *every* file but the active one, and an
//!    interrupted merge is finished or discarded in step 1, so at most one merge's outputs
//!    exist. They hold copies of records from files sealed before the then-active file began,
//!    so every one of them is older than every record in a store-written file still present.
//!    Store-written files are appended in write order and rotated to increasing ids. So no
//!    sequence numbers are needed to decide precedence, and the keydir does not store them.
//! 3. **Cut the torn tail.** Only the newest non-merged file was being appended to, so only it
//!    can end in a partial record. A failed record there after which no valid record follows
//!    is the write the crash interrupted: the file is truncated to before it and fsynced, so
//!    new appends never follow garbage. A failed record anywhere else, or one followed by
//!    valid records, is damage: the [`CorruptionPolicy`] decides.
//! 4. **Reopen the newest file for appending** if it has room, else start a new one.
//!
//! A record that fails its checks never reaches the keydir. Files whose names are not ours are
//! left alone; files named like ours that do not start with the right magic are an error.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::error::{Corruption, Error, Result, io};
use crate::format::{self, DATA_MAGIC, Decoded, HINT_MAGIC, HintItem, MERGED_MAGIC, RECORD_HEADER};
use crate::keydir::{KeyDir, Loc};
use crate::merge;
use crate::options::{CorruptionPolicy, Options};
use crate::scan::{Failure, Scanner, Step};
use crate::storage::{OpenMode, Storage, StorageFile};
use crate::store::{DataFile, create_data_file, data_name, hint_name};

/// What opening found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// A partial record cut off the end of the newest file: the write a crash interrupted.
    pub torn_tail: Option<TornTail>,
    /// Damaged records skipped under [`CorruptionPolicy::Skip`].
    pub skipped: Vec<Skipped>,
    /// Hint files that were incomplete or damaged; their data files were scanned instead.
    pub rejected_hints: Vec<PathBuf>,
    /// Files deleted: outputs of an uncommitted merge, and a newest file that a crash left
    /// without even its header.
    pub removed: Vec<PathBuf>,
    /// Whether a committed merge was found unfinished and finished.
    pub finished_merge: bool,
    /// Data files loaded.
    pub files: usize,
    /// Data files loaded from hint files.
    pub from_hints: usize,
}

/// A torn tail that was cut off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The file.
    pub path: PathBuf,
    /// Its new length: where the partial record started.
    pub offset: u64,
    /// Bytes removed.
    pub bytes: u64,
}

/// A damaged range skipped under [`CorruptionPolicy::Skip`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Where the damage starts.
    pub offset: u64,
    /// Bytes skipped, up to the next valid record or the end of the file.
    pub bytes: u64,
    /// What was wrong with the first record.
    pub kind: Corruption,
}

/// Everything `open` needs from recovery.
pub(crate) struct Recovered {
    pub(crate) keydir: KeyDir,
    pub(crate) files: BTreeMap<u32, Arc<DataFile>>,
    pub(crate) active: Arc<DataFile>,
    pub(crate) active_len: u64,
    pub(crate) next_seq: u64,
    pub(crate) next_file_id: u32,
    pub(crate) report: RecoveryReport,
}

/// Parses `0000000042.data` (with `suffix` ".data") into 42.
pub(crate) fn parse_id(name: &str, suffix: &str) -> Option<u32> {
    let stem = name.strip_suffix(suffix)?;
    (stem.len() == 10 && stem.bytes().all(|b| b.is_ascii_digit())).then(|| stem.parse().ok())?
}

/// The keydir while files load, oldest records first, so each record applied wins.
#[derive(Default)]
struct Loader {
    keydir: KeyDir,
    max_seq: u64,
}

impl Loader {
    fn apply(
        &mut self,
        key: &[u8],
        seq: u64,
        value_len: Option<u32>,
        file_id: u32,
        offset: u64,
    ) -> Result<()> {
        self.max_seq = self.max_seq.max(seq);
        match value_len {
            Some(value_len) => {
                let loc = Loc { file_id, offset: offset as u32, value_len };
                self.keydir.insert(key, loc).map_err(|_| Error::KeyDirFull)?;
            }
            None => {
                self.keydir.remove(key);
            }
        }
        Ok(())
    }
}

/// What a data file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Written by the store's appends.
    Appended,
    /// Written by merge.
    Merged,
    /// Shorter than a magic, or not ours.
    Unknown,
}

pub(crate) fn recover(storage: &dyn Storage, dir: &Path, options: &Options) -> Result<Recovered> {
    let mut report = RecoveryReport::default();
    report.finished_merge = merge::finish_or_discard(storage, dir, &mut report.removed)?;
    let names = storage.list(dir).map_err(io("list", dir))?;
    let mut ids: Vec<u32> = names.iter().filter_map(|n| parse_id(n, ".data")).collect();
    ids.sort_unstable();
    let hinted: Vec<u32> = names.iter().filter_map(|n| parse_id(n, ".hint")).collect();

    // Open every file and learn its kind; the newest store-written file is the one that was
    // being appended to, so it alone may have a torn tail and is reopened for appending.
    let mut opened = Vec::new();
    for &id in &ids {
        let path = dir.join(data_name(id));
        let file = storage.open(&path, OpenMode::Read).map_err(io("open", &path))?;
        let len = file.len().map_err(io("stat", &path))?;
        let kind = kind_of(&*file, len, &path)?;
        opened.push((id, path, file, len, kind));
    }
    let newest = opened.iter().rev().find(|f| f.4 != Kind::Merged).map(|f| f.0);
    let mut loader = Loader::default();
    let mut files = BTreeMap::new();
    // Oldest records first: merged files, then store-written files, each in id order.
    opened.sort_by_key(|f| (f.4 != Kind::Merged, f.0));
    for (id, path, file, len, kind) in opened {
        let is_newest = Some(id) == newest;
        if kind == Kind::Unknown {
            if is_newest && len < DATA_MAGIC.len() as u64 {
                // Created, but the crash came before its header was durable: it never held a
                // record. Remove it.
                drop(file);
                storage.remove(&path).map_err(io("remove", &path))?;
                storage.sync_dir(dir).map_err(io("fsync directory", dir))?;
                report.removed.push(path);
                continue;
            }
            return Err(Error::Foreign { path, kind: Corruption::Magic });
        }
        // The newest file is reopened for appending (and may be truncated).
        let file = if is_newest {
            storage.open(&path, OpenMode::Append).map_err(io("open", &path))?
        } else {
            file
        };
        report.files += 1;
        let mut from_hints = false;
        if kind == Kind::Merged && hinted.contains(&id) {
            let hint_path = dir.join(hint_name(id));
            from_hints = load_hints(storage, &hint_path, id, len, options, &mut loader)?;
            if from_hints {
                report.from_hints += 1;
            } else {
                report.rejected_hints.push(hint_path);
            }
        }
        let len = if from_hints {
            len
        } else {
            scan_file(&*file, id, &path, len, is_newest, options, &mut loader, &mut report)?
        };
        files.insert(id, Arc::new(DataFile::new(id, path, file, len)));
    }
    loader.keydir.shrink_to_fit();
    count_dead_bytes(&loader.keydir, &files);
    let next_file_id = ids.last().map_or(0, |&id| id + 1);
    let (active, active_len, next_file_id) = match newest.and_then(|id| files.get(&id)) {
        Some(file) if file.bytes.load(Ordering::Relaxed) < options.max_file_size => {
            (file.clone(), file.bytes.load(Ordering::Relaxed), next_file_id)
        }
        _ => {
            let file = create_data_file(storage, dir, next_file_id)?;
            files.insert(next_file_id, file.clone());
            (file, DATA_MAGIC.len() as u64, next_file_id + 1)
        }
    };
    Ok(Recovered {
        keydir: loader.keydir,
        files,
        active,
        active_len,
        next_seq: loader.max_seq + 1,
        next_file_id,
        report,
    })
}

/// What the file's magic says it is.
fn kind_of(file: &dyn StorageFile, len: u64, path: &Path) -> Result<Kind> {
    if len < DATA_MAGIC.len() as u64 {
        return Ok(Kind::Unknown);
    }
    let mut magic = [0; 8];
    file.read_exact_at(&mut magic, 0).map_err(io("read", path))?;
    Ok(match magic {
        DATA_MAGIC => Kind::Appended,
        MERGED_MAGIC => Kind::Merged,
        _ => Kind::Unknown,
    })
}

/// Scans a data file into the loader and returns its length (shorter if a torn tail was cut).
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename the list
fn scan_file(
    file: &dyn StorageFile,
    id: u32,
    path: &Path,
    len: u64,
    is_newest: bool,
    options: &Options,
    loader: &mut Loader,
    report: &mut RecoveryReport,
) -> Result<u64> {
    let mut scanner = Scanner::new(file, len, format::MAGIC_LEN as u64, options.limits());
    loop {
        let (offset, failure) = match scanner.next().map_err(io("read", path))? {
            Step::End => return Ok(len),
            Step::Record { record, offset } => {
                let value_len = record.value.map(|v| v.len() as u32);
                loader.apply(record.key, record.seq, value_len, id, offset)?;
                continue;
            }
            Step::Failed { offset, failure } => (offset, failure),
        };
        let next_valid = scanner.resync().map_err(io("read", path))?;
        if is_newest && next_valid.is_none() {
            file.truncate(offset).map_err(io("truncate", path))?;
            file.sync().map_err(io("fsync", path))?;
            report.torn_tail = Some(TornTail { path: path.into(), offset, bytes: len - offset });
            return Ok(offset);
        }
        let kind = match failure {
            Failure::Corrupt(kind) => kind,
            Failure::Incomplete => Corruption::Truncated,
        };
        if options.corruption == CorruptionPolicy::Fail {
            return Err(Error::Corrupt { path: path.into(), offset, kind });
        }
        let bytes = next_valid.unwrap_or(len) - offset;
        report.skipped.push(Skipped { path: path.into(), offset, bytes, kind });
    }
}

/// Loads a hint file if it is whole and matches its data file. Returns false (having changed
/// nothing) if it is not, so the caller scans the data file instead.
fn load_hints(
    storage: &dyn Storage,
    path: &Path,
    id: u32,
    data_len: u64,
    options: &Options,
    loader: &mut Loader,
) -> Result<bool> {
    let file = storage.open(path, OpenMode::Read).map_err(io("open", path))?;
    let len = file.len().map_err(io("stat", path))?;
    // A hint entry is at most 8 bytes longer than its record (it adds an offset, and a record
    // is at least 21 bytes), so a valid hint file is under twice its data file: check that
    // before reading it whole.
    if len < HINT_MAGIC.len() as u64 || len > 2 * data_len + 64 {
        return Ok(false);
    }
    let mut bytes = vec![0; len as usize];
    file.read_exact_at(&mut bytes, 0).map_err(io("read", path))?;
    if bytes[..HINT_MAGIC.len()] != HINT_MAGIC {
        return Ok(false);
    }
    let mut entries = Vec::new();
    let mut at = HINT_MAGIC.len();
    let trailer = loop {
        match format::decode_hint(&bytes[at..], options.limits()) {
            Decoded::Item(HintItem::Entry(hint), used) => {
                entries.push(hint);
                at += used;
            }
            Decoded::Item(HintItem::Trailer(trailer), used) => {
                at += used;
                break trailer;
            }
            Decoded::Incomplete(_) | Decoded::Corrupt(_) => return Ok(false),
        }
    };
    let whole = at == bytes.len()
        && trailer.entries == entries.len() as u64
        && trailer.data_len == data_len
        && entries.iter().all(|h| {
            h.offset + (RECORD_HEADER + h.key.len()) as u64 + u64::from(h.value_len) <= data_len
        });
    if !whole {
        return Ok(false);
    }
    for hint in entries {
        loader.apply(hint.key, hint.seq, Some(hint.value_len), id, hint.offset)?;
    }
    Ok(true)
}

/// Sets each file's dead bytes: everything but its magic and the records the keydir uses.
fn count_dead_bytes(keydir: &KeyDir, files: &BTreeMap<u32, Arc<DataFile>>) {
    let mut live: HashMap<u32, u64> = HashMap::new();
    for (key, loc) in keydir.iter() {
        let record = (RECORD_HEADER + key.len()) as u64 + u64::from(loc.value_len);
        *live.entry(loc.file_id).or_default() += record;
    }
    for (id, file) in files {
        let used = format::MAGIC_LEN as u64 + live.get(id).copied().unwrap_or(0);
        file.dead.store(file.bytes.load(Ordering::Relaxed).saturating_sub(used), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_from_our_names() {
        assert_eq!(parse_id("0000000042.data", ".data"), Some(42));
        assert_eq!(parse_id("42.data", ".data"), None);
        assert_eq!(parse_id("000000004x.data", ".data"), None);
        assert_eq!(parse_id("0000000042.data.tmp", ".data"), None);
        assert_eq!(parse_id("9999999999.data", ".data"), None, "beyond u32");
    }
}
