//! Instructions kept out of the loop.
//!
//! What runs rarely, or is expensive anyway, lives in functions of its own: printing,
//! concatenation, closures, classes and methods. The loop stays small, and the optimiser keeps
//! more of its state in registers. Each is `#[inline(never)]`; the loop calls it and carries on.

use std::rc::Rc;

use super::{Vm, error};
use crate::syntax::ast::Symbol;
use crate::vm::code::{CODE_MASK, Code};
use crate::vm::object::{Closure, FIELD_CAPACITY_HINT, ObjRef, Object, Value};

impl Vm<'_> {
    #[inline(never)]
    pub(super) fn print(&mut self, value: Value) -> Result<(), String> {
        let mut text = String::new();
        self.format_value(value, &mut text);
        text.push('\n');
        self.out.write_all(text.as_bytes()).map_err(|e| format!("Cannot write output: {e}."))
    }

    /// `a + b` for two objects: their concatenation if both are strings.
    #[inline(never)]
    pub(super) fn concatenate(
        &mut self,
        stack: &[u64],
        a: ObjRef,
        b: ObjRef,
    ) -> Result<Value, String> {
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
    pub(super) fn field_added(&mut self, instance: ObjRef, name: u16) {
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
    pub(super) fn make_closure(
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
    pub(super) fn make_class(&mut self, stack: &[u64], name: u16) -> Result<Value, String> {
        self.reserve(stack, 128)?;
        let class = Object::new_class(Rc::from(self.name(name)));
        Ok(Value::obj(self.heap.alloc(class)))
    }

    /// `INHERIT`: copies the superclass's methods into the subclass (clox's copy-down).
    #[inline(never)]
    pub(super) fn inherit(&mut self, superclass: Value, subclass: Value) -> Result<(), String> {
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
    pub(super) fn add_method(&mut self, class: Value, name: u16, method: Value) {
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
}
