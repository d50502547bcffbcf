//! Integration tests of the `byo` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// `byo serve redis` on a free port; killed when dropped.
struct Served {
    child: Child,
    addr: String,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_byo"))
            .args(["serve", "redis", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().rsplit(' ').next().unwrap().to_string();
        Served { child, addr }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exchange(addr: &str, request: &[u8], reply_len: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    let mut reply = vec![0; reply_len];
    stream.read_exact(&mut reply).unwrap();
    reply
}

#[test]
fn serve_redis_answers_on_the_port_it_prints() {
    let served = Served::start(&[]);
    assert_eq!(exchange(&served.addr, b"PING\r\n", 7), b"+PONG\r\n");
}

#[test]
fn configuration_parameters_are_taken_from_the_command_line() {
    let served = Served::start(&["--requirepass", "sesame", "--threads", "2"]);
    assert_eq!(exchange(&served.addr, b"GET k\r\n", 34), b"-NOAUTH Authentication required.\r\n");
    assert_eq!(exchange(&served.addr, b"AUTH sesame\r\nGET k\r\n", 10), b"+OK\r\n$-1\r\n");
}

#[test]
fn bad_command_lines_exit_with_the_usage_code() {
    for args in
        [&["serve", "redis", "--nope", "1"][..], &["serve", "redis", "--port"], &["frobnicate"]]
    {
        let output = Command::new(env!("CARGO_BIN_EXE_byo")).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        assert!(output.stdout.is_empty());
        assert!(String::from_utf8_lossy(&output.stderr).contains("usage: byo"));
    }
}

#[test]
fn check_redis_passes_against_our_server_and_reports_counts() {
    let served = Served::start(&[]);
    let output = Command::new(env!("CARGO_BIN_EXE_byo"))
        .args(["check", "redis", &served.addr])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");
}

#[test]
fn check_redis_fails_on_a_case_the_server_does_not_meet() {
    let served = Served::start(&[]);
    let dir = std::env::temp_dir().join(format!("byo-cases-{}", std::process::id()));
    std::fs::write(&dir, "## wrong on purpose\n> PING\n+PANG\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_byo"))
        .args(["check", "redis", &served.addr, "--cases", dir.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  wrong on purpose: step 1 (PING): expected +PANG, got +PONG"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}

/// Runs `byo lox` with `args` on `source` written to a temporary file (or standard input when
/// `source` is `None`); returns (exit code, stdout, stderr).
fn lox(args: &[&str], source: Option<&str>, stdin: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "byo-lox-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("program.lox");
    let mut command = Command::new(env!("CARGO_BIN_EXE_byo"));
    command.arg("lox").args(args);
    if let Some(source) = source {
        std::fs::write(&file, source).unwrap();
        command.arg(&file);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

#[test]
fn lox_runs_a_file_with_either_engine() {
    let source = "print 1/4; print \"done\";";
    assert_eq!(lox(&[], Some(source), ""), (0, "0.25\ndone\n".into(), String::new()));
    assert_eq!(
        lox(&["--engine", "tree"], Some(source), ""),
        (0, "0.25\ndone\n".into(), String::new())
    );
}

#[test]
fn lox_exit_codes_and_stderr_are_the_reference_interpreters() {
    let (code, out, err) = lox(&[], Some("print 1;\nprint 1 +;"), "");
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (65, "", "[line 2] Error at ';': Expect expression.\n")
    );
    let (code, out, err) = lox(&[], Some("print 1;\nfun f() { return -nil; }\nf();"), "");
    let want = "Operand must be a number.\n[line 2] in f()\n[line 3] in script\n";
    assert_eq!((code, out.as_str(), err.as_str()), (70, "1\n", want));
    let (code, _, err) = lox(&["--engine", "tree"], Some("\n-nil;"), "");
    assert_eq!((code, err.as_str()), (70, "Operand must be a number.\n[line 2]\n"));
    let (code, _, err) = lox(&["/no/such/file.lox"], None, "");
    assert_eq!(code, 74, "{err}");
    let (code, _, _) = lox(&["--engine", "java"], None, "");
    assert_eq!(code, 64);
}

#[test]
fn lox_dump_modes_print_tokens_and_trees() {
    assert_eq!(
        lox(&["--tokens"], Some("a 1"), "").1,
        "IDENTIFIER a null\nNUMBER 1 1.0\nEOF  null\n"
    );
    assert_eq!(lox(&["--ast"], Some("-1 * (2)"), "").1, "(* (- 1.0) (group 2.0))\n");
    assert_eq!(lox(&["--expr"], Some("1 + 2 * 3"), "").1, "7\n");
}

#[test]
fn lox_disassemble_lists_each_function_and_reports_compile_errors() {
    let (code, out, err) = lox(
        &["--disassemble"],
        Some(
            "fun f() { return 1; }
print f();",
        ),
        "",
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("== f ==\n0000    1 OP_CONSTANT         0 '1'\n"), "{out}");
    assert!(out.contains("== <script> ==\n"), "{out}");
    assert!(out.contains("OP_CALL"), "{out}");
    let (code, out, err) = lox(&["--disassemble"], Some("print ;"), "");
    assert_eq!((code, out.as_str()), (65, ""));
    assert_eq!(err, "[line 1] Error at ';': Expect expression.\n");
}

#[test]
fn lox_repl_keeps_globals_between_lines_and_survives_errors() {
    for engine in ["vm", "tree"] {
        let (code, out, err) =
            lox(&["--engine", engine], None, "var a = 2;\nprint a +;\nprint a * 21;\n");
        assert_eq!(code, 0);
        assert_eq!(out, "> > > 42\n> \n", "{engine}");
        assert_eq!(err, "[line 1] Error at ';': Expect expression.\n");
    }
}

#[test]
fn check_lox_runs_a_suite_against_an_interpreter_command() {
    let dir = std::env::temp_dir().join(format!("byo-lox-suite-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("ok")).unwrap();
    std::fs::write(dir.join("ok/print.lox"), "print 1; // expect: 1\n").unwrap();
    std::fs::write(dir.join("ok/error.lox"), "print; // Error at ';': Expect expression.\n")
        .unwrap();
    std::fs::write(dir.join("wrong.lox"), "print 2; // expect: 3\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_byo"))
        .args([
            "check",
            "lox",
            "--suite",
            dir.to_str().unwrap(),
            "--",
            env!("CARGO_BIN_EXE_byo"),
            "lox",
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL wrong.lox"), "{stdout}");
    assert!(stdout.ends_with("2 passed, 1 failed\n"), "{stdout}");
}

#[test]
fn check_lox_kit_runs_the_testkit_cases_through_an_interpreter_command() {
    let byo = env!("CARGO_BIN_EXE_byo");
    let run = |args: &[&str]| Command::new(byo).args(["check", "lox"]).args(args).output().unwrap();
    let vm = run(&["--kit", "--tests", "clox", "--", byo, "lox"]);
    let stdout = String::from_utf8_lossy(&vm.stdout);
    assert_eq!(vm.status.code(), Some(0), "{stdout}");
    assert!(stdout.ends_with("0 skipped\n22 passed, 0 failed\n"), "{stdout}");
    let tree = run(&["--kit", "--tests", "jlox", "--", byo, "lox", "--engine", "tree"]);
    let stdout = String::from_utf8_lossy(&tree.stdout);
    assert_eq!(tree.status.code(), Some(0), "{stdout}");
    assert!(stdout.ends_with("2 skipped\n20 passed, 0 failed\n"), "{stdout}");
    // `--expr` reads one expression, not a program: the cases fail.
    let silent = run(&["--kit", "--", byo, "lox", "--expr"]);
    assert_eq!(silent.status.code(), Some(1));
    let missing = run(&["--tests", "clox", "--", byo, "lox"]);
    assert_eq!(missing.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--kit"));
}
