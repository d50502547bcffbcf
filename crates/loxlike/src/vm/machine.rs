//! The virtual machine: a stack of values, a stack of call frames, and the dispatch loop.
//!
//! Each call pushes a `Frame` whose slots start at `base` on the value stack: slot 0 holds
//! the callee (or `this` in a method), then the arguments, then the locals.
//!
//! What makes dispatch cheap:
//! - the running frame's constants, `ip` and `base`, and the stack's top `sp`, are local
//!   variables of the loop. `ip` is written back only when the loop leaves the frame (a call,
//!   a return, an error); `sp` goes to the helpers by value and comes back as their result,
//!   so nothing forces it out of a register;
//! - code is read from the code space (see [`super::code`]), a fixed-size array: `ip` is
//!   masked once per instruction and no byte read carries a bounds check. The opcode is
//!   masked too, with an arm for each of the 64 values that leaves, so the jump table that
//!   dispatches needs no range check either;
//! - the value stack is a fixed array of [`STACK_SLOTS`], a power of two, and every read or
//!   write below the top indexes it under `STACK_MASK`, which the optimiser can see is in
//!   bounds. The bytecode's invariants keep those indices below the top; only a push checks
//!   the end of the array, and reports "Stack overflow.";
//! - the call frames are a fixed array of [`MAX_FRAMES`], indexed the same way (`Frames`);
//! - whatever runs rarely or costs much anyway (printing, closures, classes, concatenation,
//!   every error message) is a function of its own, so the loop stays small.
//!
//! The collector runs only at the start of an allocating instruction, when everything live is
//! on the stack, in a frame, in an open upvalue or in a global; see `Vm::reserve`.

use std::io::Write;
use std::rc::Rc;
use std::time::Instant;

use super::chunk::op;
use super::code::{CODE_BYTES, CODE_MASK, Code, CodeSpace};
use super::fields::Hints;
use super::heap::Heap;
use super::methods::{Method, MethodCache};
use super::object::{
    BoundMethod, Closure, FIELD_CAPACITY_HINT, Function, FunctionId, Kind, Native, ObjRef, Object,
    Upvalue, Value,
};
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

    // ---- calls ----------------------------------------------------------------------------

    /// Calls the value `argc` slots below the top with the arguments above it. For closures
    /// this pushes a frame; natives and classes without `init` finish here. Returns the new
    /// top of the stack.
    fn call_value(
        &mut self,
        stack: &mut Stack,
        sp: usize,
        callee: Value,
        argc: usize,
    ) -> Result<usize, String> {
        let Some(r) = callee.as_obj() else {
            return Err("Can only call functions and classes.".into());
        };
        let base = sp - argc - 1;
        match self.heap.get(r) {
            Object::Closure(_) => self.call_closure(sp, r, argc).map(|()| sp),
            Object::BoundMethod(bound) => {
                let BoundMethod { receiver, method } = *bound;
                set(stack, base, receiver);
                self.call_closure(sp, method, argc).map(|()| sp)
            }
            Object::Class(class) => {
                let initializer = class.initializer;
                let capacity = class.field_capacity;
                self.reserve(&stack[..sp], std::mem::size_of::<Object>() + capacity * 16)?;
                let instance = self.heap.alloc(Object::new_instance(r, capacity));
                set(stack, base, Value::obj(instance));
                match initializer.and_then(Value::as_obj) {
                    Some(init) => self.call_closure(sp, init, argc).map(|()| sp),
                    _ if argc != 0 => Err(format!("Expected 0 arguments but got {argc}.")),
                    _ => Ok(sp),
                }
            }
            Object::Native(Native::Clock) => {
                let now = self.started.elapsed().as_secs_f64();
                set(stack, base, Value::number(now));
                Ok(base + 1)
            }
            Object::Native(Native::Host { arity, function }) => {
                if argc != *arity as usize {
                    return Err(format!("Expected {arity} arguments but got {argc}."));
                }
                let function = function.clone();
                let args: Vec<HostValue> =
                    (base + 1..sp).map(|slot| self.to_host(get(stack, slot))).collect();
                let result = function(&args)?;
                self.reserve(&stack[..sp], 64)?;
                let result = self.value_from_host(result);
                set(stack, base, result);
                Ok(base + 1)
            }
            _ => Err("Can only call functions and classes.".into()),
        }
    }

    #[inline(always)]
    fn call_closure(&mut self, sp: usize, closure: ObjRef, argc: usize) -> Result<(), String> {
        let Object::Closure(c) = self.heap.get(closure) else {
            return Err("Can only call functions and classes.".into());
        };
        self.push_frame(sp, closure, c.function, argc)
    }

    /// Starts a call of `closure`, whose function is `function`, with the `argc` arguments on
    /// top of the stack (whose top is `sp`). Always inlined: once the code space came in, the
    /// optimiser put it out of line, and the loop's fastest paths are the calls it makes.
    #[inline(always)]
    fn push_frame(
        &mut self,
        sp: usize,
        closure: ObjRef,
        function: FunctionId,
        argc: usize,
    ) -> Result<(), String> {
        let callee = &self.functions[function.index()];
        let (arity, ip) = (callee.arity, callee.code_start);
        if argc != arity as usize || self.frames.len >= MAX_FRAMES {
            return Err(call_error(arity, argc));
        }
        self.frames.push(Frame { closure, function, ip, base: sp - argc - 1 });
        Ok(())
    }

    /// `receiver.name(args)` where the receiver is `argc` below the top: the slow path of
    /// `INVOKE`. Returns the new top.
    fn invoke(
        &mut self,
        stack: &mut Stack,
        sp: usize,
        name: u16,
        argc: usize,
    ) -> Result<usize, String> {
        let base = sp - argc - 1;
        let Some(receiver) = get(stack, base).as_obj() else {
            return Err("Only instances have methods.".into());
        };
        let Object::Instance(instance) = self.heap.get(receiver) else {
            return Err("Only instances have methods.".into());
        };
        // A field holding a function shadows a method of the same name, so fields come first.
        // (The loop calls a method straight away when the instance has no such field.)
        let class = instance.class;
        if let Some(field) = instance.fields.get(name as Symbol, &mut 0) {
            set(stack, base, field);
            return self.call_value(stack, sp, field, argc);
        }
        self.invoke_from_class(sp, class, name, argc).map(|()| sp)
    }

    /// The method `name` of `class`, from the cache or else from the class (and then cached).
    #[inline(always)]
    fn method(&mut self, class: ObjRef, name: u16) -> Option<Method> {
        match self.methods.get(class, name as Symbol) {
            Some(method) => Some(method),
            None => self.method_from_class(class, name),
        }
    }

    #[inline(never)]
    fn method_from_class(&mut self, class: ObjRef, name: u16) -> Option<Method> {
        let name = name as Symbol;
        let Object::Class(c) = self.heap.get(class) else { return None };
        let closure = c.methods.get(&name)?.as_obj()?;
        let Object::Closure(c) = self.heap.get(closure) else { return None };
        let method = Method { closure, function: c.function };
        self.methods.insert(class, name, method);
        Some(method)
    }

    fn invoke_from_class(
        &mut self,
        sp: usize,
        class: ObjRef,
        name: u16,
        argc: usize,
    ) -> Result<(), String> {
        match self.method(class, name) {
            Some(method) => self.push_frame(sp, method.closure, method.function, argc),
            _ => Err(format!("Undefined property '{}'.", self.name(name))),
        }
    }

    /// Replaces the receiver on top of the stack with its method `name` bound to it.
    fn bind_method(
        &mut self,
        stack: &mut Stack,
        sp: usize,
        class: ObjRef,
        name: u16,
    ) -> Result<(), String> {
        let Some(method) = self.method(class, name) else {
            return Err(format!("Undefined property '{}'.", self.name(name)));
        };
        self.reserve(&stack[..sp], std::mem::size_of::<Object>())?;
        let receiver = get(stack, sp - 1);
        let method = method.closure;
        let bound = self.heap.alloc(Object::BoundMethod(BoundMethod { receiver, method }));
        set(stack, sp - 1, Value::obj(bound));
        Ok(())
    }

    // ---- upvalues -------------------------------------------------------------------------

    /// The open upvalue for stack slot `slot`, created if no closure captured it yet.
    /// `open_upvalues` is sorted by slot.
    fn capture_upvalue(&mut self, slot: usize) -> ObjRef {
        let position = self.open_upvalues.partition_point(|&u| match self.heap.get(u) {
            Object::Upvalue(Upvalue::Open(s)) => *s < slot,
            _ => true,
        });
        if let Some(&existing) = self.open_upvalues.get(position)
            && matches!(self.heap.get(existing), Object::Upvalue(Upvalue::Open(s)) if *s == slot)
        {
            return existing;
        }
        let upvalue = self.heap.alloc(Object::Upvalue(Upvalue::Open(slot)));
        self.open_upvalues.insert(position, upvalue);
        upvalue
    }

    /// Closes every open upvalue at or above stack slot `from`.
    fn close_upvalues(&mut self, stack: &Stack, from: usize) {
        while let Some(&last) = self.open_upvalues.last() {
            let slot = match self.heap.get(last) {
                Object::Upvalue(Upvalue::Open(slot)) => *slot,
                _ => usize::MAX,
            };
            if slot < from {
                break;
            }
            *self.heap.get_mut(last) = Object::Upvalue(Upvalue::Closed(get(stack, slot)));
            self.open_upvalues.pop();
        }
    }

    fn upvalue_of(&self, closure: ObjRef, index: u8) -> ObjRef {
        match self.heap.get(closure) {
            Object::Closure(c) => c.upvalues[index as usize],
            // A frame's closure is always a closure.
            _ => unreachable!("frame without a closure"),
        }
    }

    // ---- instructions kept out of the loop -------------------------------------------------
    //
    // What runs rarely, or is expensive anyway, lives in functions of its own: the loop stays
    // small, and the optimiser keeps more of its state in registers.

    #[inline(never)]
    fn print(&mut self, value: Value) -> Result<(), String> {
        let mut text = String::new();
        self.format_value(value, &mut text);
        text.push('\n');
        self.out.write_all(text.as_bytes()).map_err(|e| format!("Cannot write output: {e}."))
    }

    /// `a + b` for two objects: their concatenation if both are strings.
    #[inline(never)]
    fn concatenate(&mut self, stack: &[u64], a: ObjRef, b: ObjRef) -> Result<Value, String> {
        let (Object::String(left), Object::String(right)) = (self.heap.get(a), self.heap.get(b))
        else {
            return Err(error("Operands must be two numbers or two strings."));
        };
        let length = left.text.len() + right.text.len();
        self.reserve(stack, length + 32)?;
        let mut text = String::with_capacity(length);
        text.push_str(self.heap.str(a));
        text.push_str(self.heap.str(b));
        Ok(Value::obj(self.heap.intern(&text)))
    }

    /// Bookkeeping after `instance` gained the field `name`: its size, its class's field
    /// capacity for the next instances, and whether the field shadows a method.
    #[inline(never)]
    fn field_added(&mut self, instance: ObjRef, name: u16) {
        self.heap.resize(instance);
        let Object::Instance(i) = self.heap.get(instance) else { return };
        let (class, count) = (i.class, i.fields.len());
        let mut shadows = false;
        if let Object::Class(class) = self.heap.get_mut(class) {
            class.field_capacity = class.field_capacity.max(count.min(FIELD_CAPACITY_HINT));
            shadows = class.methods.contains_key(&(name as Symbol));
        }
        if shadows && let Object::Instance(i) = self.heap.get_mut(instance) {
            i.shadows_method = true;
        }
    }

    /// `CLOSURE`: a closure of the function constant `function`, capturing what the operands
    /// from `ip` on name. Returns it and the offset after those operands.
    #[inline(never)]
    fn make_closure(
        &mut self,
        stack: &[u64],
        function: Value,
        enclosing: ObjRef,
        base: usize,
        code: &Code,
        mut ip: usize,
    ) -> Result<(Value, usize), String> {
        let function = match function.as_obj().map(|r| self.heap.get(r)) {
            Some(&Object::Function(function)) => function,
            _ => return Err(error("Not a function constant.")),
        };
        let count = self.functions[function.index()].upvalue_count as usize;
        self.reserve(stack, 64 + count * 40)?;
        let mut upvalues = Vec::with_capacity(count);
        for _ in 0..count {
            let (is_local, index) = (code[ip & CODE_MASK] == 1, code[(ip + 1) & CODE_MASK]);
            ip += 2;
            upvalues.push(if is_local {
                self.capture_upvalue(base + index as usize)
            } else {
                self.upvalue_of(enclosing, index)
            });
        }
        let closure = Closure { function, upvalues: upvalues.into() };
        Ok((Value::obj(self.heap.alloc(Object::Closure(closure))), ip))
    }

    #[inline(never)]
    fn make_class(&mut self, stack: &[u64], name: u16) -> Result<Value, String> {
        self.reserve(stack, 128)?;
        let class = Object::new_class(Rc::from(self.name(name)));
        Ok(Value::obj(self.heap.alloc(class)))
    }

    /// `INHERIT`: copies the superclass's methods into the subclass (clox's copy-down).
    #[inline(never)]
    fn inherit(&mut self, superclass: Value, subclass: Value) -> Result<(), String> {
        let (Some(superclass), Some(subclass)) = (superclass.as_obj(), subclass.as_obj()) else {
            return Err(error("Superclass must be a class."));
        };
        let Object::Class(parent) = self.heap.get(superclass) else {
            return Err(error("Superclass must be a class."));
        };
        let methods = parent.methods.clone();
        let initializer = parent.initializer;
        if let Object::Class(child) = self.heap.get_mut(subclass) {
            child.methods = methods;
            child.initializer = initializer;
        }
        self.heap.resize(subclass);
        Ok(())
    }

    #[inline(never)]
    fn add_method(&mut self, class: Value, name: u16, method: Value) {
        let Some(class) = class.as_obj() else { return };
        let is_init = name as Symbol == self.init;
        if let Object::Class(c) = self.heap.get_mut(class) {
            c.methods.insert(name as Symbol, method);
            if is_init {
                c.initializer = Some(method);
            }
        }
        self.heap.resize(class);
    }

    // ---- the loop -------------------------------------------------------------------------

    /// Runs from the top frame until the script returns. `sp` is the stack's top: one past
    /// the last live slot.
    fn execute(&mut self, stack: &mut Stack, sp: usize) -> Result<(), String> {
        // Two copies of the loop: only the metered one counts instructions.
        if self.fuel.is_some() {
            self.execute_loop::<true>(stack, sp)
        } else {
            self.execute_loop::<false>(stack, sp)
        }
    }

    fn execute_loop<const METERED: bool>(
        &mut self,
        stack: &mut Stack,
        mut sp: usize,
    ) -> Result<(), String> {
        // The loop borrows code from its own handles on the function table and the code space,
        // so that `self` stays free for the calls below; nothing compiles or loads while it
        // runs. The running frame's constants, `ip`, `base` and the stack's top `sp` are plain
        // locals: helpers get `sp` by value and hand back the new one, so the optimiser can
        // keep it in a register. `ip` is an address in the code space, read under `CODE_MASK`.
        let functions = Rc::clone(&self.functions);
        let space = Rc::clone(&self.code);
        let code: &Code = space.bytes();
        let mut frame_index = self.frames.len - 1;
        let function = self.frames.get(frame_index).function.index();
        let mut constants: &[Value] = &functions[function].chunk.constants;
        let mut ip = self.frames.get(frame_index).ip;
        let mut base = self.frames.get(frame_index).base;

        macro_rules! save_ip {
            () => {
                self.frames.get_mut(frame_index).ip = ip;
            };
        }
        macro_rules! load_frame {
            () => {
                frame_index = self.frames.len - 1;
                let function = self.frames.get(frame_index).function.index();
                constants = &functions[function].chunk.constants;
                ip = self.frames.get(frame_index).ip;
                base = self.frames.get(frame_index).base;
            };
        }
        // Runs the frame `push_frame` just pushed for `$target` with `$argc` arguments.
        macro_rules! enter {
            ($target:expr, $argc:expr) => {
                frame_index += 1;
                let callee = &functions[$target.index()];
                constants = &callee.chunk.constants;
                ip = callee.code_start;
                base = sp - $argc - 1;
            };
        }
        macro_rules! fail {
            ($message:expr) => {{
                save_ip!();
                return Err($message);
            }};
        }
        macro_rules! read_byte {
            () => {{
                let byte = code[ip];
                ip += 1;
                byte
            }};
        }
        macro_rules! read_u16 {
            () => {{
                let value = u16::from_be_bytes([code[ip], code[ip + 1]]);
                ip += 2;
                value
            }};
        }
        // The only stack access that checks a bound: a push past the last slot.
        macro_rules! push {
            ($value:expr) => {{
                let value: Value = $value;
                if sp >= STACK_SLOTS {
                    fail!(error("Stack overflow."));
                }
                stack[sp] = value.to_bits();
                sp += 1;
            }};
        }
        macro_rules! pop {
            () => {{
                sp -= 1;
                get(stack, sp)
            }};
        }
        macro_rules! peek {
            ($distance:expr) => {
                get(stack, sp - 1 - $distance)
            };
        }
        // Replaces the instance on top with its property `$name`: a field, or else a method
        // bound to it.
        macro_rules! get_property {
            ($name:expr) => {{
                let name: u16 = $name;
                let Some(r) = peek!(0).as_obj() else {
                    fail!(error("Only instances have properties."))
                };
                let Object::Instance(instance) = self.heap.get(r) else {
                    fail!(error("Only instances have properties."))
                };
                let hint = self.hints.at(ip);
                if let Some(value) = instance.fields.get(name as Symbol, hint) {
                    set(stack, sp - 1, value);
                } else {
                    let class = instance.class;
                    if let Err(message) = self.bind_method(stack, sp, class, name) {
                        fail!(message);
                    }
                }
            }};
        }
        // Stores the value on top in the field `$name` of the instance below it, leaving both;
        // the value is the result.
        macro_rules! set_property {
            ($name:expr) => {{
                let name: u16 = $name;
                let Some(r) = peek!(1).as_obj() else {
                    fail!(error("Only instances have fields."))
                };
                if !matches!(self.heap.get(r), Object::Instance(_)) {
                    fail!(error("Only instances have fields."));
                }
                if let Err(message) = self.reserve(&stack[..sp], 32) {
                    fail!(message);
                }
                let value = peek!(0);
                let hint = self.hints.at(ip);
                if let Object::Instance(instance) = self.heap.get_mut(r)
                    && instance.fields.set(name as Symbol, value, hint)
                {
                    self.field_added(r, name);
                }
                value
            }};
        }
        // Assigns an existing global; "Undefined variable" if it was never defined.
        macro_rules! set_global {
            ($slot:expr, $value:expr) => {{
                let slot: u16 = $slot;
                match self.globals.get_mut(slot as usize) {
                    Some(global) if *global != Value::UNDEFINED => *global = $value,
                    _ => fail!(self.undefined_variable(slot)),
                }
            }};
        }
        // Replaces the two operands on top with the result.
        macro_rules! binary_result {
            ($value:expr) => {{
                let value: Value = $value;
                sp -= 1;
                set(stack, sp - 1, value);
            }};
        }
        // The same, with the right operand the number constant named by the operand byte.
        macro_rules! with_constant {
            ($a:ident, $b:ident, $result:expr, $message:expr) => {{
                let index = read_byte!() as usize;
                match (peek!(0).as_number(), constants[index].as_number()) {
                    (Some($a), Some($b)) => set(stack, sp - 1, $result),
                    _ => fail!(error($message)),
                }
            }};
        }
        macro_rules! numbers {
            ($a:ident, $b:ident, $result:expr) => {{
                match (peek!(1).as_number(), peek!(0).as_number()) {
                    (Some($a), Some($b)) => binary_result!($result),
                    _ => fail!(error("Operands must be numbers.")),
                }
            }};
        }

        loop {
            if METERED && let Some(fuel) = &mut self.fuel {
                if *fuel == 0 {
                    fail!(error("Instruction budget exhausted."));
                }
                *fuel -= 1;
            }
            // Masked once here, `ip` is at most `CODE_MASK`, and the few operand bytes after
            // the opcode lie in the code space's padding at worst: no read below is checked.
            ip &= CODE_MASK;
            let instruction = read_byte!();
            match instruction & op::MASK {
                op::CONSTANT => {
                    let index = read_byte!() as usize;
                    push!(constants[index]);
                }
                op::NIL => push!(Value::NIL),
                op::TRUE => push!(Value::TRUE),
                op::FALSE => push!(Value::FALSE),
                op::POP => sp -= 1,
                op::GET_LOCAL => {
                    let slot = read_byte!() as usize;
                    push!(get(stack, base + slot));
                }
                op::SET_LOCAL => {
                    let slot = read_byte!() as usize;
                    set(stack, base + slot, peek!(0));
                }
                op::SET_LOCAL_POP => {
                    let slot = read_byte!() as usize;
                    let value = pop!();
                    set(stack, base + slot, value);
                }
                op::GET_GLOBAL => {
                    let slot = read_u16!();
                    match self.globals.get(slot as usize) {
                        Some(&value) if value != Value::UNDEFINED => push!(value),
                        _ => fail!(self.undefined_variable(slot)),
                    }
                }
                op::DEFINE_GLOBAL => {
                    let slot = read_u16!() as usize;
                    let value = pop!();
                    if let Some(global) = self.globals.get_mut(slot) {
                        *global = value;
                    }
                }
                op::SET_GLOBAL => {
                    let slot = read_u16!();
                    set_global!(slot, peek!(0));
                }
                op::SET_GLOBAL_POP => {
                    let slot = read_u16!();
                    set_global!(slot, peek!(0));
                    sp -= 1;
                }
                op::GET_UPVALUE => {
                    let index = read_byte!();
                    let upvalue = self.upvalue_of(self.frames.get(frame_index).closure, index);
                    let value = match self.heap.get(upvalue) {
                        Object::Upvalue(Upvalue::Open(slot)) => get(stack, *slot),
                        Object::Upvalue(Upvalue::Closed(value)) => *value,
                        _ => Value::NIL,
                    };
                    push!(value);
                }
                op::SET_UPVALUE => {
                    let index = read_byte!();
                    let upvalue = self.upvalue_of(self.frames.get(frame_index).closure, index);
                    let value = peek!(0);
                    match self.heap.get_mut(upvalue) {
                        Object::Upvalue(Upvalue::Open(slot)) => set(stack, *slot, value),
                        Object::Upvalue(Upvalue::Closed(closed)) => *closed = value,
                        _ => {}
                    }
                }
                op::GET_PROPERTY => {
                    let name = read_u16!();
                    get_property!(name);
                }
                op::GET_LOCAL_PROPERTY => {
                    let slot = read_byte!() as usize;
                    let name = read_u16!();
                    push!(get(stack, base + slot));
                    get_property!(name);
                }
                op::SET_PROPERTY => {
                    let name = read_u16!();
                    let value = set_property!(name);
                    binary_result!(value);
                }
                op::SET_PROPERTY_POP => {
                    let name = read_u16!();
                    set_property!(name);
                    sp -= 2;
                }
                op::GET_SUPER => {
                    let name = read_u16!();
                    let Some(superclass) = pop!().as_obj() else {
                        fail!(error("Superclass must be a class."))
                    };
                    if let Err(message) = self.bind_method(stack, sp, superclass, name) {
                        fail!(message);
                    }
                }
                op::EQUAL => binary_result!(Value::bool(peek!(1).equals(peek!(0)))),
                op::NOT_EQUAL => binary_result!(Value::bool(!peek!(1).equals(peek!(0)))),
                op::GREATER => numbers!(a, b, Value::bool(a > b)),
                op::GREATER_EQUAL => numbers!(a, b, Value::bool(a >= b)),
                op::LESS => numbers!(a, b, Value::bool(a < b)),
                op::LESS_EQUAL => numbers!(a, b, Value::bool(a <= b)),
                op::SUBTRACT => numbers!(a, b, Value::number(a - b)),
                op::MULTIPLY => numbers!(a, b, Value::number(a * b)),
                op::DIVIDE => numbers!(a, b, Value::number(a / b)),
                op::ADD => match (peek!(1).kind(), peek!(0).kind()) {
                    (Kind::Number(a), Kind::Number(b)) => binary_result!(Value::number(a + b)),
                    (Kind::Obj(a), Kind::Obj(b)) => match self.concatenate(&stack[..sp], a, b) {
                        Ok(result) => binary_result!(result),
                        Err(message) => fail!(message),
                    },
                    _ => fail!(error("Operands must be two numbers or two strings.")),
                },
                op::NOT => set(stack, sp - 1, Value::bool(peek!(0).is_falsey())),
                op::NEGATE => match peek!(0).as_number() {
                    Some(n) => set(stack, sp - 1, Value::number(-n)),
                    _ => fail!(error("Operand must be a number.")),
                },
                op::PRINT => {
                    let value = pop!();
                    if let Err(message) = self.print(value) {
                        fail!(message);
                    }
                }
                op::JUMP => {
                    let offset = read_u16!() as usize;
                    ip += offset;
                }
                op::ADD_CONSTANT => with_constant!(
                    a,
                    b,
                    Value::number(a + b),
                    "Operands must be two numbers or two strings."
                ),
                op::SUBTRACT_CONSTANT => {
                    with_constant!(a, b, Value::number(a - b), "Operands must be numbers.")
                }
                op::MULTIPLY_CONSTANT => {
                    with_constant!(a, b, Value::number(a * b), "Operands must be numbers.")
                }
                op::DIVIDE_CONSTANT => {
                    with_constant!(a, b, Value::number(a / b), "Operands must be numbers.")
                }
                op::LESS_CONSTANT => {
                    with_constant!(a, b, Value::bool(a < b), "Operands must be numbers.")
                }
                op::LESS_EQUAL_CONSTANT => {
                    with_constant!(a, b, Value::bool(a <= b), "Operands must be numbers.")
                }
                op::GREATER_CONSTANT => {
                    with_constant!(a, b, Value::bool(a > b), "Operands must be numbers.")
                }
                op::GREATER_EQUAL_CONSTANT => {
                    with_constant!(a, b, Value::bool(a >= b), "Operands must be numbers.")
                }
                op::JUMP_IF_FALSE => {
                    let offset = read_u16!() as usize;
                    if peek!(0).is_falsey() {
                        ip += offset;
                    }
                }
                op::POP_JUMP_IF_FALSE => {
                    let offset = read_u16!() as usize;
                    if pop!().is_falsey() {
                        ip += offset;
                    }
                }
                op::LOOP => {
                    let offset = read_u16!() as usize;
                    ip -= offset;
                }
                op::CALL => {
                    let argc = read_byte!() as usize;
                    save_ip!();
                    let callee = peek!(argc);
                    // The common case, a closure, starts its frame here without going through
                    // `call_value`, which handles every other callee, and without reading
                    // back the frame it just pushed.
                    if let Some(r) = callee.as_obj()
                        && let Object::Closure(closure) = self.heap.get(r)
                    {
                        let target = closure.function;
                        self.push_frame(sp, r, target, argc)?;
                        enter!(target, argc);
                    } else {
                        sp = self.call_value(stack, sp, callee, argc)?;
                        load_frame!();
                    }
                }
                op::INVOKE => {
                    let name = read_u16!();
                    let argc = read_byte!() as usize;
                    save_ip!();
                    // The common case, a method of an instance without a field of that name,
                    // starts its frame here; `invoke` handles the rest.
                    let class = match peek!(argc).as_obj().map(|r| self.heap.get(r)) {
                        Some(Object::Instance(i)) if !i.shadows_method => Some(i.class),
                        _ => None,
                    };
                    if let Some(method) = class.and_then(|class| self.method(class, name)) {
                        self.push_frame(sp, method.closure, method.function, argc)?;
                        enter!(method.function, argc);
                    } else {
                        sp = self.invoke(stack, sp, name, argc)?;
                        load_frame!();
                    }
                }
                op::SUPER_INVOKE => {
                    let name = read_u16!();
                    let argc = read_byte!() as usize;
                    save_ip!();
                    let Some(superclass) = pop!().as_obj() else {
                        return Err("Superclass must be a class.".into());
                    };
                    self.invoke_from_class(sp, superclass, name, argc)?;
                    load_frame!();
                }
                op::CLOSURE => {
                    let index = read_byte!() as usize;
                    let frame = *self.frames.get(frame_index);
                    let (enclosing, base) = (frame.closure, frame.base);
                    match self.make_closure(
                        &stack[..sp],
                        constants[index],
                        enclosing,
                        base,
                        code,
                        ip,
                    ) {
                        Ok((closure, next)) => {
                            ip = next;
                            push!(closure);
                        }
                        Err(message) => fail!(message),
                    }
                }
                op::CLOSE_UPVALUE => {
                    self.close_upvalues(stack, sp - 1);
                    sp -= 1;
                }
                op::RETURN => {
                    let result = pop!();
                    if !self.open_upvalues.is_empty() {
                        self.close_upvalues(stack, base);
                    }
                    self.frames.len -= 1;
                    if self.frames.len == 0 {
                        return Ok(());
                    }
                    // `load_frame!`, spelled out: the caller is the frame just below, which
                    // saves rereading the count (1-2% fewer instructions on call-heavy code).
                    let caller = *self.frames.get(self.frames.len - 1);
                    // The callee's slots, from the callee itself up, give way to the result.
                    set(stack, base, result);
                    sp = base + 1;
                    frame_index -= 1;
                    ip = caller.ip;
                    base = caller.base;
                    constants = &functions[caller.function.index()].chunk.constants;
                }
                op::CLASS => {
                    let name = read_u16!();
                    match self.make_class(&stack[..sp], name) {
                        Ok(class) => push!(class),
                        Err(message) => fail!(message),
                    }
                }
                op::INHERIT => {
                    if let Err(message) = self.inherit(peek!(1), peek!(0)) {
                        fail!(message);
                    }
                    sp -= 1;
                }
                op::METHOD => {
                    let name = read_u16!();
                    self.add_method(peek!(1), name, peek!(0));
                    sp -= 1;
                }
                // Every other value `& op::MASK` can leave, one by one (a range pattern would be
                // a test of its own): the jump table covers all 64 and needs no range check.
                #[allow(clippy::manual_range_patterns)]
                53 | 54 | 55 | 56 | 57 | 58 | 59 | 60 | 61 | 62 | 63 => {
                    fail!(unknown_opcode(instruction))
                }
                _ => unreachable!("an opcode masked with op::MASK is below 64"),
            }
        }
    }
}

#[cold]
#[inline(never)]
fn unknown_opcode(instruction: u8) -> String {
    format!("Unknown opcode {instruction}.")
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
    use crate::vm::chunk::Chunk;
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
