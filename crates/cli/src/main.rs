//! `byo`: run and check the byo reference systems from the command line.
//!
//! ```text
//! byo serve redis [--threads N] [--<parameter> <value>]...
//! ```
//!
//! `serve redis` takes Redis's configuration parameters the way `redis-server` does on its
//! command line (`--port 6380 --requirepass secret`). With `--port 0` the system picks a free
//! port; the line printed on start-up tells which.

use std::process::ExitCode;

use byo_resp::server::{Config, Server};

mod lox;

const USAGE: &str = "\
usage: byo <command> [arguments]

commands:
  serve redis [--threads N] [--<parameter> <value>]...
      Run the Redis-compatible server in this process. Parameters are Redis's
      configuration parameters (--port, --bind, --requirepass, --maxclients, ...);
      --threads sets the worker threads (default 1, as Redis runs commands on one).
  check redis HOST:PORT [--cases FILE]
      Run byo-resp's black-box compatibility cases (or those in FILE) against a
      Redis-compatible server. They flush database 9. Exit code 1 if any fails.
  lox [--engine vm|tree] [--tokens|--ast|--expr|--disassemble] [FILE]
      Run a Lox program (a REPL without FILE) with the bytecode VM (default) or the
      tree-walker. --tokens prints the tokens, --ast the tree of one expression,
      --expr the value of one expression, --disassemble the VM's bytecode of every
      function. Exit codes: 64 usage, 65 compile error, 70 runtime error,
      74 unreadable file.
  check lox (--suite DIR | --kit) [--tests NAME] -- COMMAND [ARG]...
      Run the official Lox test suite in DIR against an interpreter command, with
      the official rules for the named test set (clox, jlox, chap04_scanning,
      chap06_parsing, chap07_evaluating, chap17_compiling); or, with --kit, the
      cases of byo-loxlike's testkit, as a clox or a jlox. Exit code 1 if any fails.
  help
      Print this text.
";

/// Exit code for a command line that cannot be understood (BSD `EX_USAGE`).
const EX_USAGE: u8 = 64;
/// Exit code for input that is malformed (`EX_DATAERR`).
const EX_DATAERR: u8 = 65;
/// Exit code for an input file that cannot be read (`EX_NOINPUT`).
const EX_NOINPUT: u8 = 66;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["serve", "redis", options @ ..] => serve_redis(options),
        ["lox", options @ ..] => lox::main(options),
        ["check", "lox", options @ ..] => lox::check(options),
        ["check", "redis", addr] => check_redis(addr, None),
        ["check", "redis", addr, "--cases", file] => check_redis(addr, Some(file)),
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => usage_error("unknown command"),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("byo: {message}\n\n{USAGE}");
    ExitCode::from(EX_USAGE)
}

fn check_redis(addr: &str, file: Option<&str>) -> ExitCode {
    let text = match file {
        None => byo_resp::check::CASES.to_string(),
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("byo: cannot read {path}: {e}");
                return ExitCode::from(EX_NOINPUT);
            }
        },
    };
    let cases = match byo_resp::check::parse(&text) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("byo: {e}");
            return ExitCode::from(EX_DATAERR);
        }
    };
    let outcomes = byo_resp::check::run(addr, &cases);
    let mut failed = 0;
    for outcome in &outcomes {
        match &outcome.failure {
            None => println!("ok    {}", outcome.name),
            Some(why) => {
                failed += 1;
                println!("FAIL  {}: {why}", outcome.name);
            }
        }
    }
    println!("{} passed, {failed} failed", outcomes.len() - failed);
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn serve_redis(options: &[&str]) -> ExitCode {
    let mut config = Config::default();
    let mut threads = 1usize;
    let mut rest = options;
    while let [flag, value, tail @ ..] = rest {
        rest = tail;
        let Some(name) = flag.strip_prefix("--") else {
            return usage_error(&format!("expected --<parameter>, got '{flag}'"));
        };
        if name == "threads" {
            match value.parse() {
                Ok(n) if n >= 1 => threads = n,
                _ => return usage_error("--threads takes a positive number"),
            }
        } else if let Err(e) = config.set(name, value) {
            return usage_error(&format!("--{name} {value}: {e}"));
        }
    }
    if let [flag] = rest {
        return usage_error(&format!("{flag} needs a value"));
    }
    let address = format!("{}:{}", config.get("bind"), config.get("port"));
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("byo: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&address).await?;
        // Scripts and tests started with --port 0 read the address from this line.
        println!("Ready to accept connections tcp on {}", listener.local_addr()?);
        Server::new(config).serve(listener).await
    });
    // After `SHUTDOWN NOSAVE` a script may still be looping on its thread: do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("byo: {e}");
            ExitCode::FAILURE
        }
    }
}
