//! The VM's values and heap objects (clox's chapters 18, 19, 24 to 28 and 30).
//!
//! A [`Value`] is 8 bytes and `Copy`, NaN-boxed: a number, a boolean, `nil`, or a reference to
//! a heap object. References are indices into the [`Heap`](super::heap::Heap)'s object table, not
//! pointers, which keeps the VM free of `unsafe` and makes the collector's job a walk over
//! indices. Strings are interned, so two strings are equal exactly when their references are.

use std::rc::Rc;

use super::chunk::Chunk;
use super::fields::Fields;
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

/// A compiled function: its index in the VM's function table, which only grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionId(pub(crate) u32);

impl FunctionId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A Lox value in the VM, NaN-boxed into 64 bits (clox's chapter 30).
///
/// A double has 2^52 - 1 ways to be a quiet NaN, and arithmetic only ever produces one of
/// them. Every bit pattern that is *not* a quiet NaN with all of `0x7ffc_0000_0000_0000` set is the
/// number it spells; the patterns that are carry a tag in their low bits instead:
///
/// | bits 63..50       | bits 49..32 | bits 31..0         | value            |
/// |-------------------|-------------|--------------------|------------------|
/// | not `0x7ffc` mask | (any)       | (any)              | the double       |
/// | `0x7ffc`          | 0           | 1 / 2 / 3          | nil, false, true |
/// | `0x7ffc`          | 0           | 4                  | (no value: an undefined global's slot) |
/// | `0xfffc`          | 0           | object index       | heap object      |
///
/// Numbers compare as floats (so `nan != nan`); everything else compares by bits, which for
/// interned strings is equality of content. The only NaN a Lox program can hold is the one
/// arithmetic produces (`0/0`), whose bits are not tagged; NaNs a host function returns are
/// made canonical on the way in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Value(u64);

/// The quiet-NaN bits that, all set, mark a tagged (non-number) value.
const QNAN: u64 = 0x7ffc_0000_0000_0000;
/// Set, with [`QNAN`], on object references.
const SIGN: u64 = 0x8000_0000_0000_0000;
const TAG_NIL: u64 = 1;
const TAG_FALSE: u64 = 2;
const TAG_TRUE: u64 = 3;
const TAG_UNDEFINED: u64 = 4;

/// A [`Value`] taken apart, for code that handles every kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
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
    /// `nil`
    pub const NIL: Value = Value(QNAN | TAG_NIL);
    /// `false`
    pub const FALSE: Value = Value(QNAN | TAG_FALSE);
    /// `true`
    pub const TRUE: Value = Value(QNAN | TAG_TRUE);
    /// Not a Lox value: marks a global slot whose name was never defined. It lives only in the
    /// VM's table of globals, which never hands it out.
    pub(crate) const UNDEFINED: Value = Value(QNAN | TAG_UNDEFINED);

    /// A number. A NaN must be the canonical one (see the type's docs).
    #[inline]
    pub fn number(n: f64) -> Value {
        Value(n.to_bits())
    }

    /// A boolean.
    #[inline]
    pub fn bool(b: bool) -> Value {
        if b { Value::TRUE } else { Value::FALSE }
    }

    /// A reference to a heap object.
    #[inline]
    pub fn obj(r: ObjRef) -> Value {
        Value(SIGN | QNAN | u64::from(r.0))
    }

    /// The value whose bits are `bits` (as [`Value::to_bits`] gave them).
    #[inline(always)]
    pub(crate) fn from_bits(bits: u64) -> Value {
        Value(bits)
    }

    /// The value's 64 bits.
    #[inline(always)]
    pub(crate) fn to_bits(self) -> u64 {
        self.0
    }

    /// The number, if this is one.
    #[inline]
    pub fn as_number(self) -> Option<f64> {
        ((self.0 & QNAN) != QNAN).then(|| f64::from_bits(self.0))
    }

    /// The object reference, if this is one.
    #[inline]
    pub fn as_obj(self) -> Option<ObjRef> {
        ((self.0 & (SIGN | QNAN)) == (SIGN | QNAN)).then_some(ObjRef(self.0 as u32))
    }

    /// This value taken apart.
    pub fn kind(self) -> Kind {
        if let Some(n) = self.as_number() {
            Kind::Number(n)
        } else if let Some(r) = self.as_obj() {
            Kind::Obj(r)
        } else {
            match self.0 & 3 {
                TAG_FALSE => Kind::Bool(false),
                TAG_TRUE => Kind::Bool(true),
                _ => Kind::Nil,
            }
        }
    }

    /// Lox truthiness: only `nil` and `false` are false.
    #[inline]
    pub fn is_falsey(self) -> bool {
        self == Value::NIL || self == Value::FALSE
    }

    /// Lox `==`. Numbers compare as floats (so `nan != nan`); everything else by identity,
    /// which for interned strings is equality of content.
    #[inline]
    pub fn equals(self, other: Value) -> bool {
        match (self.as_number(), other.as_number()) {
            (Some(a), Some(b)) => a == b,
            _ => self.0 == other.0,
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind().fmt(f)
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
#[derive(Debug, Clone, Default)]
pub struct Function {
    /// The name, or `None` for the top-level script.
    pub name: Option<Rc<str>>,
    /// Number of parameters.
    pub arity: u8,
    /// Number of upvalues its closures capture.
    pub upvalue_count: u8,
    /// The code.
    pub chunk: Chunk,
    /// Where the VM copied the code to in its code space (see `vm::code`); 0 until then.
    pub(crate) code_start: usize,
}

/// A function value: a function and the variables it captured.
#[derive(Debug)]
pub struct Closure {
    pub(crate) function: FunctionId,
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
    /// The most fields any instance of this class has had (up to [`FIELD_CAPACITY_HINT`]):
    /// new instances allocate room for that many at once.
    pub(crate) field_capacity: usize,
}

/// The most field slots a new instance allocates before it needs them.
pub(crate) const FIELD_CAPACITY_HINT: usize = 32;

/// An instance: its class and fields.
#[derive(Debug)]
pub struct Instance {
    pub(crate) class: ObjRef,
    /// Whether a field has the name of one of the class's methods. Methods are all in place
    /// before the first instance exists, so this is decided when a field is added, and a
    /// method call on an instance without such a field need not search its fields.
    pub(crate) shadows_method: bool,
    pub(crate) fields: Fields,
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
    /// A compiled function, as the constant a `CLOSURE` instruction names (programs only
    /// ever see closures). The code itself is in the VM's function table.
    Function(FunctionId),
    /// A Rust function.
    Native(Native),
    /// A function value.
    Closure(Closure),
    /// A captured variable.
    Upvalue(Upvalue),
    /// A class (boxed: classes are few and large, and every object slot is as big as the
    /// largest variant).
    Class(Box<Class>),
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
            Object::Function(_)
            | Object::Native(_)
            | Object::Upvalue(_)
            | Object::BoundMethod(_) => 0,
            Object::Closure(c) => c.upvalues.len() * 4,
            Object::Class(c) => std::mem::size_of::<Class>() + c.methods.capacity() * 16,
            Object::Instance(i) => i.fields.capacity() * 16,
        }
    }

    pub(crate) fn new_class(name: Rc<str>) -> Object {
        let class = Class { name, methods: Map::default(), initializer: None, field_capacity: 0 };
        Object::Class(Box::new(class))
    }

    pub(crate) fn new_instance(class: ObjRef, field_capacity: usize) -> Object {
        let fields = Fields::with_capacity(field_capacity);
        Object::Instance(Instance { class, shadows_method: false, fields })
    }
}
