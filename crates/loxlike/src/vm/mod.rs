//! Engine 2: a bytecode compiler and stack VM with clox's semantics and limits.
//!
//! ```text
//!   Program ──compiler──▶ Function (Chunk: code, lines, constants) ──Vm──▶ output
//! ```
//!
//! - [`chunk`]: the instruction set and its encoding;
//! - [`compiler`]: the resolved tree to bytecode, one function at a time;
//! - [`object`] and [`heap`]: values, heap objects, interning and the mark-sweep collector;
//! - [`fields`]: instance fields, found through per-instruction position hints;
//! - [`methods`]: a cache of method lookups per class and name;
//! - [`machine`]: the dispatch loop, calls, upvalues, classes;
//! - [`disasm`]: a disassembler in clox's format.

pub mod chunk;
pub mod code;
pub mod compiler;
pub mod disasm;
pub mod fields;
pub mod heap;
pub mod machine;
pub mod methods;
pub mod object;

use std::io::Write;

pub use machine::{MAX_FRAMES, Vm};

use crate::syntax::ast::Program;
use crate::{CompileErrors, Error, HostFunction, Limits};

/// Compiles `program` (parsed from `source` in the clox dialect) and runs it on a fresh VM.
/// With `gc_stress`, the collector runs before every allocating instruction.
pub fn run(
    program: &Program,
    source: &str,
    out: &mut dyn Write,
    natives: &[HostFunction],
    limits: Limits,
    gc_stress: bool,
) -> Result<(), Error> {
    let mut vm = Vm::new(out, limits, gc_stress);
    vm.load_and_run(program, source, natives)
}

impl Vm<'_> {
    /// Compiles and runs one program; the VM keeps its globals for the next (a REPL).
    pub fn load_and_run(
        &mut self,
        program: &Program,
        source: &str,
        natives: &[HostFunction],
    ) -> Result<(), Error> {
        // No run is in progress, so the table is not shared and this does not copy it.
        let functions = std::rc::Rc::make_mut(&mut self.functions);
        let script = compiler::compile(program, source, &mut self.heap, functions)
            .map_err(Error::Compile)?;
        self.load_code().map_err(Error::Compile)?;
        self.learn_names(&program.interner, natives);
        self.run(script).map_err(Error::Runtime)
    }
}

/// Compiles `program` and lists every function's bytecode (see [`crate::disassemble`]).
pub fn disassemble(program: &Program, source: &str) -> Result<String, CompileErrors> {
    let mut heap = heap::Heap::new(false);
    let mut functions = Vec::new();
    compiler::compile(program, source, &mut heap, &mut functions)?;
    let context = disasm::Context { heap: &heap, functions: &functions, names: &program.interner };
    Ok(disasm::disassemble_all(&context))
}
