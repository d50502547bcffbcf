//! The book's early-chapter outputs: jlox's token dump (chapter 4) and AST printer (chapter 6).
//!
//! They exist so the official suite's `scanning/` and `expressions/` tests run against this
//! front end, and because seeing the tokens and the tree is the best way to debug a grammar.

use super::ast::{Expr, Interner, UnaryOp};
use super::token::{Scanner, TokenKind};
use crate::diag::CompileError;
use crate::number::java_double;

/// One line per token, `TYPE lexeme literal`, as jlox's chapter 4 prints them; lexical errors
/// are returned separately (jlox reports them on stderr and goes on).
pub fn dump_tokens(source: &str) -> (String, Vec<CompileError>) {
    let mut scanner = Scanner::new(source);
    let mut out = String::new();
    let mut errors = Vec::new();
    loop {
        let token = scanner.next_token();
        let lexeme = token.lexeme(source);
        let literal = match token.kind {
            TokenKind::Error => {
                errors.push(CompileError::at(token, source, token.error_message()));
                continue;
            }
            TokenKind::Number => java_double(lexeme.parse().unwrap_or(0.0)),
            TokenKind::String => lexeme.get(1..lexeme.len() - 1).unwrap_or("").to_string(),
            _ => "null".to_string(),
        };
        out.push_str(&format!("{} {} {}\n", token.kind.jlox_name(), lexeme, literal));
        if token.kind == TokenKind::Eof {
            return (out, errors);
        }
    }
}

/// The expression in jlox's parenthesised prefix form: `(+ (group 1.0) (- 2.0))`.
pub fn print_ast(expr: &Expr, interner: &Interner) -> String {
    let mut out = String::new();
    write_ast(&mut out, expr, interner);
    out
}

fn write_ast(out: &mut String, expr: &Expr, interner: &Interner) {
    let parenthesize = |out: &mut String, name: &str, parts: &[&Expr]| {
        out.push('(');
        out.push_str(name);
        for part in parts {
            out.push(' ');
            write_ast(out, part, interner);
        }
        out.push(')');
    };
    match expr {
        Expr::Nil => out.push_str("nil"),
        Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Number { value, .. } => out.push_str(&java_double(*value)),
        Expr::String { symbol, .. } => out.push_str(interner.text(*symbol)),
        Expr::Grouping(inner) => parenthesize(out, "group", &[inner]),
        Expr::Unary { op, operand, .. } => {
            let name = if *op == UnaryOp::Negate { "-" } else { "!" };
            parenthesize(out, name, &[operand]);
        }
        Expr::Binary { op, left, right, .. } => parenthesize(out, op.symbol(), &[left, right]),
        Expr::Logical { is_and, left, right } => {
            parenthesize(out, if *is_and { "and" } else { "or" }, &[left, right]);
        }
        Expr::Variable(v) => out.push_str(interner.text(v.name)),
        Expr::Assign { target, value } => {
            let name = format!("= {}", interner.text(target.name));
            parenthesize(out, &name, &[value]);
        }
        Expr::Call { callee, arguments, .. } => {
            let mut parts: Vec<&Expr> = vec![callee];
            parts.extend(arguments.iter());
            parenthesize(out, "call", &parts);
        }
        Expr::Get { object, name, .. } => {
            let name = format!(". {}", interner.text(*name));
            parenthesize(out, &name, &[object]);
        }
        Expr::Set { object, name, value, .. } => {
            let name = format!("= {}", interner.text(*name));
            parenthesize(out, &name, &[object, value]);
        }
        Expr::This(_) => out.push_str("this"),
        Expr::Super { method, .. } => {
            out.push_str("(super ");
            out.push_str(interner.text(*method));
            out.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Dialect;

    #[test]
    fn prints_the_chapter_6_example() {
        let (expr, interner) =
            crate::syntax::parse_expression("(5 - (3 - 1)) + -1", Dialect::Jlox).unwrap();
        assert_eq!(print_ast(&expr, &interner), "(+ (group (- 5.0 (group (- 3.0 1.0)))) (- 1.0))");
    }

    #[test]
    fn dumps_tokens_like_chapter_4() {
        let (out, errors) = dump_tokens("123. \"hi\" or");
        assert!(errors.is_empty());
        assert_eq!(out, "NUMBER 123 123.0\nDOT . null\nSTRING \"hi\" hi\nOR or null\nEOF  null\n");
    }
}
