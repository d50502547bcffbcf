//! The official Lox test suite (`BYO_LOX_SUITE`, `../shared/suites/lox` in CI), run in-process
//! against both engines with the official rules.

use std::path::PathBuf;

use byo_loxlike::suite::{Outcome, TestSet, run_with};
use byo_loxlike::{Engine, Lox};

fn suite_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("BYO_LOX_SUITE") else {
        eprintln!("skipped: set BYO_LOX_SUITE to the official Lox test directory");
        return None;
    };
    Some(PathBuf::from(dir))
}

/// Runs `set` in-process with `lox`: every test must pass, and there must be `count` of them.
fn assert_passes(set: TestSet, lox: Lox, count: usize) {
    let Some(dir) = suite_dir() else { return };
    let report = run_with(&dir, set, |_, source| {
        let mut out = Vec::new();
        let (stderr, exit_code) = match lox.run(source, &mut out) {
            Ok(()) => (String::new(), 0),
            Err(error) => (format!("{error}\n"), error.exit_code() as i32),
        };
        Ok(Outcome { stdout: String::from_utf8_lossy(&out).into_owned(), stderr, exit_code })
    })
    .unwrap();
    let failed: Vec<String> = report
        .failed
        .iter()
        .map(|(path, failures)| format!("{path}: {}", failures.join("; ")))
        .collect();
    assert!(failed.is_empty(), "{} failed:\n{}", failed.len(), failed.join("\n"));
    assert_eq!(report.passed, count);
}

#[test]
fn the_tree_walker_passes_the_jlox_suite() {
    assert_passes(TestSet::Jlox, Lox::new(Engine::Tree), 239);
}

#[test]
fn the_vm_passes_the_clox_suite() {
    assert_passes(TestSet::Clox, Lox::new(Engine::Vm), 246);
}

#[test]
fn the_vm_passes_the_clox_suite_collecting_before_every_allocation() {
    assert_passes(TestSet::Clox, Lox::new(Engine::Vm).gc_stress(true), 246);
}
