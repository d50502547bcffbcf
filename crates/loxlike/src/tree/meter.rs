//! The tree-walker's memory count, for [`Limits::memory`](crate::Limits::memory).
//!
//! Reference counting frees an object the moment its last reference goes, so the bytes in use
//! are what was made minus what was freed: a metered object adds its size when it is made and
//! takes it away again in its `Drop`. Metered are the objects a program can make without
//! bound: strings built while it runs ([`Text`]), instances and their fields, and closures.
//! Classes, bound methods and captured-variable cells are not (a program cannot pile them up
//! without also making instances or closures), and neither is the value stack, which has a
//! fixed limit of its own.
//!
//! Objects do not know which interpreter made them, so the count is per thread. An
//! interpreter measures from the count at its start: whatever an earlier run on the same
//! thread left behind (cycles are never freed) does not count against it.

use std::cell::Cell;
use std::fmt;
use std::ops::Deref;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    /// The running interpreter's budget: the count at its start, and its limit.
    static BUDGET: Cell<(usize, usize)> = const { Cell::new((0, usize::MAX)) };
}

/// Makes `limit` bytes above `base` the budget of the interpreter about to run on this
/// thread (`None`: no limit).
pub(crate) fn set_budget(base: usize, limit: Option<usize>) {
    BUDGET.with(|budget| budget.set((base, limit.unwrap_or(usize::MAX))));
}

/// Whether `extra` more bytes stay within the budget.
pub(crate) fn fits(extra: usize) -> bool {
    let (base, limit) = BUDGET.with(Cell::get);
    live().saturating_sub(base).saturating_add(extra) <= limit
}

/// Counts `bytes` as made.
pub(crate) fn charge(bytes: usize) {
    LIVE.with(|live| live.set(live.get().saturating_add(bytes)));
}

/// Counts `bytes` as freed.
pub(crate) fn release(bytes: usize) {
    LIVE.with(|live| live.set(live.get().saturating_sub(bytes)));
}

/// Bytes of metered objects alive on this thread.
pub(crate) fn live() -> usize {
    LIVE.with(Cell::get)
}

/// What an `Rc` adds to the object it counts: its strong and weak counts.
pub(crate) const RC_OVERHEAD: usize = 2 * std::mem::size_of::<usize>();

/// A Lox string: a `String` whose bytes are metered.
#[derive(PartialEq, Eq)]
pub struct Text(String);

impl Text {
    pub(crate) fn new(text: String) -> Self {
        charge(Self::size(&text));
        Text(text)
    }

    fn size(text: &String) -> usize {
        std::mem::size_of::<Text>() + text.capacity() + RC_OVERHEAD
    }
}

impl Drop for Text {
    fn drop(&mut self) {
        release(Self::size(&self.0));
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_counts_while_it_lives() {
        let before = live();
        let text = Text::new(String::with_capacity(1000));
        assert!(live() >= before + 1000);
        drop(text);
        assert_eq!(live(), before);
    }
}
