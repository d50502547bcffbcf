//! Instance fields: a short vector searched from a hint, instead of a hash table per instance.
//!
//! clox gives every instance its own hash table. Most instances have a handful of fields,
//! though, and a program reads them through a fixed set of places in its code
//! (`this.left`, `node.value`): the same place tends to find the same name at the same
//! position, because instances of one class get their fields set in the same order. So:
//!
//! - [`Fields`] is a `Vec` of `(name, value)` pairs in the order they were first set. Its
//!   capacity is chosen when the instance is made, from the largest instance of its class so
//!   far, so it is allocated once, right after the instance itself, and a tree of instances
//!   built in order lies in memory in the order a walk visits it.
//! - [`Hints`] remembers, for each property instruction, the position where it last found its
//!   name. A lookup checks that position first and scans only if the guess is wrong. A hint is
//!   only ever a guess that is checked, so two instructions may share one (the table is small
//!   and indexed by the low bits of the instruction's address) without any effect on behaviour.
//!
//! The cost: a miss scans the fields, so an instance with n fields costs O(n) where the hint
//! is wrong. Field names are identifiers written in the program, so n is bounded by the size
//! of the program's source; a hash table per instance would make the common case slower to
//! make that rare one faster.

use super::object::Value;
use crate::syntax::ast::Symbol;

/// An instance's fields, in the order they were first set.
#[derive(Debug, Default)]
pub struct Fields {
    entries: Vec<(Symbol, Value)>,
}

impl Fields {
    /// Room for `capacity` fields, allocated now.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Fields { entries: Vec::with_capacity(capacity) }
    }

    /// Number of fields set.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Slots allocated (for the heap's accounting).
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// The field's values (for the collector).
    pub(crate) fn values(&self) -> impl Iterator<Item = Value> + '_ {
        self.entries.iter().map(|&(_, value)| value)
    }

    /// Where `name` is, trying `*hint` first and updating it after a scan.
    #[inline]
    fn position(&self, name: Symbol, hint: &mut u16) -> Option<usize> {
        let guess = *hint as usize;
        if let Some(&(found, _)) = self.entries.get(guess)
            && found == name
        {
            return Some(guess);
        }
        let position = self.entries.iter().position(|&(found, _)| found == name)?;
        // Positions past u16::MAX are found by scanning every time.
        *hint = u16::try_from(position).unwrap_or(0);
        Some(position)
    }

    /// The value of field `name`, if it is set.
    #[inline]
    pub(crate) fn get(&self, name: Symbol, hint: &mut u16) -> Option<Value> {
        self.position(name, hint).map(|i| self.entries[i].1)
    }

    /// Sets field `name`; returns whether it is a new field.
    #[inline]
    pub(crate) fn set(&mut self, name: Symbol, value: Value, hint: &mut u16) -> bool {
        match self.position(name, hint) {
            Some(i) => {
                self.entries[i].1 = value;
                false
            }
            None => {
                *hint = u16::try_from(self.entries.len()).unwrap_or(0);
                self.entries.push((name, value));
                true
            }
        }
    }
}

/// Number of hints; a power of two.
const HINTS: usize = 4096;

/// Per-instruction position guesses for [`Fields`] lookups; see the module docs.
pub struct Hints(Box<[u16]>);

impl Default for Hints {
    fn default() -> Self {
        Hints(vec![0; HINTS].into_boxed_slice())
    }
}

impl Hints {
    /// The hint of the instruction that ends at code address `ip`.
    #[inline]
    pub(crate) fn at(&mut self, ip: usize) -> &mut u16 {
        &mut self.0[ip & (HINTS - 1)]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_wrong_hint_still_finds_the_field_and_is_corrected() {
        let mut fields = Fields::default();
        let mut hint = 0;
        assert!(fields.set(7, Value::number(1.0), &mut hint));
        assert!(fields.set(9, Value::number(2.0), &mut hint));
        assert_eq!(hint, 1);
        let mut wrong = 0;
        assert_eq!(fields.get(9, &mut wrong), Some(Value::number(2.0)));
        assert_eq!(wrong, 1);
        assert!(!fields.set(7, Value::TRUE, &mut wrong));
        assert_eq!(wrong, 0);
        assert_eq!(fields.get(7, &mut 500), Some(Value::TRUE));
        assert_eq!(fields.get(8, &mut 0), None);
        assert_eq!(fields.len(), 2);
    }
}
