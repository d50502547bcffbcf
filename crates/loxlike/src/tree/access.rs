//! Where a variable lives, and reading and writing it there: a slot of the running frame, a
//! cell shared with closures (the frame's own or one its closure captured), or a global.
//! Lowering decided which for every name, so none of this looks a name up.

use std::cell::RefCell;
use std::rc::Rc;

use super::node::Access;
use super::value::{Cell, Value};
use super::{Exec, Interpreter, error};
use crate::RuntimeError;
use crate::syntax::ast::Symbol;

impl Interpreter<'_> {
    /// A declaration's first value: a slot is overwritten, a cell is made anew (a closure
    /// made before keeps the old one, as it kept the old environment in jlox).
    pub(super) fn define(&mut self, home: Access, value: Value) {
        match home {
            Access::Slot(slot) => {
                if let Some(slot) = self.slot_mut(slot) {
                    *slot = value;
                }
            }
            Access::Cell(cell) => {
                if let Some(cell) = self.cells.get_mut(self.frame.cell_base + cell as usize) {
                    *cell = Some(Rc::new(RefCell::new(value)));
                }
            }
            Access::Global(name) => {
                if let Some(global) = self.globals.get_mut(name as usize) {
                    *global = Some(value);
                }
            }
            // Never a declaration's home.
            Access::Captured(_) => {}
        }
    }

    /// The cell a cell or captured access names.
    pub(super) fn cell(&self, access: Access) -> Option<&Cell> {
        match access {
            Access::Cell(cell) => self.cells.get(self.frame.cell_base + cell as usize)?.as_ref(),
            Access::Captured(index) => self.frame.closure.as_ref()?.captured.get(index as usize),
            Access::Slot(_) | Access::Global(_) => None,
        }
    }

    /// Slot `slot` of the running frame (lowering only names slots inside the frame).
    #[inline(always)]
    pub(super) fn slot_mut(&mut self, slot: u32) -> Option<&mut Value> {
        self.stack.get_mut(self.frame.base + slot as usize)
    }

    #[inline(always)]
    pub(super) fn slot(&self, slot: u32) -> Value {
        self.stack.get(self.frame.base + slot as usize).cloned().unwrap_or(Value::Nil)
    }

    #[inline(always)]
    pub(super) fn global(&self, name: Symbol, line: u32) -> Exec<Value> {
        match self.globals.get(name as usize) {
            Some(Some(value)) => Ok(value.clone()),
            _ => Err(self.undefined(name, line)),
        }
    }

    pub(super) fn read(&self, access: Access, line: u32) -> Exec<Value> {
        match access {
            Access::Slot(slot) => Ok(self.slot(slot)),
            Access::Cell(_) | Access::Captured(_) => {
                Ok(self.cell(access).map_or(Value::Nil, |cell| cell.borrow().clone()))
            }
            Access::Global(name) => self.global(name, line),
        }
    }

    pub(super) fn assign(&mut self, access: Access, value: Value, line: u32) -> Exec<()> {
        match access {
            Access::Slot(slot) => {
                if let Some(slot) = self.slot_mut(slot) {
                    *slot = value;
                }
            }
            Access::Cell(_) | Access::Captured(_) => {
                if let Some(cell) = self.cell(access) {
                    *cell.borrow_mut() = value;
                }
            }
            Access::Global(name) => match self.globals.get_mut(name as usize) {
                Some(global @ Some(_)) => *global = Some(value),
                _ => return Err(self.undefined(name, line)),
            },
        }
        Ok(())
    }

    #[cold]
    pub(super) fn undefined(&self, name: Symbol, line: u32) -> Box<RuntimeError> {
        error(format!("Undefined variable '{}'.", self.names[name as usize]), line)
    }
}
