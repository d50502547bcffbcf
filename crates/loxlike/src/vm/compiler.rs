//! The compiler: one pass over the resolved tree, emitting clox's bytecode.
//!
//! The parser has already decided where every variable lives, so this pass only lays out code.
//! Its one invariant is clox's stack discipline: an expression leaves exactly one value on the
//! stack, a statement leaves none, and a local's value sits in the stack slot the resolver gave
//! it from its declaration to the end of its scope (where `POP`, or `CLOSE_UPVALUE` if a
//! closure captured it, removes it).
//!
//! The limits clox enforces here, constants per chunk and jump distances, are reported as clox
//! reports them, at the token it had just consumed, with panic mode silencing the rest of the
//! declaration. Two known differences, both on programs that clox rejects anyway: this pass runs
//! only on a program that parsed, so a file with a syntax error *and* a too-large chunk reports
//! only the former; and a too-long jump in an `if`, `and` or `or` is reported at the file's
//! first token rather than at the end of the branch.

use std::rc::Rc;

use super::chunk::{Chunk, MAX_CONSTANTS, op};
use super::heap::Heap;
use super::object::{Function, FunctionId, Object, Value};
use crate::diag::{CompileError, CompileErrors};
use crate::syntax::ast::{
    self, BinaryOp, Expr, FunctionKind, Place, Program, Stmt, UnaryOp, VarRef, VmPlace,
};
use crate::syntax::token::Scanner;

/// Compiles `program` (parsed from `source`) into `functions`, returning the script function's
/// index there. String constants and function objects are allocated in `heap`. On error,
/// `functions` is left as it was.
pub fn compile(
    program: &Program,
    source: &str,
    heap: &mut Heap,
    functions: &mut Vec<Function>,
) -> Result<FunctionId, CompileErrors> {
    let known = functions.len();
    let mut compiler =
        Compiler { program, source, heap, functions, errors: Vec::new(), panic: false, line: 1 };
    let mut script = FunctionBuilder::default();
    compiler.statements(&mut script, &program.statements);
    compiler.emit(&mut script, op::NIL);
    compiler.emit(&mut script, op::RETURN);
    if !compiler.errors.is_empty() {
        compiler.functions.truncate(known);
        return Err(CompileErrors(compiler.errors));
    }
    let function =
        Function { name: None, arity: 0, upvalue_count: 0, chunk: script.chunk, code_start: 0 };
    Ok(compiler.add_function(function))
}

/// Whether an assignment's value is used (`a = b = 1`) or thrown away (`a = 1;`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Assigned {
    Kept,
    Discarded,
}

#[derive(Default)]
struct FunctionBuilder {
    chunk: Chunk,
    /// String constants already in this chunk (numbers are not shared, as in clox).
    strings: Vec<(ast::Symbol, u8)>,
    kind: Option<FunctionKind>,
}

struct Compiler<'a> {
    program: &'a Program,
    source: &'a str,
    heap: &'a mut Heap,
    functions: &'a mut Vec<Function>,
    errors: Vec<CompileError>,
    panic: bool,
    /// The line instructions are attributed to.
    line: u32,
}

impl Compiler<'_> {
    fn add_function(&mut self, function: Function) -> FunctionId {
        self.functions.push(function);
        FunctionId((self.functions.len() - 1) as u32)
    }

    // ---- emitting -------------------------------------------------------------------------

    fn emit(&mut self, f: &mut FunctionBuilder, byte: u8) {
        f.chunk.write(byte, self.line);
    }

    fn emit_u16(&mut self, f: &mut FunctionBuilder, value: u16) {
        f.chunk.write_u16(value, self.line);
    }

    fn emit_with_name(&mut self, f: &mut FunctionBuilder, opcode: u8, name: ast::Symbol) {
        self.emit(f, opcode);
        // Symbols fit 16 bits: the parser rejects sources with more names (see `MAX_SYMBOLS`).
        self.emit_u16(f, name as u16);
    }

    /// Adds a constant, reporting clox's limit at the token at byte offset `at`.
    fn constant(&mut self, f: &mut FunctionBuilder, value: Value, at: u32) -> u8 {
        if f.chunk.constants.len() >= MAX_CONSTANTS {
            self.error_at(at, "Too many constants in one chunk.");
            return 0;
        }
        f.chunk.constants.push(value);
        (f.chunk.constants.len() - 1) as u8
    }

    fn emit_constant(&mut self, f: &mut FunctionBuilder, value: Value, at: u32) {
        let index = self.constant(f, value, at);
        self.emit(f, op::CONSTANT);
        self.emit(f, index);
    }

    fn emit_jump(&mut self, f: &mut FunctionBuilder, opcode: u8) -> usize {
        self.emit(f, opcode);
        self.emit_u16(f, u16::MAX);
        f.chunk.code.len() - 2
    }

    /// Points the jump whose operand is at `operand` to the current end of the code.
    fn patch_jump(&mut self, f: &mut FunctionBuilder, operand: usize, at: u32) {
        let distance = f.chunk.code.len() - operand - 2;
        let Ok(distance) = u16::try_from(distance) else {
            self.error_at(at, "Too much code to jump over.");
            return;
        };
        let [high, low] = distance.to_be_bytes();
        f.chunk.code[operand] = high;
        f.chunk.code[operand + 1] = low;
    }

    fn emit_loop(&mut self, f: &mut FunctionBuilder, start: usize, at: u32) {
        self.emit(f, op::LOOP);
        let distance = f.chunk.code.len() - start + 2;
        match u16::try_from(distance) {
            Ok(distance) => self.emit_u16(f, distance),
            Err(_) => {
                self.error_at(at, "Loop body too large.");
                self.emit_u16(f, 0);
            }
        }
    }

    /// clox's `error()`: reported at the token at byte offset `at`, unless in panic mode.
    fn error_at(&mut self, at: u32, message: &str) {
        if self.panic {
            return;
        }
        self.panic = true;
        // Rescan the one token at `at`; its line counts from there, so add the lines before.
        let start = (at as usize).min(self.source.len());
        let rest = self.source.get(start..).unwrap_or("");
        let mut token = Scanner::new(rest).next_token();
        token.line +=
            self.source.as_bytes()[..start].iter().filter(|&&b| b == b'\n').count() as u32;
        self.errors.push(CompileError::at(token, rest, message));
    }

    // ---- statements -----------------------------------------------------------------------

    /// A list of declarations: clox leaves panic mode at the end of each.
    fn statements(&mut self, f: &mut FunctionBuilder, statements: &[Stmt]) {
        for statement in statements {
            self.statement(f, statement);
            self.panic = false;
        }
    }

    fn statement(&mut self, f: &mut FunctionBuilder, statement: &Stmt) {
        match statement {
            Stmt::Expression(expr) => self.expression_statement(f, expr),
            Stmt::Print(expr) => {
                self.expression(f, expr);
                self.emit(f, op::PRINT);
            }
            Stmt::Var { target, initializer } => {
                self.expression(f, initializer);
                self.define(f, target);
            }
            Stmt::Block { statements, scope } => {
                self.statements(f, statements);
                self.end_scope(f, &scope.captured);
            }
            Stmt::If { condition, then_branch, else_branch } => {
                // The test pops its condition, so neither branch starts with a `POP` (clox's
                // layout has one on each); without an else branch there is no jump over it.
                self.expression(f, condition);
                let then_jump = self.emit_jump(f, op::POP_JUMP_IF_FALSE);
                self.statement(f, then_branch);
                match else_branch {
                    Some(else_branch) => {
                        let else_jump = self.emit_jump(f, op::JUMP);
                        self.patch_jump(f, then_jump, 0);
                        self.statement(f, else_branch);
                        self.patch_jump(f, else_jump, 0);
                    }
                    None => self.patch_jump(f, then_jump, 0),
                }
            }
            Stmt::While { condition, body, end } => {
                let start = f.chunk.code.len();
                self.expression(f, condition);
                let exit = self.emit_jump(f, op::POP_JUMP_IF_FALSE);
                self.statement(f, body);
                self.emit_loop(f, start, *end);
                self.patch_jump(f, exit, *end);
            }
            Stmt::For { condition, increment, body, end } => {
                let start = f.chunk.code.len();
                let exit = condition.as_ref().map(|condition| {
                    self.expression(f, condition);
                    self.emit_jump(f, op::POP_JUMP_IF_FALSE)
                });
                self.statement(f, body);
                if let Some(increment) = increment {
                    self.expression_statement(f, increment);
                }
                self.emit_loop(f, start, *end);
                if let Some(exit) = exit {
                    self.patch_jump(f, exit, *end);
                }
            }
            Stmt::Function { target, function } => {
                self.function(f, function);
                self.define(f, target);
            }
            Stmt::Return { value, line } => {
                self.line = *line;
                match value {
                    Some(value) => self.expression(f, value),
                    None => self.implicit_return_value(f),
                }
                self.emit(f, op::RETURN);
            }
            Stmt::Class(class) => self.class(f, class),
        }
    }

    /// An expression whose value is thrown away (a statement, a `for` loop's increment). An
    /// assignment to a slot, a global or a field stores and pops in one instruction; anything
    /// else is followed by `POP`.
    fn expression_statement(&mut self, f: &mut FunctionBuilder, expr: &Expr) {
        match expr {
            Expr::Assign { target, value } => {
                self.expression(f, value);
                self.assign(f, target, Assigned::Discarded);
            }
            Expr::Set { object, name, value, line } => {
                self.expression(f, object);
                self.expression(f, value);
                self.line = *line;
                self.emit_with_name(f, op::SET_PROPERTY_POP, *name);
            }
            _ => {
                self.expression(f, expr);
                self.emit(f, op::POP);
            }
        }
    }

    fn end_scope(&mut self, f: &mut FunctionBuilder, captured: &[bool]) {
        for &was_captured in captured.iter().rev() {
            self.emit(f, if was_captured { op::CLOSE_UPVALUE } else { op::POP });
        }
    }

    /// Stores the value on top of the stack into a just-declared variable: globals get a
    /// `DEFINE_GLOBAL`; a local's value simply stays in its slot.
    fn define(&mut self, f: &mut FunctionBuilder, target: &VarRef) {
        if target.place == Place::Global {
            self.line = target.line;
            self.emit_with_name(f, op::DEFINE_GLOBAL, target.name);
        }
    }

    fn implicit_return_value(&mut self, f: &mut FunctionBuilder) {
        if f.kind == Some(FunctionKind::Initializer) {
            self.emit(f, op::GET_LOCAL);
            self.emit(f, 0);
        } else {
            self.emit(f, op::NIL);
        }
    }

    fn function(&mut self, f: &mut FunctionBuilder, function: &ast::Function) {
        let mut inner = FunctionBuilder { kind: Some(function.kind), ..FunctionBuilder::default() };
        let outer_line = self.line;
        self.line = function.line;
        self.statements(&mut inner, &function.body);
        self.implicit_return_value(&mut inner);
        self.emit(&mut inner, op::RETURN);
        self.line = outer_line;
        let name = Some(Rc::from(self.program.interner.text(function.name)));
        let upvalue_count = function.captures.len() as u8;
        let compiled = Function {
            name,
            arity: function.arity,
            upvalue_count,
            chunk: inner.chunk,
            code_start: 0,
        };
        let id = self.add_function(compiled);
        let r = self.heap.alloc(Object::Function(id));
        let index = self.constant(f, Value::obj(r), function.end);
        self.emit(f, op::CLOSURE);
        self.emit(f, index);
        for capture in &function.captures {
            self.emit(f, capture.is_local as u8);
            self.emit(f, capture.index);
        }
    }

    fn class(&mut self, f: &mut FunctionBuilder, class: &ast::Class) {
        self.line = class.line;
        self.emit_with_name(f, op::CLASS, class.target.name);
        self.define(f, &class.target);
        if let Some(superclass) = &class.superclass {
            // The superclass value stays on the stack as the hidden `super` local.
            self.variable(f, superclass);
            self.variable(f, &class.target);
            self.emit(f, op::INHERIT);
        }
        self.variable(f, &class.target);
        for method in &class.methods {
            self.function(f, method);
            self.line = method.line;
            self.emit_with_name(f, op::METHOD, method.name);
        }
        self.emit(f, op::POP);
        if class.superclass.is_some() {
            self.end_scope(f, &[class.super_captured]);
        }
    }

    // ---- expressions ----------------------------------------------------------------------

    fn variable(&mut self, f: &mut FunctionBuilder, var: &VarRef) {
        self.line = var.line;
        match var.place {
            Place::Global => self.emit_with_name(f, op::GET_GLOBAL, var.name),
            Place::Local { vm: VmPlace::Slot(slot), .. } => {
                self.emit(f, op::GET_LOCAL);
                self.emit(f, slot);
            }
            Place::Local { vm: VmPlace::Upvalue(index), .. } => {
                self.emit(f, op::GET_UPVALUE);
                self.emit(f, index);
            }
        }
    }

    /// Stores the value on top in `var`. A `Discarded` value is popped too: by the store
    /// itself for a slot or a global (`SET_LOCAL_POP`, `SET_GLOBAL_POP`), by a `POP` after an
    /// upvalue's.
    fn assign(&mut self, f: &mut FunctionBuilder, var: &VarRef, value: Assigned) {
        self.line = var.line;
        let discard = value == Assigned::Discarded;
        match var.place {
            Place::Global => {
                let store = if discard { op::SET_GLOBAL_POP } else { op::SET_GLOBAL };
                self.emit_with_name(f, store, var.name);
            }
            Place::Local { vm: VmPlace::Slot(slot), .. } => {
                self.emit(f, if discard { op::SET_LOCAL_POP } else { op::SET_LOCAL });
                self.emit(f, slot);
            }
            Place::Local { vm: VmPlace::Upvalue(index), .. } => {
                self.emit(f, op::SET_UPVALUE);
                self.emit(f, index);
                if discard {
                    self.emit(f, op::POP);
                }
            }
        }
    }

    fn arguments(&mut self, f: &mut FunctionBuilder, arguments: &[Expr]) -> u8 {
        for argument in arguments {
            self.expression(f, argument);
        }
        // The parser reported more than 255 arguments; the program never runs then.
        arguments.len().min(u8::MAX as usize) as u8
    }

    fn expression(&mut self, f: &mut FunctionBuilder, expr: &Expr) {
        match expr {
            Expr::Nil => self.emit(f, op::NIL),
            Expr::Bool(true) => self.emit(f, op::TRUE),
            Expr::Bool(false) => self.emit(f, op::FALSE),
            Expr::Number { value, at } => self.emit_constant(f, Value::number(*value), *at),
            Expr::String { symbol, at } => {
                let index = match f.strings.iter().find(|(s, _)| s == symbol) {
                    Some(&(_, index)) => index,
                    None => {
                        let r = self.heap.intern(self.program.interner.text(*symbol));
                        let index = self.constant(f, Value::obj(r), *at);
                        f.strings.push((*symbol, index));
                        index
                    }
                };
                self.emit(f, op::CONSTANT);
                self.emit(f, index);
            }
            Expr::Grouping(inner) => self.expression(f, inner),
            Expr::Unary { op: unary, operand, line } => {
                self.expression(f, operand);
                self.line = *line;
                self.emit(f, if *unary == UnaryOp::Negate { op::NEGATE } else { op::NOT });
            }
            Expr::Binary { op: binary, left, right, line } => {
                self.expression(f, left);
                // `n - 1`: the literal travels with the operator, one instruction fewer.
                if let (Expr::Number { value, at }, Some(opcode)) =
                    (&**right, with_constant_operand(*binary))
                {
                    let index = self.constant(f, Value::number(*value), *at);
                    self.line = *line;
                    self.emit(f, opcode);
                    self.emit(f, index);
                    return;
                }
                self.expression(f, right);
                self.line = *line;
                self.emit(f, binary_opcode(*binary));
            }
            Expr::Logical { is_and, left, right } => {
                self.expression(f, left);
                if *is_and {
                    let end = self.emit_jump(f, op::JUMP_IF_FALSE);
                    self.emit(f, op::POP);
                    self.expression(f, right);
                    self.patch_jump(f, end, 0);
                } else {
                    let else_jump = self.emit_jump(f, op::JUMP_IF_FALSE);
                    let end = self.emit_jump(f, op::JUMP);
                    self.patch_jump(f, else_jump, 0);
                    self.emit(f, op::POP);
                    self.expression(f, right);
                    self.patch_jump(f, end, 0);
                }
            }
            Expr::Variable(var) | Expr::This(var) => self.variable(f, var),
            Expr::Assign { target, value } => {
                self.expression(f, value);
                self.assign(f, target, Assigned::Kept);
            }
            Expr::Call { callee, arguments, line } => match &**callee {
                Expr::Get { object, name, .. } => {
                    self.expression(f, object);
                    let count = self.arguments(f, arguments);
                    self.line = *line;
                    self.emit_with_name(f, op::INVOKE, *name);
                    self.emit(f, count);
                }
                Expr::Super { this, superclass, method, .. } => {
                    self.variable(f, this);
                    let count = self.arguments(f, arguments);
                    self.variable(f, superclass);
                    self.line = *line;
                    self.emit_with_name(f, op::SUPER_INVOKE, *method);
                    self.emit(f, count);
                }
                callee => {
                    self.expression(f, callee);
                    let count = self.arguments(f, arguments);
                    self.line = *line;
                    self.emit(f, op::CALL);
                    self.emit(f, count);
                }
            },
            Expr::Get { object, name, line } => {
                // `this.x`, `node.left`: a local's property in one instruction.
                if let Expr::Variable(var) | Expr::This(var) = &**object
                    && let Place::Local { vm: VmPlace::Slot(slot), .. } = var.place
                {
                    self.line = *line;
                    self.emit(f, op::GET_LOCAL_PROPERTY);
                    self.emit(f, slot);
                    self.emit_u16(f, *name as u16);
                    return;
                }
                self.expression(f, object);
                self.line = *line;
                self.emit_with_name(f, op::GET_PROPERTY, *name);
            }
            Expr::Set { object, name, value, line } => {
                self.expression(f, object);
                self.expression(f, value);
                self.line = *line;
                self.emit_with_name(f, op::SET_PROPERTY, *name);
            }
            Expr::Super { this, superclass, method, line } => {
                self.variable(f, this);
                self.variable(f, superclass);
                self.line = *line;
                self.emit_with_name(f, op::GET_SUPER, *method);
            }
        }
    }
}

/// The opcode for `binary` with a number constant as its right operand, where there is one.
fn with_constant_operand(binary: BinaryOp) -> Option<u8> {
    Some(match binary {
        BinaryOp::Add => op::ADD_CONSTANT,
        BinaryOp::Subtract => op::SUBTRACT_CONSTANT,
        BinaryOp::Multiply => op::MULTIPLY_CONSTANT,
        BinaryOp::Divide => op::DIVIDE_CONSTANT,
        BinaryOp::Less => op::LESS_CONSTANT,
        BinaryOp::LessEqual => op::LESS_EQUAL_CONSTANT,
        BinaryOp::Greater => op::GREATER_CONSTANT,
        BinaryOp::GreaterEqual => op::GREATER_EQUAL_CONSTANT,
        _ => return None,
    })
}

fn binary_opcode(binary: BinaryOp) -> u8 {
    match binary {
        BinaryOp::Add => op::ADD,
        BinaryOp::Subtract => op::SUBTRACT,
        BinaryOp::Multiply => op::MULTIPLY,
        BinaryOp::Divide => op::DIVIDE,
        BinaryOp::Equal => op::EQUAL,
        BinaryOp::NotEqual => op::NOT_EQUAL,
        BinaryOp::Greater => op::GREATER,
        BinaryOp::GreaterEqual => op::GREATER_EQUAL,
        BinaryOp::Less => op::LESS,
        BinaryOp::LessEqual => op::LESS_EQUAL,
    }
}
