//! `byo lox`: run a Lox file or a REPL, or show what the front end sees.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use byo_loxlike::{Dialect, Engine, Error, Lox, syntax};

/// Exit code for a command line that cannot be understood (`EX_USAGE`).
const EX_USAGE: u8 = 64;
/// Exit code for a file that cannot be read (`EX_IOERR`, as clox uses it).
const EX_IOERR: u8 = 74;

/// What to do with the source.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Run,
    /// Print the tokens (chapter 4).
    Tokens,
    /// Parse one expression and print its tree (chapter 6).
    Ast,
    /// Parse one expression, evaluate it and print the value (chapters 7 and 17).
    Expr,
    /// Compile for the VM and list every function's bytecode, as clox's `DEBUG_PRINT_CODE`.
    Disassemble,
}

pub(crate) fn main(args: &[&str]) -> ExitCode {
    let mut engine = Engine::Vm;
    let mut mode = Mode::Run;
    let mut file = None;
    let mut rest = args;
    while let [arg, tail @ ..] = rest {
        rest = tail;
        match *arg {
            "--engine" => match rest {
                ["vm", tail @ ..] => (engine, rest) = (Engine::Vm, tail),
                ["tree", tail @ ..] => (engine, rest) = (Engine::Tree, tail),
                _ => return usage("--engine takes vm or tree"),
            },
            "--tokens" => mode = Mode::Tokens,
            "--ast" => mode = Mode::Ast,
            "--expr" => mode = Mode::Expr,
            "--disassemble" => mode = Mode::Disassemble,
            flag if flag.starts_with("--") => return usage(&format!("unknown option {flag}")),
            path if file.is_none() => file = Some(path),
            _ => return usage("more than one file"),
        }
    }
    let Some(path) = file else {
        if mode != Mode::Run {
            return usage("the dump modes need a file");
        }
        return repl(engine);
    };
    let source = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!("Could not open file \"{path}\": {e}.");
            return ExitCode::from(EX_IOERR);
        }
    };
    let mut out = BufWriter::new(std::io::stdout());
    let result = match mode {
        Mode::Run => Lox::new(engine).run(&source, &mut out),
        Mode::Tokens => {
            let (tokens, errors) = syntax::printer::dump_tokens(&source);
            let _ = out.write_all(tokens.as_bytes());
            if errors.is_empty() {
                Ok(())
            } else {
                Err(Error::Compile(byo_loxlike::CompileErrors(errors)))
            }
        }
        Mode::Ast => match syntax::parse_expression(&source, Dialect::Jlox) {
            Ok((expr, interner)) => {
                let _ = writeln!(out, "{}", syntax::printer::print_ast(&expr, &interner));
                Ok(())
            }
            Err(errors) => Err(Error::Compile(errors)),
        },
        Mode::Expr => byo_loxlike::run_expression(&source, engine, &mut out),
        Mode::Disassemble => byo_loxlike::disassemble(&source).map(|listing| {
            let _ = out.write_all(listing.as_bytes());
        }),
    };
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn repl(engine: Engine) -> ExitCode {
    let mut out = std::io::stdout();
    match byo_loxlike::repl(engine, std::io::BufReader::new(std::io::stdin()), &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("byo: {e}");
            ExitCode::from(EX_IOERR)
        }
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!(
        "byo lox: {message}\n\nusage: byo lox [--engine vm|tree] \
         [--tokens|--ast|--expr|--disassemble] [FILE]"
    );
    ExitCode::from(EX_USAGE)
}

/// `byo check lox (--suite DIR | --kit) [--tests NAME] -- COMMAND [ARG]...`
pub(crate) fn check(args: &[&str]) -> ExitCode {
    let mut suite = None;
    let mut kit = false;
    let mut set = byo_loxlike::suite::TestSet::Clox;
    let mut rest = args;
    let command: Vec<String> = loop {
        match rest {
            ["--suite", dir, tail @ ..] => (suite, rest) = (Some(*dir), tail),
            ["--kit", tail @ ..] => (kit, rest) = (true, tail),
            ["--tests", name, tail @ ..] => {
                let Some(named) = byo_loxlike::suite::TestSet::from_name(name) else {
                    return check_usage(&format!("unknown test set '{name}'"));
                };
                (set, rest) = (named, tail);
            }
            ["--", command @ ..] if !command.is_empty() => {
                break command.iter().map(|s| s.to_string()).collect();
            }
            _ => return check_usage("cannot read the arguments"),
        }
    };
    let report = match (suite, kit) {
        (Some(suite), false) => {
            match byo_loxlike::suite::run(std::path::Path::new(suite), set, &command) {
                Ok(report) => report,
                Err(e) => {
                    eprintln!("byo: cannot read the suite in {suite}: {e}");
                    return ExitCode::from(EX_IOERR);
                }
            }
        }
        (None, true) => match check_kit(set, &command) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("byo: cannot write the kit's programs to a temporary directory: {e}");
                return ExitCode::from(EX_IOERR);
            }
        },
        _ => return check_usage("one of --suite DIR and --kit is required"),
    };
    for (path, failures) in &report.failed {
        println!("FAIL {path}");
        for failure in failures {
            println!("     {failure}");
        }
    }
    println!("{} skipped", report.skipped);
    println!("{} passed, {} failed", report.passed, report.failed.len());
    if report.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Runs the testkit's cases through `command`, each written to a file of a fresh temporary
/// directory, which is removed afterwards. The test set says which reference's cases apply.
fn check_kit(
    set: byo_loxlike::suite::TestSet,
    command: &[String],
) -> std::io::Result<byo_loxlike::suite::Report> {
    let dir = std::env::temp_dir().join(format!("byo-lox-kit-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("case.lox");
    let report = byo_loxlike::testkit::check(set.language(), |source: &str| {
        let run = std::fs::write(&file, source)
            .and_then(|()| byo_loxlike::suite::run_file(command, &file));
        run.unwrap_or_else(|e| byo_loxlike::suite::Outcome {
            stderr: format!("could not run the interpreter: {e}\n"),
            exit_code: -1,
            ..Default::default()
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}

fn check_usage(message: &str) -> ExitCode {
    eprintln!(
        "byo check lox: {message}\n\nusage: byo check lox (--suite DIR | --kit) [--tests NAME] \
         -- COMMAND [ARG]..."
    );
    ExitCode::from(EX_USAGE)
}
