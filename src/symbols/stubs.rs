//! The stub table: per symbol an index `i` with
//! - `stub[i]`: jumps to the symbol's current implementation; the canonical
//!   address of a function. x86-64's stub is one aligned word, rewritten with
//!   the slot to jump straight there (`jmp rel32`), or through the slot when
//!   out of reach (see [`StubTable::set_slot`]); AArch64's loads its slot;
//! - its slot: that address. On AArch64 the stub's last 8 bytes, so that the
//!   load hits the line the stub's fetch brought in; on x86-64, whose stubs do
//!   not load it within reach, an array of its own (`slots[i]`), so that eight
//!   stubs share a cache line: a program that calls into thousands of objects
//!   about once each spent a tenth of its time on cold stub lines;
//! - `got[i]`: its canonical address, read by GOT-relative code — the stub for
//!   functions (so pointers compare equal and survive replacement), the definition
//!   for data;
//! - `trap[i]`: what an undefined or unloaded symbol's slot points at — it passes the
//!   slot's address to [`trap_handler`], which names the symbol and aborts.
//!
//! The arrays are fixed-size and live in the region; index `i`'s trap code never
//! changes once written, so updating a symbol is one aligned 8-byte atomic store
//! to its slot and, on x86-64, one to its stub: two stores per symbol, none per
//! referring object. `_GLOBAL_OFFSET_TABLE_` is the start of the GOT array.
//!
//! Target permissions: GOT and slots read-only, stubs and traps read-execute;
//! relink writes them through the working view.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use crate::memory::Target;
use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::input::Class;
use crate::memory::{Block, Region};

/// Index of a symbol's slot, GOT entry, stub and trap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(pub u32);

/// Default number of symbols the table holds.
pub const DEFAULT_CAPACITY: u32 = 1 << 18;

pub struct StubTable {
    arch: Arch,
    capacity: u32,
    block: Block,
    base: u64,
    /// Offsets within the block.
    cell: u64,
    got: u64,
    stubs: u64,
    traps: u64,
    /// Whether stubs are rewritten to jump straight to their targets
    /// ([`StubTable::set_slot`]).
    direct: bool,
    /// Offset of the slot array, where slots are not inline in their stubs
    /// ([`Arch::stub_slot`] is `None`).
    slots: u64,
    /// Indices handed out so far; freed ones are reused first.
    next: u32,
    free: Vec<u32>,
}

impl StubTable {
    /// Allocates the table in `region` and writes the trap handler's address.
    pub fn new(region: &mut Region, arch: Arch, capacity: u32) -> Result<StubTable> {
        let page = region.page_size();
        let cap = u64::from(capacity);
        let round = |v: u64| v.div_ceil(page) * page;
        // The handler's cell, the GOT, and the slots unless they are inline.
        let apart = arch.stub_slot().is_none();
        let data_len = round(8 + cap * 8 + if apart { cap * 8 } else { 0 });
        let code_len = round(cap * (arch.stub_size() + arch.trap_size()) as u64);
        let block = region.alloc(data_len + code_len, page)?;
        let table = StubTable {
            arch,
            capacity,
            block,
            base: region.target_base() + block.offset,
            cell: 0,
            got: 8,
            stubs: data_len,
            traps: data_len + cap * arch.stub_size() as u64,
            direct: region.remote().is_none(),
            slots: 8 + cap * 8,
            next: 0,
            free: Vec::new(),
        };
        let handler = match region.remote() {
            // The executor's own handler, which reports the slot to the linker.
            Some(remote) => remote.hello().trap_handler,
            None => trap_handler as extern "C" fn(u64) -> ! as usize as u64,
        };
        Target::store_slot(region, block.offset + table.cell, handler);
        Target::protect(region, block.offset, data_len, Class::ReadOnly)?;
        Target::protect(region, block.offset + data_len, code_len, Class::Code)?;
        Ok(table)
    }

    pub fn block(&self) -> Block {
        self.block
    }

    /// `_GLOBAL_OFFSET_TABLE_`.
    pub fn got_base(&self) -> u64 {
        self.base + self.got
    }

    pub fn slot_addr(&self, id: SlotId) -> u64 {
        match self.arch.stub_slot() {
            Some(inline) => self.stub_addr(id) + inline as u64,
            None => self.base + self.slots + u64::from(id.0) * 8,
        }
    }

    pub fn got_addr(&self, id: SlotId) -> u64 {
        self.got_base() + u64::from(id.0) * 8
    }

    pub fn stub_addr(&self, id: SlotId) -> u64 {
        self.base + self.stubs + u64::from(id.0) * self.arch.stub_size() as u64
    }

    pub fn trap_addr(&self, id: SlotId) -> u64 {
        self.base + self.traps + u64::from(id.0) * self.arch.trap_size() as u64
    }

    /// Where the table's arrays lie in the region and how large an element of
    /// each is: GOT entries, stubs, traps and (x86-64) slots, filled from
    /// index 0 up ([`StubTable::next_index`]); for
    /// [`crate::memory::Prefault::with_arrays`].
    pub fn arrays(&self) -> Vec<(u64, u64, u64)> {
        let cap = u64::from(self.capacity);
        let (stub, trap) = (self.arch.stub_size() as u64, self.arch.trap_size() as u64);
        let at = |offset: u64, scale: u64| (self.block.offset + offset, cap * scale, scale);
        let mut arrays = vec![at(self.got, 8), at(self.stubs, stub), at(self.traps, trap)];
        if self.arch.stub_slot().is_none() {
            arrays.push(at(self.slots, 8));
        }
        arrays
    }

    /// The index handed out next once no freed one is left.
    pub fn next_index(&self) -> u64 {
        u64::from(self.next)
    }

    /// Number of indices in use.
    pub fn len(&self) -> usize {
        self.next as usize - self.free.len()
    }

    #[cfg(any(test, feature = "testing"))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hands out an index whose slot points at its trap (reporting `message`, if
    /// the caller will leave it there) and whose GOT entry holds `got`.
    pub fn alloc(
        &mut self,
        region: &mut Region,
        message: Option<String>,
        got: u64,
    ) -> Result<SlotId> {
        let id = match self.free.pop() {
            Some(i) => SlotId(i),
            None if self.next < self.capacity => {
                self.next += 1;
                let id = SlotId(self.next - 1);
                self.write_code(region, id)?;
                id
            }
            None => {
                return Err(Error::Exhausted(format!(
                    "the stub table is full ({} symbols)",
                    self.capacity
                )))
            }
        };
        if let Some(message) = message {
            set_trap_message(self.slot_addr(id), message);
        }
        self.set_slot(region, id, self.trap_addr(id));
        self.set_got(region, id, got);
        Ok(id)
    }

    /// As [`StubTable::alloc`], for an index whose stub is aligned to `align`
    /// (a power of two up to a page; the stub code starts on a page). Indices
    /// skipped on the way stay free for others. Alignments up to 16 bytes, what
    /// compilers give every function, are not asked for: most functions would
    /// leave an index unused and every such allocation would search the free list.
    pub fn alloc_aligned(
        &mut self,
        region: &mut Region,
        message: Option<String>,
        got: u64,
        align: u64,
    ) -> Result<SlotId> {
        let size = self.arch.stub_size() as u64;
        if align <= size.max(16) || align > region.page_size() {
            return self.alloc(region, message, got);
        }
        let aligned = |t: &StubTable, i: u32| t.stub_addr(SlotId(i)).is_multiple_of(align);
        if let Some(at) = self.free.iter().rposition(|&i| aligned(self, i)) {
            let i = self.free.remove(at);
            self.free.push(i);
            return self.alloc(region, message, got);
        }
        // Otherwise bump past unaligned indices (freed for others) to an aligned one.
        let mut skipped = Vec::new();
        while self.next < self.capacity && !aligned(self, self.next) {
            let id = SlotId(self.next);
            self.next += 1;
            self.write_code(region, id)?;
            self.set_slot(region, id, self.trap_addr(id));
            skipped.push(id.0);
        }
        if self.next >= self.capacity {
            // No aligned index left: any index (the alignment is best effort).
            self.free.extend(skipped);
            return self.alloc(region, message, got);
        }
        // `alloc` pops the free list first: keep it aside for this one.
        let free = std::mem::take(&mut self.free);
        let id = self.alloc(region, message, got);
        self.free = free;
        self.free.extend(skipped);
        id
    }

    /// Where allocation stands, to undo every index handed out after it
    /// (a failed load of several objects, such as an archive's members).
    pub(crate) fn mark(&self) -> Mark {
        let mut free = self.free.clone();
        free.sort_unstable();
        Mark {
            next: self.next,
            free: self.free.clone(),
            free_sorted: free,
        }
    }

    /// Whether `id` was handed out after `mark`.
    pub(crate) fn allocated_since(&self, mark: &Mark, id: SlotId) -> bool {
        id.0 >= mark.next || mark.free_sorted.binary_search(&id.0).is_ok()
    }

    /// Takes back every index handed out after `mark` (their users must have let
    /// go of them: see `allocated_since`).
    pub(crate) fn reset_to(&mut self, mark: Mark) {
        self.next = mark.next;
        self.free = mark.free;
    }

    /// Returns an index for reuse; its slot is left pointing at its trap.
    pub fn release(&mut self, region: &mut Region, id: SlotId, message: String) {
        set_trap_message(self.slot_addr(id), message);
        self.set_slot(region, id, self.trap_addr(id));
        self.free.push(id.0);
    }

    fn write_code(&self, region: &mut Region, id: SlotId) -> Result<()> {
        let (stub, trap) = (self.stub_addr(id), self.trap_addr(id));
        let base = region.target_base();
        let off = |addr: u64| addr - base;
        let (ss, ts) = (self.arch.stub_size() as u64, self.arch.trap_size() as u64);
        let fail = |what: &str, e: crate::arch::FixupError| {
            Error::Exhausted(format!("writing the {what} of slot {}: {e}", id.0))
        };
        self.arch
            .write_stub(region.bytes_mut(off(stub), ss), stub, self.slot_addr(id))
            .map_err(|e| fail("stub", e))?;
        let cell = self.base + self.cell;
        self.arch
            .write_trap(
                region.bytes_mut(off(trap), ts),
                trap,
                self.slot_addr(id),
                cell,
            )
            .map_err(|e| fail("trap", e))?;
        // A slot index's stub and trap are written once and never change.
        Target::code_written(region, stub, ss, false);
        Target::code_written(region, trap, ts, false);
        Ok(())
    }

    /// Points the symbol's stub at `target`: its slot, then, where stubs jump
    /// straight ([`Arch::stub_word`]), the stub itself; each one release
    /// store, so that code running the stub meanwhile takes the old target or
    /// the new. Stubs are rewritten only in a region whose target view is
    /// mapped in this process: an executor sees code rewritten through
    /// another mapping only as far as its machine does (qemu-user does not),
    /// so its stubs keep jumping through their slots.
    pub fn set_slot(&self, region: &mut Region, id: SlotId, target: u64) {
        let (base, slot, stub) = (region.target_base(), self.slot_addr(id), self.stub_addr(id));
        Target::store_slot(region, slot - base, target);
        if let Some(word) = (self.direct)
            .then(|| self.arch.stub_word(stub, target, slot))
            .flatten()
        {
            Target::store_slot(region, stub - base, word);
            // A debugger's private copy of the page gets the new jump too.
            Target::code_written(region, stub, self.arch.stub_size() as u64, true);
        }
    }

    /// Sets the symbol's canonical address as GOT-relative code reads it.
    pub fn set_got(&self, region: &mut Region, id: SlotId, value: u64) {
        Target::store_slot(region, self.got_addr(id) - region.target_base(), value);
    }

    /// Records what a call through `id` while it traps should report.
    pub fn set_message(&self, id: SlotId, message: String) {
        set_trap_message(self.slot_addr(id), message);
    }
}

/// A point in the table's allocation history ([`StubTable::mark`]).
#[derive(Clone, Debug)]
pub struct Mark {
    next: u32,
    free: Vec<u32>,
    free_sorted: Vec<u32>,
}

/// Slot address → what calling through it while it traps means.
static TRAPS: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());

fn set_trap_message(slot: u64, message: String) {
    if let Ok(mut traps) = TRAPS.lock() {
        traps.insert(slot, message);
    }
}

/// What calling through `slot` means while it traps (for an executor's report).
pub(crate) fn trap_message(slot: u64) -> Option<String> {
    TRAPS.lock().ok().and_then(|t| t.get(&slot).cloned())
}

/// Forgets the messages of a table whose memory is going away.
pub(crate) fn forget_traps(lo: u64, hi: u64) {
    if let Ok(mut traps) = TRAPS.lock() {
        let keys: Vec<u64> = traps.range(lo..hi).map(|(k, _)| *k).collect();
        for k in keys {
            traps.remove(&k);
        }
    }
}

/// Where every trap entry jumps: names the symbol and aborts the process.
extern "C" fn trap_handler(slot: u64) -> ! {
    let message = TRAPS
        .lock()
        .ok()
        .and_then(|t| t.get(&slot).cloned())
        .unwrap_or_else(|| format!("call through unknown slot {slot:#x}"));
    let _ = writeln!(std::io::stderr(), "relink: {message}");
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Placement;

    #[test]
    fn aligned_indices_skip_to_an_aligned_stub_and_free_the_rest() {
        let mut region = Region::reserve(1 << 24, Placement::Auto).unwrap();
        let arch = if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else {
            Arch::X86_64
        };
        let mut t = StubTable::new(&mut region, arch, 4096).unwrap();
        let first = t.alloc(&mut region, None, 0).unwrap();
        // Up to 16 bytes: the next index, unaligned or not.
        let small = t.alloc_aligned(&mut region, None, 0, 16).unwrap();
        assert_eq!(small.0, first.0 + 1);
        let page = t.alloc_aligned(&mut region, None, 0, 4096).unwrap();
        assert_eq!(t.stub_addr(page) % 4096, 0);
        // The indices skipped on the way are free, and one of them is aligned
        // enough for the next request.
        let line = t.alloc_aligned(&mut region, None, 0, 64).unwrap();
        assert_eq!(t.stub_addr(line) % 64, 0);
        assert!(line.0 < page.0);
        // Plain allocations take the other skipped indices before new ones.
        let skipped = page.0 as usize - 3;
        assert_eq!(t.len(), 4);
        let again: Vec<SlotId> = (0..skipped)
            .map(|_| t.alloc(&mut region, None, 0).unwrap())
            .collect();
        let taken = [first, small, page, line];
        assert!(again.iter().all(|s| s.0 < page.0 && !taken.contains(s)));
        assert_eq!(t.len(), 4 + skipped);
        assert_eq!(t.alloc(&mut region, None, 0).unwrap().0, page.0 + 1);
        // A freed aligned index is reused for the next aligned request.
        let message = String::from("freed");
        t.release(&mut region, page, message);
        let reused = t.alloc_aligned(&mut region, None, 0, 4096).unwrap();
        assert_eq!(reused, page);
    }
}
