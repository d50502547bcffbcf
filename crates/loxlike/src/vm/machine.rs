//! The virtual machine: a stack of values, a stack of call frames, and the dispatch loop.
//!
//! Each call pushes a `Frame` whose slots start at `base` on the value stack: slot 0 holds
//! the callee (or `this` in a method), then the arguments, then the locals. The loop keeps the
//! running frame's code, `ip` and `base` in local variables and writes `ip` back only when it
//! leaves the frame (a call, a return, an error), which is what makes dispatch cheap.
//!
//! The collector runs only at the start of an allocating instruction, when everything live is
//! on the stack, in a frame, in an open upvalue or in a global; see `Vm::reserve`.

use std::io::Write;
use std::rc::Rc;
use std::time::Instant;

use super::chunk::op;
use super::fields::Hints;
use super::heap::Heap;
use super::object::{
    BoundMethod, Closure, FIELD_CAPACITY_HINT, Function, FunctionId, Kind, Native, ObjRef, Object,
    Upvalue, Value,
};
use crate::syntax::ast::{Interner, Symbol};
use crate::{HostValue, Limits, RuntimeError};

/// Call frames, as in clox: the 65th nested call is a stack overflow.
pub const MAX_FRAMES: usize = 64;

struct Frame {
    closure: ObjRef,
    function: FunctionId,
    ip: usize,
    base: usize,
}

/// The bytecode VM. Globals and the heap persist across [`Vm::load_and_run`] calls (a REPL).
pub struct Vm<'o> {
    pub(crate) heap: Heap,
    hints: Hints,
    /// Every function compiled so far. Shared with the running loop, which borrows its code
    /// from here; it only grows, between runs.
    pub(crate) functions: Rc<Vec<Function>>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    globals: Vec<Option<Value>>,
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
            functions: Rc::new(Vec::new()),
            stack: Vec::with_capacity(MAX_FRAMES * 256),
            frames: Vec::with_capacity(MAX_FRAMES),
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
            self.globals.push(value);
            self.names.push(name);
        }
        self.init = interner.get("init").unwrap_or(u32::MAX);
    }

    /// Runs a compiled script function.
    pub(crate) fn run(&mut self, script: FunctionId) -> Result<(), RuntimeError> {
        let closure = Closure { function: script, upvalues: Box::new([]) };
        let closure = self.heap.alloc(Object::Closure(closure));
        self.stack.clear();
        self.stack.push(Value::obj(closure));
        self.frames.push(Frame { closure, function: script, ip: 0, base: 0 });
        let result = self.execute();
        let _ = self.out.flush();
        match result {
            Ok(()) => Ok(()),
            Err(message) => {
                let error = self.runtime_error(message);
                self.stack.clear();
                self.frames.clear();
                self.open_upvalues.clear();
                Err(error)
            }
        }
    }

    fn runtime_error(&self, message: String) -> RuntimeError {
        let trace = self
            .frames
            .iter()
            .rev()
            .map(|frame| {
                let function = &self.functions[frame.function.index()];
                let line =
                    function.chunk.lines.get(frame.ip.saturating_sub(1)).copied().unwrap_or(0);
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
    fn reserve(&mut self, stack: &[Value], extra: usize) -> Result<(), String> {
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

    fn collect(&mut self, stack: &[Value]) {
        for &value in stack {
            self.heap.mark_value(value);
        }
        for i in 0..self.frames.len() {
            self.heap.mark(self.frames[i].closure);
        }
        for i in 0..self.open_upvalues.len() {
            self.heap.mark(self.open_upvalues[i]);
        }
        for i in 0..self.globals.len() {
            if let Some(value) = self.globals[i] {
                self.heap.mark_value(value);
            }
        }
        for function in self.functions.iter() {
            for &constant in &function.chunk.constants {
                self.heap.mark_value(constant);
            }
        }
        self.heap.trace();
        self.heap.sweep();
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

    fn name(&self, symbol: u16) -> &str {
        self.names.get(symbol as usize).map_or("", |n| n)
    }

    // ---- calls ----------------------------------------------------------------------------

    /// Calls the value `argc` slots below the top with the arguments above it. For closures
    /// this pushes a frame; natives and classes without `init` finish here.
    fn call_value(
        &mut self,
        stack: &mut Vec<Value>,
        callee: Value,
        argc: usize,
    ) -> Result<(), String> {
        let Some(r) = callee.as_obj() else {
            return Err("Can only call functions and classes.".into());
        };
        match self.heap.get(r) {
            Object::Closure(_) => self.call_closure(stack, r, argc),
            Object::BoundMethod(bound) => {
                let BoundMethod { receiver, method } = *bound;
                let base = stack.len() - argc - 1;
                stack[base] = receiver;
                self.call_closure(stack, method, argc)
            }
            Object::Class(class) => {
                let initializer = class.initializer;
                let capacity = class.field_capacity;
                self.reserve(stack, std::mem::size_of::<Object>() + capacity * 16)?;
                let instance = self.heap.alloc(Object::new_instance(r, capacity));
                let base = stack.len() - argc - 1;
                stack[base] = Value::obj(instance);
                match initializer.and_then(Value::as_obj) {
                    Some(init) => self.call_closure(stack, init, argc),
                    _ if argc != 0 => Err(format!("Expected 0 arguments but got {argc}.")),
                    _ => Ok(()),
                }
            }
            Object::Native(Native::Clock) => {
                let now = self.started.elapsed().as_secs_f64();
                stack.truncate(stack.len() - argc - 1);
                stack.push(Value::number(now));
                Ok(())
            }
            Object::Native(Native::Host { arity, function }) => {
                if argc != *arity as usize {
                    return Err(format!("Expected {arity} arguments but got {argc}."));
                }
                let function = function.clone();
                let args: Vec<HostValue> =
                    stack[stack.len() - argc..].iter().map(|&v| self.to_host(v)).collect();
                let result = function(&args)?;
                self.reserve(stack, 64)?;
                let result = self.value_from_host(result);
                stack.truncate(stack.len() - argc - 1);
                stack.push(result);
                Ok(())
            }
            _ => Err("Can only call functions and classes.".into()),
        }
    }

    fn call_closure(
        &mut self,
        stack: &[Value],
        closure: ObjRef,
        argc: usize,
    ) -> Result<(), String> {
        let Object::Closure(c) = self.heap.get(closure) else {
            return Err("Can only call functions and classes.".into());
        };
        self.push_frame(stack, closure, c.function, argc)
    }

    /// Starts a call of `closure`, whose function is `function`, with the `argc` arguments on
    /// top of the stack.
    #[inline]
    fn push_frame(
        &mut self,
        stack: &[Value],
        closure: ObjRef,
        function: FunctionId,
        argc: usize,
    ) -> Result<(), String> {
        let arity = self.functions[function.index()].arity;
        if argc != arity as usize {
            return Err(format!("Expected {arity} arguments but got {argc}."));
        }
        if self.frames.len() == MAX_FRAMES {
            return Err("Stack overflow.".into());
        }
        let base = stack.len() - argc - 1;
        self.frames.push(Frame { closure, function, ip: 0, base });
        Ok(())
    }

    /// `receiver.name(args)` where the receiver is `argc` below the top.
    fn invoke(&mut self, stack: &mut Vec<Value>, name: u16, argc: usize) -> Result<(), String> {
        let receiver = peek(stack, argc);
        let Some(receiver_ref) = receiver.as_obj() else {
            return Err("Only instances have methods.".into());
        };
        let Object::Instance(instance) = self.heap.get(receiver_ref) else {
            return Err("Only instances have methods.".into());
        };
        // A field holding a function shadows a method of the same name, so fields come first;
        // but an instance usually has no such field, and then a method, if there is one, wins.
        let class = instance.class;
        if !instance.shadows_method
            && let Some(method) = self.method(class, name)
        {
            return self.call_closure(stack, method, argc);
        }
        if let Some(field) = instance.fields.get(name as Symbol, &mut 0) {
            let base = stack.len() - argc - 1;
            stack[base] = field;
            return self.call_value(stack, field, argc);
        }
        self.invoke_from_class(stack, class, name, argc)
    }

    /// The method `name` of `class`.
    fn method(&self, class: ObjRef, name: u16) -> Option<ObjRef> {
        match self.heap.get(class) {
            Object::Class(class) => class.methods.get(&(name as Symbol)).and_then(|m| m.as_obj()),
            _ => None,
        }
    }

    fn invoke_from_class(
        &mut self,
        stack: &[Value],
        class: ObjRef,
        name: u16,
        argc: usize,
    ) -> Result<(), String> {
        match self.method(class, name) {
            Some(method) => self.call_closure(stack, method, argc),
            _ => Err(format!("Undefined property '{}'.", self.name(name))),
        }
    }

    /// Replaces the receiver on top of the stack with its method `name` bound to it.
    fn bind_method(
        &mut self,
        stack: &mut Vec<Value>,
        class: ObjRef,
        name: u16,
    ) -> Result<(), String> {
        let Some(method) = self.method(class, name) else {
            return Err(format!("Undefined property '{}'.", self.name(name)));
        };
        self.reserve(stack, std::mem::size_of::<Object>())?;
        let receiver = peek(stack, 0);
        let bound = self.heap.alloc(Object::BoundMethod(BoundMethod { receiver, method }));
        pop(stack);
        stack.push(Value::obj(bound));
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
    fn close_upvalues(&mut self, stack: &[Value], from: usize) {
        while let Some(&last) = self.open_upvalues.last() {
            let slot = match self.heap.get(last) {
                Object::Upvalue(Upvalue::Open(slot)) => *slot,
                _ => usize::MAX,
            };
            if slot < from {
                break;
            }
            let value = stack.get(slot).copied().unwrap_or(Value::NIL);
            *self.heap.get_mut(last) = Object::Upvalue(Upvalue::Closed(value));
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

    // ---- the loop -------------------------------------------------------------------------

    fn execute(&mut self) -> Result<(), String> {
        // Two copies of the loop: only the metered one counts instructions.
        // The stack is handed to the loop (and from it to the helpers) as its own argument, so
        // that the compiler may keep its length and address in registers.
        let mut stack = std::mem::take(&mut self.stack);
        let result = if self.fuel.is_some() {
            self.execute_loop::<true>(&mut stack)
        } else {
            self.execute_loop::<false>(&mut stack)
        };
        self.stack = stack;
        result
    }

    fn execute_loop<const METERED: bool>(&mut self, stack: &mut Vec<Value>) -> Result<(), String> {
        // The loop borrows code from its own handle on the function table, so that `self`
        // stays free for the calls below; nothing compiles while it runs.
        let functions = Rc::clone(&self.functions);
        let mut frame_index = self.frames.len() - 1;
        let mut function = self.frames[frame_index].function.index();
        let mut code = &functions[function].chunk;
        let mut ip = self.frames[frame_index].ip;
        let mut base = self.frames[frame_index].base;

        macro_rules! save_ip {
            () => {
                self.frames[frame_index].ip = ip;
            };
        }
        macro_rules! load_frame {
            () => {
                frame_index = self.frames.len() - 1;
                function = self.frames[frame_index].function.index();
                code = &functions[function].chunk;
                ip = self.frames[frame_index].ip;
                base = self.frames[frame_index].base;
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
                let byte = code.code[ip];
                ip += 1;
                byte
            }};
        }
        macro_rules! read_u16 {
            () => {{
                let value = code.read_u16(ip);
                ip += 2;
                value
            }};
        }
        macro_rules! numbers {
            ($a:ident, $b:ident, $result:expr) => {{
                match (peek(stack, 1).as_number(), peek(stack, 0).as_number()) {
                    (Some($a), Some($b)) => {
                        stack.truncate(stack.len() - 2);
                        stack.push($result);
                    }
                    _ => fail!("Operands must be numbers.".into()),
                }
            }};
        }

        loop {
            if METERED && let Some(fuel) = &mut self.fuel {
                if *fuel == 0 {
                    fail!("Instruction budget exhausted.".into());
                }
                *fuel -= 1;
            }
            let instruction = read_byte!();
            match instruction {
                op::CONSTANT => {
                    let index = read_byte!() as usize;
                    stack.push(code.constants[index]);
                }
                op::NIL => stack.push(Value::NIL),
                op::TRUE => stack.push(Value::TRUE),
                op::FALSE => stack.push(Value::FALSE),
                op::POP => {
                    stack.pop();
                }
                op::GET_LOCAL => {
                    let slot = read_byte!() as usize;
                    stack.push(stack[base + slot]);
                }
                op::SET_LOCAL => {
                    let slot = read_byte!() as usize;
                    stack[base + slot] = peek(stack, 0);
                }
                op::GET_GLOBAL => {
                    let slot = read_u16!();
                    match self.globals.get(slot as usize) {
                        Some(Some(value)) => stack.push(*value),
                        _ => fail!(format!("Undefined variable '{}'.", self.name(slot))),
                    }
                }
                op::DEFINE_GLOBAL => {
                    let slot = read_u16!() as usize;
                    let value = pop(stack);
                    if let Some(global) = self.globals.get_mut(slot) {
                        *global = Some(value);
                    }
                }
                op::SET_GLOBAL => {
                    let slot = read_u16!();
                    let value = peek(stack, 0);
                    match self.globals.get_mut(slot as usize) {
                        Some(global @ Some(_)) => *global = Some(value),
                        _ => fail!(format!("Undefined variable '{}'.", self.name(slot))),
                    }
                }
                op::GET_UPVALUE => {
                    let index = read_byte!();
                    let upvalue = self.upvalue_of(self.frames[frame_index].closure, index);
                    let value = match self.heap.get(upvalue) {
                        Object::Upvalue(Upvalue::Open(slot)) => stack[*slot],
                        Object::Upvalue(Upvalue::Closed(value)) => *value,
                        _ => Value::NIL,
                    };
                    stack.push(value);
                }
                op::SET_UPVALUE => {
                    let index = read_byte!();
                    let upvalue = self.upvalue_of(self.frames[frame_index].closure, index);
                    let value = peek(stack, 0);
                    match self.heap.get_mut(upvalue) {
                        Object::Upvalue(Upvalue::Open(slot)) => {
                            let slot = *slot;
                            stack[slot] = value;
                        }
                        Object::Upvalue(Upvalue::Closed(closed)) => *closed = value,
                        _ => {}
                    }
                }
                op::GET_PROPERTY => {
                    let name = read_u16!();
                    let Some(r) = peek(stack, 0).as_obj() else {
                        fail!("Only instances have properties.".into())
                    };
                    let Object::Instance(instance) = self.heap.get(r) else {
                        fail!("Only instances have properties.".into())
                    };
                    let hint = self.hints.at(function, ip);
                    if let Some(value) = instance.fields.get(name as Symbol, hint) {
                        pop(stack);
                        stack.push(value);
                    } else {
                        let class = instance.class;
                        if let Err(message) = self.bind_method(stack, class, name) {
                            fail!(message);
                        }
                    }
                }
                op::SET_PROPERTY => {
                    let name = read_u16!();
                    let Some(r) = peek(stack, 1).as_obj() else {
                        fail!("Only instances have fields.".into())
                    };
                    if !matches!(self.heap.get(r), Object::Instance(_)) {
                        fail!("Only instances have fields.".into());
                    }
                    if let Err(message) = self.reserve(stack, 32) {
                        fail!(message);
                    }
                    let value = peek(stack, 0);
                    let hint = self.hints.at(function, ip);
                    if let Object::Instance(instance) = self.heap.get_mut(r)
                        && instance.fields.set(name as Symbol, value, hint)
                    {
                        let (class, count) = (instance.class, instance.fields.len());
                        self.heap.resize(r);
                        let mut shadows = false;
                        if let Object::Class(class) = self.heap.get_mut(class) {
                            class.field_capacity =
                                class.field_capacity.max(count.min(FIELD_CAPACITY_HINT));
                            shadows = class.methods.contains_key(&(name as Symbol));
                        }
                        if shadows && let Object::Instance(instance) = self.heap.get_mut(r) {
                            instance.shadows_method = true;
                        }
                    }
                    stack.truncate(stack.len() - 2);
                    stack.push(value);
                }
                op::GET_SUPER => {
                    let name = read_u16!();
                    let Some(superclass) = pop(stack).as_obj() else {
                        fail!("Superclass must be a class.".into())
                    };
                    if let Err(message) = self.bind_method(stack, superclass, name) {
                        fail!(message);
                    }
                }
                op::EQUAL => {
                    let (a, b) = (peek(stack, 1), peek(stack, 0));
                    stack.truncate(stack.len() - 2);
                    stack.push(Value::bool(a.equals(b)));
                }
                op::NOT_EQUAL => {
                    let (a, b) = (peek(stack, 1), peek(stack, 0));
                    stack.truncate(stack.len() - 2);
                    stack.push(Value::bool(!a.equals(b)));
                }
                op::GREATER => numbers!(a, b, Value::bool(a > b)),
                op::GREATER_EQUAL => numbers!(a, b, Value::bool(a >= b)),
                op::LESS => numbers!(a, b, Value::bool(a < b)),
                op::LESS_EQUAL => numbers!(a, b, Value::bool(a <= b)),
                op::SUBTRACT => numbers!(a, b, Value::number(a - b)),
                op::MULTIPLY => numbers!(a, b, Value::number(a * b)),
                op::DIVIDE => numbers!(a, b, Value::number(a / b)),
                op::ADD => match (peek(stack, 1).kind(), peek(stack, 0).kind()) {
                    (Kind::Number(a), Kind::Number(b)) => {
                        stack.truncate(stack.len() - 2);
                        stack.push(Value::number(a + b));
                    }
                    (Kind::Obj(a), Kind::Obj(b))
                        if matches!(self.heap.get(a), Object::String(_))
                            && matches!(self.heap.get(b), Object::String(_)) =>
                    {
                        let length = self.heap.str(a).len() + self.heap.str(b).len();
                        if let Err(message) = self.reserve(stack, length + 32) {
                            fail!(message);
                        }
                        let mut text = String::with_capacity(length);
                        text.push_str(self.heap.str(a));
                        text.push_str(self.heap.str(b));
                        let result = self.heap.intern(&text);
                        stack.truncate(stack.len() - 2);
                        stack.push(Value::obj(result));
                    }
                    _ => fail!("Operands must be two numbers or two strings.".into()),
                },
                op::NOT => {
                    let value = pop(stack);
                    stack.push(Value::bool(value.is_falsey()));
                }
                op::NEGATE => match peek(stack, 0).as_number() {
                    Some(n) => {
                        pop(stack);
                        stack.push(Value::number(-n));
                    }
                    _ => fail!("Operand must be a number.".into()),
                },
                op::PRINT => {
                    let value = pop(stack);
                    let mut text = String::new();
                    self.format_value(value, &mut text);
                    text.push('\n');
                    if let Err(e) = self.out.write_all(text.as_bytes()) {
                        fail!(format!("Cannot write output: {e}."));
                    }
                }
                op::JUMP => {
                    let offset = read_u16!() as usize;
                    ip += offset;
                }
                op::JUMP_IF_FALSE => {
                    let offset = read_u16!() as usize;
                    if peek(stack, 0).is_falsey() {
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
                    let callee = peek(stack, argc);
                    // The common case, a closure, starts its frame here without going through
                    // `call_value`, which handles every other callee.
                    if let Some(r) = callee.as_obj()
                        && let Object::Closure(closure) = self.heap.get(r)
                    {
                        self.push_frame(stack, r, closure.function, argc)?;
                    } else {
                        self.call_value(stack, callee, argc)?;
                    }
                    load_frame!();
                }
                op::INVOKE => {
                    let name = read_u16!();
                    let argc = read_byte!() as usize;
                    save_ip!();
                    self.invoke(stack, name, argc)?;
                    load_frame!();
                }
                op::SUPER_INVOKE => {
                    let name = read_u16!();
                    let argc = read_byte!() as usize;
                    save_ip!();
                    let Some(superclass) = pop(stack).as_obj() else {
                        return Err("Superclass must be a class.".into());
                    };
                    self.invoke_from_class(stack, superclass, name, argc)?;
                    load_frame!();
                }
                op::CLOSURE => {
                    let index = read_byte!() as usize;
                    let Some(function) = code.constants[index].as_obj() else { continue };
                    let &Object::Function(function) = self.heap.get(function) else { continue };
                    let count = functions[function.index()].upvalue_count as usize;
                    if let Err(message) = self.reserve(stack, 64 + count * 40) {
                        fail!(message);
                    }
                    let enclosing = self.frames[frame_index].closure;
                    let mut upvalues = Vec::with_capacity(count);
                    for _ in 0..count {
                        let is_local = read_byte!() == 1;
                        let index = read_byte!();
                        upvalues.push(if is_local {
                            self.capture_upvalue(base + index as usize)
                        } else {
                            self.upvalue_of(enclosing, index)
                        });
                    }
                    let closure = Closure { function, upvalues: upvalues.into() };
                    let closure = self.heap.alloc(Object::Closure(closure));
                    stack.push(Value::obj(closure));
                }
                op::CLOSE_UPVALUE => {
                    self.close_upvalues(stack, stack.len() - 1);
                    pop(stack);
                }
                op::RETURN => {
                    let result = pop(stack);
                    if !self.open_upvalues.is_empty() {
                        self.close_upvalues(stack, base);
                    }
                    self.frames.pop();
                    if self.frames.is_empty() {
                        stack.clear();
                        return Ok(());
                    }
                    stack.truncate(base);
                    stack.push(result);
                    load_frame!();
                }
                op::CLASS => {
                    let name = read_u16!();
                    if let Err(message) = self.reserve(stack, 128) {
                        fail!(message);
                    }
                    let class = Object::new_class(Rc::from(self.name(name)));
                    let class = self.heap.alloc(class);
                    stack.push(Value::obj(class));
                }
                op::INHERIT => {
                    let (Some(superclass), Some(subclass)) =
                        (peek(stack, 1).as_obj(), peek(stack, 0).as_obj())
                    else {
                        fail!("Superclass must be a class.".into())
                    };
                    let Object::Class(parent) = self.heap.get(superclass) else {
                        fail!("Superclass must be a class.".into())
                    };
                    let methods = parent.methods.clone();
                    let initializer = parent.initializer;
                    if let Object::Class(child) = self.heap.get_mut(subclass) {
                        child.methods = methods;
                        child.initializer = initializer;
                    }
                    self.heap.resize(subclass);
                    pop(stack);
                }
                op::METHOD => {
                    let name = read_u16!() as Symbol;
                    let method = peek(stack, 0);
                    let Some(class) = peek(stack, 1).as_obj() else { continue };
                    let is_init = name == self.init;
                    if let Object::Class(class) = self.heap.get_mut(class) {
                        class.methods.insert(name, method);
                        if is_init {
                            class.initializer = Some(method);
                        }
                    }
                    self.heap.resize(class);
                    pop(stack);
                }
                _ => fail!(format!("Unknown opcode {instruction}.")),
            }
        }
    }
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

fn peek(stack: &[Value], distance: usize) -> Value {
    stack[stack.len() - 1 - distance]
}

fn pop(stack: &mut Vec<Value>) -> Value {
    stack.pop().unwrap_or(Value::NIL)
}
