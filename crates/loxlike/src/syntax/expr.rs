//! Expressions, parsed by precedence climbing (a Pratt parser, as in clox's chapter 17).
//!
//! Each token kind has a *prefix* rule (how an expression can start with it) and an *infix*
//! rule with a precedence (how it continues one). [`Parser::parse_precedence`] parses a prefix
//! expression and then keeps absorbing infix operators that bind at least as tightly as asked.
//! Assignment is the one right-associative operator and the one place where the left side must
//! be a *target*; `can_assign` carries that permission down to the prefix rule, exactly as in
//! clox, so `a + b = c` is reported as an invalid target at the `=`.

use super::ast::{BinaryOp, Expr, Place, UnaryOp, VarRef};
use super::parser::{MAX_ARGUMENTS, PResult, Parser};
use super::token::TokenKind;
use crate::diag::Dialect;

/// Binding strength, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Precedence {
    None,
    Assignment,
    Or,
    And,
    Equality,
    Comparison,
    Term,
    Factor,
    Unary,
    Call,
}

impl Precedence {
    fn next(self) -> Precedence {
        use Precedence::*;
        match self {
            None => Assignment,
            Assignment => Or,
            Or => And,
            And => Equality,
            Equality => Comparison,
            Comparison => Term,
            Term => Factor,
            Factor => Unary,
            Unary | Call => Call,
        }
    }
}

fn infix_precedence(kind: TokenKind) -> Precedence {
    use TokenKind::*;
    match kind {
        LeftParen | Dot => Precedence::Call,
        Minus | Plus => Precedence::Term,
        Slash | Star => Precedence::Factor,
        BangEqual | EqualEqual => Precedence::Equality,
        Greater | GreaterEqual | Less | LessEqual => Precedence::Comparison,
        And => Precedence::And,
        Or => Precedence::Or,
        _ => Precedence::None,
    }
}

fn binary_op(kind: TokenKind) -> Option<BinaryOp> {
    use TokenKind::*;
    Some(match kind {
        Minus => BinaryOp::Subtract,
        Plus => BinaryOp::Add,
        Slash => BinaryOp::Divide,
        Star => BinaryOp::Multiply,
        BangEqual => BinaryOp::NotEqual,
        EqualEqual => BinaryOp::Equal,
        Greater => BinaryOp::Greater,
        GreaterEqual => BinaryOp::GreaterEqual,
        Less => BinaryOp::Less,
        LessEqual => BinaryOp::LessEqual,
        _ => return None,
    })
}

impl Parser<'_> {
    pub(crate) fn expression(&mut self) -> PResult<Expr> {
        self.parse_precedence(Precedence::Assignment)
    }

    fn parse_precedence(&mut self, precedence: Precedence) -> PResult<Expr> {
        self.enter()?;
        let expr = self.parse_precedence_inner(precedence);
        self.leave();
        expr
    }

    fn parse_precedence_inner(&mut self, precedence: Precedence) -> PResult<Expr> {
        self.advance();
        let can_assign = precedence <= Precedence::Assignment;
        let mut expr = self.prefix(can_assign)?;
        while precedence <= infix_precedence(self.current.kind) {
            self.advance();
            expr = self.infix(expr, can_assign)?;
        }
        if can_assign && self.matches(TokenKind::Equal) {
            let equals = self.previous;
            if self.dialect == Dialect::Jlox {
                // jlox parses the right-hand side before complaining about the target.
                self.parse_precedence(Precedence::Assignment)?;
            }
            self.report(equals, "Invalid assignment target.");
        }
        Ok(expr)
    }

    /// The line a runtime error in an operator is reported on: jlox names the operator's line,
    /// clox the line of the last token compiled before the instruction (the operand's end).
    fn operator_line(&self, operator_line: u32) -> u32 {
        match self.dialect {
            Dialect::Jlox => operator_line,
            Dialect::Clox => self.previous.line,
        }
    }

    fn prefix(&mut self, can_assign: bool) -> PResult<Expr> {
        use TokenKind::*;
        let token = self.previous;
        Ok(match token.kind {
            LeftParen => {
                let inner = self.expression()?;
                self.consume(RightParen, "Expect ')' after expression.")?;
                Expr::Grouping(Box::new(inner))
            }
            Minus | Bang => {
                let operand = Box::new(self.parse_precedence(Precedence::Unary)?);
                let op = if token.kind == Minus { UnaryOp::Negate } else { UnaryOp::Not };
                Expr::Unary { op, operand, line: self.operator_line(token.line) }
            }
            Number => {
                Expr::Number { value: self.lexeme(token).parse().unwrap_or(0.0), at: token.start }
            }
            String => {
                let lexeme = self.lexeme(token);
                let text = lexeme.get(1..lexeme.len() - 1).unwrap_or("");
                Expr::String { symbol: self.interner.intern(text), at: token.start }
            }
            True => Expr::Bool(true),
            False => Expr::Bool(false),
            Nil => Expr::Nil,
            Identifier => self.named_variable(can_assign)?,
            This => {
                let place = match self.resolver.resolve_this() {
                    Ok(place) => place,
                    Err(message) => {
                        self.scope_error(token, message);
                        Place::Global
                    }
                };
                let name = self.interner.intern("this");
                Expr::This(VarRef { name, place, line: token.line })
            }
            Super => self.super_expression()?,
            _ => {
                self.fail(token, "Expect expression.")?;
                Expr::Nil
            }
        })
    }

    fn named_variable(&mut self, can_assign: bool) -> PResult<Expr> {
        let token = self.previous;
        let assigning = can_assign && self.check(TokenKind::Equal);
        // clox resolves (and checks "own initializer") before looking for `=`; jlox only
        // checks reads.
        let reading = self.dialect == Dialect::Clox || !assigning;
        let target = self.variable_use(token, reading);
        if assigning {
            self.advance();
            let value = Box::new(self.expression()?);
            return Ok(Expr::Assign { target, value });
        }
        Ok(Expr::Variable(target))
    }

    fn super_expression(&mut self) -> PResult<Expr> {
        let keyword = self.previous;
        let allowed = self.resolver.check_super();
        if let Err(message) = allowed {
            self.scope_error(keyword, message);
        }
        self.consume(TokenKind::Dot, "Expect '.' after 'super'.")?;
        self.consume(TokenKind::Identifier, "Expect superclass method name.")?;
        let method = self.symbol(self.previous);
        let line = self.previous.line;
        let this_name = self.interner.intern("this");
        let super_name = self.interner.intern("super");
        let (this, superclass) = if allowed.is_ok() {
            let this = self.resolver.resolve_this().unwrap_or(Place::Global);
            let superclass = self.resolver.resolve(super_name, true).unwrap_or(Place::Global);
            (this, superclass)
        } else {
            (Place::Global, Place::Global)
        };
        Ok(Expr::Super {
            this: VarRef { name: this_name, place: this, line: keyword.line },
            superclass: VarRef { name: super_name, place: superclass, line: keyword.line },
            method,
            line,
        })
    }

    fn infix(&mut self, left: Expr, can_assign: bool) -> PResult<Expr> {
        use TokenKind::*;
        let operator = self.previous;
        match operator.kind {
            LeftParen => self.call(left),
            Dot => {
                self.consume(Identifier, "Expect property name after '.'.")?;
                let name = self.symbol(self.previous);
                let line = self.previous.line;
                let object = Box::new(left);
                if can_assign && self.matches(Equal) {
                    let value = Box::new(self.expression()?);
                    return Ok(Expr::Set { object, name, value, line });
                }
                Ok(Expr::Get { object, name, line })
            }
            And | Or => {
                let right = self.parse_precedence(infix_precedence(operator.kind).next())?;
                let is_and = operator.kind == And;
                Ok(Expr::Logical { is_and, left: Box::new(left), right: Box::new(right) })
            }
            kind => {
                let right = self.parse_precedence(infix_precedence(kind).next())?;
                let line = self.operator_line(operator.line);
                // Only kinds with an infix precedence reach here, and all others are binary.
                let op = binary_op(kind).unwrap_or(BinaryOp::Add);
                Ok(Expr::Binary { op, left: Box::new(left), right: Box::new(right), line })
            }
        }
    }

    fn call(&mut self, callee: Expr) -> PResult<Expr> {
        let mut arguments = Vec::new();
        if !self.check(TokenKind::RightParen) {
            loop {
                if arguments.len() == MAX_ARGUMENTS && self.dialect == Dialect::Jlox {
                    self.report(self.current, "Can't have more than 255 arguments.");
                }
                arguments.push(self.expression()?);
                if arguments.len() == MAX_ARGUMENTS + 1 && self.dialect == Dialect::Clox {
                    self.report(self.previous, "Can't have more than 255 arguments.");
                }
                if !self.matches(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after arguments.")?;
        Ok(Expr::Call { callee: Box::new(callee), arguments, line: self.previous.line })
    }
}
