//! The code space: every loaded function's bytecode, back to back in one fixed-size array.
//!
//! The compiler gives each function its own [`Chunk`](super::chunk::Chunk). Before a program
//! runs, the VM copies the new functions' code here, and from then on an instruction's
//! address (`ip`) is its position in this array, whichever function it belongs to.
//!
//! Why one array of a fixed size: the dispatch loop reads an opcode for every instruction it
//! runs. From a slice, each read carries a bounds check: a compare against the slice's
//! length (which the loop has no register left to keep, so it is read from memory) and a
//! branch, ahead of the indirect jump that dispatches. Here the array's size is a power of
//! two known to the compiler, and every read masks its index with [`CODE_MASK`], so the
//! optimiser can see that no index is out of bounds and emits a single `and`. Dropping the
//! check that way made `fib.lox` about 20% faster. A wrong index can only ever read other
//! code or zeroes, never outside the array, and the compiler's own invariants (every
//! function ends with `RETURN`, jumps land on instructions) keep it from doing even that.
//!
//! The price: [`CODE_BYTES`] of address space per VM. It is allocated zeroed, so the
//! operating system hands out pages only as code is copied into them; a program uses as
//! many pages as its bytecode fills.

/// Bytes of code a VM can hold, over every program it loads (a REPL's too). A power of two.
pub const CODE_BYTES: usize = 1 << 24;

/// An index masked with this is inside the code space.
pub const CODE_MASK: usize = CODE_BYTES - 1;

/// Zero bytes after the last usable one, so that an instruction's operands can be read
/// without a check once its opcode's address is masked: no instruction's fixed operands are
/// longer than this.
pub const CODE_PADDING: usize = 16;

/// The array itself.
pub type Code = [u8; CODE_BYTES + CODE_PADDING];

/// The code space and how much of it is used.
#[derive(Clone)]
pub struct CodeSpace {
    bytes: Box<Code>,
    used: usize,
}

impl Default for CodeSpace {
    fn default() -> Self {
        let bytes = match vec![0u8; CODE_BYTES + CODE_PADDING].into_boxed_slice().try_into() {
            Ok(bytes) => bytes,
            Err(_) => unreachable!("the vector has the array's length"),
        };
        CodeSpace { bytes, used: 0 }
    }
}

impl CodeSpace {
    /// The whole array, for the loop to read under [`CODE_MASK`].
    pub fn bytes(&self) -> &Code {
        &self.bytes
    }

    /// Bytes not yet used.
    pub fn free(&self) -> usize {
        CODE_BYTES - self.used
    }

    /// Copies `code` after what is loaded and returns where it starts, or `None` if it does
    /// not fit.
    pub fn load(&mut self, code: &[u8]) -> Option<usize> {
        let start = self.used;
        let end = start.checked_add(code.len()).filter(|&end| end <= CODE_BYTES)?;
        self.bytes[start..end].copy_from_slice(code);
        self.used = end;
        Some(start)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn functions_are_loaded_back_to_back_until_the_space_is_full() {
        let mut space = CodeSpace::default();
        assert_eq!(space.load(&[1, 2, 3]), Some(0));
        assert_eq!(space.load(&[4]), Some(3));
        assert_eq!(&space.bytes()[..5], &[1, 2, 3, 4, 0]);
        let rest = vec![7u8; CODE_BYTES - 4];
        assert_eq!(space.load(&rest), Some(4));
        assert_eq!(space.load(&[9]), None);
        assert_eq!(space.load(&[]), Some(CODE_BYTES));
    }
}
