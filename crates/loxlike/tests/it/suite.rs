//! The official Lox test suite (`BYO_LOX_SUITE`, `../shared/suites/lox` in CI), run in-process
//! against both engines with the official rules.

use std::path::PathBuf;

use byo_loxlike::suite::{TestSet, check, expectations};
use byo_loxlike::{Engine, Lox};

fn suite_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("BYO_LOX_SUITE") else {
        eprintln!("skipped: set BYO_LOX_SUITE to the official Lox test directory");
        return None;
    };
    Some(PathBuf::from(dir))
}

fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "lox") {
            out.push(path);
        }
    }
}

/// Runs `set` in-process with `engine`; returns (passed, failures).
fn run_set(
    dir: &std::path::Path,
    set: TestSet,
    engine: Engine,
    language: &str,
    gc_stress: bool,
) -> (usize, Vec<String>) {
    let mut paths = Vec::new();
    files(dir, &mut paths);
    paths.sort();
    let mut passed = 0;
    let mut failed = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
        if relative.contains("benchmark") || !set.includes(&relative) {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let Some(expected) = expectations(&source, language) else { continue };
        let mut out = Vec::new();
        let (stderr, code) = match Lox::new(engine).gc_stress(gc_stress).run(&source, &mut out) {
            Ok(()) => (String::new(), 0),
            Err(error) => (format!("{error}\n"), error.exit_code() as i32),
        };
        let failures = check(&expected, &String::from_utf8_lossy(&out), &stderr, code);
        if failures.is_empty() {
            passed += 1;
        } else {
            failed.push(format!("{relative}: {}", failures.join("; ")));
        }
    }
    (passed, failed)
}

#[test]
fn the_tree_walker_passes_the_jlox_suite() {
    let Some(dir) = suite_dir() else { return };
    let (passed, failed) = run_set(&dir, TestSet::Jlox, Engine::Tree, "java", false);
    assert!(failed.is_empty(), "{} failed:\n{}", failed.len(), failed.join("\n"));
    assert_eq!(passed, 239);
}

#[test]
fn the_vm_passes_the_clox_suite() {
    let Some(dir) = suite_dir() else { return };
    let (passed, failed) = run_set(&dir, TestSet::Clox, Engine::Vm, "c", false);
    assert!(failed.is_empty(), "{} failed:\n{}", failed.len(), failed.join("\n"));
    assert_eq!(passed, 246);
}

#[test]
fn the_vm_passes_the_clox_suite_collecting_before_every_allocation() {
    let Some(dir) = suite_dir() else { return };
    let (passed, failed) = run_set(&dir, TestSet::Clox, Engine::Vm, "c", true);
    assert!(failed.is_empty(), "{} failed:\n{}", failed.len(), failed.join("\n"));
    assert_eq!(passed, 246);
}
