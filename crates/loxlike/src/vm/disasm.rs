//! A disassembler that prints chunks the way clox's `debug.c` does.

use std::fmt::Write;

use super::chunk::{Chunk, op};
use super::heap::Heap;
use super::object::{Object, Value};
use crate::syntax::ast::Interner;

/// The listing of `chunk` under a `== name ==` header, one instruction per line:
/// offset, line (or `|` when unchanged), opcode name and operands.
pub fn disassemble(chunk: &Chunk, name: &str, heap: &Heap, names: &Interner) -> String {
    let mut out = format!("== {name} ==\n");
    let mut offset = 0;
    while offset < chunk.code.len() {
        offset = instruction(&mut out, chunk, offset, heap, names);
    }
    out
}

fn constant_text(value: Value, heap: &Heap) -> String {
    match value {
        Value::Number(n) => crate::number::clox(n),
        Value::Obj(r) => match heap.get(r) {
            Object::String(s) => s.text.to_string(),
            Object::Function(f) => match &f.name {
                Some(name) => format!("<fn {name}>"),
                None => "<script>".into(),
            },
            _ => "<object>".into(),
        },
        Value::Nil => "nil".into(),
        Value::Bool(b) => b.to_string(),
    }
}

/// Appends one instruction at `offset`; returns the next instruction's offset.
pub fn instruction(
    out: &mut String,
    chunk: &Chunk,
    offset: usize,
    heap: &Heap,
    names: &Interner,
) -> usize {
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
    match opcode {
        op::CONSTANT => {
            let index = byte(offset + 1);
            let value = chunk.constants.get(index as usize).copied().unwrap_or(Value::Nil);
            let _ = writeln!(out, "{name:<16} {index:4} '{}'", constant_text(value, heap));
            offset + 2
        }
        op::GET_LOCAL | op::SET_LOCAL | op::GET_UPVALUE | op::SET_UPVALUE | op::CALL => {
            let _ = writeln!(out, "{name:<16} {:4}", byte(offset + 1));
            offset + 2
        }
        op::GET_GLOBAL
        | op::DEFINE_GLOBAL
        | op::SET_GLOBAL
        | op::GET_PROPERTY
        | op::SET_PROPERTY
        | op::GET_SUPER
        | op::CLASS
        | op::METHOD => {
            let _ = writeln!(
                out,
                "{name:<16} {:4} '{}'",
                chunk.read_u16(offset + 1),
                symbol(offset + 1)
            );
            offset + 3
        }
        op::INVOKE | op::SUPER_INVOKE => {
            let _ = writeln!(
                out,
                "{name:<16} ({} args) {:4} '{}'",
                byte(offset + 3),
                chunk.read_u16(offset + 1),
                symbol(offset + 1)
            );
            offset + 4
        }
        op::JUMP | op::JUMP_IF_FALSE | op::LOOP => {
            let jump = chunk.read_u16(offset + 1) as isize;
            let sign = if opcode == op::LOOP { -1 } else { 1 };
            let target = offset as isize + 3 + sign * jump;
            let _ = writeln!(out, "{name:<16} {offset:4} -> {target}");
            offset + 3
        }
        op::CLOSURE => {
            let index = byte(offset + 1);
            let value = chunk.constants.get(index as usize).copied().unwrap_or(Value::Nil);
            let _ = writeln!(out, "{name:<16} {index:4} {}", constant_text(value, heap));
            let count = match value {
                Value::Obj(r) => match heap.get(r) {
                    Object::Function(f) => f.upvalue_count as usize,
                    _ => 0,
                },
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
