//! A disassembler that prints chunks the way clox's `debug.c` does.

use std::fmt::Write;

use super::chunk::{Chunk, op};
use super::heap::Heap;
use super::object::{Function, Kind, Object, Value};
use crate::syntax::ast::Interner;

/// What a listing needs besides the chunk: the heap (string constants), the function table
/// (function constants) and the interner (global, property and method names).
pub(crate) struct Context<'a> {
    pub(crate) heap: &'a Heap,
    pub(crate) functions: &'a [Function],
    pub(crate) names: &'a Interner,
}

/// Every function in `functions`, each under a `== name ==` header as clox's
/// `DEBUG_PRINT_CODE` prints them: inner functions before the code that encloses them, the
/// script last.
pub(crate) fn disassemble_all(context: &Context<'_>) -> String {
    let mut out = String::new();
    for function in context.functions {
        let name = function.name.as_deref().unwrap_or("<script>");
        disassemble(&mut out, &function.chunk, name, context);
    }
    out
}

/// Appends the listing of `chunk` under a `== name ==` header, one instruction per line:
/// offset, line (or `|` when unchanged), opcode name and operands.
pub(crate) fn disassemble(out: &mut String, chunk: &Chunk, name: &str, context: &Context<'_>) {
    let _ = writeln!(out, "== {name} ==");
    let mut offset = 0;
    while offset < chunk.code.len() {
        offset = instruction(out, chunk, offset, context);
    }
}

fn constant_text(value: Value, context: &Context<'_>) -> String {
    match value.kind() {
        Kind::Number(n) => crate::number::clox(n),
        Kind::Obj(r) => match context.heap.get(r) {
            Object::String(s) => s.text.to_string(),
            Object::Function(id) => match context.functions.get(id.index()) {
                Some(Function { name: Some(name), .. }) => format!("<fn {name}>"),
                _ => "<script>".into(),
            },
            _ => "<object>".into(),
        },
        Kind::Nil => "nil".into(),
        Kind::Bool(b) => b.to_string(),
    }
}

/// Appends one instruction at `offset`; returns the next instruction's offset.
pub(crate) fn instruction(
    out: &mut String,
    chunk: &Chunk,
    offset: usize,
    context: &Context<'_>,
) -> usize {
    let names = context.names;
    let _ = write!(out, "{offset:04} ");
    let line = chunk.lines[offset];
    if offset > 0 && chunk.lines[offset - 1] == line {
        out.push_str("   | ");
    } else {
        let _ = write!(out, "{line:4} ");
    }
    let opcode = chunk.code[offset];
    let Some(name) = op::NAMES.get(opcode as usize) else {
        let _ = writeln!(out, "Unknown opcode {opcode}");
        return offset + 1;
    };
    let byte = |at: usize| chunk.code.get(at).copied().unwrap_or(0);
    let symbol = |at: usize| {
        let s = chunk.read_u16(at) as u32;
        if (s as usize) < names.len() { names.text(s).to_string() } else { format!("#{s}") }
    };
    // A name operand: its symbol number and text.
    let named = |at: usize| format!("{:4} '{}'", chunk.read_u16(at), symbol(at));
    match opcode {
        op::CONSTANT
        | op::ADD_CONSTANT
        | op::SUBTRACT_CONSTANT
        | op::MULTIPLY_CONSTANT
        | op::DIVIDE_CONSTANT
        | op::LESS_CONSTANT
        | op::LESS_EQUAL_CONSTANT
        | op::GREATER_CONSTANT
        | op::GREATER_EQUAL_CONSTANT => {
            let index = byte(offset + 1);
            let value = chunk.constants.get(index as usize).copied().unwrap_or(Value::NIL);
            let _ = writeln!(out, "{name:<16} {index:4} '{}'", constant_text(value, context));
            offset + 2
        }
        op::GET_LOCAL
        | op::SET_LOCAL
        | op::SET_LOCAL_POP
        | op::GET_UPVALUE
        | op::SET_UPVALUE
        | op::CALL => {
            let _ = writeln!(out, "{name:<16} {:4}", byte(offset + 1));
            offset + 2
        }
        op::GET_GLOBAL
        | op::DEFINE_GLOBAL
        | op::SET_GLOBAL
        | op::SET_GLOBAL_POP
        | op::GET_PROPERTY
        | op::SET_PROPERTY
        | op::SET_PROPERTY_POP
        | op::GET_SUPER
        | op::CLASS
        | op::METHOD => {
            let _ = writeln!(out, "{name:<16} {}", named(offset + 1));
            offset + 3
        }
        op::GET_LOCAL_PROPERTY => {
            let _ = writeln!(out, "{name:<16} {:4} {}", byte(offset + 1), named(offset + 2));
            offset + 4
        }
        op::INVOKE | op::SUPER_INVOKE => {
            let _ = writeln!(out, "{name:<16} ({} args) {}", byte(offset + 3), named(offset + 1));
            offset + 4
        }
        op::JUMP | op::JUMP_IF_FALSE | op::POP_JUMP_IF_FALSE | op::LOOP => {
            let jump = chunk.read_u16(offset + 1) as isize;
            let sign = if opcode == op::LOOP { -1 } else { 1 };
            let target = offset as isize + 3 + sign * jump;
            let _ = writeln!(out, "{name:<16} {offset:4} -> {target}");
            offset + 3
        }
        op::CLOSURE => {
            let index = byte(offset + 1);
            let value = chunk.constants.get(index as usize).copied().unwrap_or(Value::NIL);
            let _ = writeln!(out, "{name:<16} {index:4} {}", constant_text(value, context));
            let count = match value.as_obj().map(|r| context.heap.get(r)) {
                Some(Object::Function(id)) => {
                    context.functions.get(id.index()).map_or(0, |f| f.upvalue_count as usize)
                }
                _ => 0,
            };
            let mut next = offset + 2;
            for _ in 0..count {
                let kind = if byte(next) == 1 { "local" } else { "upvalue" };
                let _ =
                    writeln!(out, "{next:04}    |                     {kind} {}", byte(next + 1));
                next += 2;
            }
            next
        }
        _ => {
            let _ = writeln!(out, "{name}");
            offset + 1
        }
    }
}
