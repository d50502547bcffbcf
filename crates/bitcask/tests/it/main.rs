//! byo-bitcask's integration tests: one binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod basics;
mod faults;
mod kit;
mod model;
mod tail;

/// A copy of a store directory, to damage or crash without touching the original.
fn copy_dir(from: &std::path::Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
    }
    to
}
