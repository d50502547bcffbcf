//! A method cache: `(class, name) → method`, so that a call like `node.walk()` skips the
//! class's hash table.
//!
//! clox looks every invoked method up in the class's table. A program calls a fixed set of
//! names on a handful of classes, so almost every lookup repeats an earlier one. The cache is
//! a direct-mapped table indexed by a hash of the class's reference and the name; an entry
//! answers only if both match, so two pairs that share an entry cost a table lookup, never a
//! wrong method.
//!
//! Why the entries stay true:
//! - a class's methods are all in place before any instance of it exists (a class declaration
//!   adds them right after creating the class, and no Lox code runs in between), so a method
//!   found once is the method for as long as the class lives;
//! - a class's reference is reused only after the collector freed it, and the VM clears the
//!   cache after every collection that freed a class.

use super::object::{FunctionId, ObjRef};
use crate::syntax::ast::Symbol;

/// Entries; a power of two.
const ENTRIES: usize = 1024;

/// A method found for `(class, name)`: its closure and that closure's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    /// The closure to call.
    pub closure: ObjRef,
    /// Its function, so that a call needs no look at the closure.
    pub function: FunctionId,
}

#[derive(Clone, Copy)]
struct Entry {
    class: ObjRef,
    name: Symbol,
    method: Method,
}

/// The cache; see the module docs. Its entries are allocated by the first insertion, so a
/// program that never calls a method pays nothing for it at start-up.
#[derive(Default)]
pub struct MethodCache(Vec<Option<Entry>>);

impl MethodCache {
    #[inline]
    fn index(class: ObjRef, name: Symbol) -> usize {
        (class.0 ^ name.wrapping_mul(0x9e37_79b9)) as usize & (ENTRIES - 1)
    }

    /// The method cached for `name` on `class`, if any.
    #[inline]
    pub(crate) fn get(&self, class: ObjRef, name: Symbol) -> Option<Method> {
        match self.0.get(Self::index(class, name)) {
            Some(&Some(entry)) if entry.class == class && entry.name == name => Some(entry.method),
            _ => None,
        }
    }

    /// Remembers `method` for `name` on `class`, replacing whatever shared its entry.
    pub(crate) fn insert(&mut self, class: ObjRef, name: Symbol, method: Method) {
        if self.0.is_empty() {
            self.0.resize(ENTRIES, None);
        }
        self.0[Self::index(class, name)] = Some(Entry { class, name, method });
    }

    /// Forgets everything: some class reference may now name another class.
    pub(crate) fn clear(&mut self) {
        self.0.fill(None);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn an_entry_answers_only_for_its_own_class_and_name() {
        let mut cache = MethodCache::default();
        let method = Method { closure: ObjRef(5), function: FunctionId(2) };
        cache.insert(ObjRef(1), 7, method);
        assert_eq!(cache.get(ObjRef(1), 7), Some(method));
        assert_eq!(cache.get(ObjRef(2), 7), None);
        assert_eq!(cache.get(ObjRef(1), 8), None);
        // A pair that maps to the same entry replaces it, and the first pair then misses.
        let clash = (0..u32::MAX)
            .find(|&c| {
                c != 1 && MethodCache::index(ObjRef(c), 7) == MethodCache::index(ObjRef(1), 7)
            })
            .map(ObjRef)
            .expect("with 1024 entries, another class shares the entry");
        cache.insert(clash, 7, Method { closure: ObjRef(6), function: FunctionId(3) });
        assert_eq!(cache.get(ObjRef(1), 7), None);
        cache.clear();
        assert_eq!(cache.get(clash, 7), None);
    }
}
