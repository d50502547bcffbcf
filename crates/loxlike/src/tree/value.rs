//! The tree-walker's values and objects (jlox's chapter 8 to 13 classes).
//!
//! Memory is reference counted: a value that holds an object holds an `Rc`. That is enough
//! for everything but cycles (a closure stored in a variable it closes over, an instance that
//! refers to itself), which are never freed. jlox leans on the JVM's collector here; the
//! bytecode VM has a real one, and is the engine to embed where that matters.
//!
//! A [`Value`] is two words: a whole-word tag and either a number or one thin pointer. A
//! string is therefore an `Rc<Text>`, a metered `String` (an `Rc<str>` would be a fat pointer and make every
//! value three words). The tag is a whole word (`repr(u64)`) because values are moved all the
//! time, through every `Result` that `evaluate` returns: with a one-byte tag, a move read
//! bytes that the callee had just written one byte at a time, and each such read waited for
//! those stores to reach the cache (a failed store-to-load forward). That wait was half the
//! time of a call-heavy program such as `fib.lox` (4.96 s against 2.46 s).

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use super::meter::{self, RC_OVERHEAD, Text};
use super::node::FunctionDef;
use crate::syntax::ast::Symbol;

type Map<V> = hashbrown::HashMap<Symbol, V, foldhash::fast::FixedState>;

/// A Lox value in the tree-walker.
#[derive(Clone)]
#[repr(u64)]
pub enum Value {
    /// `nil`
    Nil,
    /// `true` or `false`
    Bool(bool),
    /// A double.
    Number(f64),
    /// An immutable string.
    Str(Rc<Text>),
    /// A user function (a closure).
    Function(Rc<Closure>),
    /// A method bound to the instance it was read from.
    BoundMethod(Rc<BoundMethod>),
    /// A function implemented in Rust.
    Native(Rc<Native>),
    /// A class (also callable: it constructs instances).
    Class(Rc<Class>),
    /// An instance of a class.
    Instance(Rc<Instance>),
}

// Two words, and a `Result` of one is still two (see the module docs).
const _: () = assert!(std::mem::size_of::<Value>() == 16);

impl Value {
    /// Lox truthiness: only `nil` and `false` are false.
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// Lox `==`: numbers by IEEE equality (so `nan != nan`), strings by content, objects by
    /// identity.
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => Rc::ptr_eq(a, b) || a == b,
            (Value::Function(a), Value::Function(b)) => Rc::ptr_eq(a, b),
            (Value::BoundMethod(a), Value::BoundMethod(b)) => Rc::ptr_eq(a, b),
            (Value::Native(a), Value::Native(b)) => Rc::ptr_eq(a, b),
            (Value::Class(a), Value::Class(b)) => Rc::ptr_eq(a, b),
            (Value::Instance(a), Value::Instance(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    /// jlox's `stringify`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&crate::number::jlox(*n)),
            Value::Str(s) => f.write_str(s),
            Value::Function(closure) => write!(f, "<fn {}>", closure.def.name),
            Value::BoundMethod(bound) => write!(f, "<fn {}>", bound.method.def.name),
            Value::Native(_) => f.write_str("<native fn>"),
            Value::Class(class) => f.write_str(&class.name),
            Value::Instance(instance) => write!(f, "{} instance", instance.class.name),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            other => write!(f, "{other}"),
        }
    }
}

/// A variable that a closure captured: the declaring function and every closure that uses
/// it share it (jlox shares the whole environment instead).
pub(crate) type Cell = Rc<RefCell<Value>>;

/// A function value: the lowered declaration plus the variables it captured, in the order
/// of the lowered function's capture list.
pub struct Closure {
    pub(crate) def: Rc<FunctionDef>,
    pub(crate) captured: Box<[Cell]>,
}

/// `instance.method` read as a value: the method and its `this`.
pub struct BoundMethod {
    pub(crate) receiver: Value,
    pub(crate) method: Rc<Closure>,
}

impl Closure {
    /// A closure of `def` with these captured cells, metered.
    pub(crate) fn new(def: Rc<FunctionDef>, captured: Box<[Cell]>) -> Self {
        let closure = Closure { def, captured };
        meter::charge(closure.size());
        closure
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Closure>() + RC_OVERHEAD + std::mem::size_of_val(&*self.captured)
    }
}

impl Drop for Closure {
    fn drop(&mut self) {
        meter::release(self.size());
        if self.captured.iter().any(|cell| Rc::strong_count(cell) == 1) {
            drop_bounded(std::mem::take(&mut self.captured));
        }
    }
}

/// A native function: a name, an arity and the Rust code.
pub struct Native {
    pub(crate) arity: u8,
    #[allow(clippy::type_complexity)]
    pub(crate) function: Box<dyn Fn(&[Value]) -> Result<Value, String>>,
}

/// A class: its name and its methods, inherited ones included.
///
/// A class's methods never change after its declaration ran, and neither do its
/// superclass's, so the superclass's methods are copied in when the class is made (clox's
/// "copy-down inheritance"): a method is one table lookup away, however deep the hierarchy.
pub struct Class {
    pub(crate) name: Rc<str>,
    pub(crate) methods: Map<Rc<Closure>>,
    /// The `init` method, if the class or a superclass has one.
    pub(crate) init: Option<Rc<Closure>>,
    /// The most fields an instance of the class has had: new instances reserve that many.
    pub(crate) fields_seen: std::cell::Cell<usize>,
}

impl Class {
    /// A class with these methods (inherited ones included); `init` is the initializer's
    /// name.
    pub(crate) fn new(name: Rc<str>, methods: Map<Rc<Closure>>, init: Symbol) -> Self {
        let init = methods.get(&init).cloned();
        Class { name, methods, init, fields_seen: std::cell::Cell::new(0) }
    }

    /// The method `name`, inherited or not.
    pub(crate) fn find_method(&self, name: Symbol) -> Option<&Rc<Closure>> {
        self.methods.get(&name)
    }
}

/// An instance: its class and its fields.
pub struct Instance {
    pub(crate) class: Rc<Class>,
    pub(crate) fields: RefCell<Fields>,
    /// The bytes counted for it in the memory meter, fields included.
    metered: std::cell::Cell<usize>,
}

impl Instance {
    pub(crate) fn new(class: Rc<Class>) -> Self {
        let fields = Fields::with_capacity(class.fields_seen.get());
        let size = std::mem::size_of::<Instance>() + RC_OVERHEAD + fields.heap_size();
        meter::charge(size);
        Instance { class, fields: RefCell::new(fields), metered: std::cell::Cell::new(size) }
    }

    /// Sets a field (Lox never removes one).
    pub(crate) fn set(&self, name: Symbol, value: Value) {
        let mut fields = self.fields.borrow_mut();
        fields.set(name, value);
        // The next instance of the class starts with room for as many fields.
        let seen = &self.class.fields_seen;
        seen.set(seen.get().max(fields.len()));
        let size = std::mem::size_of::<Instance>() + RC_OVERHEAD + fields.heap_size();
        if size > self.metered.get() {
            meter::charge(size - self.metered.get());
            self.metered.set(size);
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        meter::release(self.metered.get());
        let fields = &mut self.fields.get_mut().list;
        if fields.iter().any(|(_, value)| value.owns_last_reference()) {
            drop_bounded(std::mem::take(fields));
        }
    }
}

impl Value {
    /// Whether dropping this value frees an object that holds other values, so that the
    /// drop may go on into them.
    fn owns_last_reference(&self) -> bool {
        match self {
            Value::Function(object) => Rc::strong_count(object) == 1,
            Value::BoundMethod(object) => Rc::strong_count(object) == 1,
            Value::Class(object) => Rc::strong_count(object) == 1,
            Value::Instance(object) => Rc::strong_count(object) == 1,
            Value::Nil | Value::Bool(_) | Value::Number(_) | Value::Str(_) | Value::Native(_) => {
                false
            }
        }
    }
}

/// Nested drops deeper than this are deferred (see [`drop_bounded`]).
const MAX_DROP_DEPTH: usize = 10_000;

thread_local! {
    static DROP_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static DEFERRED: RefCell<Vec<Box<dyn std::any::Any>>> = const { RefCell::new(Vec::new()) };
}

/// Drops what an instance or closure held without recursing without bound (only called when
/// the drop may cascade: most instances hold numbers, strings and shared objects).
///
/// Dropping the head of a linked list of twenty million instances drops the second from
/// inside the first's drop, and so on: a recursion that overflows any native stack. So drops
/// nest normally up to [`MAX_DROP_DEPTH`] levels; deeper ones are parked, and the outermost
/// drop frees the parked ones one by one, each again with the full depth available.
fn drop_bounded<T: 'static>(children: T) {
    let depth = DROP_DEPTH.with(|depth| {
        depth.set(depth.get() + 1);
        depth.get()
    });
    if depth > MAX_DROP_DEPTH {
        DEFERRED.with(|deferred| deferred.borrow_mut().push(Box::new(children)));
    } else {
        drop(children);
    }
    if depth == 1 {
        while let Some(parked) = DEFERRED.with(|deferred| deferred.borrow_mut().pop()) {
            drop(parked);
        }
    }
    DROP_DEPTH.with(|depth| depth.set(depth.get() - 1));
}

/// An instance's fields: a short list searched in order, since most classes have a handful,
/// and past [`Fields::INDEXED_FROM`] fields also a hash index, so that a program that gives
/// one instance thousands of fields does not search thousands of entries per access.
pub(crate) struct Fields {
    list: Vec<(Symbol, Value)>,
    /// Symbol to position in `list`; empty while the list is short.
    index: Map<u32>,
}

impl Fields {
    const INDEXED_FROM: usize = 16;

    fn with_capacity(capacity: usize) -> Self {
        Fields { list: Vec::with_capacity(capacity), index: Map::default() }
    }

    fn len(&self) -> usize {
        self.list.len()
    }

    /// Bytes allocated for the list and the index (the index's entries approximately).
    fn heap_size(&self) -> usize {
        self.list.capacity() * std::mem::size_of::<(Symbol, Value)>()
            + self.index.capacity() * (std::mem::size_of::<(Symbol, u32)>() + 1)
    }

    fn position(&self, name: Symbol) -> Option<usize> {
        if self.index.is_empty() {
            self.list.iter().position(|(field, _)| *field == name)
        } else {
            self.index.get(&name).map(|&at| at as usize)
        }
    }

    /// The field `name`, if the instance has it.
    pub(crate) fn get(&self, name: Symbol) -> Option<&Value> {
        self.position(name).map(|at| &self.list[at].1)
    }

    fn set(&mut self, name: Symbol, value: Value) {
        if let Some(at) = self.position(name) {
            self.list[at].1 = value;
            return;
        }
        self.list.push((name, value));
        if self.list.len() == Self::INDEXED_FROM {
            self.index =
                self.list.iter().enumerate().map(|(at, (field, _))| (*field, at as u32)).collect();
        } else if self.list.len() > Self::INDEXED_FROM {
            self.index.insert(name, (self.list.len() - 1) as u32);
        }
    }
}
