//! The tree-walker's values, environments and callables (jlox's chapter 8 to 13 classes).
//!
//! Memory is reference counted: a value that holds an object holds an `Rc`. That is enough
//! for everything but cycles (a closure stored in a variable of the environment it closes
//! over, an instance that refers to itself), which are never freed. jlox leans on the JVM's
//! collector here; the bytecode VM has a real one, and is the engine to embed where that
//! matters.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use crate::syntax::ast::{Function, Symbol};

type Map<V> = hashbrown::HashMap<Symbol, V, foldhash::fast::FixedState>;

/// A Lox value in the tree-walker.
#[derive(Clone)]
pub enum Value {
    /// `nil`
    Nil,
    /// `true` or `false`
    Bool(bool),
    /// A double.
    Number(f64),
    /// An immutable string.
    Str(Rc<str>),
    /// A user function, possibly a method bound to `this`.
    Function(Rc<Closure>),
    /// A function implemented in Rust.
    Native(Rc<Native>),
    /// A class (also callable: it constructs instances).
    Class(Rc<Class>),
    /// An instance of a class.
    Instance(Rc<Instance>),
}

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
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Function(a), Value::Function(b)) => Rc::ptr_eq(a, b),
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
            Value::Function(closure) => write!(f, "<fn {}>", closure.name),
            Value::Native(_) => f.write_str("<native fn>"),
            Value::Class(class) => f.write_str(&class.name),
            Value::Instance(instance) => write!(f, "{} instance", instance.class.name),
        }
    }
}

/// One scope's variables, found by position; the parser resolved every use to
/// `(hops, index)`.
pub struct Environment {
    pub(crate) values: RefCell<Vec<Value>>,
    pub(crate) enclosing: Option<Env>,
}

/// A shared environment.
pub(crate) type Env = Rc<Environment>;

impl Environment {
    pub(crate) fn new(size: usize, enclosing: Option<Env>) -> Env {
        Rc::new(Environment { values: RefCell::new(Vec::with_capacity(size)), enclosing })
    }

    /// The environment `hops` levels out.
    pub(crate) fn ancestor(env: &Env, hops: u16) -> &Env {
        let mut env = env;
        for _ in 0..hops {
            // The resolver counted exactly the scopes that exist at run time.
            match &env.enclosing {
                Some(outer) => env = outer,
                None => break,
            }
        }
        env
    }
}

/// A function value: the declaration plus the environment it closes over.
pub struct Closure {
    pub(crate) name: Rc<str>,
    pub(crate) declaration: std::sync::Arc<Function>,
    pub(crate) closure: Env,
}

/// A native function: a name, an arity and the Rust code.
pub struct Native {
    pub(crate) arity: u8,
    #[allow(clippy::type_complexity)]
    pub(crate) function: Box<dyn Fn(&[Value]) -> Result<Value, String>>,
}

/// A class: its name, superclass and methods.
pub struct Class {
    pub(crate) name: Rc<str>,
    pub(crate) superclass: Option<Rc<Class>>,
    pub(crate) methods: Map<Rc<Closure>>,
    pub(crate) init: Symbol,
}

impl Class {
    /// The method `name`, looked up through the superclass chain.
    pub(crate) fn find_method(&self, name: Symbol) -> Option<&Rc<Closure>> {
        let mut class = self;
        loop {
            if let Some(method) = class.methods.get(&name) {
                return Some(method);
            }
            class = class.superclass.as_deref()?;
        }
    }

    pub(crate) fn arity(&self) -> u8 {
        self.find_method(self.init).map_or(0, |init| init.declaration.arity)
    }
}

/// An instance: its class and its fields.
pub struct Instance {
    pub(crate) class: Rc<Class>,
    pub(crate) fields: RefCell<Map<Value>>,
}

impl Instance {
    pub(crate) fn new(class: Rc<Class>) -> Self {
        Instance { class, fields: RefCell::new(Map::default()) }
    }
}
