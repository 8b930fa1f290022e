//! The target boundary: the one interface between the process that links and
//! the process (or emulator) where loaded code runs.
//!
//! relink computes every relocation with *target* addresses and writes the
//! result into *working* memory. Today both are views of one memfd in this
//! process ([`Region`]). Everything the link stages do to the target goes
//! through the operations below, so a second implementation can put the target
//! view elsewhere:
//!
//! - an **executor on the same host** (`relink executor`, issue "link here, run
//!   there"): the memfd is passed over a Unix socket (`SCM_RIGHTS`); relink keeps
//!   writing its working view, the executor maps the target view at
//!   [`Target::target_base`]; `protect`, `code_written` and `store_slot` become
//!   requests on the socket (the slot store still one aligned 8-byte store, done
//!   by the executor), and `lookup` asks the executor's `dlsym`;
//! - an **executor that cannot share memory** (another machine, or an emulator
//!   whose guest address space is not the host's): the working view is a local
//!   buffer and [`Target::publish`] sends its changed pages before `protect`.
//!
//! What runs *in* the target — constructors, IFUNC resolvers, unwind and
//! debugger registration — is `runtime/`'s, called by `link/finalize.rs`; an
//! executor does those on request too. The in-process implementation is
//! [`Region`]: the memfd mapped twice, never writable and executable at once.

use super::process::{self, ProcessSymbol};
use super::Region;
use crate::error::Result;
use crate::input::Class;

/// Where loaded code runs: its memory's protection and coherence, the word
/// stores running code observes, and symbol look-ups in its process.
///
/// The stub table, the pools and the link stages protect, publish code and
/// store slots through it; `target_base`, `size`, `publish` and `lookup` are
/// the rest of what an executor implements (the in-process region answers them
/// with its inherent methods and `memory::process`).
#[allow(dead_code)]
pub trait Target {
    /// Target address of the region's first byte.
    fn target_base(&self) -> u64;

    /// Bytes the region spans.
    fn size(&self) -> u64;

    /// Makes `[offset, offset + len)` of the target view readable, executable or
    /// writable as `class` says (never writable and executable).
    fn protect(&mut self, offset: u64, len: u64, class: Class) -> Result<()>;

    /// Working bytes of `[offset, offset + len)` changed: the target must see them
    /// before it next runs code or reads data there. A no-op where the two views
    /// share their pages (in process, or an executor sharing the memfd).
    fn publish(&mut self, offset: u64, len: u64);

    /// Code at target `[target, target + len)` was written: make it coherent for
    /// instruction fetch (AArch64 icache, qemu's translations, debugger copies).
    fn code_written(&self, target: u64, len: u64, reused: bool);

    /// One aligned 8-byte store that code running concurrently sees whole: how a
    /// slot is rewritten when its name is rebound (replace, unload, define).
    fn store_slot(&mut self, offset: u64, value: u64);

    /// A symbol of the target's process (`dlsym` there).
    fn lookup(&self, name: &str) -> Option<ProcessSymbol>;
}

impl Target for Region {
    fn target_base(&self) -> u64 {
        Region::target_base(self)
    }

    fn size(&self) -> u64 {
        Region::size(self)
    }

    fn protect(&mut self, offset: u64, len: u64, class: Class) -> Result<()> {
        Region::protect(self, offset, len, class)
    }

    fn publish(&mut self, _offset: u64, _len: u64) {
        // The working and target views are one memfd's pages.
    }

    fn code_written(&self, target: u64, len: u64, reused: bool) {
        Region::code_written(self, target, len, reused)
    }

    fn store_slot(&mut self, offset: u64, value: u64) {
        self.store_u64_atomic(offset, value)
    }

    fn lookup(&self, name: &str) -> Option<ProcessSymbol> {
        match self.remote() {
            Some(remote) => remote.lookup(name),
            None => process::lookup(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Placement;

    /// The in-process target through the trait only: a slot stored through the
    /// boundary is what the target view reads, and a look-up finds the process's
    /// own symbols.
    #[test]
    fn the_region_is_a_target() {
        let mut region = Region::reserve(1 << 20, Placement::Anywhere).unwrap();
        let block = region.alloc(4096, 4096).unwrap();
        let target: &mut dyn Target = &mut region;
        target.protect(block.offset, 4096, Class::Data).unwrap();
        target.store_slot(block.offset + 8, 0x1234_5678_9abc_def0);
        target.publish(block.offset, 16);
        let at = (target.target_base() + block.offset + 8) as *const u64;
        // SAFETY: the target view of a block just made readable (`Class::Data`).
        assert_eq!(unsafe { at.read_volatile() }, 0x1234_5678_9abc_def0);
        assert!(target.lookup("malloc").is_some_and(|s| s.function));
        assert!(target.lookup("no_such_symbol_anywhere").is_none());
    }
}
