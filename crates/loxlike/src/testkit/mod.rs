//! A behavioural suite for any Lox implementation (feature `testkit`).
//!
//! The official suite ([`crate::suite`]) checks a Lox against the book's tests, one feature
//! at a time. These cases are the places where implementations built from the book tend to go
//! wrong once they start to be clever: caches that trust a field's position, closures that
//! lose their variable when its scope ends, `super` looked up from the wrong class, a collector
//! that misses a root, equality that converts or compares bits. Each case is a Lox program
//! whose comments say what it must print, in the official suite's format, checked by the same
//! rules ([`suite::expectations`], [`suite::check`]); each was checked against the reference
//! clox and jlox, and a few apply to one of them only (see [`Case::only`]).
//!
//! Run them against your own interpreter, in process or through a binary:
//!
//! ```
//! use byo_loxlike::suite::Outcome;
//! use byo_loxlike::testkit;
//! use byo_loxlike::{Engine, Lox};
//!
//! // This crate's VM, through the `Interpreter` implementation for `Lox`.
//! let report = testkit::check("c", Lox::new(Engine::Vm));
//! assert!(report.failed.is_empty(), "{:?}", report.failed);
//!
//! // Any function from source to what the program printed and its exit code.
//! let broken = |_source: &str| Outcome { stdout: String::new(), stderr: String::new(), exit_code: 0 };
//! assert!(!testkit::check("java", broken).failed.is_empty());
//! ```
//!
//! From the command line, `byo check lox --kit --tests clox -- ./your-clox` runs the same cases
//! through any binary.

use crate::Lox;
use crate::suite::{self, Outcome, Report};

/// One program of the kit.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// A name that says what it checks (also its file name, `NAME.lox`).
    pub name: &'static str,
    /// The program, with `// expect: ...` and error comments as in the official suite.
    pub source: &'static str,
    /// `Some("c")` or `Some("java")` for a case that only one of the references passes.
    pub only: Option<&'static str>,
}

macro_rules! case {
    ($name:literal) => {
        case!($name, None)
    };
    ($name:literal, $only:expr) => {
        Case { name: $name, source: include_str!(concat!("cases/", $name, ".lox")), only: $only }
    };
}

/// Every case, in the order they are run.
pub const CASES: &[Case] = &[
    case!("closures_share_a_variable"),
    case!("loop_closures"),
    case!("resolution_is_static"),
    case!("fields_shadow_methods"),
    case!("property_sites_see_many_shapes"),
    case!("bound_methods_keep_their_receiver"),
    case!("initializers_return_this"),
    case!("super_binds_where_the_method_is_defined"),
    case!("nan_is_not_equal_to_itself", Some("c")),
    case!("strings_are_equal_by_value"),
    case!("equality_never_converts"),
    case!("truthiness"),
    case!("logical_operators_return_an_operand"),
    case!("values_print_as_the_references_print_them"),
    case!("recursion"),
    case!("reachable_objects_survive"),
    case!("operands_must_be_numbers"),
    case!("calls_check_the_argument_count"),
    case!("deep_recursion_overflows_the_stack", Some("c")),
    case!("local_read_in_its_own_initializer"),
    case!("this_outside_a_class"),
    case!("return_at_top_level"),
];

/// Something that runs a Lox program: what it printed and its exit code, as the `lox` command
/// would report them for a file holding `source` (exit 65 after compile errors, 70 after a
/// runtime error, diagnostics on stderr).
pub trait Interpreter {
    /// Runs one program.
    fn run(&mut self, source: &str) -> Outcome;
}

impl<F: FnMut(&str) -> Outcome> Interpreter for F {
    fn run(&mut self, source: &str) -> Outcome {
        self(source)
    }
}

/// This crate's engines, run in process.
impl Interpreter for Lox {
    fn run(&mut self, source: &str) -> Outcome {
        let mut out = Vec::new();
        let (stderr, exit_code) = match Lox::run(self, source, &mut out) {
            Ok(()) => (String::new(), 0),
            Err(error) => (format!("{error}\n"), error.exit_code() as i32),
        };
        Outcome { stdout: String::from_utf8_lossy(&out).into_owned(), stderr, exit_code }
    }
}

/// Runs every case that applies to `language` (`"c"` for a clox, `"java"` for a jlox: it
/// decides the cases that only one passes, and which compile errors count) through
/// `interpreter`. Cases for the other language are counted as skipped.
pub fn check(language: &str, mut interpreter: impl Interpreter) -> Report {
    let mut report = Report::default();
    for case in CASES {
        let applies = case.only.is_none_or(|only| only == language);
        let Some(expected) = suite::expectations(case.source, language).filter(|_| applies) else {
            report.skipped += 1;
            continue;
        };
        let run = interpreter.run(case.source);
        let failures = suite::check(&expected, &run.stdout, &run.stderr, run.exit_code);
        if failures.is_empty() {
            report.passed += 1;
        } else {
            report.failed.push((format!("{}.lox", case.name), failures));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_file_is_listed_and_every_listed_case_has_expectations() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testkit/cases");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut listed: Vec<String> = CASES.iter().map(|c| format!("{}.lox", c.name)).collect();
        listed.sort();
        assert_eq!(files, listed);
        for case in CASES {
            assert!(suite::expectations(case.source, "c").is_some(), "{}", case.name);
        }
    }
}
