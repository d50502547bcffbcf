//! The front end both engines share: scanner, parser, resolver, and the syntax tree.
//!
//! ```text
//!   source ──Scanner──▶ tokens ──Parser (+ Resolver)──▶ Program (resolved AST)
//!                                                          ├──▶ tree::Interpreter
//!                                                          └──▶ vm::compile ──▶ vm::Vm
//! ```

pub mod ast;
mod expr;
pub mod parser;
pub mod printer;
pub(crate) mod resolver;
pub mod token;

pub use parser::{MAX_ARGUMENTS, MAX_NESTING, parse, parse_expression, parse_with};
pub use resolver::{MAX_ENV_SLOTS, MAX_LOCALS, MAX_UPVALUES};
