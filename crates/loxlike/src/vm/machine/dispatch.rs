//! The dispatch loop.
//!
//! What makes dispatch cheap:
//! - the running frame's constants, `ip` and `base`, and the stack's top `sp`, are local
//!   variables of the loop. `ip` is written back only when the loop leaves the frame (a call,
//!   a return, an error); `sp` goes to the helpers by value and comes back as their result,
//!   so nothing forces it out of a register;
//! - code is read from the code space (see [`crate::vm::code`]), a fixed-size array: `ip` is
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

use std::rc::Rc;

use super::{STACK_SLOTS, Stack, Vm, error, get, set};
use crate::syntax::ast::Symbol;
use crate::vm::chunk::op;
use crate::vm::code::{CODE_MASK, Code};
use crate::vm::object::{Kind, Object, Upvalue, Value};

impl Vm<'_> {
    /// Runs from the top frame until the script returns. `sp` is the stack's top: one past
    /// the last live slot.
    pub(super) fn execute(&mut self, stack: &mut Stack, sp: usize) -> Result<(), String> {
        // Two copies of the loop: only the metered one counts instructions.
        if self.fuel.is_some() {
            self.execute_loop::<true>(stack, sp)
        } else {
            self.execute_loop::<false>(stack, sp)
        }
    }

    pub(super) fn execute_loop<const METERED: bool>(
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
