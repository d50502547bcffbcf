//! Name resolution, done by the parser as it goes.
//!
//! Lox is lexically scoped, so where a variable lives is known from the text: a name is a
//! global unless a block, function, or class scope between the use and the top declares it.
//! jlox finds this out in a separate pass over the tree (chapter 11); clox in its single-pass
//! compiler (chapter 22). Here the parser calls the [`Resolver`] at each declaration and use,
//! which gives clox's error order for free and costs jlox nothing (its scope errors are held
//! back until parsing succeeded, as its separate pass would have found them).
//!
//! The resolver tracks two views of the same scopes at once:
//!
//! ```text
//!   scopes (jlox's environments)             functions (VM frames)
//!   ┌────────────────────────────┐           ┌──────────────────────────────────┐
//!   │ block   { b }       level 1│──────────▶│ 1: f   slots [fn, a, b] captures │
//!   │ fun f   { a }       level 1│           │ 0: script  slots [script, ...]   │
//!   │ block   { x }       level 0│──────────▶└──────────────────────────────────┘
//!   └────────────────────────────┘
//! ```
//!
//! A use names its declaration as `hops` scopes out, position `index` (jlox's view, which the
//! tree-walker's lowering turns into homes of its own); the VM finds it in its own stack
//! slots if the scope belongs to the running function, or else through a chain of upvalues, one
//! per function boundary crossed (clox's `resolveUpvalue`). Both views mark a local *captured*
//! when a function nested in its own uses it. Invariant: every scope on the stack
//! belongs to the function at its `level`, and levels never decrease going inwards.

use super::ast::{Capture, FunctionKind, Place, Scope, Symbol, VmPlace};
use crate::diag::Dialect;

/// Locals per function and upvalues per closure that clox can address (one byte).
pub const MAX_LOCALS: usize = 256;
/// Upvalues per closure in clox.
pub const MAX_UPVALUES: usize = 256;
/// Locals per scope in the jlox dialect (jlox has no limit; indices here are 16 bits).
pub const MAX_ENV_SLOTS: usize = u16::MAX as usize;

struct Local {
    name: Symbol,
    /// False between the declaration and the end of its initializer.
    defined: bool,
    /// VM stack slot in the owning function's frame.
    slot: u8,
    captured: bool,
}

#[derive(PartialEq, Eq)]
enum ScopeKind {
    /// A block, a function's parameters and body, or the hidden scope holding `super`.
    Plain,
    /// The scope jlox creates around a class's methods to hold `this`.
    This,
}

struct ScopeState {
    kind: ScopeKind,
    /// Index into `functions` of the function this scope's locals live in.
    level: usize,
    locals: Vec<Local>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    Script,
    Function(FunctionKind),
}

struct FunctionState {
    owner: Owner,
    captures: Vec<Capture>,
    /// Stack slots in use, counting slot 0 (the callee, or `this` in a method).
    slots_in_use: usize,
    /// Whether a function nested in this method uses `this`.
    this_captured: bool,
}

/// What kind of class body the parser is in, for `this` and `super` checks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClassKind {
    /// A class without a superclass.
    Plain,
    /// A class with a superclass: `super` is allowed.
    Subclass,
}

/// A scope error; the parser reports it at the token it is looking at.
pub(crate) type Message = &'static str;

/// Scopes and functions being parsed; see the module docs.
pub(crate) struct Resolver {
    dialect: Dialect,
    scopes: Vec<ScopeState>,
    functions: Vec<FunctionState>,
    classes: Vec<ClassKind>,
}

impl Resolver {
    pub(crate) fn new(dialect: Dialect) -> Self {
        let script = FunctionState {
            owner: Owner::Script,
            captures: Vec::new(),
            slots_in_use: 1,
            this_captured: false,
        };
        Resolver { dialect, scopes: Vec::new(), functions: vec![script], classes: Vec::new() }
    }

    fn level(&self) -> usize {
        self.functions.len() - 1
    }

    pub(crate) fn begin_scope(&mut self) {
        let level = self.level();
        self.scopes.push(ScopeState { kind: ScopeKind::Plain, level, locals: Vec::new() });
    }

    /// Closes the innermost scope; returns what leaving it must do in each engine.
    pub(crate) fn end_scope(&mut self) -> Scope {
        let Some(scope) = self.scopes.pop() else { return Scope::default() };
        let function = &mut self.functions[scope.level];
        function.slots_in_use -= scope.locals.len();
        Scope { captured: scope.locals.iter().map(|local| local.captured).collect() }
    }

    /// Declares `name` in the innermost scope (a no-op for globals), not yet readable.
    pub(crate) fn declare(&mut self, name: Symbol) -> Result<(), Message> {
        let level = self.level();
        let dialect = self.dialect;
        let in_use = self.functions[level].slots_in_use;
        let Some(scope) = self.scopes.last_mut() else { return Ok(()) };
        let duplicate = scope.locals.iter().any(|local| local.name == name);
        let limit = match dialect {
            Dialect::Clox => MAX_LOCALS,
            Dialect::Jlox => MAX_ENV_SLOTS,
        };
        if in_use >= limit || scope.locals.len() >= MAX_ENV_SLOTS {
            // clox reports the limit and does not add the local.
            return Err("Too many local variables in function.");
        }
        // Slots beyond one byte exist only in the jlox dialect, whose programs the VM never
        // runs; the tree-walker uses `index`, not `slot`.
        let slot = in_use.min(u8::MAX as usize) as u8;
        scope.locals.push(Local { name, defined: false, slot, captured: false });
        self.functions[level].slots_in_use += 1;
        if duplicate { Err("Already a variable with this name in this scope.") } else { Ok(()) }
    }

    /// Makes the most recent declaration readable (its initializer is done).
    pub(crate) fn define(&mut self) {
        if let Some(local) = self.scopes.last_mut().and_then(|scope| scope.locals.last_mut()) {
            local.defined = true;
        }
    }

    /// Where `name` lives. `reading` checks the "own initializer" rule.
    pub(crate) fn resolve(&mut self, name: Symbol, reading: bool) -> Result<Place, Message> {
        for (hops, scope_index) in (0..self.scopes.len()).rev().enumerate() {
            let scope = &self.scopes[scope_index];
            let Some(index) = scope.locals.iter().rposition(|local| local.name == name) else {
                continue;
            };
            let local = &scope.locals[index];
            if reading && !local.defined && hops == 0 {
                return Err("Can't read local variable in its own initializer.");
            }
            let (level, slot) = (scope.level, local.slot);
            let vm = self.vm_place(level, slot, scope_index, index)?;
            return Ok(Place::Local { hops: hops as u16, index: index as u16, vm });
        }
        Ok(Place::Global)
    }

    /// The VM's view of the local at `slot` of function `level`: a slot if that is the running
    /// function, else an upvalue (capturing the local on the way).
    fn vm_place(
        &mut self,
        level: usize,
        slot: u8,
        scope_index: usize,
        local_index: usize,
    ) -> Result<VmPlace, Message> {
        let current = self.level();
        if level == current {
            return Ok(VmPlace::Slot(slot));
        }
        if let Some(local) = self.scopes.get_mut(scope_index).map(|s| &mut s.locals[local_index]) {
            local.captured = true;
        }
        self.upvalue(current, level, slot).map(VmPlace::Upvalue)
    }

    /// clox's `resolveUpvalue`: the index in function `at`'s captures of slot `slot` of
    /// function `owner` (`owner < at`), adding captures along the way.
    fn upvalue(&mut self, at: usize, owner: usize, slot: u8) -> Result<u8, Message> {
        let capture = if at - 1 == owner {
            Capture { is_local: true, index: slot }
        } else {
            Capture { is_local: false, index: self.upvalue(at - 1, owner, slot)? }
        };
        let captures = &mut self.functions[at].captures;
        if let Some(existing) = captures.iter().position(|c| *c == capture) {
            return Ok(existing as u8);
        }
        if captures.len() >= MAX_UPVALUES {
            return Err("Too many closure variables in function.");
        }
        captures.push(capture);
        Ok((captures.len() - 1) as u8)
    }

    /// Enters a function: its parameters and body share one new scope.
    pub(crate) fn begin_function(&mut self, kind: FunctionKind) {
        let owner = Owner::Function(kind);
        self.functions.push(FunctionState {
            owner,
            captures: Vec::new(),
            slots_in_use: 1,
            this_captured: false,
        });
        self.begin_scope();
    }

    /// Leaves a function: its own scope, what its closure captures, and (for a method)
    /// whether a nested function uses `this`.
    pub(crate) fn end_function(&mut self) -> (Scope, Vec<Capture>, bool) {
        let scope = self.end_scope();
        match self.functions.pop() {
            Some(function) => (scope, function.captures, function.this_captured),
            None => (scope, Vec::new(), false),
        }
    }

    /// Enters a class body. A subclass first gets a scope holding `super` (the caller declares
    /// it); every class gets jlox's scope holding `this`.
    pub(crate) fn begin_class(&mut self, kind: ClassKind) {
        self.classes.push(kind);
    }

    pub(crate) fn begin_this_scope(&mut self) {
        let level = self.level();
        self.scopes.push(ScopeState { kind: ScopeKind::This, level, locals: Vec::new() });
    }

    pub(crate) fn end_this_scope(&mut self) {
        self.scopes.pop();
    }

    pub(crate) fn end_class(&mut self) {
        self.classes.pop();
    }

    /// Where `this` lives: jlox's `this` scope (for `hops`); slot 0 of the
    /// innermost method (reached through upvalues from functions nested in it) for the VM.
    pub(crate) fn resolve_this(&mut self) -> Result<Place, Message> {
        if self.classes.is_empty() {
            return Err("Can't use 'this' outside of a class.");
        }
        let Some(scope_index) = self.scopes.iter().rposition(|s| s.kind == ScopeKind::This) else {
            return Err("Can't use 'this' outside of a class.");
        };
        let hops = (self.scopes.len() - 1 - scope_index) as u16;
        let method_level = self
            .functions
            .iter()
            .rposition(|f| {
                matches!(f.owner, Owner::Function(FunctionKind::Method | FunctionKind::Initializer))
            })
            .unwrap_or(0);
        let current = self.level();
        let vm = if method_level == current {
            VmPlace::Slot(0)
        } else {
            self.functions[method_level].this_captured = true;
            VmPlace::Upvalue(self.upvalue(current, method_level, 0)?)
        };
        Ok(Place::Local { hops, index: 0, vm })
    }

    /// Checks that `super` may be used here.
    pub(crate) fn check_super(&self) -> Result<(), Message> {
        match self.classes.last() {
            None => Err("Can't use 'super' outside of a class."),
            Some(ClassKind::Plain) => Err("Can't use 'super' in a class with no superclass."),
            Some(ClassKind::Subclass) => Ok(()),
        }
    }

    /// Checks a `return`; `with_value` if it returns an expression.
    pub(crate) fn check_return(&self, with_value: bool) -> Result<(), Message> {
        match self.functions[self.level()].owner {
            Owner::Script => Err("Can't return from top-level code."),
            Owner::Function(FunctionKind::Initializer) if with_value => {
                Err("Can't return a value from an initializer.")
            }
            Owner::Function(_) => Ok(()),
        }
    }

    /// Whether the function being parsed is a class's `init`.
    pub(crate) fn in_initializer(&self) -> bool {
        self.functions[self.level()].owner == Owner::Function(FunctionKind::Initializer)
    }
}
