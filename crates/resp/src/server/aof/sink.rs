//! Where the log's bytes go: a file opened for appending, behind a trait so that tests can put
//! a failing disk in its place.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// An append-only destination.
pub(crate) trait Sink: Send + std::fmt::Debug {
    /// Appends all of `bytes`, or nothing: after a failure the destination is as it was
    /// (a partial write is cut off again), so that the log never holds half a command
    /// followed by later ones.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything appended so far durable (`fsync`).
    fn sync(&mut self) -> io::Result<()>;
    /// A second handle to sync from another thread (`appendfsync everysec`), if there is one.
    fn sync_handle(&self) -> Option<File>;
    /// The size in bytes.
    fn len(&self) -> u64;
}

/// A file on disk.
#[derive(Debug)]
pub(crate) struct FileSink {
    file: File,
    len: u64,
}

impl FileSink {
    /// Opens `path` for appending, creating it if needed.
    pub(crate) fn open(path: &Path) -> io::Result<FileSink> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        Ok(FileSink { file, len })
    }
}

impl Sink for FileSink {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Err(e) = self.file.write_all(bytes) {
            // Cut a partial write off, as Redis does, so that a later successful write does
            // not follow half a command.
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_handle(&self) -> Option<File> {
        self.file.try_clone().ok()
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// Makes the entries of directory `dir` durable (a new or renamed file needs it).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `dir/name` atomically: a temporary file, synced, renamed over the target,
/// and the directory synced.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let temp = dir.join(format!("temp-{name}"));
    let mut file = File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, dir.join(name))?;
    sync_dir(dir)
}
