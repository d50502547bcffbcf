//! What a key holds: [`Value`], and [`Str`], the compact byte string used for keys and
//! string values.
//!
//! A value is one of Redis's types. Aggregates are boxed so that the common case, a short
//! string, keeps [`Value`] at 24 bytes; an aggregate that becomes empty is deleted with its key
//! by the command that emptied it, so no key ever holds an empty list, set, hash or sorted set.
//! (A stream is the exception, as in Redis: it keeps its last ID and groups when empty.)
//!
//! A keyspace of small strings is mostly per-key overhead, so [`Str`] is 24 bytes and keeps up
//! to 22 bytes inline (no allocation at all for the typical key or counter). Longer strings live
//! in a boxed slice sized exactly; a string that is appended to or overwritten in place moves to
//! a growable buffer, so a loop of `APPEND`s is amortised O(1) per byte, like Redis's `sds`.
//!
//! Keys and values arriving from the network are *copied* into a [`Str`]: keeping the
//! [`bytes::Bytes`] the parser produced would pin the whole read buffer it was cut from.

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::hash::Hasher;

use super::dict::Dict;
use super::stream::Stream;
use super::zset::SortedSet;

/// The longest string stored inline.
const INLINE: usize = 22;

/// A byte string of any length, inline when short.
#[derive(Clone)]
pub(crate) enum Str {
    /// Up to [`INLINE`] bytes, stored in place.
    Inline {
        /// How many bytes of `data` are used.
        len: u8,
        /// The bytes.
        data: [u8; INLINE],
    },
    /// A longer string, exactly sized.
    Boxed(Box<[u8]>),
    /// A string that has been modified in place, with room to grow.
    #[allow(
        clippy::box_collection,
        reason = "a boxed Vec is 8 bytes; a Vec would make every Str 32"
    )]
    Growable(Box<Vec<u8>>),
}

impl Str {
    /// A copy of `bytes`.
    pub(crate) fn new(bytes: &[u8]) -> Str {
        if bytes.len() <= INLINE {
            let mut data = [0; INLINE];
            data[..bytes.len()].copy_from_slice(bytes);
            Str::Inline { len: bytes.len() as u8, data }
        } else {
            Str::Boxed(bytes.into())
        }
    }

    /// The bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Str::Inline { len, data } => &data[..*len as usize],
            Str::Boxed(bytes) => bytes,
            Str::Growable(bytes) => bytes,
        }
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// The bytes as a buffer that can grow, converting the representation if needed.
    pub(crate) fn make_growable(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Str::Growable(_)) {
            *self = Str::Growable(Box::new(self.as_bytes().to_vec()));
        }
        match self {
            Str::Growable(bytes) => bytes,
            _ => unreachable!("converted just above"),
        }
    }
}

impl From<&[u8]> for Str {
    fn from(bytes: &[u8]) -> Str {
        Str::new(bytes)
    }
}

impl Borrow<[u8]> for Str {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Str {}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Str) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

// Must hash exactly as `[u8]` does, so that lookups by `&[u8]` find it.
impl std::hash::Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// A list: a double-ended queue, so that pushes and pops at both ends are O(1) and `LINDEX`
/// is O(1) too (Redis's quicklist makes it O(n)).
pub(crate) type List = VecDeque<Str>;

/// The bytes a string keeps outside its 24 inline bytes.
fn heap_bytes(s: &Str) -> usize {
    match s {
        Str::Inline { .. } => 0,
        Str::Boxed(bytes) => bytes.len(),
        Str::Growable(bytes) => bytes.capacity() + size_of::<Vec<u8>>(),
    }
}

/// A hash: field to value.
pub(crate) type Hash = Dict<Str, Str>;

/// A set of members.
pub(crate) type Set = Dict<Str, ()>;

/// The value of a key.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// A string (Redis also keeps integers here, as their decimal text).
    Str(Str),
    /// A list, never empty.
    List(Box<List>),
    /// A hash, never empty.
    Hash(Box<Hash>),
    /// A set, never empty.
    Set(Box<Set>),
    /// A sorted set, never empty.
    ZSet(Box<SortedSet>),
    /// A stream; unlike the other aggregates it may be empty (`XDEL` and `XTRIM` keep the
    /// key, with its last ID and groups).
    Stream(Box<Stream>),
}

impl Value {
    /// The name `TYPE` replies with.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// About how many bytes the value takes: its elements, plus a fixed cost per element for
    /// the table or queue slot holding it (`MEMORY USAGE`).
    pub(crate) fn approx_bytes(&self) -> usize {
        const SLOT: usize = 32;
        let size = size_of::<Value>();
        match self {
            Value::Str(s) => size + heap_bytes(s),
            Value::List(list) => size + list.iter().map(|e| SLOT + heap_bytes(e)).sum::<usize>(),
            Value::Hash(hash) => {
                size + hash.iter().map(|(f, v)| SLOT + heap_bytes(f) + heap_bytes(v)).sum::<usize>()
            }
            Value::Set(set) => size + set.keys().map(|m| SLOT + heap_bytes(m)).sum::<usize>(),
            // Each member is in the table and in a skip-list node (with about 1.33 links).
            Value::ZSet(zset) => {
                size + zset.iter().map(|(m, _)| 3 * SLOT + 2 * heap_bytes(m)).sum::<usize>()
            }
            Value::Stream(stream) => size + stream.approx_bytes(),
        }
    }
}

/// A key holds a value of another type than the command works on (`WRONGTYPE`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct WrongType;

/// A type a key can hold, so that commands can ask the keyspace for "the list at `key`" and get
/// `WRONGTYPE` handled in one place ([`Db::get`](super::db::Db::get)).
pub(crate) trait Kind: Sized {
    /// The value as this type, if it is one.
    fn of(value: &Value) -> Option<&Self>;
    /// The value as this type, to change in place.
    fn of_mut(value: &mut Value) -> Option<&mut Self>;
    /// An empty value of this type, to store under a key that is being created.
    fn new_value() -> Value;
}

/// Implements [`Kind`] for the type held by one variant of [`Value`].
macro_rules! kind {
    ($type:ty, $variant:ident, $empty:expr) => {
        impl Kind for $type {
            fn of(value: &Value) -> Option<&$type> {
                match value {
                    Value::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
            fn of_mut(value: &mut Value) -> Option<&mut $type> {
                match value {
                    Value::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
            fn new_value() -> Value {
                Value::$variant($empty)
            }
        }
    };
}

kind!(Str, Str, Str::new(b""));
kind!(List, List, Box::default());
kind!(Hash, Hash, Box::default());
kind!(Set, Set, Box::default());
kind!(SortedSet, ZSet, Box::default());
kind!(Stream, Stream, Box::default());

#[cfg(test)]
mod tests {
    use super::{Str, Value};

    #[test]
    fn sizes_stay_small() {
        assert_eq!(size_of::<Str>(), 24);
        assert_eq!(size_of::<Value>(), 24);
    }

    #[test]
    fn every_representation_compares_by_bytes() {
        let short = Str::new(b"abc");
        let long = Str::new(&[7; 40]);
        let mut grown = Str::new(b"ab");
        grown.make_growable().push(b'c');
        assert_eq!(short, grown);
        assert_eq!(long.len(), 40);
        assert!(matches!(long, Str::Boxed(_)));
        assert_eq!(Str::new(&[1; 22]).len(), 22);
        assert!(matches!(Str::new(&[1; 22]), Str::Inline { .. }));
    }
}
