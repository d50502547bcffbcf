//! The virtual machine: a stack of values, a stack of call frames, and the dispatch loop.
//!
//! Each call pushes a `Frame` whose slots start at `base` on the value stack: slot 0 holds
//! the callee (or `this` in a method), then the arguments, then the locals.
//!
//! The code is in four parts: this module (the VM's state, the stacks, running a program,
//! the heap's roots, values), `dispatch` (the loop), `calls` (calls and upvalues) and
//! `outlined` (the instructions kept out of the loop).
//!
//! The collector runs only at the start of an allocating instruction, when everything live is
//! on the stack, in a frame, in an open upvalue or in a global; see `Vm::reserve`.

mod calls;
mod dispatch;
mod outlined;

use std::io::Write;
use std::rc::Rc;
use std::time::Instant;

use super::code::{CODE_BYTES, CodeSpace};
use super::fields::Hints;
use super::heap::Heap;
use super::methods::MethodCache;
use super::object::{Closure, Function, FunctionId, Kind, Native, ObjRef, Object, Value};
use crate::diag::{CompileError, CompileErrors, Location};
use crate::syntax::ast::{Interner, Symbol};
use crate::{HostValue, Limits, RuntimeError};

/// Call frames, as in clox: the 65th nested call is a stack overflow.
pub const MAX_FRAMES: usize = 64;

/// Slots on the value stack, as in clox (`FRAMES_MAX * UINT8_COUNT`); a push past the last
/// one is a stack overflow.
pub const STACK_SLOTS: usize = MAX_FRAMES * 256;

/// [`STACK_SLOTS`] is a power of two, so an index masked with this is in bounds and the
/// optimiser can see it: reads and writes below the top compile without a bounds check.
const STACK_MASK: usize = STACK_SLOTS - 1;

/// The value stack, holding each value's bits (see [`new_stack`]).
type Stack = [u64; STACK_SLOTS];

/// A stack of zeroes (the number 0, a valid value): allocated zeroed, so that no page of it
/// is touched before the program uses it.
fn new_stack() -> Box<Stack> {
    match vec![0u64; STACK_SLOTS].into_boxed_slice().try_into() {
        Ok(stack) => stack,
        Err(_) => unreachable!("the vector has STACK_SLOTS elements"),
    }
}

#[derive(Clone, Copy)]
struct Frame {
    closure: ObjRef,
    function: FunctionId,
    ip: usize,
    base: usize,
}

/// The call frames: a fixed array of [`MAX_FRAMES`] (a power of two, indexed under a mask
/// like the value stack, so that no access carries a bounds check) and how many are in use.
struct Frames {
    slots: [Frame; MAX_FRAMES],
    len: usize,
}

impl Frames {
    const MASK: usize = MAX_FRAMES - 1;

    fn new() -> Self {
        let empty = Frame { closure: ObjRef(0), function: FunctionId(0), ip: 0, base: 0 };
        Frames { slots: [empty; MAX_FRAMES], len: 0 }
    }

    /// The frames in use, outermost first.
    fn live(&self) -> &[Frame] {
        &self.slots[..self.len]
    }

    /// Frame `index`, which must be below `len`.
    #[inline(always)]
    fn get(&self, index: usize) -> &Frame {
        &self.slots[index & Self::MASK]
    }

    #[inline(always)]
    fn get_mut(&mut self, index: usize) -> &mut Frame {
        &mut self.slots[index & Self::MASK]
    }

    /// Pushes `frame`; the caller has checked that fewer than [`MAX_FRAMES`] are in use.
    #[inline(always)]
    fn push(&mut self, frame: Frame) {
        self.slots[self.len & Self::MASK] = frame;
        self.len += 1;
    }
}

/// The bytecode VM. Globals and the heap persist across [`Vm::load_and_run`] calls (a REPL).
pub struct Vm<'o> {
    pub(crate) heap: Heap,
    hints: Hints,
    methods: MethodCache,
    /// Every function compiled so far. Shared with the running loop, which borrows its code
    /// from here; it only grows, between runs.
    pub(crate) functions: Rc<Vec<Function>>,
    /// Every loaded function's code (see [`super::code`]); shared with the running loop
    /// like `functions`, and only written between runs.
    pub(crate) code: Rc<CodeSpace>,
    /// How many functions of `functions` have their code in `code`.
    pub(crate) loaded: usize,
    /// Taken by the loop while a program runs.
    stack: Option<Box<Stack>>,
    frames: Frames,
    /// By symbol; [`Value::UNDEFINED`] where the name was never defined.
    globals: Vec<Value>,
    names: Vec<Rc<str>>,
    open_upvalues: Vec<ObjRef>,
    out: &'o mut dyn Write,
    fuel: Option<u64>,
    memory_limit: Option<usize>,
    init: Symbol,
    started: Instant,
}

impl<'o> Vm<'o> {
    /// A VM printing to `out`, collecting on every allocation if `gc_stress`.
    pub fn new(out: &'o mut dyn Write, limits: Limits, gc_stress: bool) -> Self {
        Vm {
            heap: Heap::new(gc_stress),
            hints: Hints::default(),
            methods: MethodCache::default(),
            functions: Rc::new(Vec::new()),
            code: Rc::new(CodeSpace::default()),
            loaded: 0,
            stack: None,
            frames: Frames::new(),
            globals: Vec::new(),
            names: Vec::new(),
            open_upvalues: Vec::new(),
            out,
            fuel: limits.fuel,
            memory_limit: limits.memory,
            init: u32::MAX,
            started: Instant::now(),
        }
    }

    /// Where `print` writes.
    pub fn output(&mut self) -> &mut dyn Write {
        self.out
    }

    /// Learns the names of a newly parsed program (its interner continues the previous one).
    pub(crate) fn learn_names(&mut self, interner: &Interner, natives: &[crate::HostFunction]) {
        let known = self.names.len();
        for symbol in known..interner.len() {
            let name: Rc<str> = Rc::from(interner.text(symbol as Symbol));
            let native = match &*name {
                "clock" => Some(Native::Clock),
                _ => natives
                    .iter()
                    .find(|n| *n.name == *name)
                    .map(|n| Native::Host { arity: n.arity, function: n.function.clone() }),
            };
            let value = native.map(|native| Value::obj(self.heap.alloc(Object::Native(native))));
            self.globals.push(value.unwrap_or(Value::UNDEFINED));
            self.names.push(name);
        }
        self.init = interner.get("init").unwrap_or(u32::MAX);
    }

    /// Copies the code of the functions compiled since the last call into the code space and
    /// notes where each starts. If they do not all fit, none is kept.
    pub(crate) fn load_code(&mut self) -> Result<(), CompileErrors> {
        // No run is in progress, so neither table is shared and this does not copy them.
        let functions = Rc::make_mut(&mut self.functions);
        let space = Rc::make_mut(&mut self.code);
        let new = &mut functions[self.loaded..];
        let size: usize = new.iter().map(|f| f.chunk.code.len()).sum();
        if size > space.free() {
            let line = new.last().and_then(|f| f.chunk.lines.first()).copied().unwrap_or(1);
            functions.truncate(self.loaded);
            let message = format!("Too much code (the limit is {CODE_BYTES} bytes of bytecode).");
            return Err(CompileErrors(vec![CompileError {
                line,
                location: Location::Nowhere,
                message,
            }]));
        }
        for function in new {
            function.code_start = space.load(&function.chunk.code).unwrap_or(0);
        }
        self.loaded = functions.len();
        Ok(())
    }

    /// Runs a compiled script function.
    pub(crate) fn run(&mut self, script: FunctionId) -> Result<(), RuntimeError> {
        let closure = Closure { function: script, upvalues: Box::new([]) };
        let closure = self.heap.alloc(Object::Closure(closure));
        let mut stack = self.stack.take().unwrap_or_else(new_stack);
        stack[0] = Value::obj(closure).to_bits();
        self.frames.len = 0;
        let ip = self.functions[script.index()].code_start;
        self.frames.push(Frame { closure, function: script, ip, base: 0 });
        let result = self.execute(&mut stack, 1);
        self.stack = Some(stack);
        let _ = self.out.flush();
        match result {
            Ok(()) => Ok(()),
            Err(message) => {
                let error = self.runtime_error(message);
                self.frames.len = 0;
                self.open_upvalues.clear();
                Err(error)
            }
        }
    }

    fn runtime_error(&self, message: String) -> RuntimeError {
        let trace = self
            .frames
            .live()
            .iter()
            .rev()
            .map(|frame| {
                let function = &self.functions[frame.function.index()];
                // `ip` is one past the instruction that was running.
                let offset = frame.ip.saturating_sub(function.code_start + 1);
                let line = function.chunk.lines.get(offset).copied().unwrap_or(0);
                match &function.name {
                    Some(name) => format!("[line {line}] in {name}()"),
                    None => format!("[line {line}] in script"),
                }
            })
            .collect();
        RuntimeError { message, trace }
    }

    // ---- the heap -------------------------------------------------------------------------

    /// Makes room for an allocation of about `extra` bytes: collects if due, and enforces the
    /// memory limit. Called only where every live value is reachable from the roots.
    fn reserve(&mut self, stack: &[u64], extra: usize) -> Result<(), String> {
        if self.heap.should_collect(extra) {
            self.collect(stack);
        }
        if let Some(limit) = self.memory_limit
            && self.heap.bytes + extra > limit
        {
            self.collect(stack);
            if self.heap.bytes + extra > limit {
                return Err("Memory limit exceeded.".into());
            }
        }
        Ok(())
    }

    fn collect(&mut self, stack: &[u64]) {
        for &bits in stack {
            self.heap.mark_value(Value::from_bits(bits));
        }
        for frame in self.frames.live() {
            self.heap.mark(frame.closure);
        }
        for i in 0..self.open_upvalues.len() {
            self.heap.mark(self.open_upvalues[i]);
        }
        for i in 0..self.globals.len() {
            self.heap.mark_value(self.globals[i]);
        }
        for function in self.functions.iter() {
            for &constant in &function.chunk.constants {
                self.heap.mark_value(constant);
            }
        }
        self.heap.trace();
        if self.heap.sweep() {
            self.methods.clear();
        }
    }

    // ---- values ---------------------------------------------------------------------------

    fn format_value(&self, value: Value, out: &mut String) {
        match value.kind() {
            Kind::Nil => out.push_str("nil"),
            Kind::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            Kind::Number(n) => crate::number::write_clox(out, n),
            Kind::Obj(r) => match self.heap.get(r) {
                Object::String(s) => out.push_str(&s.text),
                Object::Function(id) => format_function(&self.functions[id.index()], out),
                Object::Native(_) => out.push_str("<native fn>"),
                Object::Closure(c) => format_function(&self.functions[c.function.index()], out),
                Object::Upvalue(_) => out.push_str("upvalue"),
                Object::Class(c) => out.push_str(&c.name),
                Object::Instance(i) => {
                    if let Object::Class(c) = self.heap.get(i.class) {
                        out.push_str(&c.name);
                    }
                    out.push_str(" instance");
                }
                Object::BoundMethod(b) => self.format_value(Value::obj(b.method), out),
            },
        }
    }

    fn to_host(&self, value: Value) -> HostValue {
        match value.kind() {
            Kind::Nil => HostValue::Nil,
            Kind::Bool(b) => HostValue::Bool(b),
            Kind::Number(n) => HostValue::Number(n),
            Kind::Obj(r) => match self.heap.get(r) {
                Object::String(s) => HostValue::Str(s.text.to_string()),
                _ => {
                    let mut text = String::new();
                    self.format_value(value, &mut text);
                    HostValue::Object(text)
                }
            },
        }
    }

    fn value_from_host(&mut self, value: HostValue) -> Value {
        match value {
            HostValue::Nil => Value::NIL,
            HostValue::Bool(b) => Value::bool(b),
            // Only the canonical NaN may enter (see `Value`).
            HostValue::Number(n) if n.is_nan() => Value::number(f64::NAN),
            HostValue::Number(n) => Value::number(n),
            HostValue::Str(s) | HostValue::Object(s) => Value::obj(self.heap.intern(&s)),
        }
    }

    #[cold]
    #[inline(never)]
    fn undefined_variable(&self, slot: u16) -> String {
        format!("Undefined variable '{}'.", self.name(slot))
    }

    fn name(&self, symbol: u16) -> &str {
        self.names.get(symbol as usize).map_or("", |n| n)
    }
}

/// Why a call of a function taking `arity` arguments with `argc` of them cannot start.
#[cold]
#[inline(never)]
fn call_error(arity: u8, argc: usize) -> String {
    if argc != arity as usize {
        format!("Expected {arity} arguments but got {argc}.")
    } else {
        "Stack overflow.".into()
    }
}

/// A runtime error's message. Kept out of line, so that the loop carries only a call on its
/// error paths.
#[cold]
#[inline(never)]
fn error(message: &str) -> String {
    message.to_owned()
}

fn format_function(function: &Function, out: &mut String) {
    match &function.name {
        Some(name) => {
            out.push_str("<fn ");
            out.push_str(name);
            out.push('>');
        }
        None => out.push_str("<script>"),
    }
}

/// The value in stack slot `index`. The mask keeps the index provably in bounds, so no check
/// is compiled; the bytecode's own invariants keep it below the top.
#[inline(always)]
fn get(stack: &Stack, index: usize) -> Value {
    Value::from_bits(stack[index & STACK_MASK])
}

/// Stores `value` in stack slot `index` (masked as in [`get`]).
#[inline(always)]
fn set(stack: &mut Stack, index: usize, value: Value) {
    stack[index & STACK_MASK] = value.to_bits();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::vm::chunk::{Chunk, op};
    use crate::vm::code::CODE_BYTES;

    #[test]
    fn code_that_does_not_fit_the_code_space_is_a_compile_error_and_nothing_is_loaded() {
        let mut out = Vec::new();
        let mut vm = Vm::new(&mut out, Limits::default(), false);
        let small = Function {
            chunk: Chunk { code: vec![op::NIL, op::RETURN], ..Chunk::default() },
            ..Function::default()
        };
        Rc::make_mut(&mut vm.functions).push(small.clone());
        vm.load_code().unwrap();
        assert_eq!(vm.loaded, 1);

        let mut huge = Chunk { code: vec![op::NIL; CODE_BYTES], ..Chunk::default() };
        huge.lines = vec![7; CODE_BYTES];
        Rc::make_mut(&mut vm.functions).push(Function { chunk: huge, ..Function::default() });
        let errors = vm.load_code().unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].line, 7);
        assert!(errors.0[0].message.starts_with("Too much code"), "{}", errors.0[0].message);
        assert_eq!(vm.functions.len(), 1, "the functions that did not fit are dropped");

        // What did fit is still there, and more code still loads after it.
        Rc::make_mut(&mut vm.functions).push(small);
        vm.load_code().unwrap();
        assert_eq!(vm.functions[1].code_start, 2);
    }
}
