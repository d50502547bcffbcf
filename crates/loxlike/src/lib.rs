//! Lox, the language of Robert Nystrom's *Crafting Interpreters*, with both of its interpreters
//! on one front end.
//!
//! Lox is a small dynamically typed language with closures and classes. The book implements it
//! twice: *jlox*, a tree-walking interpreter in Java, and *clox*, a single-pass compiler to
//! bytecode and a stack VM in C with its own garbage collector. This crate does both, sharing
//! everything up to the syntax tree:
//!
//! 1. [`syntax`]: the scanner (a `logos` DFA), the parser, and the resolver, which the parser
//!    calls as it goes so that every variable use arrives in the tree already resolved;
//! 2. [`tree`]: the tree-walker, with jlox's semantics and number format;
//! 3. [`vm`]: the bytecode compiler and VM, with clox's semantics, limits and output, and a
//!    mark-sweep collector over an index-based object table.
//!
//! The two reference interpreters differ in how they *recover* from compile errors, which is
//! visible in their output; [`Dialect`] selects one (see [`diag`]). The official test suite
//! and its rules are in [`suite`], usable against any interpreter binary; `testkit` (a feature)
//! adds cases of its own for checking your own Lox.
//!
//! # Example
//!
//! ```
//! use byo_loxlike::{Engine, Error, Lox};
//!
//! let lox = Lox::new(Engine::Vm);
//! assert_eq!(lox.run_captured("var a = \"lo\"; print a + \"x\";")?, "lox\n");
//! match lox.run_captured("print 1 - nil;") {
//!     Err(Error::Runtime(e)) => assert_eq!(e.to_string(), "Operands must be numbers.\n[line 1] in script"),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod diag;
pub mod number;
pub mod suite;
pub mod syntax;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tree;
pub mod vm;

use std::fmt;
use std::io::Write;
use std::sync::Arc;

pub use diag::{CompileError, CompileErrors, Dialect};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Which interpreter runs the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The tree-walker, with jlox's semantics, number format and error recovery.
    Tree,
    /// The bytecode VM, with clox's semantics, limits and error recovery.
    #[default]
    Vm,
}

impl Engine {
    /// The front-end dialect this engine's reference interpreter uses.
    pub fn dialect(self) -> Dialect {
        match self {
            Engine::Tree => Dialect::Jlox,
            Engine::Vm => Dialect::Clox,
        }
    }
}

/// Bounds on one run, for embedding untrusted programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Stop with `Instruction budget exhausted.` after this many bytecode instructions (VM) or
    /// statements (tree-walker).
    pub fuel: Option<u64>,
    /// Stop with `Memory limit exceeded.` when the live objects would grow past this many
    /// bytes: the VM's heap after a collection; in the tree-walker, its strings, instances and
    /// closures (see `tree::meter`).
    pub memory: Option<usize>,
}

/// A value passed between Lox and a host function.
#[derive(Debug, Clone, PartialEq)]
pub enum HostValue {
    /// `nil`
    Nil,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    Str(String),
    /// Any other object, as Lox would print it (host functions cannot hold on to objects).
    Object(String),
}

/// The Rust side of a host function.
pub type HostFn = Arc<dyn Fn(&[HostValue]) -> Result<HostValue, String> + Send + Sync>;

/// A native function the host adds to the global scope.
#[derive(Clone)]
pub struct HostFunction {
    /// The global name.
    pub name: String,
    /// The exact number of arguments.
    pub arity: u8,
    /// The code; an `Err` becomes a Lox runtime error with that message.
    pub function: HostFn,
}

impl fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostFunction({}/{})", self.name, self.arity)
    }
}

/// A runtime error: the message, and the stack trace lines the reference interpreter prints
/// after it (`[line 3]` for jlox; `[line 3] in f()` ... `[line 9] in script` for clox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeError {
    /// The message, such as `Operands must be numbers.`
    pub message: String,
    /// The trace lines, innermost first.
    pub trace: Vec<String>,
}

impl RuntimeError {
    /// An error at `line` with a jlox-style one-line trace.
    pub fn new(message: String, line: u32) -> Self {
        RuntimeError { message, trace: vec![format!("[line {line}]")] }
    }

    fn internal() -> Self {
        RuntimeError::new("Internal error: the interpreter thread stopped.".into(), 0)
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for line in &self.trace {
            write!(f, "\n{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuntimeError {}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The source does not compile; exit code 65 in the reference interpreters.
    #[error("{0}")]
    Compile(CompileErrors),
    /// The program stopped with a runtime error; exit code 70.
    #[error("{0}")]
    Runtime(RuntimeError),
}

impl Error {
    /// The exit code the reference interpreters use: 65 for compile errors, 70 for runtime.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Compile(_) => 65,
            Error::Runtime(_) => 70,
        }
    }
}

/// Compiles and runs `source` with `engine`, printing to `out`.
pub fn run(source: &str, engine: Engine, out: &mut (dyn Write + Send)) -> Result<(), Error> {
    Lox::new(engine).run(source, out)
}

/// A configured interpreter: engine, limits and host functions.
#[derive(Debug, Clone, Default)]
pub struct Lox {
    engine: Engine,
    limits: Limits,
    natives: Vec<HostFunction>,
    gc_stress: bool,
}

impl Lox {
    /// An interpreter using `engine`, without limits.
    pub fn new(engine: Engine) -> Self {
        Lox { engine, ..Lox::default() }
    }

    /// Sets the limits for each run.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// VM only: collect garbage before every allocating instruction. Slow; for tests that
    /// look for objects the collector frees too early.
    pub fn gc_stress(mut self, on: bool) -> Self {
        self.gc_stress = on;
        self
    }

    /// Adds a global native function.
    pub fn native(
        mut self,
        name: &str,
        arity: u8,
        function: impl Fn(&[HostValue]) -> Result<HostValue, String> + Send + Sync + 'static,
    ) -> Self {
        self.natives.push(HostFunction { name: name.into(), arity, function: Arc::new(function) });
        self
    }

    /// Compiles and runs `source`, printing to `out`.
    pub fn run(&self, source: &str, out: &mut (dyn Write + Send)) -> Result<(), Error> {
        let program = syntax::parse(source, self.engine.dialect()).map_err(Error::Compile)?;
        self.run_program(&program, source, out)
    }

    /// Runs a parsed program (`source` is its text, for the VM's compile errors).
    fn run_program(
        &self,
        program: &syntax::ast::Program,
        source: &str,
        out: &mut (dyn Write + Send),
    ) -> Result<(), Error> {
        match self.engine {
            Engine::Tree => {
                tree::run(program, out, &self.natives, self.limits).map_err(Error::Runtime)
            }
            Engine::Vm => vm::run(program, source, out, &self.natives, self.limits, self.gc_stress),
        }
    }

    /// Runs `source` and returns what it printed; on an error, the output so far is lost.
    pub fn run_captured(&self, source: &str) -> Result<String, Error> {
        let mut out = Vec::new();
        self.run(source, &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Compiles `source` for the VM and lists its bytecode the way clox's `DEBUG_PRINT_CODE`
/// does: each function under a `== name ==` header, inner functions before the code that
/// encloses them and `<script>` last. The instruction set is clox's with a few additions
/// (see [`vm::chunk`]): here the constant `2` travels with the `+`.
///
/// ```
/// let listing = byo_loxlike::disassemble("var a = 1; print a + 2;")?;
/// assert_eq!(
///     listing,
///     "== <script> ==\n\
///      0000    1 OP_CONSTANT         0 '1'\n\
///      0002    | OP_DEFINE_GLOBAL    0 'a'\n\
///      0005    | OP_GET_GLOBAL       0 'a'\n\
///      0008    | OP_ADD_CONSTANT     1 '2'\n\
///      0010    | OP_PRINT\n\
///      0011    | OP_NIL\n\
///      0012    | OP_RETURN\n"
/// );
/// # Ok::<(), byo_loxlike::Error>(())
/// ```
pub fn disassemble(source: &str) -> Result<String, Error> {
    let program = syntax::parse(source, Dialect::Clox).map_err(Error::Compile)?;
    vm::disassemble(&program, source).map_err(Error::Compile)
}

/// Parses `source` as a single expression, evaluates it with `engine` and prints the value
/// (the book's chapters 7 and 17, before statements exist).
pub fn run_expression(
    source: &str,
    engine: Engine,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    let (expr, mut interner) =
        syntax::parse_expression(source, engine.dialect()).map_err(Error::Compile)?;
    let init = interner.intern("init");
    let statements = vec![syntax::ast::Stmt::Print(expr)];
    let program = syntax::ast::Program { statements, interner, init };
    Lox::new(engine).run_program(&program, source, out)
}

/// A read-eval-print loop: reads `input` line by line, prompting with `> ` on `out`; errors go
/// to standard error, and globals persist from line to line.
pub fn repl(
    engine: Engine,
    input: impl std::io::BufRead + Send,
    out: &mut (dyn Write + Send),
) -> std::io::Result<()> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .stack_size(tree::STACK_SIZE)
            .spawn_scoped(scope, move || repl_loop(engine, input, out))?;
        worker.join().unwrap_or_else(|_| Err(std::io::Error::other("the REPL thread stopped")))
    })
}

/// One REPL session's engine: its globals and heap live from line to line.
enum Session<'o> {
    Tree(Box<tree::Interpreter<'o>>),
    Vm(Box<vm::Vm<'o>>),
}

impl Session<'_> {
    fn output(&mut self) -> &mut dyn Write {
        match self {
            Session::Tree(interpreter) => interpreter.output(),
            Session::Vm(vm) => vm.output(),
        }
    }

    fn run(&mut self, program: &syntax::ast::Program, source: &str) -> Result<(), Error> {
        match self {
            Session::Tree(interpreter) => interpreter.run(program).map_err(Error::Runtime),
            Session::Vm(vm) => vm.load_and_run(program, source, &[]),
        }
    }
}

fn repl_loop(
    engine: Engine,
    mut input: impl std::io::BufRead,
    out: &mut (dyn Write + Send),
) -> std::io::Result<()> {
    let mut interner = syntax::ast::Interner::default();
    let mut session = match engine {
        Engine::Tree => {
            let empty = syntax::ast::Program::default();
            Session::Tree(Box::new(tree::Interpreter::new(&empty, out, Limits::default())))
        }
        Engine::Vm => Session::Vm(Box::new(vm::Vm::new(out, Limits::default(), false))),
    };
    let mut line = String::new();
    loop {
        session.output().write_all(b"> ")?;
        session.output().flush()?;
        line.clear();
        if input.read_line(&mut line)? == 0 {
            session.output().write_all(b"\n")?;
            return Ok(());
        }
        match syntax::parse_with(&line, engine.dialect(), interner.clone()) {
            Err(errors) => eprintln!("{errors}"),
            Ok(program) => {
                interner = program.interner.clone();
                if let Err(error) = session.run(&program, &line) {
                    eprintln!("{error}");
                }
            }
        }
    }
}
