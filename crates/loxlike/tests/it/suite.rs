//! The official Lox test suite (`BYO_LOX_SUITE`, `../shared/suites/lox` in CI), run in-process
//! against both engines with the official rules.

use std::path::PathBuf;

use byo_loxlike::suite::{TestSet, run_with};
use byo_loxlike::testkit::Interpreter;
use byo_loxlike::{Engine, Lox};

fn suite_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("BYO_LOX_SUITE") else {
        eprintln!("skipped: set BYO_LOX_SUITE to the official Lox test directory");
        return None;
    };
    Some(PathBuf::from(dir))
}

/// Runs `set` in-process with `lox`: every test must pass, and there must be `count` of them.
fn assert_passes(set: TestSet, mut lox: Lox, count: usize) {
    let Some(dir) = suite_dir() else { return };
    let report = run_with(&dir, set, |_, source| Ok(Interpreter::run(&mut lox, source))).unwrap();
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
