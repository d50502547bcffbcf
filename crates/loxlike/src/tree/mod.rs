//! Engine 1: a tree-walking interpreter with jlox's semantics.
//!
//! The program is first *lowered* (the `lower` module): every variable gets a fixed home, a
//! frame slot, a shared cell or a global, and literals become ready-made values. The
//! interpreter then walks that tree: statements are executed, expressions evaluated, each on
//! the native stack, as jlox does. What it does not do is jlox's bookkeeping: no environment
//! is made for a block or a call, no name is looked up in a hash table, and a method call
//! does not make a bound method first. A call's frame is a window of one value stack (slot 0
//! the callee or `this`, then the arguments, where the caller evaluated them, then the
//! locals) and of one cell stack, and a `return` is an ordinary result (`Flow::Return`), not
//! an unwinding error as jlox's `Return` exception is.
//!
//! This module executes statements and evaluates expressions; the `call` module reads
//! properties and makes calls, and the `access` module reads and writes variables where
//! lowering put them.
//!
//! Memory is reference counted (see [`Value`]); the `meter` module counts the bytes of the
//! objects a program can pile up, for `Limits::memory`.
//!
//! It recurses on the native stack, so depth is bounded twice: the parser caps nesting within
//! one function ([`MAX_NESTING`](crate::syntax::MAX_NESTING)), and calls deeper than
//! [`MAX_CALL_DEPTH`] stop with `Stack overflow.`. [`run`] gives it a thread whose stack holds
//! that worst case.

mod access;
mod call;
mod lower;
mod meter;
mod node;
mod value;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

pub use meter::Text;
use node::{Access, Capture, ClassDef, Expr, FunctionDef, Stmt};
use value::Cell;
pub use value::{BoundMethod, Class, Closure, Instance, Native, Value};

use crate::syntax::ast::{BinaryOp, Program, Symbol};
use crate::{HostFunction, Limits, RuntimeError};

/// Calls deeper than this stop the program with `Stack overflow.` (jlox relies on the JVM's
/// stack; this is about as deep as a default JVM stack lets jlox go).
pub const MAX_CALL_DEPTH: usize = 4096;

/// Value slots in all frames together beyond which a call stops with `Stack overflow.`
/// (64 MiB of values), so that deep recursion through functions with many locals cannot
/// exhaust memory before it exhausts [`MAX_CALL_DEPTH`].
pub const MAX_STACK_SLOTS: usize = 1 << 22;

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

/// The runtime error of a program over `Limits::memory` (the VM's words).
const MEMORY_EXCEEDED: &str = "Memory limit exceeded.";

/// [`MEMORY_EXCEEDED`] at `line` once the objects made so far are over the budget (checked
/// after making an instance, a closure or a field: each is small).
fn check_memory(line: u32) -> Exec<()> {
    if meter::fits(0) { Ok(()) } else { Err(error(MEMORY_EXCEEDED, line)) }
}

/// Evaluation's error: boxed, so that a result is as small as what it carries.
type Exec<T> = Result<T, Box<RuntimeError>>;

fn error(message: impl Into<String>, line: u32) -> Box<RuntimeError> {
    Box::new(RuntimeError::new(message.into(), line))
}

/// How a statement ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Go on with the next statement.
    Next,
    /// A `return` ran: leave the function with the value in `Interpreter::returned`.
    Return,
}

// A value result is two words (the value's tag has room for `Result`'s); a statement's
// result is one word's worth, returned in registers. The returned value waits in a field
// rather than riding in `Flow`: moving a value up through every enclosing statement copies
// it each time.
const _: () = assert!(std::mem::size_of::<Exec<Value>>() == 16);

/// The running call: where its frame starts on each stack, and its closure (for captured
/// variables; none for the top level).
struct Frame {
    base: usize,
    cell_base: usize,
    closure: Option<Rc<Closure>>,
}

/// The tree-walking interpreter. Runs on the calling thread: see [`run`] for the stack it needs.
pub struct Interpreter<'o> {
    /// Indexed by symbol; `None` until defined.
    globals: Vec<Option<Value>>,
    names: Vec<Rc<str>>,
    /// One shared string per literal's symbol (see `lower`).
    strings: Vec<Option<Rc<Text>>>,
    stack: Vec<Value>,
    cells: Vec<Option<Cell>>,
    frame: Frame,
    /// What the latest `return` returned, until its call takes it.
    returned: Value,
    out: &'o mut dyn Write,
    depth: usize,
    /// Statements left to run (`u64::MAX` without a limit, which no program reaches).
    fuel: u64,
    /// The line of the latest call, for a fuel error.
    line: u32,
    init: Symbol,
    /// The memory count when the interpreter was made, and `Limits::memory` above it.
    memory_base: usize,
    memory_limit: Option<usize>,
}

impl<'o> Interpreter<'o> {
    /// An interpreter for `program` (and later programs parsed with its interner), with the
    /// standard native `clock`.
    pub fn new(program: &Program, out: &'o mut dyn Write, limits: Limits) -> Self {
        let mut interpreter = Interpreter {
            globals: Vec::new(),
            names: Vec::new(),
            strings: Vec::new(),
            stack: Vec::new(),
            cells: Vec::new(),
            frame: Frame { base: 0, cell_base: 0, closure: None },
            returned: Value::Nil,
            out,
            depth: 0,
            fuel: limits.fuel.unwrap_or(u64::MAX),
            line: 1,
            init: program.init,
            memory_base: meter::live(),
            memory_limit: limits.memory,
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
        meter::set_budget(self.memory_base, self.memory_limit);
        self.learn_names(program);
        let script = lower::program(program, &self.names, &mut self.strings);
        // A fresh top-level frame: an earlier run may have stopped inside a call.
        self.frame = Frame { base: 0, cell_base: 0, closure: None };
        self.depth = 0;
        self.stack.clear();
        self.stack.resize(script.slots as usize, Value::Nil);
        self.cells.clear();
        self.cells.resize(script.cells as usize, None);
        let result = self.execute_all(&script.body);
        self.stack.clear();
        self.cells.clear();
        let _ = self.out.flush();
        result.map(|_| ()).map_err(|error| *error)
    }

    fn execute_all(&mut self, statements: &[Stmt]) -> Exec<Flow> {
        for statement in statements {
            // Expression statements, the most common kind, without a call to `execute`.
            if let Stmt::Expression(expr) = statement {
                self.burn_fuel()?;
                discard(self.evaluate(expr)?);
            } else if self.execute(statement)? == Flow::Return {
                return Ok(Flow::Return);
            }
        }
        Ok(Flow::Next)
    }

    #[inline(always)]
    fn burn_fuel(&mut self) -> Exec<()> {
        if self.fuel == 0 {
            return Err(error("Instruction budget exhausted.", self.line));
        }
        self.fuel -= 1;
        Ok(())
    }

    fn execute(&mut self, statement: &Stmt) -> Exec<Flow> {
        self.burn_fuel()?;
        match statement {
            Stmt::Expression(expr) => discard(self.evaluate(expr)?),
            Stmt::Print(expr) => {
                let value = self.evaluate(expr)?;
                if let Err(e) = writeln!(self.out, "{value}") {
                    return Err(error(format!("Cannot write output: {e}."), self.line));
                }
            }
            Stmt::Define(home, initializer) => {
                let value = self.evaluate(initializer)?;
                self.define(*home, value);
            }
            Stmt::Block(statements) => return self.execute_all(statements),
            Stmt::If { condition, then_branch, else_branch } => {
                if self.condition(condition)? {
                    return self.execute(then_branch);
                } else if let Some(else_branch) = else_branch {
                    return self.execute(else_branch);
                }
            }
            Stmt::While { condition, body } => {
                while self.condition(condition)? {
                    if self.execute(body)? == Flow::Return {
                        return Ok(Flow::Return);
                    }
                }
            }
            Stmt::For { condition, increment, body } => loop {
                if let Some(condition) = condition
                    && !self.condition(condition)?
                {
                    break;
                }
                if self.execute(body)? == Flow::Return {
                    return Ok(Flow::Return);
                }
                if let Some(increment) = increment {
                    discard(self.evaluate(increment)?);
                }
            },
            Stmt::Function(home, def) => {
                // A local function may call itself: its cell exists before the closure that
                // captures it.
                self.define(*home, Value::Nil);
                let closure = self.closure(def);
                check_memory(self.line)?;
                self.assign(*home, Value::Function(Rc::new(closure)), 0)?;
            }
            Stmt::Return(value) => {
                self.returned = match value {
                    Some(expr) => self.evaluate(expr)?,
                    None => Value::Nil,
                };
                return Ok(Flow::Return);
            }
            Stmt::Class(class) => self.class(class)?,
        }
        Ok(Flow::Next)
    }

    /// A closure of `def`, capturing from the running frame.
    fn closure(&self, def: &Rc<FunctionDef>) -> Closure {
        let captured = def
            .captures
            .iter()
            .map(|capture| {
                let access = match *capture {
                    Capture::Cell(cell) => Access::Cell(cell),
                    Capture::Captured(index) => Access::Captured(index),
                };
                // Lowering captures only cells whose declarations ran before.
                self.cell(access).cloned().unwrap_or_else(|| Rc::new(RefCell::new(Value::Nil)))
            })
            .collect();
        Closure::new(def.clone(), captured)
    }

    fn class(&mut self, class: &ClassDef) -> Exec<()> {
        let superclass = match class.superclass {
            None => None,
            Some((access, line)) => match self.read(access, line)? {
                Value::Class(superclass) => Some(superclass),
                _ => return Err(error("Superclass must be a class.", line)),
            },
        };
        self.define(class.target, Value::Nil);
        if let (Some(superclass), Some(home)) = (&superclass, class.super_local) {
            self.define(home, Value::Class(superclass.clone()));
        }
        let mut methods =
            superclass.map(|superclass| superclass.methods.clone()).unwrap_or_default();
        for (name, def) in &class.methods {
            methods.insert(*name, Rc::new(self.closure(def)));
        }
        let value = Class::new(class.name.clone(), methods, self.init);
        check_memory(self.line)?;
        self.assign(class.target, Value::Class(Rc::new(value)), 0)
    }

    /// `expr`'s value, without a call for the leaves that most operands are: literals,
    /// frame slots and globals.
    #[inline(always)]
    fn operand(&mut self, expr: &Expr) -> Exec<Value> {
        match expr {
            Expr::Constant(value) => Ok(value.clone()),
            Expr::Variable(Access::Slot(slot), _) => Ok(self.slot(*slot)),
            Expr::Variable(Access::Global(name), line) => self.global(*name, *line),
            _ => self.evaluate(expr),
        }
    }

    /// Whether `expr` is truthy; a comparison of two numbers gives its answer without
    /// making a boolean value first.
    fn condition(&mut self, expr: &Expr) -> Exec<bool> {
        use BinaryOp::*;
        if let Expr::Binary {
            op: op @ (Less | LessEqual | Greater | GreaterEqual),
            left,
            right,
            line,
        } = expr
        {
            let left = self.operand(left)?;
            let right = self.operand(right)?;
            if let (Value::Number(a), Value::Number(b)) = (&left, &right) {
                return Ok(match op {
                    Less => a < b,
                    LessEqual => a <= b,
                    Greater => a > b,
                    _ => a >= b,
                });
            }
            return Ok(binary(*op, left, right, *line)?.is_truthy());
        }
        Ok(self.evaluate(expr)?.is_truthy())
    }

    fn evaluate(&mut self, expr: &Expr) -> Exec<Value> {
        Ok(match expr {
            Expr::Constant(value) => value.clone(),
            Expr::Variable(access, line) => self.read(*access, *line)?,
            Expr::Assign { target, value, line } => {
                let value = self.evaluate(value)?;
                self.assign(*target, value.clone(), *line)?;
                value
            }
            Expr::Negate(operand, line) => match self.evaluate(operand)? {
                Value::Number(n) => Value::Number(-n),
                _ => return Err(error("Operand must be a number.", *line)),
            },
            Expr::Binary { op, left, right, line } => {
                let left = self.operand(left)?;
                let right = self.operand(right)?;
                binary(*op, left, right, *line)?
            }
            Expr::Not(operand) => Value::Bool(!self.condition(operand)?),
            Expr::And(left, right) => {
                let left = self.evaluate(left)?;
                if left.is_truthy() { self.evaluate(right)? } else { left }
            }
            Expr::Or(left, right) => {
                let left = self.evaluate(left)?;
                if left.is_truthy() { left } else { self.evaluate(right)? }
            }
            Expr::Call { callee, arguments, line } => {
                let callee = self.evaluate(callee)?;
                self.call_with(callee, arguments, *line)?
            }
            Expr::Invoke { object, name, arguments, name_line, call_line } => {
                self.invoke(object, *name, arguments, *name_line, *call_line)?
            }
            Expr::Get { object, name, line } => match self.evaluate(object)? {
                Value::Instance(instance) => self.get_property(instance, *name, *line)?,
                _ => return Err(error("Only instances have properties.", *line)),
            },
            Expr::Set { object, name, value, line } => {
                let Value::Instance(instance) = self.evaluate(object)? else {
                    return Err(error("Only instances have fields.", *line));
                };
                let value = self.evaluate(value)?;
                instance.set(*name, value.clone());
                check_memory(*line)?;
                value
            }
            Expr::Super { this, superclass, method, line } => {
                let Value::Class(superclass) = self.read(*superclass, *line)? else {
                    return Err(error("Superclass must be a class.", *line));
                };
                let receiver = self.read(*this, *line)?;
                match superclass.find_method(*method) {
                    Some(method) => {
                        let method = method.clone();
                        Value::BoundMethod(Rc::new(BoundMethod { receiver, method }))
                    }
                    None => return Err(self.undefined_property(*method, *line)),
                }
            }
        })
    }
}

/// Drops an expression statement's value; most are numbers or booleans, which need nothing.
#[inline(always)]
fn discard(value: Value) {
    if matches!(value, Value::Nil | Value::Bool(_) | Value::Number(_)) {
        std::mem::forget(value);
    }
}

fn binary(op: BinaryOp, left: Value, right: Value, line: u32) -> Exec<Value> {
    use BinaryOp::*;
    if let (Value::Number(a), Value::Number(b)) = (&left, &right) {
        let (a, b) = (*a, *b);
        return Ok(match op {
            Add => Value::Number(a + b),
            Subtract => Value::Number(a - b),
            Multiply => Value::Number(a * b),
            Divide => Value::Number(a / b),
            Greater => Value::Bool(a > b),
            GreaterEqual => Value::Bool(a >= b),
            Less => Value::Bool(a < b),
            LessEqual => Value::Bool(a <= b),
            Equal => Value::Bool(a == b),
            NotEqual => Value::Bool(a != b),
        });
    }
    Ok(match (op, left, right) {
        (Equal, a, b) => Value::Bool(a.equals(&b)),
        (NotEqual, a, b) => Value::Bool(!a.equals(&b)),
        (Add, Value::Str(a), Value::Str(b)) => {
            // Checked before the allocation: doubling a string in a loop asks for more
            // memory than the machine has within a few dozen rounds.
            if !meter::fits(a.len() + b.len()) {
                return Err(error(MEMORY_EXCEEDED, line));
            }
            let mut sum = String::with_capacity(a.len() + b.len());
            sum.push_str(&a);
            sum.push_str(&b);
            Value::Str(Rc::new(Text::new(sum)))
        }
        (Add, _, _) => return Err(error("Operands must be two numbers or two strings.", line)),
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
        crate::HostValue::Str(s) | crate::HostValue::Object(s) => Value::Str(Rc::new(Text::new(s))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;
    use crate::syntax;

    /// Runs `source` on a thread with a small native stack, as a check that nothing in it
    /// recurses once per object.
    fn run_on_small_stack(source: &str) -> String {
        let program = syntax::parse(source, Dialect::Jlox).expect("the test program parses");
        let worker = std::thread::Builder::new().stack_size(16 << 20).spawn(move || {
            let mut out = Vec::new();
            let mut interpreter = Interpreter::new(&program, &mut out, Limits::default());
            let result = interpreter.run(&program).map_err(|error| error.to_string());
            drop(interpreter);
            result.map(|()| String::from_utf8_lossy(&out).into_owned())
        });
        worker.expect("thread starts").join().expect("no stack overflow").expect("runs")
    }

    #[test]
    fn dropping_a_million_long_chain_of_objects_does_not_overflow_the_stack() {
        // Without the bound in `drop_bounded`, freeing each chain recurses once per link.
        let source = "
class Node { init(next) { this.next = next; } }
fun wrap(inner) { fun f() { return inner; } return f; }
var list = nil;
var closures = nil;
for (var i = 0; i < 1000000; i = i + 1) { list = Node(list); closures = wrap(closures); }
print list.next.next != nil;
list = nil;
closures = nil;
print \"freed\";
var kept = Node(Node(nil));";
        assert_eq!(run_on_small_stack(source), "true\nfreed\n");
    }
}
