//! Engine 1: a tree-walking interpreter with jlox's semantics.
//!
//! It walks the resolved tree directly: statements are executed, expressions evaluated, and
//! every local is found at the `(hops, index)` the parser computed, so no name is ever looked
//! up in a hash table at run time (jlox looks locals up by name in a chain of hash maps; that is
//! most of the speed difference). A `return` unwinds the Rust stack as an `Err`, as jlox's
//! `Return` exception does.
//!
//! It recurses on the native stack, so depth is bounded twice: the parser caps nesting within
//! one function ([`MAX_NESTING`](crate::syntax::MAX_NESTING)), and calls deeper than
//! [`MAX_CALL_DEPTH`] stop with `Stack overflow.`. [`run`] gives it a thread whose stack holds
//! that worst case.

mod value;

use std::io::Write;
use std::rc::Rc;

use value::Env;
pub use value::{Class, Closure, Environment, Instance, Native, Value};

use crate::syntax::ast::{BinaryOp, Expr, Place, Program, Stmt, Symbol, UnaryOp, VarRef};
use crate::{HostFunction, Limits, RuntimeError};

/// Calls deeper than this stop the program with `Stack overflow.` (jlox relies on the JVM's
/// stack; this is about as deep as a default JVM stack lets jlox go).
pub const MAX_CALL_DEPTH: usize = 4096;

/// Native stack for [`run`]'s thread: enough for [`MAX_CALL_DEPTH`] calls, each nested up to
/// the parser's limit, in an unoptimised build. Only the pages used are ever touched.
pub const STACK_SIZE: usize = 1 << 30;

/// Runs `program` on a thread of its own with a [`STACK_SIZE`] stack, printing to `out`.
pub fn run(
    program: &Program,
    out: &mut (dyn Write + Send),
    natives: &[HostFunction],
    limits: Limits,
) -> Result<(), RuntimeError> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new().stack_size(STACK_SIZE).spawn_scoped(scope, || {
            let mut interpreter = Interpreter::new(program, out, limits);
            for native in natives {
                interpreter.define_host(native);
            }
            interpreter.run(program)
        });
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|_| Err(RuntimeError::internal())),
            Err(_) => Err(RuntimeError::new("Cannot start the interpreter thread.".into(), 0)),
        }
    })
}

/// Why evaluation stopped early.
enum Unwind {
    Error(RuntimeError),
    Return(Value),
}

impl From<RuntimeError> for Unwind {
    fn from(error: RuntimeError) -> Self {
        Unwind::Error(error)
    }
}

type Exec<T> = Result<T, Unwind>;

/// The tree-walking interpreter. Runs on the calling thread: see [`run`] for the stack it needs.
pub struct Interpreter<'o> {
    globals: Vec<Option<Value>>,
    names: Vec<Rc<str>>,
    env: Option<Env>,
    out: &'o mut dyn Write,
    depth: usize,
    fuel: Option<u64>,
    /// The line of the latest call or loop test, for a fuel error.
    line: u32,
    init: Symbol,
}

fn error(message: impl Into<String>, line: u32) -> Unwind {
    Unwind::Error(RuntimeError::new(message.into(), line))
}

impl<'o> Interpreter<'o> {
    /// An interpreter for `program` (and later programs parsed with its interner), with the
    /// standard native `clock`.
    pub fn new(program: &Program, out: &'o mut dyn Write, limits: Limits) -> Self {
        let mut interpreter = Interpreter {
            globals: Vec::new(),
            names: Vec::new(),
            env: None,
            out,
            depth: 0,
            fuel: limits.fuel,
            line: 1,
            init: program.init,
        };
        interpreter.learn_names(program);
        let start = std::time::Instant::now();
        interpreter
            .define_native("clock", 0, move |_| Ok(Value::Number(start.elapsed().as_secs_f64())));
        interpreter
    }

    /// Defines a global native function (if the program mentions its name).
    pub fn define_native(
        &mut self,
        name: &str,
        arity: u8,
        function: impl Fn(&[Value]) -> Result<Value, String> + 'static,
    ) {
        if let Some(slot) = self.names.iter().position(|n| &**n == name) {
            let native = Native { arity, function: Box::new(function) };
            self.globals[slot] = Some(Value::Native(Rc::new(native)));
        }
    }

    fn define_host(&mut self, host: &HostFunction) {
        let function = host.function.clone();
        self.define_native(&host.name, host.arity, move |args| {
            let args: Vec<crate::HostValue> = args.iter().map(to_host).collect();
            function(&args).map(from_host)
        });
    }

    /// Where `print` writes.
    pub fn output(&mut self) -> &mut dyn Write {
        self.out
    }

    /// Adds the symbols `program` interned beyond those already known (a global slot each).
    fn learn_names(&mut self, program: &Program) {
        for symbol in self.names.len()..program.interner.len() {
            self.names.push(Rc::from(program.interner.text(symbol as Symbol)));
            self.globals.push(None);
        }
    }

    /// Runs a program parsed with this interpreter's symbols (or a continuation of them).
    pub fn run(&mut self, program: &Program) -> Result<(), RuntimeError> {
        self.learn_names(program);
        let result = self.execute_all(&program.statements);
        let _ = self.out.flush();
        match result {
            Ok(()) | Err(Unwind::Return(_)) => Ok(()),
            Err(Unwind::Error(error)) => Err(error),
        }
    }

    fn execute_all(&mut self, statements: &[Stmt]) -> Exec<()> {
        statements.iter().try_for_each(|statement| self.execute(statement))
    }

    fn burn_fuel(&mut self) -> Exec<()> {
        if let Some(fuel) = &mut self.fuel {
            if *fuel == 0 {
                return Err(error("Instruction budget exhausted.", self.line));
            }
            *fuel -= 1;
        }
        Ok(())
    }

    fn execute(&mut self, statement: &Stmt) -> Exec<()> {
        self.burn_fuel()?;
        match statement {
            Stmt::Expression(expr) => {
                self.evaluate(expr)?;
            }
            Stmt::Print(expr) => {
                let value = self.evaluate(expr)?;
                if let Err(e) = writeln!(self.out, "{value}") {
                    return Err(error(format!("Cannot write output: {e}."), self.line));
                }
            }
            Stmt::Var { target, initializer } => {
                let value = self.evaluate(initializer)?;
                self.define(target, value);
            }
            Stmt::Block { statements, scope } => {
                let env = Environment::new(scope.env_size as usize, self.env.clone());
                self.execute_in(statements, env)?;
            }
            Stmt::If { condition, then_branch, else_branch } => {
                if self.evaluate(condition)?.is_truthy() {
                    self.execute(then_branch)?;
                } else if let Some(else_branch) = else_branch {
                    self.execute(else_branch)?;
                }
            }
            Stmt::While { condition, body, .. } => {
                while self.evaluate(condition)?.is_truthy() {
                    self.execute(body)?;
                }
            }
            Stmt::For { condition, increment, body, .. } => loop {
                if let Some(condition) = condition
                    && !self.evaluate(condition)?.is_truthy()
                {
                    break;
                }
                self.execute(body)?;
                if let Some(increment) = increment {
                    self.evaluate(increment)?;
                }
            },
            Stmt::Function { target, function } => {
                let name = self.names[function.name as usize].clone();
                let closure = self.env.clone().unwrap_or_else(|| Environment::new(0, None));
                let value = Closure { name, declaration: function.clone(), closure };
                self.define(target, Value::Function(Rc::new(value)));
            }
            Stmt::Return { value, .. } => {
                let value = match value {
                    Some(expr) => self.evaluate(expr)?,
                    None => Value::Nil,
                };
                return Err(Unwind::Return(value));
            }
            Stmt::Class(class) => self.class(class)?,
        }
        Ok(())
    }

    fn class(&mut self, class: &crate::syntax::ast::Class) -> Exec<()> {
        let superclass = match &class.superclass {
            None => None,
            Some(var) => match self.lookup(var)? {
                Value::Class(superclass) => Some(superclass),
                _ => return Err(error("Superclass must be a class.", var.line)),
            },
        };
        self.define(&class.target, Value::Nil);
        let outer = self.env.clone();
        if let Some(superclass) = &superclass {
            let env = Environment::new(1, self.env.clone());
            env.values.borrow_mut().push(Value::Class(superclass.clone()));
            self.env = Some(env);
        }
        let closure = self.env.clone().unwrap_or_else(|| Environment::new(0, None));
        let methods = class
            .methods
            .iter()
            .map(|method| {
                let name = self.names[method.name as usize].clone();
                let closure =
                    Closure { name, declaration: method.clone(), closure: closure.clone() };
                (method.name, Rc::new(closure))
            })
            .collect();
        self.env = outer;
        let name = self.names[class.target.name as usize].clone();
        let value = Class { name, superclass, methods, init: self.init };
        self.assign(&class.target, Value::Class(Rc::new(value)))
    }

    /// Runs `statements` in `env`, restoring the current environment afterwards.
    fn execute_in(&mut self, statements: &[Stmt], env: Env) -> Exec<()> {
        let outer = self.env.replace(env);
        let result = self.execute_all(statements);
        self.env = outer;
        result
    }

    fn define(&mut self, target: &VarRef, value: Value) {
        match target.place {
            Place::Global => {
                if let Some(slot) = self.globals.get_mut(target.name as usize) {
                    *slot = Some(value);
                }
            }
            Place::Local { .. } => {
                if let Some(env) = &self.env {
                    env.values.borrow_mut().push(value);
                }
            }
        }
    }

    fn lookup(&self, var: &VarRef) -> Exec<Value> {
        match var.place {
            Place::Global => match self.globals.get(var.name as usize) {
                Some(Some(value)) => Ok(value.clone()),
                _ => Err(self.undefined(var)),
            },
            Place::Local { hops, index, .. } => {
                let env = self.env.as_ref().map(|env| Environment::ancestor(env, hops));
                let values = env.map(|env| env.values.borrow());
                Ok(values
                    .and_then(|values| values.get(index as usize).cloned())
                    .unwrap_or(Value::Nil))
            }
        }
    }

    fn assign(&mut self, var: &VarRef, value: Value) -> Exec<()> {
        match var.place {
            Place::Global => match self.globals.get_mut(var.name as usize) {
                Some(slot @ Some(_)) => *slot = Some(value),
                _ => return Err(self.undefined(var)),
            },
            Place::Local { hops, index, .. } => {
                if let Some(env) = &self.env
                    && let Some(slot) =
                        Environment::ancestor(env, hops).values.borrow_mut().get_mut(index as usize)
                {
                    *slot = value;
                }
            }
        }
        Ok(())
    }

    fn undefined(&self, var: &VarRef) -> Unwind {
        error(format!("Undefined variable '{}'.", self.names[var.name as usize]), var.line)
    }

    fn evaluate(&mut self, expr: &Expr) -> Exec<Value> {
        Ok(match expr {
            Expr::Nil => Value::Nil,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Number { value, .. } => Value::Number(*value),
            Expr::String { symbol, .. } => Value::Str(self.names[*symbol as usize].clone()),
            Expr::Grouping(inner) => self.evaluate(inner)?,
            Expr::Unary { op, operand, line } => {
                let operand = self.evaluate(operand)?;
                match (op, operand) {
                    (UnaryOp::Not, value) => Value::Bool(!value.is_truthy()),
                    (UnaryOp::Negate, Value::Number(n)) => Value::Number(-n),
                    (UnaryOp::Negate, _) => return Err(error("Operand must be a number.", *line)),
                }
            }
            Expr::Binary { op, left, right, line } => {
                let left = self.evaluate(left)?;
                let right = self.evaluate(right)?;
                binary(*op, left, right, *line)?
            }
            Expr::Logical { is_and, left, right } => {
                let left = self.evaluate(left)?;
                if left.is_truthy() != *is_and { left } else { self.evaluate(right)? }
            }
            Expr::Variable(var) | Expr::This(var) => self.lookup(var)?,
            Expr::Assign { target, value } => {
                let value = self.evaluate(value)?;
                self.assign(target, value.clone())?;
                value
            }
            Expr::Call { callee, arguments, line } => {
                let callee = self.evaluate(callee)?;
                let mut args = Vec::with_capacity(arguments.len());
                for argument in arguments {
                    args.push(self.evaluate(argument)?);
                }
                self.call(callee, args, *line)?
            }
            Expr::Get { object, name, line } => match self.evaluate(object)? {
                Value::Instance(instance) => self.get_property(&instance, *name, *line)?,
                _ => return Err(error("Only instances have properties.", *line)),
            },
            Expr::Set { object, name, value, line } => {
                let Value::Instance(instance) = self.evaluate(object)? else {
                    return Err(error("Only instances have fields.", *line));
                };
                let value = self.evaluate(value)?;
                instance.fields.borrow_mut().insert(*name, value.clone());
                value
            }
            Expr::Super { this, superclass, method, line } => {
                let Value::Class(superclass) = self.lookup(superclass)? else {
                    return Err(error("Superclass must be a class.", *line));
                };
                let this = self.lookup(this)?;
                match superclass.find_method(*method) {
                    Some(found) => Value::Function(bind(found, this)),
                    None => return Err(self.undefined_property(*method, *line)),
                }
            }
        })
    }

    fn get_property(&self, instance: &Rc<Instance>, name: Symbol, line: u32) -> Exec<Value> {
        if let Some(value) = instance.fields.borrow().get(&name) {
            return Ok(value.clone());
        }
        match instance.class.find_method(name) {
            Some(method) => Ok(Value::Function(bind(method, Value::Instance(instance.clone())))),
            None => Err(self.undefined_property(name, line)),
        }
    }

    fn undefined_property(&self, name: Symbol, line: u32) -> Unwind {
        error(format!("Undefined property '{}'.", self.names[name as usize]), line)
    }

    fn call(&mut self, callee: Value, args: Vec<Value>, line: u32) -> Exec<Value> {
        self.line = line;
        let arity = match &callee {
            Value::Function(closure) => closure.declaration.arity,
            Value::Class(class) => class.arity(),
            Value::Native(native) => native.arity,
            _ => return Err(error("Can only call functions and classes.", line)),
        };
        if args.len() != arity as usize {
            let message = format!("Expected {arity} arguments but got {}.", args.len());
            return Err(error(message, line));
        }
        if self.depth >= MAX_CALL_DEPTH {
            return Err(error("Stack overflow.", line));
        }
        self.depth += 1;
        let result = match callee {
            Value::Function(closure) => self.call_closure(&closure, args),
            Value::Class(class) => {
                let instance = Value::Instance(Rc::new(Instance::new(class.clone())));
                match class.find_method(class.init) {
                    Some(init) => {
                        self.call_closure(&bind(init, instance.clone()), args).map(|_| instance)
                    }
                    None => Ok(instance),
                }
            }
            Value::Native(native) => {
                (native.function)(&args).map_err(|message| error(message, line))
            }
            _ => Ok(Value::Nil),
        };
        self.depth -= 1;
        result
    }

    fn call_closure(&mut self, closure: &Closure, args: Vec<Value>) -> Exec<Value> {
        let declaration = &closure.declaration;
        let env = Environment::new(declaration.env_size as usize, Some(closure.closure.clone()));
        env.values.borrow_mut().extend(args);
        let returned = match self.execute_in(&declaration.body, env) {
            Ok(()) => Value::Nil,
            Err(Unwind::Return(value)) => value,
            Err(error) => return Err(error),
        };
        if declaration.kind == crate::syntax::ast::FunctionKind::Initializer {
            // An initializer returns `this`, which `bind` put at index 0 of its closure.
            return Ok(closure.closure.values.borrow().first().cloned().unwrap_or(Value::Nil));
        }
        Ok(returned)
    }
}

/// A method bound to `this`: a new closure whose environment holds `this` at index 0.
fn bind(method: &Rc<Closure>, this: Value) -> Rc<Closure> {
    let env = Environment::new(1, Some(method.closure.clone()));
    env.values.borrow_mut().push(this);
    Rc::new(Closure {
        name: method.name.clone(),
        declaration: method.declaration.clone(),
        closure: env,
    })
}

fn binary(op: BinaryOp, left: Value, right: Value, line: u32) -> Exec<Value> {
    use BinaryOp::*;
    Ok(match (op, left, right) {
        (Equal, a, b) => Value::Bool(a.equals(&b)),
        (NotEqual, a, b) => Value::Bool(!a.equals(&b)),
        (Add, Value::Number(a), Value::Number(b)) => Value::Number(a + b),
        (Add, Value::Str(a), Value::Str(b)) => Value::Str(Rc::from(format!("{a}{b}"))),
        (Add, _, _) => return Err(error("Operands must be two numbers or two strings.", line)),
        (op, Value::Number(a), Value::Number(b)) => match op {
            Subtract => Value::Number(a - b),
            Multiply => Value::Number(a * b),
            Divide => Value::Number(a / b),
            Greater => Value::Bool(a > b),
            GreaterEqual => Value::Bool(a >= b),
            Less => Value::Bool(a < b),
            LessEqual => Value::Bool(a <= b),
            Equal | NotEqual | Add => Value::Nil,
        },
        _ => return Err(error("Operands must be numbers.", line)),
    })
}

fn to_host(value: &Value) -> crate::HostValue {
    match value {
        Value::Nil => crate::HostValue::Nil,
        Value::Bool(b) => crate::HostValue::Bool(*b),
        Value::Number(n) => crate::HostValue::Number(*n),
        Value::Str(s) => crate::HostValue::Str(s.to_string()),
        other => crate::HostValue::Object(other.to_string()),
    }
}

fn from_host(value: crate::HostValue) -> Value {
    match value {
        crate::HostValue::Nil => Value::Nil,
        crate::HostValue::Bool(b) => Value::Bool(b),
        crate::HostValue::Number(n) => Value::Number(n),
        crate::HostValue::Str(s) | crate::HostValue::Object(s) => Value::Str(Rc::from(s)),
    }
}
