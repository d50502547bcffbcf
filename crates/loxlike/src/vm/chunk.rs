//! Bytecode: the instruction set and the chunk that holds a function's code.
//!
//! An instruction is a one-byte opcode followed by its operands. Operands are one byte (`u8`:
//! stack slots, upvalue indices, constant indices, argument counts) or two bytes big-endian
//! (`u16`: jump offsets, global slots, property names). The instruction set is clox's, with two
//! kinds of change:
//!
//! - names are not constants. Globals are addressed by slot (the name's symbol) and properties
//!   and methods by symbol, so a program can mention any number of names without filling the
//!   256-entry constant table, and no string is hashed to find a global;
//! - a few instructions do the work of two or three of clox's, because every instruction
//!   costs a dispatch: `NOT_EQUAL` and friends, arithmetic and comparisons with a constant
//!   right operand, a test that pops its condition (`if`, `while` and `for` need no `POP` on
//!   either branch), a local's property (`this.x`), and assignment statements that store and
//!   pop. They are the pairs that a count of executed instruction pairs over the benchmarks
//!   found most often, leaving out pairs only a benchmark writes (`1 == 1;` as a statement).
//!   A popping test measured 40% slower on `equality.lox` in an earlier version of the loop,
//!   whose dispatch carried bounds and range checks; with the loop as it is now it made the
//!   four benchmarks it was timed on faster (`fib`, `equality`, `trees`, `binary_trees`).
//!
//! | opcode          | operands            | stack effect                                     |
//! |-----------------|---------------------|--------------------------------------------------|
//! | `CONSTANT`      | u8 constant         | → value                                          |
//! | `NIL` `TRUE` `FALSE` |                | → literal                                        |
//! | `POP`           |                     | value →                                          |
//! | `GET_LOCAL` `SET_LOCAL` | u8 slot     | → value / value → value                          |
//! | `GET_GLOBAL` `DEFINE_GLOBAL` `SET_GLOBAL` | u16 slot | by name, "Undefined variable" if unset |
//! | `GET_UPVALUE` `SET_UPVALUE` | u8 index |                                                 |
//! | `GET_PROPERTY` `SET_PROPERTY` | u16 name | instance → value / instance value → value   |
//! | `GET_LOCAL_PROPERTY` | u8 slot, u16 name | → value (`GET_LOCAL` then `GET_PROPERTY`: `this.x`, `node.left`) |
//! | `SET_LOCAL_POP` `SET_GLOBAL_POP` `SET_PROPERTY_POP` | as without `_POP` | the same, then `POP`: an assignment statement, whose value nobody reads |
//! | `GET_SUPER`     | u16 name            | this superclass → bound method                   |
//! | `EQUAL` `GREATER` `LESS` `ADD` `SUBTRACT` `MULTIPLY` `DIVIDE` | | a b → result      |
//! | `NOT_EQUAL` `GREATER_EQUAL` `LESS_EQUAL` |  | a b → result (clox compiles these as two   |
//! |                 |                     | instructions, which gets `nan >= 1` wrong)       |
//! | `NOT` `NEGATE`  |                     | a → result                                       |
//! | `PRINT`         |                     | value →                                          |
//! | `JUMP` `JUMP_IF_FALSE` | u16 forward  | (`JUMP_IF_FALSE` leaves the condition)            |
//! | `POP_JUMP_IF_FALSE` | u16 forward     | condition → (the test of `if`, `while`, `for`)   |
//! | `LOOP`          | u16 backward        |                                                  |
//! | `CALL`          | u8 argc             | callee args → result                             |
//! | `INVOKE`        | u16 name, u8 argc   | receiver args → result (`receiver.name(args)`)   |
//! | `SUPER_INVOKE`  | u16 name, u8 argc   | this args superclass → result                    |
//! | `CLOSURE`       | u8 constant, then (u8 is_local, u8 index) per upvalue | → closure      |
//! | `CLOSE_UPVALUE` |                     | value → (moved into its upvalue)                 |
//! | `RETURN`        |                     | frame → result                                   |
//! | `CLASS`         | u16 name            | → class                                          |
//! | `INHERIT`       |                     | superclass subclass → superclass                 |
//! | `METHOD`        | u16 name            | class closure → class                            |
//! | `ADD_CONSTANT` ... `GREATER_EQUAL_CONSTANT` | u8 constant | a → a op constant (a binary |
//! |                 |                     | operator whose right operand is a number literal: |
//! |                 |                     | `n - 1`, `i < 10`; one instruction, not two)     |

use super::object::Value;

#[allow(missing_docs)] // The table in the module docs describes each one.
pub mod op {
    pub const CONSTANT: u8 = 0;
    pub const NIL: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const FALSE: u8 = 3;
    pub const POP: u8 = 4;
    pub const GET_LOCAL: u8 = 5;
    pub const SET_LOCAL: u8 = 6;
    pub const GET_GLOBAL: u8 = 7;
    pub const DEFINE_GLOBAL: u8 = 8;
    pub const SET_GLOBAL: u8 = 9;
    pub const GET_UPVALUE: u8 = 10;
    pub const SET_UPVALUE: u8 = 11;
    pub const GET_PROPERTY: u8 = 12;
    pub const SET_PROPERTY: u8 = 13;
    pub const GET_SUPER: u8 = 14;
    pub const EQUAL: u8 = 15;
    pub const GREATER: u8 = 16;
    pub const LESS: u8 = 17;
    pub const ADD: u8 = 18;
    pub const SUBTRACT: u8 = 19;
    pub const MULTIPLY: u8 = 20;
    pub const DIVIDE: u8 = 21;
    pub const NOT: u8 = 22;
    pub const NEGATE: u8 = 23;
    pub const PRINT: u8 = 24;
    pub const JUMP: u8 = 25;
    pub const JUMP_IF_FALSE: u8 = 26;
    pub const LOOP: u8 = 27;
    pub const CALL: u8 = 28;
    pub const INVOKE: u8 = 29;
    pub const SUPER_INVOKE: u8 = 30;
    pub const CLOSURE: u8 = 31;
    pub const CLOSE_UPVALUE: u8 = 32;
    pub const RETURN: u8 = 33;
    pub const CLASS: u8 = 34;
    pub const INHERIT: u8 = 35;
    pub const METHOD: u8 = 36;
    pub const NOT_EQUAL: u8 = 37;
    pub const GREATER_EQUAL: u8 = 38;
    pub const LESS_EQUAL: u8 = 39;
    pub const ADD_CONSTANT: u8 = 40;
    pub const SUBTRACT_CONSTANT: u8 = 41;
    pub const MULTIPLY_CONSTANT: u8 = 42;
    pub const DIVIDE_CONSTANT: u8 = 43;
    pub const LESS_CONSTANT: u8 = 44;
    pub const LESS_EQUAL_CONSTANT: u8 = 45;
    pub const GREATER_CONSTANT: u8 = 46;
    pub const GREATER_EQUAL_CONSTANT: u8 = 47;
    pub const POP_JUMP_IF_FALSE: u8 = 48;
    pub const GET_LOCAL_PROPERTY: u8 = 49;
    pub const SET_LOCAL_POP: u8 = 50;
    pub const SET_GLOBAL_POP: u8 = 51;
    pub const SET_PROPERTY_POP: u8 = 52;
    /// Every opcode is at most this, and the loop dispatches on `byte & MASK`: with an arm for
    /// each of the 64 values that leaves, the jump table needs no range check.
    pub const MASK: u8 = 63;

    /// Every opcode's name, indexed by opcode.
    pub const NAMES: [&str; 53] = [
        "OP_CONSTANT",
        "OP_NIL",
        "OP_TRUE",
        "OP_FALSE",
        "OP_POP",
        "OP_GET_LOCAL",
        "OP_SET_LOCAL",
        "OP_GET_GLOBAL",
        "OP_DEFINE_GLOBAL",
        "OP_SET_GLOBAL",
        "OP_GET_UPVALUE",
        "OP_SET_UPVALUE",
        "OP_GET_PROPERTY",
        "OP_SET_PROPERTY",
        "OP_GET_SUPER",
        "OP_EQUAL",
        "OP_GREATER",
        "OP_LESS",
        "OP_ADD",
        "OP_SUBTRACT",
        "OP_MULTIPLY",
        "OP_DIVIDE",
        "OP_NOT",
        "OP_NEGATE",
        "OP_PRINT",
        "OP_JUMP",
        "OP_JUMP_IF_FALSE",
        "OP_LOOP",
        "OP_CALL",
        "OP_INVOKE",
        "OP_SUPER_INVOKE",
        "OP_CLOSURE",
        "OP_CLOSE_UPVALUE",
        "OP_RETURN",
        "OP_CLASS",
        "OP_INHERIT",
        "OP_METHOD",
        "OP_NOT_EQUAL",
        "OP_GREATER_EQUAL",
        "OP_LESS_EQUAL",
        "OP_ADD_CONSTANT",
        "OP_SUBTRACT_CONSTANT",
        "OP_MULTIPLY_CONSTANT",
        "OP_DIVIDE_CONSTANT",
        "OP_LESS_CONSTANT",
        "OP_LESS_EQUAL_CONSTANT",
        "OP_GREATER_CONSTANT",
        "OP_GREATER_EQUAL_CONSTANT",
        "OP_POP_JUMP_IF_FALSE",
        "OP_GET_LOCAL_PROPERTY",
        "OP_SET_LOCAL_POP",
        "OP_SET_GLOBAL_POP",
        "OP_SET_PROPERTY_POP",
    ];
}

/// Constants one chunk may hold (their index is one byte).
pub const MAX_CONSTANTS: usize = 256;

/// One function's code: bytes, the line of each byte, and the constant table.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    /// Instructions and operands.
    pub code: Vec<u8>,
    /// `lines[i]` is the source line of `code[i]`.
    pub lines: Vec<u32>,
    /// Numbers, strings and functions the code loads by index.
    pub constants: Vec<Value>,
}

impl Chunk {
    /// Appends one byte from source line `line`.
    pub fn write(&mut self, byte: u8, line: u32) {
        self.code.push(byte);
        self.lines.push(line);
    }

    /// Appends a big-endian `u16`.
    pub fn write_u16(&mut self, value: u16, line: u32) {
        self.write((value >> 8) as u8, line);
        self.write(value as u8, line);
    }

    /// Reads the big-endian `u16` at `offset`.
    pub fn read_u16(&self, offset: usize) -> u16 {
        let high = self.code.get(offset).copied().unwrap_or(0);
        let low = self.code.get(offset + 1).copied().unwrap_or(0);
        u16::from_be_bytes([high, low])
    }
}
