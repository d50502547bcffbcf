//! The heap: an object table, the string intern table, and a mark-sweep collector.
//!
//! Objects live in a `Vec` of slots and are named by index ([`ObjRef`]); freed slots go on a
//! free list and are reused. Collection is clox's tri-colour mark-sweep (chapter 26):
//!
//! 1. the VM marks its roots (stack, frames, open upvalues, globals) gray;
//! 2. `Heap::trace` blackens gray objects one by one, marking what each refers to, until no
//!    gray object is left. The gray list is an explicit `Vec`, so a deeply linked structure
//!    cannot overflow the native stack;
//! 3. interned strings nobody marked are dropped from the intern table (it holds them weakly);
//! 4. `Heap::sweep` frees every unmarked slot and clears the marks.
//!
//! Invariant: an `ObjRef` reachable from a root always names a live slot. The VM only
//! collects between instructions, when every value it still needs is on its stack or in a
//! table it marks; that is why the collector never sees a half-built object.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::object::{LoxString, ObjRef, Object, Upvalue, Value};

/// Heap size that triggers the first collection.
const FIRST_GC: usize = 1 << 20;
/// After a collection, the next one comes when the heap has grown by this factor.
const GROWTH: usize = 2;

struct Slot {
    object: Option<Object>,
    marked: bool,
    /// The size counted into `Heap::bytes` for this object.
    size: usize,
}

/// All objects of one VM; see the module docs.
pub struct Heap {
    slots: Vec<Slot>,
    free: Vec<u32>,
    strings: HashTable<ObjRef>,
    hasher: foldhash::fast::FixedState,
    gray: Vec<ObjRef>,
    /// Bytes held by live (or not yet collected) objects.
    pub(crate) bytes: usize,
    next_gc: usize,
    /// Collect before every allocating instruction (to shake out rooting bugs in tests).
    pub(crate) stress: bool,
    /// Collections run so far.
    pub(crate) collections: usize,
}

impl Heap {
    pub(crate) fn new(stress: bool) -> Self {
        Heap {
            slots: Vec::new(),
            free: Vec::new(),
            strings: HashTable::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x10c5),
            gray: Vec::new(),
            bytes: 0,
            next_gc: FIRST_GC,
            stress,
            collections: 0,
        }
    }

    /// Stores `object`, returning its reference. Never collects: the VM decides when.
    /// Always inlined: out of line, the caller wrote the object to memory field by field and
    /// this function read it back in wide loads, which waits on a failed store-to-load
    /// forward (this function was 40% of `instantiation.lox`). Inlined, the copy into the
    /// slot still reads a just-written object (a third of the instance call's samples), but
    /// once instead of twice.
    #[inline(always)]
    pub(crate) fn alloc(&mut self, object: Object) -> ObjRef {
        let size = object.size();
        self.bytes += size;
        let slot = Slot { object: Some(object), marked: false, size };
        match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = slot;
                ObjRef(index)
            }
            None => {
                self.slots.push(slot);
                ObjRef((self.slots.len() - 1) as u32)
            }
        }
    }

    /// Re-counts the size of `r` after it grew (an instance gained a field, a class a method).
    pub(crate) fn resize(&mut self, r: ObjRef) {
        let slot = &mut self.slots[r.index()];
        let size = slot.object.as_ref().map_or(0, Object::size);
        self.bytes = self.bytes + size - slot.size.min(self.bytes);
        slot.size = size;
    }

    /// The object `r` names.
    pub(crate) fn get(&self, r: ObjRef) -> &Object {
        match &self.slots[r.index()].object {
            Some(object) => object,
            // Unreachable by the module invariant: only live objects are referenced.
            None => unreachable!("reference to a freed object"),
        }
    }

    /// The object `r` names, mutably.
    pub(crate) fn get_mut(&mut self, r: ObjRef) -> &mut Object {
        match &mut self.slots[r.index()].object {
            Some(object) => object,
            None => unreachable!("reference to a freed object"),
        }
    }

    /// The text of a string object (empty for anything else).
    pub(crate) fn str(&self, r: ObjRef) -> &str {
        match self.get(r) {
            Object::String(s) => &s.text,
            _ => "",
        }
    }

    /// The interned string with this text, created if new.
    pub(crate) fn intern(&mut self, text: &str) -> ObjRef {
        let hash = self.hasher.hash_one(text);
        let slots = &self.slots;
        let same = |r: &ObjRef| match &slots[r.index()].object {
            Some(Object::String(s)) => &*s.text == text,
            _ => false,
        };
        if let Some(&found) = self.strings.find(hash, same) {
            return found;
        }
        let r = self.alloc(Object::String(LoxString { text: text.into(), hash }));
        let slots = &self.slots;
        self.strings.insert_unique(hash, r, |r| match &slots[r.index()].object {
            Some(Object::String(s)) => s.hash,
            _ => 0,
        });
        r
    }

    /// Whether a collection is due before allocating about `extra` more bytes.
    pub(crate) fn should_collect(&self, extra: usize) -> bool {
        self.stress || self.bytes + extra > self.next_gc
    }

    pub(crate) fn mark_value(&mut self, value: Value) {
        if let Some(r) = value.as_obj() {
            self.mark(r);
        }
    }

    pub(crate) fn mark(&mut self, r: ObjRef) {
        let slot = &mut self.slots[r.index()];
        if !slot.marked {
            slot.marked = true;
            self.gray.push(r);
        }
    }

    /// Blackens gray objects until none is left.
    pub(crate) fn trace(&mut self) {
        let mut children = Vec::new();
        while let Some(r) = self.gray.pop() {
            match self.get(r) {
                // A function's constants are roots for as long as the VM lives: the VM marks
                // them (the code is never freed, so neither is what it refers to).
                Object::String(_)
                | Object::Function(_)
                | Object::Native(_)
                | Object::Upvalue(Upvalue::Open(_)) => {}
                Object::Closure(closure) => {
                    children.extend(closure.upvalues.iter().map(|&u| Value::obj(u)));
                }
                Object::Upvalue(Upvalue::Closed(value)) => children.push(*value),
                Object::Class(class) => children.extend(class.methods.values().copied()),
                Object::Instance(instance) => {
                    children.push(Value::obj(instance.class));
                    children.extend(instance.fields.values());
                }
                Object::BoundMethod(bound) => {
                    children.push(bound.receiver);
                    children.push(Value::obj(bound.method));
                }
            }
            for child in children.drain(..) {
                self.mark_value(child);
            }
        }
    }

    /// Frees everything unmarked (dropping unmarked strings from the intern table first),
    /// clears the marks, and sets the next collection's threshold. Returns whether a class
    /// was freed (so that its reference may come back naming another).
    pub(crate) fn sweep(&mut self) -> bool {
        let mut freed_class = false;
        let slots = &self.slots;
        self.strings.retain(|r| slots[r.index()].marked);
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.object.is_none() {
                continue;
            }
            if slot.marked {
                slot.marked = false;
            } else {
                freed_class |= matches!(slot.object, Some(Object::Class(_)));
                slot.object = None;
                self.bytes -= slot.size.min(self.bytes);
                slot.size = 0;
                self.free.push(index as u32);
            }
        }
        self.next_gc = (self.bytes * GROWTH).max(FIRST_GC);
        self.collections += 1;
        freed_class
    }

    /// Number of live objects (for tests and statistics).
    pub fn live_objects(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}
