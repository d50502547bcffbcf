//! The syntax tree, already resolved.
//!
//! The parser resolves names while it builds the tree (see the `resolver` module), so
//! every variable use arrives here with its [`Place`]: a global slot, or a local addressed in
//! two ways. jlox's: the declaration is `hops` scopes out, at position `index` there (the
//! tree-walker's lowering follows these to give each local a frame slot or a shared cell). The
//! bytecode VM's: a stack slot of the running function, or an upvalue reaching an enclosing
//! function's local, as clox does; [`VmPlace`] says which.
//!
//! Identifiers and string literals are interned into [`Symbol`]s. A global variable's slot is
//! its name's symbol, so globals need no hashing at run time in either engine.

use std::sync::Arc;

/// An interned identifier or string literal; an index into the [`Interner`].
pub type Symbol = u32;

/// Interned strings. Symbols are dense, from 0.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    strings: Vec<Arc<str>>,
    ids: hashbrown::HashMap<Arc<str>, Symbol, foldhash::fast::FixedState>,
}

impl Interner {
    /// The symbol for `text`, adding it if new.
    pub fn intern(&mut self, text: &str) -> Symbol {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.strings.len() as Symbol;
        let text: Arc<str> = Arc::from(text);
        self.strings.push(text.clone());
        self.ids.insert(text, id);
        id
    }

    /// The symbol of `text`, if it was interned.
    pub fn get(&self, text: &str) -> Option<Symbol> {
        self.ids.get(text).copied()
    }

    /// The text of `symbol`.
    pub fn text(&self, symbol: Symbol) -> &str {
        &self.strings[symbol as usize]
    }

    /// How many symbols there are (every symbol is below this).
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Whether no string has been interned.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

/// A parsed, resolved program: the top-level statements and the names they use.
#[derive(Debug, Default, Clone)]
pub struct Program {
    /// The script's statements, in order.
    pub statements: Vec<Stmt>,
    /// Every identifier and string literal in the program.
    pub interner: Interner,
    /// The symbol of `init`, the initializer's name.
    pub init: Symbol,
}

/// Where a resolved variable lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A global, looked up by name (its symbol is its slot) when the code runs.
    Global,
    /// A local of some enclosing scope.
    Local {
        /// jlox's view: how many scopes out from the current one the declaration is.
        hops: u16,
        /// jlox's view: its position among that scope's locals.
        index: u16,
        /// VM: a stack slot of the running function or one of its upvalues.
        vm: VmPlace,
    },
}

/// How the VM reaches a local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmPlace {
    /// A stack slot of the running function's frame.
    Slot(u8),
    /// One of the running closure's upvalues.
    Upvalue(u8),
}

/// A use of a variable (or of `this` or `super`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarRef {
    /// The name.
    pub name: Symbol,
    /// Where it was resolved to.
    pub place: Place,
    /// The line of the name, for runtime errors.
    pub line: u32,
}

/// A prefix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Negate,
    /// `!x`
    Not,
}

/// An infix operator that evaluates both operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Named after their symbols.
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Equal,
    NotEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "+",
            Subtract => "-",
            Multiply => "*",
            Divide => "/",
            Equal => "==",
            NotEqual => "!=",
            Greater => ">",
            GreaterEqual => ">=",
            Less => "<",
            LessEqual => "<=",
        }
    }
}

/// An expression. `line` fields are where a runtime error in it is reported.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // Field names are the grammar's.
pub enum Expr {
    Nil,
    Bool(bool),
    /// A number literal; `at` is the byte offset of its token (for "Too many constants").
    Number {
        value: f64,
        at: u32,
    },
    /// A string literal (the symbol of its contents); `at` as for numbers.
    String {
        symbol: Symbol,
        at: u32,
    },
    /// `( expr )`, kept for the chapter 6 printer.
    Grouping(Box<Expr>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
        line: u32,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
        line: u32,
    },
    /// `and` (`is_and`) or `or`: the right operand runs only if needed.
    Logical {
        is_and: bool,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Variable(VarRef),
    Assign {
        target: VarRef,
        value: Box<Expr>,
    },
    Call {
        callee: Box<Expr>,
        arguments: Vec<Expr>,
        line: u32,
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
    This(VarRef),
    /// `super.method`: `this` and `super` are both resolved variables.
    Super {
        this: VarRef,
        superclass: VarRef,
        method: Symbol,
        line: u32,
    },
}

/// What a function is, which decides what `return` and `this` mean in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// A `fun` declaration.
    Function,
    /// A method other than `init`.
    Method,
    /// A class's `init` method: returns `this`.
    Initializer,
}

/// How a closure captures one variable of its enclosing function (clox's upvalue descriptor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capture {
    /// `true`: the enclosing function's stack slot `index`; `false`: its upvalue `index`.
    pub is_local: bool,
    /// Slot or upvalue index in the enclosing function.
    pub index: u8,
}

/// A function or method declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// The function's name.
    pub name: Symbol,
    /// Function, method or initializer.
    pub kind: FunctionKind,
    /// Number of parameters (at most 255).
    pub arity: u8,
    /// The body's statements, in the same scope as the parameters.
    pub body: Vec<Stmt>,
    /// The function's own scope: its parameters, then the body's top-level locals.
    pub scope: Scope,
    /// Methods: whether a function nested in this one uses `this` (so the tree-walker must
    /// keep the receiver where the closure can reach it).
    pub this_captured: bool,
    /// VM: the variables this function's closures capture from enclosing functions.
    pub captures: Vec<Capture>,
    /// The line of the name.
    pub line: u32,
    /// Byte offset of the body's closing brace.
    pub end: u32,
}

/// A statement.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // Field names are the grammar's.
pub enum Stmt {
    Expression(Expr),
    Print(Expr),
    /// `var name = initializer;` (`nil` when there is no initializer).
    Var {
        target: VarRef,
        initializer: Expr,
    },
    /// `{ ... }`; see [`Scope`].
    Block {
        statements: Vec<Stmt>,
        scope: Scope,
    },
    If {
        condition: Expr,
        then_branch: Box<Stmt>,
        else_branch: Option<Box<Stmt>>,
    },
    /// `end` is the byte offset of the body's last token (clox reports a too-long loop there).
    While {
        condition: Expr,
        body: Box<Stmt>,
        end: u32,
    },
    /// A `for` loop without its initializer, which the parser puts in an enclosing block so
    /// the loop variable gets its own scope. `end` as for `While`.
    For {
        condition: Option<Expr>,
        increment: Option<Expr>,
        body: Box<Stmt>,
        end: u32,
    },
    Function {
        target: VarRef,
        function: Arc<Function>,
    },
    Return {
        value: Option<Expr>,
        line: u32,
    },
    Class(Box<Class>),
}

/// The locals a scope declares, in order, for both engines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// For each local the scope declares, in order, whether a function nested in the one that
    /// declares it uses it. The VM must then close an upvalue when the scope ends rather than
    /// just pop; the tree-walker keeps such a local in a shared cell instead of a frame slot.
    pub captured: Vec<bool>,
}

/// A class declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// The variable the class is stored in.
    pub target: VarRef,
    /// The superclass expression, if any (a variable).
    pub superclass: Option<VarRef>,
    /// VM: whether the hidden `super` local was captured by a method.
    pub super_captured: bool,
    /// The methods, in source order.
    pub methods: Vec<Arc<Function>>,
    /// The line of the class name.
    pub line: u32,
}
