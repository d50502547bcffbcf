//! The VM's values and heap objects (clox's chapters 18, 19, 24 to 28).
//!
//! A [`Value`] is 16 bytes and `Copy`: a number, a boolean, `nil`, or a reference to a heap
//! object. References are indices into the [`Heap`](super::heap::Heap)'s object table, not
//! pointers, which keeps the VM free of `unsafe` and makes the collector's job a walk over
//! indices. Strings are interned, so two strings are equal exactly when their references are.

use std::rc::Rc;

use super::chunk::Chunk;
use crate::HostFn;
use crate::syntax::ast::Symbol;

/// A reference to a heap object: its index in the heap's object table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjRef(pub(crate) u32);

impl ObjRef {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A Lox value in the VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// `nil`
    Nil,
    /// `true` or `false`
    Bool(bool),
    /// A double.
    Number(f64),
    /// A heap object.
    Obj(ObjRef),
}

impl Value {
    /// Lox truthiness: only `nil` and `false` are false.
    pub fn is_falsey(self) -> bool {
        matches!(self, Value::Nil | Value::Bool(false))
    }

    /// Lox `==`. Numbers compare as floats (so `nan != nan`); objects by identity, which for
    /// interned strings is equality of content.
    pub fn equals(self, other: Value) -> bool {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => a == b,
            (a, b) => a == b,
        }
    }
}

type Map<V> = hashbrown::HashMap<Symbol, V, foldhash::fast::FixedState>;

/// An interned string, with its hash cached for the intern table.
#[derive(Debug)]
pub struct LoxString {
    pub(crate) text: Box<str>,
    pub(crate) hash: u64,
}

/// A compiled function: code plus what calling it needs to know.
#[derive(Debug, Default)]
pub struct Function {
    /// The name, or `None` for the top-level script.
    pub name: Option<Rc<str>>,
    /// Number of parameters.
    pub arity: u8,
    /// Number of upvalues its closures capture.
    pub upvalue_count: u8,
    /// The code.
    pub chunk: Chunk,
}

/// A function value: a function and the variables it captured.
#[derive(Debug)]
pub struct Closure {
    pub(crate) function: ObjRef,
    /// The function itself, shared so that a call frame can hold its code without a heap lookup.
    pub(crate) code: Rc<Function>,
    pub(crate) upvalues: Box<[ObjRef]>,
}

/// A captured variable: on the stack while its scope is live, then moved into the upvalue.
#[derive(Debug, Clone, Copy)]
pub enum Upvalue {
    /// Still on the stack, at this absolute slot.
    Open(usize),
    /// Its scope ended; the value lives here now.
    Closed(Value),
}

/// A class: its name and methods (inherited ones are copied in, as clox does).
#[derive(Debug)]
pub struct Class {
    pub(crate) name: Rc<str>,
    pub(crate) methods: Map<Value>,
    /// `init`, cached because every construction looks for it.
    pub(crate) initializer: Option<Value>,
}

/// An instance: its class and fields.
#[derive(Debug)]
pub struct Instance {
    pub(crate) class: ObjRef,
    pub(crate) fields: Map<Value>,
}

/// A method bound to the receiver it was read from.
#[derive(Debug, Clone, Copy)]
pub struct BoundMethod {
    pub(crate) receiver: Value,
    pub(crate) method: ObjRef,
}

/// A function implemented in Rust.
pub enum Native {
    /// `clock()`: seconds since the VM started.
    Clock,
    /// A host function with a fixed arity.
    Host {
        /// Exact number of arguments.
        arity: u8,
        /// The code.
        function: HostFn,
    },
}

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Native::Clock => f.write_str("Clock"),
            Native::Host { arity, .. } => write!(f, "Host({arity})"),
        }
    }
}

/// Everything that lives on the heap.
#[derive(Debug)]
pub enum Object {
    /// An interned string.
    String(LoxString),
    /// A compiled function (only ever seen inside closures at run time).
    Function(Rc<Function>),
    /// A Rust function.
    Native(Native),
    /// A function value.
    Closure(Closure),
    /// A captured variable.
    Upvalue(Upvalue),
    /// A class.
    Class(Class),
    /// An instance.
    Instance(Instance),
    /// A bound method.
    BoundMethod(BoundMethod),
}

impl Object {
    /// Roughly how many bytes this object keeps alive, for the collector's pacing and the
    /// memory limit.
    pub(crate) fn size(&self) -> usize {
        let own = std::mem::size_of::<Object>();
        own + match self {
            Object::String(s) => s.text.len(),
            Object::Function(f) => f.chunk.code.len() * 5 + f.chunk.constants.len() * 16,
            Object::Native(_) | Object::Upvalue(_) | Object::BoundMethod(_) => 0,
            Object::Closure(c) => c.upvalues.len() * 4,
            Object::Class(c) => c.methods.capacity() * 24,
            Object::Instance(i) => i.fields.capacity() * 24,
        }
    }

    pub(crate) fn new_class(name: Rc<str>) -> Object {
        Object::Class(Class { name, methods: Map::default(), initializer: None })
    }

    pub(crate) fn new_instance(class: ObjRef) -> Object {
        Object::Instance(Instance { class, fields: Map::default() })
    }
}
