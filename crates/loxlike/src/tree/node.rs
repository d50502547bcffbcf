//! The tree the interpreter walks: the syntax tree, lowered (see the `lower` module).
//!
//! It has the syntax tree's shape, one node per construct, but every decision that does not
//! depend on run-time values has been taken: a variable is a frame slot, a cell, a captured
//! variable or a global; a literal is a ready-made [`Value`]; `object.method(...)` is one
//! [`Expr::Invoke`] node that calls the method without making a bound method first; a block
//! is a plain list of statements (its variables live in the function's frame).
//!
//! A *frame* is what one call of a function owns: a window of the interpreter's value stack
//! (slot 0 the callee or `this`, then the parameters, then the locals of the body and its
//! blocks) and a window of its cell stack (the locals that nested functions use).

use std::rc::Rc;

use super::value::Value;
use crate::syntax::ast::{BinaryOp, FunctionKind, Symbol};

/// Where a variable lives at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Slot `n` of the running function's frame.
    Slot(u32),
    /// Cell `n` of the running function's frame: a local that nested functions use.
    Cell(u32),
    /// Captured variable `n` of the running closure.
    Captured(u32),
    /// A global: its name's symbol.
    Global(Symbol),
}

/// How a new closure captures one variable from the function that creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capture {
    /// That function's cell `n`.
    Cell(u32),
    /// That function's own captured variable `n`.
    Captured(u32),
}

/// A function or method, lowered.
#[derive(Debug)]
pub(crate) struct FunctionDef {
    /// For printing (`<fn name>`).
    pub(crate) name: Rc<str>,
    pub(crate) kind: FunctionKind,
    pub(crate) arity: u8,
    /// Value slots in a frame, slot 0 and the parameters included.
    pub(crate) slots: u32,
    /// Cells in a frame.
    pub(crate) cells: u32,
    /// The slots (slot 0 for `this`, then parameters) that a nested function uses, and the
    /// cell each moves to when a call starts.
    pub(crate) celled_parameters: Box<[(u32, u32)]>,
    /// What a closure of this function captures when it is made, in order.
    pub(crate) captures: Box<[Capture]>,
    pub(crate) body: Box<[Stmt]>,
}

/// A class declaration, lowered.
#[derive(Debug)]
pub(crate) struct ClassDef {
    pub(crate) name: Rc<str>,
    /// The variable the class is stored in.
    pub(crate) target: Access,
    /// The superclass variable and the line of its name.
    pub(crate) superclass: Option<(Access, u32)>,
    /// Where the methods find `super`: a slot or cell of the declaring frame.
    pub(crate) super_local: Option<Access>,
    pub(crate) methods: Box<[(Symbol, Rc<FunctionDef>)]>,
}

/// An expression. `line` fields are where a runtime error in it is reported.
#[derive(Debug)]
pub(crate) enum Expr {
    /// A literal.
    Constant(Value),
    /// A variable (or `this`, or the hidden `super`); `line` for "Undefined variable".
    Variable(Access, u32),
    Assign {
        target: Access,
        value: Box<Expr>,
        line: u32,
    },
    Not(Box<Expr>),
    Negate(Box<Expr>, u32),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
        line: u32,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Call {
        callee: Box<Expr>,
        arguments: Box<[Expr]>,
        line: u32,
    },
    /// `object.name(arguments)`: a field holding a callable, or a method called directly.
    Invoke {
        object: Box<Expr>,
        name: Symbol,
        arguments: Box<[Expr]>,
        /// The line of `.name` (property errors) and of the `(` (call errors).
        name_line: u32,
        call_line: u32,
    },
    Get {
        object: Box<Expr>,
        name: Symbol,
        line: u32,
    },
    Set {
        object: Box<Expr>,
        name: Symbol,
        value: Box<Expr>,
        line: u32,
    },
    /// `super.method`: the superclass is in `superclass`, `this` in `this`.
    Super {
        this: Access,
        superclass: Access,
        method: Symbol,
        line: u32,
    },
}

/// A statement.
#[derive(Debug)]
pub(crate) enum Stmt {
    Expression(Expr),
    Print(Expr),
    /// `var`: a global, or a local's first value (a fresh cell for a cell).
    Define(Access, Expr),
    /// A block's statements; its variables are already in the frame.
    Block(Box<[Stmt]>),
    If {
        condition: Expr,
        then_branch: Box<Stmt>,
        else_branch: Option<Box<Stmt>>,
    },
    While {
        condition: Expr,
        body: Box<Stmt>,
    },
    For {
        condition: Option<Expr>,
        increment: Option<Expr>,
        body: Box<Stmt>,
    },
    /// `fun`: makes a closure and defines the variable.
    Function(Access, Rc<FunctionDef>),
    Return(Option<Expr>),
    Class(Box<ClassDef>),
}
