//! Calls: of closures, natives, classes and bound methods, and method invocation; and the
//! upvalues that closures capture.
//!
//! A call checks the callee and its arity and pushes a [`Frame`]; the loop then loads the new
//! frame's `ip` and `base` into its locals. An upvalue is *open* while the variable it captures
//! still lives on the stack (it holds the slot) and *closed* once that slot is popped (it holds
//! the value); `open_upvalues`, sorted by slot, lets two closures share one variable.

use super::{Frame, MAX_FRAMES, Stack, Vm, call_error, get, set};
use crate::HostValue;
use crate::syntax::ast::Symbol;
use crate::vm::methods::Method;
use crate::vm::object::{BoundMethod, FunctionId, Native, ObjRef, Object, Upvalue, Value};

impl Vm<'_> {
    /// Calls the value `argc` slots below the top with the arguments above it. For closures
    /// this pushes a frame; natives and classes without `init` finish here. Returns the new
    /// top of the stack.
    pub(super) fn call_value(
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
    pub(super) fn call_closure(
        &mut self,
        sp: usize,
        closure: ObjRef,
        argc: usize,
    ) -> Result<(), String> {
        let Object::Closure(c) = self.heap.get(closure) else {
            return Err("Can only call functions and classes.".into());
        };
        self.push_frame(sp, closure, c.function, argc)
    }

    /// Starts a call of `closure`, whose function is `function`, with the `argc` arguments on
    /// top of the stack (whose top is `sp`). Always inlined: once the code space came in, the
    /// optimiser put it out of line, and the loop's fastest paths are the calls it makes.
    #[inline(always)]
    pub(super) fn push_frame(
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
    pub(super) fn invoke(
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
    pub(super) fn method(&mut self, class: ObjRef, name: u16) -> Option<Method> {
        match self.methods.get(class, name as Symbol) {
            Some(method) => Some(method),
            None => self.method_from_class(class, name),
        }
    }

    #[inline(never)]
    pub(super) fn method_from_class(&mut self, class: ObjRef, name: u16) -> Option<Method> {
        let name = name as Symbol;
        let Object::Class(c) = self.heap.get(class) else { return None };
        let closure = c.methods.get(&name)?.as_obj()?;
        let Object::Closure(c) = self.heap.get(closure) else { return None };
        let method = Method { closure, function: c.function };
        self.methods.insert(class, name, method);
        Some(method)
    }

    pub(super) fn invoke_from_class(
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
    pub(super) fn bind_method(
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
    pub(super) fn capture_upvalue(&mut self, slot: usize) -> ObjRef {
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
    pub(super) fn close_upvalues(&mut self, stack: &Stack, from: usize) {
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

    pub(super) fn upvalue_of(&self, closure: ObjRef, index: u8) -> ObjRef {
        match self.heap.get(closure) {
            Object::Closure(c) => c.upvalues[index as usize],
            // A frame's closure is always a closure.
            _ => unreachable!("frame without a closure"),
        }
    }
}
