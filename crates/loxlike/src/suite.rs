//! A runner for the official Lox test suite, usable on any interpreter binary.
//!
//! The suite (`test/` of munificent/craftinginterpreters) is a directory of `.lox` programs whose
//! comments state what running them must do. The rules, as the book's `tool/bin/test.dart`
//! applies them:
//!
//! | comment                              | expectation                                        |
//! |--------------------------------------|----------------------------------------------------|
//! | `// expect: X`                       | the next line of stdout is `X`                     |
//! | `// Error...` on line N              | stderr has `[line N] Error...`; exit code 65       |
//! | `// [line N] Error...`               | stderr has `[line N] Error...`; exit code 65       |
//! | `// [c line N] Error...` (or `java`) | the same, for that implementation only             |
//! | `// expect runtime error: X` line N  | stderr starts with `X`, then a `[line N]`; exit 70 |
//! | `// nontest`                         | not a test                                         |
//!
//! Compile errors are compared as a set: every expected one must appear, and any other line on
//! stderr fails the test. A *test set* says which files apply to which implementation (jlox has
//! no limits, the early chapters run only the scanning or expression files, and so on); the
//! sets here are the book's `jlox`, `clox` and early-chapter suites.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One of the book's named test sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestSet {
    /// The complete C interpreter: everything but the early-chapter files (246 tests).
    Clox,
    /// The complete Java interpreter: also without NaN equality and the limit tests (239).
    Jlox,
    /// Chapter 4's token dump: `scanning/` only.
    Chap04Scanning,
    /// Chapter 6's AST printer: `expressions/parse.lox` only.
    Chap06Parsing,
    /// Chapter 7's expression evaluator: `expressions/evaluate.lox` only.
    Chap07Evaluating,
    /// Chapter 17's expression compiler: `expressions/evaluate.lox` only.
    Chap17Compiling,
}

impl TestSet {
    /// The set called `name` (`clox`, `jlox`, `chap04_scanning`, ...).
    pub fn from_name(name: &str) -> Option<TestSet> {
        Some(match name {
            "clox" => TestSet::Clox,
            "jlox" => TestSet::Jlox,
            "chap04_scanning" => TestSet::Chap04Scanning,
            "chap06_parsing" => TestSet::Chap06Parsing,
            "chap07_evaluating" => TestSet::Chap07Evaluating,
            "chap17_compiling" => TestSet::Chap17Compiling,
            _ => return None,
        })
    }

    /// `c` or `java`: which `[c line N]` / `[java line N]` expectations apply.
    pub fn language(self) -> &'static str {
        match self {
            TestSet::Clox | TestSet::Chap17Compiling => "c",
            _ => "java",
        }
    }

    /// Whether the file at `path` (relative to the suite, `/`-separated) is in the set. The
    /// most specific matching rule wins, as in `test.dart`.
    pub fn includes(self, path: &str) -> bool {
        let early = [("scanning", false), ("expressions", false)];
        let jlox_only_skips = [
            ("number/nan_equality.lox", false),
            ("limit/loop_too_large.lox", false),
            ("limit/no_reuse_constants.lox", false),
            ("limit/too_many_constants.lox", false),
            ("limit/too_many_locals.lox", false),
            ("limit/too_many_upvalues.lox", false),
            ("limit/stack_overflow.lox", false),
        ];
        let (default, rules): (bool, Vec<(&str, bool)>) = match self {
            TestSet::Clox => (true, early.to_vec()),
            TestSet::Jlox => (true, early.iter().chain(&jlox_only_skips).copied().collect()),
            TestSet::Chap04Scanning => (false, vec![("scanning", true)]),
            TestSet::Chap06Parsing => (false, vec![("expressions/parse.lox", true)]),
            TestSet::Chap07Evaluating | TestSet::Chap17Compiling => {
                (false, vec![("expressions/evaluate.lox", true)])
            }
        };
        let mut state = default;
        let mut best = 0;
        for (prefix, included) in rules {
            let matches = path == prefix || path.starts_with(&format!("{prefix}/"));
            if matches && prefix.len() > best {
                best = prefix.len();
                state = included;
            }
        }
        state
    }
}

/// What one test file expects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Expected stdout lines, with the source line that states each.
    pub output: Vec<(usize, String)>,
    /// Expected compile errors, as `[N] Error...`.
    pub errors: BTreeSet<String>,
    /// The expected runtime error message and the line it must be reported on.
    pub runtime_error: Option<(String, usize)>,
    /// The expected exit code.
    pub exit_code: i32,
}

/// Reads the expectations of a test file for `language` (`c` or `java`); `None` for a file
/// marked `// nontest`, or an invalid test expecting both kinds of error.
pub fn expectations(source: &str, language: &str) -> Option<Expectations> {
    let mut expected = Expectations::default();
    for (index, line) in source.lines().enumerate() {
        let line_number = index + 1;
        if line.contains("// nontest") {
            return None;
        }
        if let Some(at) = line.find("// expect:") {
            // `// expect: ?(.*)`: one space after the colon is optional.
            let text = &line[at + 10..];
            expected.output.push((line_number, text.strip_prefix(' ').unwrap_or(text).to_string()));
        } else if let Some(at) = line.find("// Error") {
            expected.errors.insert(format!("[{line_number}] {}", &line[at + 3..]));
            expected.exit_code = 65;
        } else if let Some((lang, number, error)) = error_line(line) {
            if lang.is_none() || lang == Some(language) {
                expected.errors.insert(format!("[{number}] {error}"));
                expected.exit_code = 65;
            }
        } else if let Some(at) = line.find("// expect runtime error: ") {
            let message = line[at + 25..].to_string();
            if !message.is_empty() {
                expected.runtime_error = Some((message, line_number));
                expected.exit_code = 70;
            }
        }
    }
    if !expected.errors.is_empty() && expected.runtime_error.is_some() {
        return None;
    }
    Some(expected)
}

/// `// [c line 4] Error at end: ...` → (`Some("c")`, 4, `Error at end: ...`).
fn error_line(line: &str) -> Option<(Option<&str>, usize, &str)> {
    let rest = &line[line.find("// [")? + 4..];
    let (lang, rest) = match rest.split_once(' ') {
        Some((lang @ ("c" | "java"), rest)) => (Some(lang), rest),
        _ => (None, rest),
    };
    let rest = rest.strip_prefix("line ")?;
    let (number, rest) = rest.split_once("] ")?;
    let number = number.parse().ok()?;
    rest.starts_with("Error").then_some((lang, number, rest))
}

/// `[line N] Error...` (with anything before `line`) → `[N] Error...`.
fn reported_error(line: &str) -> Option<String> {
    let open = line.find('[')?;
    let rest = &line[open + 1..];
    let at = rest.find("line ")?;
    let rest = &rest[at + 5..];
    let (number, rest) = rest.split_once("] ")?;
    let number: usize = number.parse().ok()?;
    rest.starts_with("Error").then(|| format!("[{number}] {rest}")).filter(|_| rest.len() > 5)
}

/// Compares one run with the expectations; returns the failures (empty if the test passed).
pub fn check(expected: &Expectations, stdout: &str, stderr: &str, exit_code: i32) -> Vec<String> {
    let mut failures = Vec::new();
    let error_lines: Vec<&str> = stderr.lines().collect();
    if let Some((message, line)) = &expected.runtime_error {
        match error_lines.first() {
            None => failures.push(format!("Expected runtime error '{message}' and got none.")),
            Some(_) if error_lines.len() < 2 => {
                failures.push(format!("Expected runtime error '{message}' and got none."))
            }
            Some(first) => {
                if first != message {
                    failures.push(format!("Expected runtime error '{message}' and got: {first}"));
                }
                let trace_line = error_lines[1..].iter().find_map(|l| {
                    let rest = &l[l.find("[line ")? + 6..];
                    rest[..rest.find(']')?].parse::<usize>().ok()
                });
                match trace_line {
                    None => failures.push("Expected stack trace and got none.".into()),
                    Some(found) if found != *line => failures.push(format!(
                        "Expected runtime error on line {line} but was on line {found}."
                    )),
                    Some(_) => {}
                }
            }
        }
    } else {
        let mut found = BTreeSet::new();
        for line in &error_lines {
            match reported_error(line) {
                Some(error) if expected.errors.contains(&error) => {
                    found.insert(error);
                }
                Some(_) => failures.push(format!("Unexpected error: {line}")),
                None if !line.is_empty() => {
                    failures.push(format!("Unexpected output on stderr: {line}"))
                }
                None => {}
            }
        }
        for missing in expected.errors.difference(&found) {
            failures.push(format!("Missing expected error: {missing}"));
        }
    }
    if exit_code != expected.exit_code {
        failures.push(format!("Expected return code {} and got {exit_code}.", expected.exit_code));
    }
    let mut lines: Vec<&str> = stdout.lines().collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    for (index, line) in lines.iter().enumerate() {
        match expected.output.get(index) {
            None => failures.push(format!("Got output '{line}' when none was expected.")),
            Some((at, want)) if want != line => {
                failures.push(format!("Expected output '{want}' on line {at} and got '{line}'."))
            }
            Some(_) => {}
        }
    }
    for (at, want) in expected.output.iter().skip(lines.len()) {
        failures.push(format!("Missing expected output '{want}' on line {at}."));
    }
    failures
}

/// The outcome of running a test set.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Tests that passed.
    pub passed: usize,
    /// Failed tests with their failure messages, by path relative to the suite.
    pub failed: Vec<(String, Vec<String>)>,
    /// Files outside the test set (or not tests).
    pub skipped: usize,
}

/// How long one test may run before it is killed and failed.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What one run of an interpreter on a test printed, and its exit code (-1 if killed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit code.
    pub exit_code: i32,
}

/// Runs every test of `set` under `suite` with `command` (the interpreter and its arguments;
/// the test file's path is appended).
pub fn run(suite: &Path, set: TestSet, command: &[String]) -> std::io::Result<Report> {
    run_with(suite, set, |file, _source| run_file(command, file))
}

/// Runs every test of `set` under `suite` through `interpret`, which gets the file's path and
/// source and says what the interpreter did (an in-process interpreter needs no binary).
pub fn run_with(
    suite: &Path,
    set: TestSet,
    mut interpret: impl FnMut(&Path, &str) -> std::io::Result<Outcome>,
) -> std::io::Result<Report> {
    let mut files = Vec::new();
    collect(suite, &mut files)?;
    files.sort();
    let mut report = Report::default();
    for file in files {
        let relative = file.strip_prefix(suite).unwrap_or(&file);
        let relative = relative.to_string_lossy().replace('\\', "/");
        if relative.contains("benchmark") || !set.includes(&relative) {
            report.skipped += 1;
            continue;
        }
        let source = String::from_utf8_lossy(&std::fs::read(&file)?).into_owned();
        let Some(expected) = expectations(&source, set.language()) else {
            report.skipped += 1;
            continue;
        };
        let failures = match interpret(&file, &source) {
            Ok(run) => check(&expected, &run.stdout, &run.stderr, run.exit_code),
            Err(e) => vec![format!("Could not run the interpreter: {e}")],
        };
        if failures.is_empty() {
            report.passed += 1;
        } else {
            report.failed.push((relative, failures));
        }
    }
    Ok(report)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "lox") {
            files.push(path);
        }
    }
    Ok(())
}

/// Runs `command` with `file` appended to its arguments, killing it after [`TEST_TIMEOUT`];
/// what it printed and its exit code (-1 if killed).
pub fn run_file(command: &[String], file: &Path) -> std::io::Result<Outcome> {
    let (program, args) =
        command.split_first().ok_or_else(|| std::io::Error::other("no command"))?;
    let mut child = Command::new(program)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || read_all(stdout.as_mut()));
    let err_reader = std::thread::spawn(move || read_all(stderr.as_mut()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > TEST_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let exit_code = status.and_then(|s| s.code()).unwrap_or(-1);
    Ok(Outcome { stdout, stderr, exit_code })
}

fn read_all(stream: Option<&mut impl Read>) -> String {
    let mut bytes = Vec::new();
    if let Some(stream) = stream {
        let _ = stream.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_expectation() {
        let source = "print 1; // expect: 1\n\
                      x; // Error at 'x': bad\n\
                      // [c line 4] Error at end: Expect '}' after block.\n\
                      // [java line 3] Error at 'b': nope\n";
        let c = expectations(source, "c").unwrap();
        assert_eq!(c.output, vec![(1, "1".to_string())]);
        let errors: Vec<_> = c.errors.iter().cloned().collect();
        assert_eq!(errors, ["[2] Error at 'x': bad", "[4] Error at end: Expect '}' after block."]);
        assert_eq!(c.exit_code, 65);
        let java = expectations(source, "java").unwrap();
        assert!(java.errors.contains("[3] Error at 'b': nope"));
        assert_eq!(expectations("// nontest\n", "c"), None);
    }

    #[test]
    fn checks_runtime_errors_by_message_and_line() {
        let expected =
            expectations("\n1 + nil; // expect runtime error: Operands must be numbers.\n", "c")
                .unwrap();
        assert!(
            check(&expected, "", "Operands must be numbers.\n[line 2] in script\n", 70).is_empty()
        );
        assert!(
            !check(&expected, "", "Operands must be numbers.\n[line 1] in script\n", 70).is_empty()
        );
        assert!(!check(&expected, "", "Operands must be numbers.\n", 70).is_empty());
        assert!(!check(&expected, "", "Operands must be numbers.\n[line 2]\n", 65).is_empty());
    }

    #[test]
    fn unexpected_stderr_or_stdout_fails() {
        let expected = expectations("print 1; // expect: 1\n", "c").unwrap();
        assert!(check(&expected, "1\n", "", 0).is_empty());
        assert!(!check(&expected, "1\n2\n", "", 0).is_empty());
        assert!(!check(&expected, "1\n", "warning\n", 0).is_empty());
        assert!(!check(&expected, "", "", 0).is_empty());
    }

    #[test]
    fn test_sets_follow_the_books_rules() {
        assert!(TestSet::Clox.includes("limit/too_many_locals.lox"));
        assert!(!TestSet::Jlox.includes("limit/too_many_locals.lox"));
        assert!(!TestSet::Clox.includes("scanning/numbers.lox"));
        assert!(TestSet::Chap04Scanning.includes("scanning/numbers.lox"));
        assert!(!TestSet::Chap04Scanning.includes("print/missing_argument.lox"));
        assert!(TestSet::Jlox.includes("number/literals.lox"));
        assert!(!TestSet::Jlox.includes("number/nan_equality.lox"));
    }
}
