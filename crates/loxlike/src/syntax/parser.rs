//! The recursive-descent parser for declarations and statements.
//!
//! It follows the grammar of the book (appendix I) and both reference parsers' error messages.
//! Error *recovery* follows the chosen [`Dialect`]:
//!
//! - **jlox**: a syntax error unwinds (`Err(Unwind::Recover)`) to the nearest
//!   `declaration`, which skips to a statement boundary.
//! - **clox**: a syntax error sets panic mode and parsing *continues* as if the token had been
//!   there, reporting nothing more until the declaration ends and the parser synchronises. The
//!   cascades this produces (an `Expect '}' after block.` at the end of the file, say) are part
//!   of clox's observable behaviour, so they are reproduced rather than avoided.
//!
//! One rule holds in both: nesting deeper than [`MAX_NESTING`] aborts the parse with an error,
//! so no input can exhaust the native stack of the parser, the resolver, the compiler or the
//! tree-walker, which all recurse over the tree.

use std::sync::Arc;

use super::ast::{Class, Expr, Function, FunctionKind, Interner, Place, Program, Stmt, VarRef};
use super::resolver::{ClassKind, Message, Resolver};
use super::token::{MAX_SOURCE_LEN, Scanner, Token, TokenKind};
use crate::diag::{CompileError, CompileErrors, Dialect, Location};

/// How deeply statements and expressions may nest (blocks, parentheses, unary operators and
/// right-associative assignments all count).
pub const MAX_NESTING: usize = 256;

/// Parameters per function and arguments per call (both reference interpreters).
pub const MAX_ARGUMENTS: usize = 255;

/// Why a parse function stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unwind {
    /// jlox's `ParseError`: caught by the nearest declaration.
    Recover,
    /// The nesting limit: ends the whole parse.
    Abort,
}

pub(crate) type PResult<T> = Result<T, Unwind>;

/// Parses and resolves `source` as a whole program, following `dialect`'s error recovery.
pub fn parse(source: &str, dialect: Dialect) -> Result<Program, CompileErrors> {
    parse_with(source, dialect, Interner::default())
}

/// Like [`parse`], continuing `interner` (a REPL keeps symbols, and so globals, across lines).
pub fn parse_with(
    source: &str,
    dialect: Dialect,
    interner: Interner,
) -> Result<Program, CompileErrors> {
    if source.len() > MAX_SOURCE_LEN {
        let message = "Source is larger than 4 GiB.".to_string();
        let error = CompileError { line: 1, location: Location::Nowhere, message };
        return Err(CompileErrors(vec![error]));
    }
    let mut parser = Parser::new(source, dialect);
    parser.interner = interner;
    let mut statements = Vec::new();
    let outcome = (|| {
        while !parser.matches(TokenKind::Eof) {
            if let Some(statement) = parser.declaration()? {
                statements.push(statement);
            }
        }
        Ok(())
    })();
    parser.finish(outcome, statements)
}

/// Parses `source` as a single expression (the book's chapters 6 and 7), ignoring anything after
/// it. Variables resolve as globals.
pub fn parse_expression(source: &str, dialect: Dialect) -> Result<(Expr, Interner), CompileErrors> {
    let mut parser = Parser::new(source, dialect);
    let expr = parser.expression();
    if let (true, Ok(expr)) = (parser.errors.is_empty(), expr) {
        return Ok((expr, parser.interner));
    }
    Err(CompileErrors(parser.errors))
}

pub(crate) struct Parser<'s> {
    pub(crate) source: &'s str,
    tokens: Vec<Token>,
    /// Index in `tokens` of the token after `current`.
    next: usize,
    pub(crate) current: Token,
    pub(crate) previous: Token,
    pub(crate) dialect: Dialect,
    errors: Vec<CompileError>,
    /// jlox: scope errors, reported only if there was no syntax error.
    held_back: Vec<CompileError>,
    panic: bool,
    depth: usize,
    pub(crate) resolver: Resolver,
    pub(crate) interner: Interner,
}

impl<'s> Parser<'s> {
    fn new(source: &'s str, dialect: Dialect) -> Self {
        let mut scanner = Scanner::new(source);
        let mut tokens = Vec::new();
        let mut errors = Vec::new();
        loop {
            let token = scanner.next_token();
            if token.kind == TokenKind::Error && dialect == Dialect::Jlox {
                // jlox reports lexical errors while scanning, before parsing starts.
                errors.push(CompileError::at(token, source, token.error_message()));
                continue;
            }
            tokens.push(token);
            if token.kind == TokenKind::Eof {
                break;
            }
        }
        let eof = tokens[tokens.len() - 1];
        let mut parser = Parser {
            source,
            tokens,
            next: 0,
            current: eof,
            previous: eof,
            dialect,
            errors,
            held_back: Vec::new(),
            panic: false,
            depth: 0,
            resolver: Resolver::new(dialect),
            interner: Interner::default(),
        };
        parser.advance();
        parser
    }

    fn finish(
        mut self,
        outcome: PResult<()>,
        statements: Vec<Stmt>,
    ) -> Result<Program, CompileErrors> {
        if outcome.is_ok() && self.errors.is_empty() && self.held_back.is_empty() {
            let init = self.interner.intern("init");
            return Ok(Program { statements, interner: self.interner, init });
        }
        if self.errors.is_empty() {
            self.errors = std::mem::take(&mut self.held_back);
        }
        Err(CompileErrors(self.errors))
    }

    // ---- tokens -------------------------------------------------------------------------

    pub(crate) fn advance(&mut self) {
        self.previous = self.current;
        loop {
            self.current = self.tokens[self.next.min(self.tokens.len() - 1)];
            self.next += 1;
            if self.current.kind != TokenKind::Error {
                break;
            }
            // Only clox's token stream has error tokens: it reports and skips them here.
            self.report(self.current, self.current.error_message());
        }
    }

    pub(crate) fn check(&self, kind: TokenKind) -> bool {
        self.current.kind == kind
    }

    pub(crate) fn matches(&mut self, kind: TokenKind) -> bool {
        if !self.check(kind) {
            return false;
        }
        self.advance();
        true
    }

    /// Consumes a `kind` token or fails with `message` at the current token.
    pub(crate) fn consume(&mut self, kind: TokenKind, message: Message) -> PResult<()> {
        if self.check(kind) {
            self.advance();
            return Ok(());
        }
        self.fail(self.current, message)
    }

    pub(crate) fn lexeme(&self, token: Token) -> &'s str {
        token.lexeme(self.source)
    }

    pub(crate) fn symbol(&mut self, token: Token) -> u32 {
        let text = token.lexeme(self.source);
        self.interner.intern(text)
    }

    // ---- errors -------------------------------------------------------------------------

    /// Reports an error without unwinding (subject to clox's panic mode).
    pub(crate) fn report(&mut self, token: Token, message: &str) {
        if self.panic {
            return;
        }
        if self.dialect == Dialect::Clox {
            self.panic = true;
        }
        self.errors.push(CompileError::at(token, self.source, message));
    }

    /// A syntax error: jlox unwinds to the nearest declaration, clox carries on in panic mode.
    pub(crate) fn fail(&mut self, token: Token, message: Message) -> PResult<()> {
        self.report(token, message);
        match self.dialect {
            Dialect::Jlox => Err(Unwind::Recover),
            Dialect::Clox => Ok(()),
        }
    }

    /// A scope error found by the resolver, pointing at `token`.
    pub(crate) fn scope_error(&mut self, token: Token, message: Message) {
        match self.dialect {
            Dialect::Clox => self.report(token, message),
            Dialect::Jlox => self.held_back.push(CompileError::at(token, self.source, message)),
        }
    }

    /// Counts one level of nesting; past the limit the parse ends.
    pub(crate) fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            self.panic = false;
            self.report(self.current, "Too much nesting.");
            return Err(Unwind::Abort);
        }
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    fn synchronize(&mut self) {
        use TokenKind::*;
        self.panic = false;
        if self.dialect == Dialect::Jlox {
            self.advance();
        }
        while self.current.kind != Eof {
            if self.previous.kind == Semicolon {
                return;
            }
            if matches!(self.current.kind, Class | Fun | Var | For | If | While | Print | Return) {
                return;
            }
            self.advance();
        }
    }

    // ---- declarations -------------------------------------------------------------------

    /// One declaration; `None` if it was skipped after an error.
    pub(crate) fn declaration(&mut self) -> PResult<Option<Stmt>> {
        self.enter()?;
        let result = if self.matches(TokenKind::Class) {
            self.class_declaration()
        } else if self.matches(TokenKind::Fun) {
            self.fun_declaration()
        } else if self.matches(TokenKind::Var) {
            self.var_declaration()
        } else {
            self.statement()
        };
        self.leave();
        match result {
            Ok(statement) => {
                if self.panic {
                    self.synchronize();
                }
                Ok(Some(statement))
            }
            Err(Unwind::Recover) => {
                self.synchronize();
                Ok(None)
            }
            Err(Unwind::Abort) => Err(Unwind::Abort),
        }
    }

    /// Declares the variable named by the previous token; returns its reference once defined.
    fn declare_variable(&mut self, name_token: Token) -> VarRef {
        let name = self.symbol(name_token);
        if let Err(message) = self.resolver.declare(name) {
            self.scope_error(name_token, message);
        }
        VarRef { name, place: Place::Global, line: name_token.line }
    }

    /// Marks the declared variable readable and resolves the reference that stores into it.
    fn define_variable(&mut self, mut target: VarRef) -> VarRef {
        self.resolver.define();
        // The variable is in the innermost scope (or global), so this cannot fail.
        target.place = self.resolver.resolve(target.name, false).unwrap_or(Place::Global);
        target
    }

    fn var_declaration(&mut self) -> PResult<Stmt> {
        self.consume(TokenKind::Identifier, "Expect variable name.")?;
        let target = self.declare_variable(self.previous);
        let initializer =
            if self.matches(TokenKind::Equal) { self.expression()? } else { Expr::Nil };
        self.consume(TokenKind::Semicolon, "Expect ';' after variable declaration.")?;
        let target = self.define_variable(target);
        Ok(Stmt::Var { target, initializer })
    }

    fn fun_declaration(&mut self) -> PResult<Stmt> {
        let what = "Expect function name.";
        self.consume(TokenKind::Identifier, what)?;
        let name_token = self.previous;
        let target = self.declare_variable(name_token);
        let target = self.define_variable(target);
        let function = self.function(name_token, FunctionKind::Function)?;
        Ok(Stmt::Function { target, function: Arc::new(function) })
    }

    /// Parameters and body, after the name.
    fn function(&mut self, name_token: Token, kind: FunctionKind) -> PResult<Function> {
        let noun = match (self.dialect, kind) {
            (Dialect::Jlox, FunctionKind::Method | FunctionKind::Initializer) => "method",
            _ => "function",
        };
        let name = self.symbol(name_token);
        self.resolver.begin_function(kind);
        let body = self.function_rest(noun);
        let (scope, captures, this_captured) = self.resolver.end_function();
        let (arity, body) = body?;
        let end = self.previous.start;
        let line = name_token.line;
        Ok(Function { name, kind, arity, body, scope, this_captured, captures, line, end })
    }

    fn function_rest(&mut self, noun: &str) -> PResult<(u8, Vec<Stmt>)> {
        let message = match noun {
            "method" => ["Expect '(' after method name.", "Expect '{' before method body."],
            _ => ["Expect '(' after function name.", "Expect '{' before function body."],
        };
        self.consume(TokenKind::LeftParen, message[0])?;
        let mut arity = 0usize;
        if !self.check(TokenKind::RightParen) {
            loop {
                if arity == MAX_ARGUMENTS {
                    self.report(self.current, "Can't have more than 255 parameters.");
                }
                arity += 1;
                self.consume(TokenKind::Identifier, "Expect parameter name.")?;
                let parameter = self.declare_variable(self.previous);
                self.define_variable(parameter);
                if !self.matches(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after parameters.")?;
        self.consume(TokenKind::LeftBrace, message[1])?;
        let body = self.block()?;
        Ok((arity.min(MAX_ARGUMENTS) as u8, body))
    }

    fn class_declaration(&mut self) -> PResult<Stmt> {
        self.consume(TokenKind::Identifier, "Expect class name.")?;
        let name_token = self.previous;
        let target = self.declare_variable(name_token);
        let target = self.define_variable(target);
        let mut superclass = None;
        if self.matches(TokenKind::Less) {
            self.consume(TokenKind::Identifier, "Expect superclass name.")?;
            let super_token = self.previous;
            let variable = self.variable_use(super_token, true);
            if self.lexeme(super_token) == self.lexeme(name_token) {
                self.scope_error(super_token, "A class can't inherit from itself.");
            }
            superclass = Some(variable);
            self.resolver.begin_scope();
            let super_name = self.interner.intern("super");
            // A fresh scope holds only `super`: no duplicate, and clox counts it as a local.
            if let Err(message) = self.resolver.declare(super_name) {
                self.scope_error(super_token, message);
            }
            self.resolver.define();
        }
        let kind = if superclass.is_some() { ClassKind::Subclass } else { ClassKind::Plain };
        self.resolver.begin_class(kind);
        self.resolver.begin_this_scope();
        let methods = self.class_body();
        self.resolver.end_this_scope();
        self.resolver.end_class();
        let super_captured = if superclass.is_some() {
            self.resolver.end_scope().captured.first().copied().unwrap_or(false)
        } else {
            false
        };
        let methods = methods?;
        let class = Class { target, superclass, super_captured, methods, line: name_token.line };
        Ok(Stmt::Class(Box::new(class)))
    }

    fn class_body(&mut self) -> PResult<Vec<Arc<Function>>> {
        self.consume(TokenKind::LeftBrace, "Expect '{' before class body.")?;
        let mut methods = Vec::new();
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.consume(TokenKind::Identifier, "Expect method name.")?;
            let name_token = self.previous;
            let kind = if self.lexeme(name_token) == "init" {
                FunctionKind::Initializer
            } else {
                FunctionKind::Method
            };
            methods.push(Arc::new(self.function(name_token, kind)?));
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after class body.")?;
        Ok(methods)
    }

    // ---- statements ---------------------------------------------------------------------

    fn statement(&mut self) -> PResult<Stmt> {
        self.enter()?;
        let statement = self.statement_inner();
        self.leave();
        statement
    }

    fn statement_inner(&mut self) -> PResult<Stmt> {
        use TokenKind::*;
        if self.matches(Print) {
            let value = self.expression()?;
            self.consume(Semicolon, "Expect ';' after value.")?;
            Ok(Stmt::Print(value))
        } else if self.matches(For) {
            self.for_statement()
        } else if self.matches(If) {
            self.if_statement()
        } else if self.matches(Return) {
            self.return_statement()
        } else if self.matches(While) {
            self.consume(LeftParen, "Expect '(' after 'while'.")?;
            let condition = self.expression()?;
            self.consume(RightParen, "Expect ')' after condition.")?;
            let body = Box::new(self.statement()?);
            Ok(Stmt::While { condition, body, end: self.previous.start })
        } else if self.matches(LeftBrace) {
            self.resolver.begin_scope();
            let statements = self.block();
            let scope = self.resolver.end_scope();
            Ok(Stmt::Block { statements: statements?, scope })
        } else {
            let expr = self.expression()?;
            self.consume(Semicolon, "Expect ';' after expression.")?;
            Ok(Stmt::Expression(expr))
        }
    }

    /// The declarations up to a closing brace (the caller manages the scope).
    fn block(&mut self) -> PResult<Vec<Stmt>> {
        let mut statements = Vec::new();
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            if let Some(statement) = self.declaration()? {
                statements.push(statement);
            }
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after block.")?;
        Ok(statements)
    }

    fn if_statement(&mut self) -> PResult<Stmt> {
        self.consume(TokenKind::LeftParen, "Expect '(' after 'if'.")?;
        let condition = self.expression()?;
        self.consume(TokenKind::RightParen, "Expect ')' after condition.")?;
        let then_branch = Box::new(self.statement()?);
        let else_branch =
            if self.matches(TokenKind::Else) { Some(Box::new(self.statement()?)) } else { None };
        Ok(Stmt::If { condition, then_branch, else_branch })
    }

    fn return_statement(&mut self) -> PResult<Stmt> {
        let keyword = self.previous;
        if let Err(message) = self.resolver.check_return(false) {
            self.scope_error(keyword, message);
        }
        if self.matches(TokenKind::Semicolon) {
            return Ok(Stmt::Return { value: None, line: keyword.line });
        }
        if self.resolver.in_initializer() {
            self.scope_error(keyword, "Can't return a value from an initializer.");
        }
        let value = self.expression()?;
        self.consume(TokenKind::Semicolon, "Expect ';' after return value.")?;
        Ok(Stmt::Return { value: Some(value), line: keyword.line })
    }

    /// `for (init; condition; increment) body` becomes a block holding the initializer and a
    /// [`Stmt::For`], so the loop variable lives in its own scope, as in both references.
    fn for_statement(&mut self) -> PResult<Stmt> {
        self.resolver.begin_scope();
        let parts = self.for_parts();
        let scope = self.resolver.end_scope();
        let (initializer, condition, increment, body) = parts?;
        let mut statements = Vec::with_capacity(2);
        statements.extend(initializer);
        let end = self.previous.start;
        statements.push(Stmt::For { condition, increment, body: Box::new(body), end });
        Ok(Stmt::Block { statements, scope })
    }

    #[allow(clippy::type_complexity)]
    fn for_parts(&mut self) -> PResult<(Option<Stmt>, Option<Expr>, Option<Expr>, Stmt)> {
        use TokenKind::*;
        self.consume(LeftParen, "Expect '(' after 'for'.")?;
        let initializer = if self.matches(Semicolon) {
            None
        } else if self.matches(Var) {
            Some(self.var_declaration()?)
        } else {
            let expr = self.expression()?;
            self.consume(Semicolon, "Expect ';' after expression.")?;
            Some(Stmt::Expression(expr))
        };
        let mut condition = None;
        if !self.matches(Semicolon) {
            condition = Some(self.expression()?);
            self.consume(Semicolon, "Expect ';' after loop condition.")?;
        }
        let mut increment = None;
        if !self.matches(RightParen) {
            increment = Some(self.expression()?);
            self.consume(RightParen, "Expect ')' after for clauses.")?;
        }
        let body = self.statement()?;
        Ok((initializer, condition, increment, body))
    }

    /// A use of the variable named by `token`, resolved (with scope errors reported at it).
    pub(crate) fn variable_use(&mut self, token: Token, reading: bool) -> VarRef {
        let name = self.symbol(token);
        let place = match self.resolver.resolve(name, reading) {
            Ok(place) => place,
            Err(message) => {
                self.scope_error(token, message);
                Place::Global
            }
        };
        VarRef { name, place, line: token.line }
    }
}
