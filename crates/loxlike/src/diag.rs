//! Compile errors, reported the way each reference interpreter reports them.
//!
//! jlox and clox print the same messages in the same format (`[line N] Error at 'x': msg`) but
//! disagree about *which* errors a broken program produces, because they recover differently:
//!
//! - jlox scans the whole file first, reporting bad characters; its parser throws on an error
//!   and catches at the nearest declaration; its resolver runs only if parsing succeeded.
//! - clox scans on demand and hands bad characters to the parser as error tokens; an error puts
//!   it in *panic mode*, which silences further errors while it keeps compiling, until the
//!   current declaration ends and it skips to a likely statement start. Scope errors
//!   ("Already a variable with this name...") are found in that same single pass.
//!
//! The official suite marks the difference with `[java line N]` and `[c line N]`; [`Dialect`]
//! selects one behaviour for the shared front end.

use std::fmt;

/// Which reference interpreter's error recovery the front end follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// jlox: the tree-walker's reference.
    Jlox,
    /// clox: the bytecode VM's reference (and its limits on locals, upvalues, constants).
    #[default]
    Clox,
}

/// Where a compile error points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// At a token: its lexeme is quoted in the message.
    Token(String),
    /// At the end of the source.
    End,
    /// A scanner error: no token to point at.
    Nowhere,
}

/// One compile error, printed as `[line N] Error at 'x': message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The 1-based line.
    pub line: u32,
    /// Where on the line.
    pub location: Location,
    /// The reference interpreters' message.
    pub message: String,
}

impl CompileError {
    /// An error at `token` (scanned from `source`): at its lexeme, at the end of the source,
    /// or nowhere for a lexical error, as both references print them.
    pub fn at(token: crate::syntax::token::Token, source: &str, message: &str) -> Self {
        use crate::syntax::token::TokenKind;
        let location = match token.kind {
            TokenKind::Eof => Location::End,
            TokenKind::Error => Location::Nowhere,
            _ => Location::Token(token.lexeme(source).to_string()),
        };
        CompileError { line: token.line, location, message: message.to_string() }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::Token(lexeme) => {
                write!(f, "[line {}] Error at '{}': {}", self.line, lexeme, self.message)
            }
            Location::End => write!(f, "[line {}] Error at end: {}", self.line, self.message),
            Location::Nowhere => write!(f, "[line {}] Error: {}", self.line, self.message),
        }
    }
}

/// All compile errors of one source, in the order they were reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompileErrors(pub Vec<CompileError>);

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileErrors {}
