//! Lowering: from the resolved syntax tree to the tree the interpreter walks ([`node`]).
//!
//! jlox gives every block and every call an environment (a hash map) and finds a local by
//! walking out `hops` environments. This engine keeps jlox's semantics but not its
//! environments: the parser already found, for every use of a local, the scope and position
//! that declared it, so lowering can give each local a fixed home before the program runs:
//!
//! - a **slot** in its function's frame, if only that function uses it. Slots are numbered
//!   as a function's scopes nest and reused by sibling scopes, as clox numbers stack slots;
//! - a **cell** (a shared, reference-counted box) if a function nested in it uses it too
//!   (the parser marked those as *captured*). Each time the declaration runs it makes a new
//!   cell, so a closure made in a loop body keeps that iteration's variable, exactly as a
//!   jlox closure keeps that iteration's environment;
//! - and from the nested function, a **captured** variable: the closure copies the cell
//!   when it is made, through every function in between (clox's `resolveUpvalue`).
//!
//! Lowering walks the scopes in the same order as the parser's resolver did, so a use's
//! `(hops, index)` names one declaration here as it did there. Invariant: every scope on
//! `scopes` belongs to the function at its `level`, and its `homes` are exactly the locals
//! declared in it so far.
//!
//! [`node`]: super::node

use std::rc::Rc;

use super::meter::Text;
use super::node::{Access, Capture, ClassDef, Expr, FunctionDef, Stmt};
use super::value::Value;
use crate::syntax::ast::{self, FunctionKind, Place, Symbol};

/// Lowers a whole program into the function that runs its top-level statements.
pub(crate) fn program(
    program: &ast::Program,
    names: &[Rc<str>],
    strings: &mut Vec<Option<Rc<Text>>>,
) -> Rc<FunctionDef> {
    let mut lowering =
        Lowering { names, strings, scopes: Vec::new(), functions: vec![FunctionState::new()] };
    let body = lowering.statements(&program.statements);
    let script = lowering.functions.pop().unwrap_or_else(FunctionState::new);
    Rc::new(FunctionDef {
        name: Rc::from("script"),
        kind: FunctionKind::Function,
        arity: 0,
        slots: script.max_slots,
        cells: script.max_cells,
        celled_parameters: Box::new([]),
        captures: Box::new([]),
        body,
    })
}

struct Lowering<'a> {
    names: &'a [Rc<str>],
    /// One shared string per string literal's symbol, so equal literals are one object.
    strings: &'a mut Vec<Option<Rc<Text>>>,
    scopes: Vec<ScopeState<'a>>,
    functions: Vec<FunctionState>,
}

struct ScopeState<'a> {
    /// Index into `functions` of the function whose frame holds this scope's locals.
    level: usize,
    /// Per local, in declaration order, whether the parser found it captured.
    captured: &'a [bool],
    /// Where each local declared so far lives (a slot or a cell).
    homes: Vec<Access>,
    /// The function's slot and cell counts when the scope began, restored when it ends.
    slots_before: u32,
    cells_before: u32,
}

struct FunctionState {
    /// Slots and cells in use now, and the most in use at any point (the frame's size).
    slots: u32,
    max_slots: u32,
    cells: u32,
    max_cells: u32,
    captures: Vec<Capture>,
    /// A method's `this`: slot 0, or a cell if a nested function uses it.
    this: Option<Access>,
}

impl FunctionState {
    fn new() -> Self {
        // Slot 0 is the callee, or `this` in a method.
        FunctionState {
            slots: 1,
            max_slots: 1,
            cells: 0,
            max_cells: 0,
            captures: Vec::new(),
            this: None,
        }
    }

    fn new_slot(&mut self) -> u32 {
        let slot = self.slots;
        self.slots += 1;
        self.max_slots = self.max_slots.max(self.slots);
        slot
    }

    fn new_cell(&mut self) -> u32 {
        let cell = self.cells;
        self.cells += 1;
        self.max_cells = self.max_cells.max(self.cells);
        cell
    }
}

impl<'a> Lowering<'a> {
    fn level(&self) -> usize {
        self.functions.len() - 1
    }

    fn function_state(&mut self) -> &mut FunctionState {
        let level = self.level();
        &mut self.functions[level]
    }

    fn begin_scope(&mut self, captured: &'a [bool]) {
        let level = self.level();
        let function = &self.functions[level];
        let (slots_before, cells_before) = (function.slots, function.cells);
        self.scopes.push(ScopeState {
            level,
            captured,
            homes: Vec::new(),
            slots_before,
            cells_before,
        });
    }

    fn end_scope(&mut self) {
        if let Some(scope) = self.scopes.pop() {
            let function = &mut self.functions[scope.level];
            function.slots = scope.slots_before;
            function.cells = scope.cells_before;
        }
    }

    /// Gives the next local of the innermost scope its home; `None` at the top level,
    /// where a declaration is a global's.
    fn declare(&mut self) -> Option<Access> {
        let level = self.level();
        let scope = self.scopes.last_mut()?;
        let captured = scope.captured.get(scope.homes.len()).copied().unwrap_or(false);
        let function = &mut self.functions[level];
        let home = if captured {
            Access::Cell(function.new_cell())
        } else {
            Access::Slot(function.new_slot())
        };
        scope.homes.push(home);
        Some(home)
    }

    /// Declares the variable `target` names: a local's new home, or the global.
    fn declare_variable(&mut self, target: &ast::VarRef) -> Access {
        self.declare().unwrap_or(Access::Global(target.name))
    }

    /// Where the running function finds the variable `var` refers to.
    fn resolve(&mut self, var: &ast::VarRef) -> Access {
        let Place::Local { hops, index, .. } = var.place else {
            return Access::Global(var.name);
        };
        let found = (self.scopes.len().checked_sub(1 + hops as usize)).and_then(|at| {
            Some((self.scopes[at].level, *self.scopes[at].homes.get(index as usize)?))
        });
        let Some((owner, home)) = found else {
            // The resolver and this walk visit the same scopes; this cannot happen.
            debug_assert!(false, "unresolvable local");
            return Access::Global(var.name);
        };
        self.reach(owner, home)
    }

    /// `home` of function `owner`, seen from the running function: itself if that is the
    /// owner, else a captured variable (captured through each function in between).
    fn reach(&mut self, owner: usize, home: Access) -> Access {
        let current = self.level();
        match home {
            Access::Cell(cell) if owner < current => {
                Access::Captured(self.capture(current, owner, cell))
            }
            home => home,
        }
    }

    /// clox's `resolveUpvalue`: the index in function `at`'s captures of cell `cell` of
    /// function `owner` (`owner < at`), adding captures on the way.
    fn capture(&mut self, at: usize, owner: usize, cell: u32) -> u32 {
        let capture = if at - 1 == owner {
            Capture::Cell(cell)
        } else {
            Capture::Captured(self.capture(at - 1, owner, cell))
        };
        let captures = &mut self.functions[at].captures;
        match captures.iter().position(|c| *c == capture) {
            Some(existing) => existing as u32,
            None => {
                captures.push(capture);
                (captures.len() - 1) as u32
            }
        }
    }

    /// `this` of the innermost method, seen from the running function.
    fn this(&mut self) -> Access {
        let method = self.functions.iter().rposition(|f| f.this.is_some());
        match method.and_then(|level| Some((level, self.functions[level].this?))) {
            Some((level, home)) => self.reach(level, home),
            // The parser rejects `this` outside methods.
            None => Access::Slot(0),
        }
    }

    fn statements(&mut self, statements: &'a [ast::Stmt]) -> Box<[Stmt]> {
        statements.iter().map(|statement| self.statement(statement)).collect()
    }

    fn statement(&mut self, statement: &'a ast::Stmt) -> Stmt {
        match statement {
            ast::Stmt::Expression(expr) => Stmt::Expression(self.expr(expr)),
            ast::Stmt::Print(expr) => Stmt::Print(self.expr(expr)),
            ast::Stmt::Var { target, initializer } => {
                // The initializer cannot see the new variable (the parser checked), so it
                // is lowered before the variable gets its home.
                let initializer = self.expr(initializer);
                Stmt::Define(self.declare_variable(target), initializer)
            }
            ast::Stmt::Block { statements, scope } => {
                self.begin_scope(&scope.captured);
                let statements = self.statements(statements);
                self.end_scope();
                Stmt::Block(statements)
            }
            ast::Stmt::If { condition, then_branch, else_branch } => Stmt::If {
                condition: self.expr(condition),
                then_branch: Box::new(self.statement(then_branch)),
                else_branch: else_branch.as_ref().map(|branch| Box::new(self.statement(branch))),
            },
            ast::Stmt::While { condition, body, .. } => Stmt::While {
                condition: self.expr(condition),
                body: Box::new(self.statement(body)),
            },
            ast::Stmt::For { condition, increment, body, .. } => Stmt::For {
                condition: condition.as_ref().map(|c| self.expr(c)),
                increment: increment.as_ref().map(|i| self.expr(i)),
                body: Box::new(self.statement(body)),
            },
            ast::Stmt::Function { target, function } => {
                // Declared first: the body may call the function by its name.
                let target = self.declare_variable(target);
                Stmt::Function(target, self.function(function))
            }
            ast::Stmt::Return { value, .. } => Stmt::Return(value.as_ref().map(|v| self.expr(v))),
            ast::Stmt::Class(class) => Stmt::Class(Box::new(self.class(class))),
        }
    }

    fn class(&mut self, class: &'a ast::Class) -> ClassDef {
        let target = self.declare_variable(&class.target);
        let superclass = class.superclass.as_ref().map(|var| (self.resolve(var), var.line));
        let mut super_local = None;
        if superclass.is_some() {
            // The parser's hidden scope holding `super`, one local.
            let captured = std::slice::from_ref(&class.super_captured);
            self.begin_scope(captured);
            super_local = self.declare();
        }
        // jlox's scope holding `this` counts for hops but holds nothing here: `this` is each
        // method's slot 0 (see `function`).
        self.begin_scope(&[]);
        let methods = class.methods.iter().map(|m| (m.name, self.function(m))).collect();
        self.end_scope();
        if superclass.is_some() {
            self.end_scope();
        }
        let name = self.name(class.target.name);
        ClassDef { name, target, superclass, super_local, methods }
    }

    fn function(&mut self, function: &'a ast::Function) -> Rc<FunctionDef> {
        self.functions.push(FunctionState::new());
        self.begin_scope(&function.scope.captured);
        let mut celled_parameters = Vec::new();
        if function.kind != FunctionKind::Function {
            let this = if function.this_captured {
                let cell = self.function_state().new_cell();
                celled_parameters.push((0, cell));
                Access::Cell(cell)
            } else {
                Access::Slot(0)
            };
            self.function_state().this = Some(this);
        }
        // Parameters arrive in slots 1..=arity; those a nested function uses move to cells.
        for (index, &captured) in
            function.scope.captured.iter().take(function.arity as usize).enumerate()
        {
            let slot = self.function_state().new_slot();
            let home = if captured {
                let cell = self.function_state().new_cell();
                celled_parameters.push((slot, cell));
                Access::Cell(cell)
            } else {
                Access::Slot(slot)
            };
            debug_assert_eq!(slot as usize, index + 1);
            if let Some(scope) = self.scopes.last_mut() {
                scope.homes.push(home);
            }
        }
        let body = self.statements(&function.body);
        self.end_scope();
        let state = self.functions.pop().unwrap_or_else(FunctionState::new);
        Rc::new(FunctionDef {
            name: self.name(function.name),
            kind: function.kind,
            arity: function.arity,
            slots: state.max_slots,
            cells: state.max_cells,
            celled_parameters: celled_parameters.into_boxed_slice(),
            captures: state.captures.into_boxed_slice(),
            body,
        })
    }

    fn name(&self, symbol: Symbol) -> Rc<str> {
        self.names.get(symbol as usize).cloned().unwrap_or_else(|| Rc::from(""))
    }

    fn string(&mut self, symbol: Symbol) -> Rc<Text> {
        let index = symbol as usize;
        if self.strings.len() <= index {
            self.strings.resize(index + 1, None);
        }
        let text = self.names.get(index).map_or("", |name| &**name);
        self.strings[index].get_or_insert_with(|| Rc::new(Text::new(text.to_owned()))).clone()
    }

    fn boxed(&mut self, expr: &'a ast::Expr) -> Box<Expr> {
        Box::new(self.expr(expr))
    }

    fn expr(&mut self, expr: &'a ast::Expr) -> Expr {
        match expr {
            ast::Expr::Nil => Expr::Constant(Value::Nil),
            ast::Expr::Bool(b) => Expr::Constant(Value::Bool(*b)),
            ast::Expr::Number { value, .. } => Expr::Constant(Value::Number(*value)),
            ast::Expr::String { symbol, .. } => Expr::Constant(Value::Str(self.string(*symbol))),
            ast::Expr::Grouping(inner) => self.expr(inner),
            ast::Expr::Unary { op: ast::UnaryOp::Not, operand, .. } => {
                Expr::Not(self.boxed(operand))
            }
            ast::Expr::Unary { op: ast::UnaryOp::Negate, operand, line } => {
                Expr::Negate(self.boxed(operand), *line)
            }
            ast::Expr::Binary { op, left, right, line } => Expr::Binary {
                op: *op,
                left: self.boxed(left),
                right: self.boxed(right),
                line: *line,
            },
            ast::Expr::Logical { is_and: true, left, right } => {
                Expr::And(self.boxed(left), self.boxed(right))
            }
            ast::Expr::Logical { is_and: false, left, right } => {
                Expr::Or(self.boxed(left), self.boxed(right))
            }
            ast::Expr::Variable(var) => Expr::Variable(self.resolve(var), var.line),
            ast::Expr::This(var) => Expr::Variable(self.this(), var.line),
            ast::Expr::Assign { target, value } => {
                let value = self.boxed(value);
                Expr::Assign { target: self.resolve(target), value, line: target.line }
            }
            ast::Expr::Call { callee, arguments, line } => {
                let arguments = |this: &mut Self| arguments.iter().map(|a| this.expr(a)).collect();
                match &**callee {
                    ast::Expr::Get { object, name, line: name_line } => Expr::Invoke {
                        object: self.boxed(object),
                        name: *name,
                        arguments: arguments(self),
                        name_line: *name_line,
                        call_line: *line,
                    },
                    _ => Expr::Call {
                        callee: self.boxed(callee),
                        arguments: arguments(self),
                        line: *line,
                    },
                }
            }
            ast::Expr::Get { object, name, line } => {
                Expr::Get { object: self.boxed(object), name: *name, line: *line }
            }
            ast::Expr::Set { object, name, value, line } => Expr::Set {
                object: self.boxed(object),
                name: *name,
                value: self.boxed(value),
                line: *line,
            },
            ast::Expr::Super { this: _, superclass, method, line } => Expr::Super {
                this: self.this(),
                superclass: self.resolve(superclass),
                method: *method,
                line: *line,
            },
        }
    }
}
