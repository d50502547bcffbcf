//! The testkit's cases, run in process against both engines: the VM as a clox (also
//! collecting before every allocation), the tree-walker as a jlox.

use byo_loxlike::testkit::{self, CASES};
use byo_loxlike::{Engine, Lox};

fn assert_passes(language: &str, lox: Lox, skipped: usize) {
    let report = testkit::check(language, lox);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.passed + report.skipped, CASES.len());
    assert_eq!(report.skipped, skipped);
}

#[test]
fn the_vm_passes_the_kit_as_a_clox() {
    assert_passes("c", Lox::new(Engine::Vm), 0);
    assert_passes("c", Lox::new(Engine::Vm).gc_stress(true), 0);
}

#[test]
fn the_tree_walker_passes_the_kit_as_a_jlox() {
    // The two clox-only cases: NaN equality and the 64-frame limit.
    assert_passes("java", Lox::new(Engine::Tree), 2);
}

#[test]
fn an_interpreter_that_gets_things_wrong_fails_the_cases_it_gets_wrong() {
    // Prints the expected lines of every case, but never reports an error: each case that
    // expects one fails, and only those.
    let report = testkit::check("c", |source: &str| {
        let stdout: String = source
            .lines()
            .filter_map(|line| line.split_once("// expect: ").map(|(_, text)| format!("{text}\n")))
            .collect();
        byo_loxlike::suite::Outcome { stdout, stderr: String::new(), exit_code: 0 }
    });
    let mut failed: Vec<&str> = report.failed.iter().map(|(name, _)| name.as_str()).collect();
    failed.sort();
    let expecting_errors: Vec<String> = {
        let mut names: Vec<String> = CASES
            .iter()
            .filter(|c| {
                c.source.contains("// expect runtime error:") || c.source.contains("// Error")
            })
            .map(|c| format!("{}.lox", c.name))
            .collect();
        names.sort();
        names
    };
    assert_eq!(failed, expecting_errors);
    assert_eq!(report.passed, CASES.len() - expecting_errors.len());
}
