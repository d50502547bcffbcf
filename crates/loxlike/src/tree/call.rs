//! Property access and calls: reading a field or binding a method, invoking a method without
//! a bound method, and calling closures, natives and classes with their arguments in a window
//! of the value stack.

use std::cell::RefCell;
use std::rc::Rc;

use super::node::Expr;
use super::value::{BoundMethod, Closure, Instance, Value};
use super::{Exec, Flow, Frame, Interpreter, MAX_CALL_DEPTH, MAX_STACK_SLOTS, check_memory, error};
use crate::RuntimeError;
use crate::syntax::ast::{FunctionKind, Symbol};

impl Interpreter<'_> {
    /// A field, or else a method bound to `instance`.
    pub(super) fn get_property(
        &self,
        instance: Rc<Instance>,
        name: Symbol,
        line: u32,
    ) -> Exec<Value> {
        if let Some(value) = instance.fields.borrow().get(name) {
            return Ok(value.clone());
        }
        match instance.class.find_method(name) {
            Some(method) => {
                let method = method.clone();
                let receiver = Value::Instance(instance);
                Ok(Value::BoundMethod(Rc::new(BoundMethod { receiver, method })))
            }
            None => Err(self.undefined_property(name, line)),
        }
    }

    #[cold]
    pub(super) fn undefined_property(&self, name: Symbol, line: u32) -> Box<RuntimeError> {
        error(format!("Undefined property '{}'.", self.names[name as usize]), line)
    }

    /// `object.name(arguments)`. As in jlox, a field wins over a method and the property is
    /// read before the arguments are evaluated; unlike jlox, a method is called with the
    /// instance in slot 0 without making a bound method.
    pub(super) fn invoke(
        &mut self,
        object: &Expr,
        name: Symbol,
        arguments: &[Expr],
        name_line: u32,
        call_line: u32,
    ) -> Exec<Value> {
        let object = self.evaluate(object)?;
        let Value::Instance(instance) = &object else {
            return Err(error("Only instances have properties.", name_line));
        };
        let field = instance.fields.borrow().get(name).cloned();
        if let Some(callee) = field {
            return self.call_with(callee, arguments, call_line);
        }
        let Some(method) = instance.class.find_method(name).cloned() else {
            return Err(self.undefined_property(name, name_line));
        };
        let base = self.push_arguments(object, arguments)?;
        let result = self.call_closure(method, base, arguments.len(), call_line);
        self.stack.truncate(base);
        result
    }

    /// Pushes the callee (slot 0 of the frame to be) and the evaluated arguments; returns
    /// where they start.
    pub(super) fn push_arguments(&mut self, callee: Value, arguments: &[Expr]) -> Exec<usize> {
        let base = self.stack.len();
        self.stack.push(callee);
        for argument in arguments {
            let value = self.operand(argument)?;
            self.stack.push(value);
        }
        Ok(base)
    }

    pub(super) fn call_with(
        &mut self,
        callee: Value,
        arguments: &[Expr],
        line: u32,
    ) -> Exec<Value> {
        let base = self.push_arguments(callee, arguments)?;
        let result = self.call(base, arguments.len(), line);
        self.stack.truncate(base);
        result
    }

    /// Calls the callee at `base` with the `count` arguments above it.
    pub(super) fn call(&mut self, base: usize, count: usize, line: u32) -> Exec<Value> {
        match &self.stack[base] {
            Value::Function(closure) => {
                let closure = closure.clone();
                self.call_closure(closure, base, count, line)
            }
            Value::BoundMethod(bound) => {
                let bound = bound.clone();
                self.stack[base] = bound.receiver.clone();
                self.call_closure(bound.method.clone(), base, count, line)
            }
            Value::Class(class) => {
                let class = class.clone();
                let instance = Value::Instance(Rc::new(Instance::new(class.clone())));
                check_memory(line)?;
                match &class.init {
                    // `init` checks the arguments against its own parameters.
                    Some(init) => {
                        self.stack[base] = instance.clone();
                        self.call_closure(init.clone(), base, count, line)?;
                    }
                    None => self.check_call(0, count, line)?,
                }
                Ok(instance)
            }
            Value::Native(native) => {
                let native = native.clone();
                self.check_call(native.arity, count, line)?;
                (native.function)(&self.stack[base + 1..]).map_err(|message| error(message, line))
            }
            _ => Err(error("Can only call functions and classes.", line)),
        }
    }

    /// jlox's arity check, then the depth limit. Every call passes here, so here it notes
    /// its line for a fuel error.
    pub(super) fn check_call(&mut self, arity: u8, count: usize, line: u32) -> Exec<()> {
        self.line = line;
        if count != arity as usize {
            let message = format!("Expected {arity} arguments but got {count}.");
            return Err(error(message, line));
        }
        if self.depth >= MAX_CALL_DEPTH {
            return Err(error("Stack overflow.", line));
        }
        Ok(())
    }

    /// Runs `closure` in a new frame at `base` (the callee or `this`, then the arguments).
    pub(super) fn call_closure(
        &mut self,
        closure: Rc<Closure>,
        base: usize,
        count: usize,
        line: u32,
    ) -> Exec<Value> {
        let def = closure.def.clone();
        self.check_call(def.arity, count, line)?;
        let frame_end = base + def.slots as usize;
        if frame_end > MAX_STACK_SLOTS {
            return Err(error("Stack overflow.", line));
        }
        self.stack.resize(frame_end, Value::Nil);
        let cell_base = self.cells.len();
        self.cells.resize(cell_base + def.cells as usize, None);
        // An initializer returns `this`, whatever its `return` says.
        let this = (def.kind == FunctionKind::Initializer).then(|| self.stack[base].clone());
        for &(slot, cell) in &def.celled_parameters {
            let value = std::mem::replace(&mut self.stack[base + slot as usize], Value::Nil);
            self.cells[cell_base + cell as usize] = Some(Rc::new(RefCell::new(value)));
        }
        let caller =
            std::mem::replace(&mut self.frame, Frame { base, cell_base, closure: Some(closure) });
        self.depth += 1;
        let flow = self.execute_all(&def.body);
        self.depth -= 1;
        self.frame = caller;
        self.cells.truncate(cell_base);
        match (flow?, this) {
            (_, Some(this)) => Ok(this),
            (Flow::Return, None) => Ok(std::mem::replace(&mut self.returned, Value::Nil)),
            (Flow::Next, None) => Ok(Value::Nil),
        }
    }
}
