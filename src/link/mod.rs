//! Linking one parsed object into the linker, stage by stage, one file each:
//!
//! - [`layout`]: where its sections go in the region; copying them there;
//! - [`resolve`]: every relocation bound to an address (its own symbols, global
//!   names through the symbol table, TLS through [`tls`]);
//! - [`fixup`]: the relocations applied to its memory;
//! - [`commit`]: the object published — other objects' sites re-patched, its
//!   definitions and references recorded, slots rewritten.
//!
//! And the operations built on them: [`replace`] (what a replaced object's data
//! becomes), [`unload`], with [`comdat`] groups, [`ifunc`] resolvers and the
//! region's [`placement`].
//!
//! A load is a transaction: everything that can fail happens before shared state
//! is touched, and a failure is undone from one record ([`Undo`]).

pub(crate) mod comdat;
pub(crate) mod commit;
pub(crate) mod finalize;
pub(crate) mod fixup;
pub(crate) mod ifunc;
pub(crate) mod layout;
pub(crate) mod placement;
pub(crate) mod prepare;
pub(crate) mod replace;
pub(crate) mod resolve;
pub(crate) mod slots;
pub(crate) mod tls;
pub(crate) mod unload;

use crate::input::Role;
use crate::memory::pack::Pools;
use crate::memory::Placement;
use crate::memory::Region;
use crate::runtime;
use crate::symbols::stubs;
use crate::symbols::StubTable;
use crate::symbols::{Map, SymbolTable};
use std::collections::BTreeMap;

use crate::error::Result;
use crate::input::Class;
use crate::symbols::ObjectId;

use crate::memory::pack::Piece;
use crate::symbols::{NameId, SlotId};

pub(crate) use fixup::{apply_patches, size_of, value_of, Patch};
pub(crate) use layout::{needs_compact_layout, Layout};
pub(crate) use replace::Replacing;
pub(crate) use resolve::{is_global, Defs, Names};
use resolve::{Bound, Fix};

/// Lists every load needs for its own work, kept by the `Linker` between loads
/// (`Linker::scratch`) so that each object reuses their memory instead of
/// allocating it afresh: taken at the start of a stage, given back at its end
/// (a failed load just drops them).
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per symbol: its binding while the object resolves (`resolve`).
    pub(crate) bound: Vec<Option<Bound>>,
    /// The object's fixups (`resolve`, `apply_fixes`).
    pub(crate) fixes: Vec<Fix>,
    /// Per symbol: whether it names a library's thread-local (`resolve`,
    /// `tls::is_process_tls`).
    pub(crate) process_tls: Vec<u8>,
    /// The names an object refers to and does not define (`Names::undefined`).
    pub(crate) undefined: Vec<NameId>,
    /// The objects a replace is replacing (their definitions are going).
    pub(crate) replacing: Vec<ObjectId>,
    /// What the replace being linked does with the old version's variables.
    pub(crate) report: crate::link::replace::ReplaceReport,
    /// The object being linked may relax its loads of other objects' variables
    /// ([`RelaxedLoad`]): a plain load, not part of a replace.
    pub(crate) relax_others: bool,
    /// Those loads, while it resolves (then copied out at their length: grown
    /// one push at a time per object, reallocating was 0.5% of linking).
    pub(crate) relaxed_loads: Vec<RelaxedLoad>,
    /// Buffers `Binder::names` fills and empties for each object: per symbol,
    /// its name's id if the table has it; the definitions, their symbols and
    /// their sort keys (four allocations an object, 5% of a replace's).
    pub(crate) known: Vec<Option<NameId>>,
    /// Per symbol, the name the table may hold for it (`SymbolTable::candidate`).
    pub(crate) candidates: Vec<Option<NameId>>,
    pub(crate) defined: Vec<(NameId, crate::symbols::ObjectDef)>,
    pub(crate) def_symbols: Vec<u32>,
    pub(crate) order: Vec<u64>,
}

/// A load of another object's variable through its slot that was relaxed to
/// computing the address (x86-64 `movq v@GOTPCREL(%rip)` became `leaq
/// v(%rip)`). The variable keeps its storage while it is defined by the same
/// object at the same size, so the load only cost a cold line; when its
/// binding moves, the load is turned back into a load through the slot
/// ([`fixup::unrelax_patches`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RelaxedLoad {
    /// Region offset of the instruction's 32-bit displacement.
    pub(crate) at: u32,
    pub(crate) name: NameId,
}

/// The memory space, if one is reserved, else [`Error::NothingLoaded`]:
/// a `match`, where `ok_or(Error::NothingLoaded)` built the error on every
/// call and, with a space, called its drop glue (0.5% of loading, wide 1,001).
///
/// [`Error::NothingLoaded`]: crate::error::Error::NothingLoaded
pub(crate) fn loaded<T>(space: Option<T>) -> Result<T> {
    match space {
        Some(space) => Ok(space),
        None => Err(crate::error::Error::NothingLoaded),
    }
}

/// A scratch list taken out of its place in [`Scratch`], holding `len` copies
/// of `value` (its room kept from earlier objects).
pub(crate) fn refill<T: Clone>(kept: &mut Vec<T>, len: usize, value: T) -> Vec<T> {
    let mut list = std::mem::take(kept);
    list.clear();
    list.resize(len, value);
    list
}

/// What a load takes that must be given back if it fails. The `Linker` keeps
/// one between loads (`Linker::undo`) and clears it, so that its lists do not
/// grow from nothing for every object.
#[derive(Default)]
pub(crate) struct Undo {
    pub(crate) pieces: Vec<Piece>,
    pub(crate) slots: Vec<(Option<NameId>, SlotId)>,
    /// Names this load added to the symbol table.
    pub(crate) entries: Vec<NameId>,
    pub(crate) tls_module: Option<u64>,
    /// Local `STT_GNU_IFUNC` symbols' slots and their resolvers (`ifunc.rs`).
    pub(crate) ifuncs: Vec<(SlotId, u64)>,
}

impl Undo {
    pub(crate) fn clear(&mut self) {
        self.pieces.clear();
        self.slots.clear();
        self.entries.clear();
        self.tls_module = None;
        self.ifuncs.clear();
    }
}

/// A section of a loaded object, where it lives.
#[derive(Clone, Debug)]
pub(crate) struct Placed {
    pub name: String,
    pub class: Class,
    pub role: Role,
    /// Offset in the region.
    pub offset: u64,
    pub size: u64,
}

/// What the linker keeps per loaded object.
pub(crate) struct Loaded {
    pub name: String,
    /// Its pieces (one per class), plus older versions' data pieces that hold
    /// variables it inherited.
    pub pieces: Vec<Piece>,
    /// Global writable variables: (name, live address, size), sorted by name id.
    pub data_symbols: Vec<(NameId, u64, u64)>,
    /// Statics: (name, live address, size).
    pub statics: Vec<(String, u64, u64)>,
    pub sections: Vec<Placed>,
    /// Global names it defines, and names it refers to.
    pub defines: Vec<NameId>,
    pub refers: Vec<NameId>,
    /// GOT entries for its local symbols.
    pub local_slots: Vec<SlotId>,
    /// Its loads of other objects' variables relaxed to computing the address.
    pub relaxed: Box<[RelaxedLoad]>,
    pub dso_handle: u64,
    /// Exit handlers may have been registered for it (`__cxa_finalize` runs
    /// them): it calls `atexit` or refers to `__dso_handle`.
    pub exit_handlers: bool,
    /// It has constructor or destructor tables (`.init_array`, `.fini_array`,
    /// `.ctors`, `.dtors`) among its `sections`.
    pub tables: bool,
    /// Its unwind tables, registered with the process's unwinder.
    pub unwind: Vec<runtime::unwind::Registration>,
    /// Its entry in the debugger's list.
    pub debug: Option<runtime::gdb::Registration>,
    /// Its named code, sorted by address.
    pub functions: runtime::Functions,
    /// Older versions replaced with `keep_state` that may have registered exit
    /// handlers (`__cxa_atexit`) for the state this version kept: their handlers
    /// point into their code, so it stays mapped until this object is unloaded,
    /// when those handlers run (newest first) after this version's.
    pub older: Vec<Loaded>,
}

/// The memory everything loaded lives in: the region and its stub table.
pub(crate) struct Space {
    pub region: Region,
    pub stubs: StubTable,
    pub pools: Pools,
    pub placement: Placement,
    /// Objects are registered with debuggers (`LinkerOptions::debugger`, resolved
    /// at the first load).
    pub debugger: bool,
}

impl Drop for Space {
    fn drop(&mut self) {
        let base = self.region.target_base();
        stubs::forget_traps(base, base + self.region.size());
    }
}

/// How far the retired lists reach at some point (see
/// [`Linker::take_retired_since`]).
pub(crate) struct RetiredMark {
    pub(crate) pieces: usize,
    pub(crate) frames: usize,
    pub(crate) slots: usize,
}

/// What replaced and unloaded versions leave until `Linker::reclaim`: their
/// memory, their unwind registrations, and their local GOT slots (their code
/// may still run until then).
#[derive(Default)]
pub(crate) struct Retired {
    pub(crate) pieces: Vec<Piece>,
    pub(crate) frames: Vec<runtime::unwind::Registration>,
    pub(crate) slots: Vec<SlotId>,
}

impl Retired {
    /// Retires an unloaded or replaced version and the older versions it kept.
    pub(crate) fn retire(&mut self, mut version: Loaded) {
        version.debug = None;
        self.frames.append(&mut version.unwind);
        self.pieces.append(&mut version.pieces);
        self.slots.append(&mut version.local_slots);
        for older in version.older {
            self.retire(older);
        }
    }
}

/// The loaded objects, by id.
pub(crate) type Objects = BTreeMap<ObjectId, Loaded>;

/// An object's name for messages.
pub(crate) fn object_name(objects: &Objects, id: ObjectId) -> String {
    objects
        .get(&id)
        .map_or_else(|| format!("object {id}"), |o| o.name.clone())
}

/// Work a batch leaves for its end.
#[derive(Default)]
pub(crate) struct Deferred {
    /// Names whose trap message is stale: built once at the end, not each time a
    /// load touches an unresolved name.
    pub(crate) traps: Vec<NameId>,
    /// Names referenced while no object defined them: looked up in the process at
    /// the end if no object of the batch has defined them by then (`dlsym` of a
    /// name a later object defines was most of the lookups, and failing ones are
    /// slow). Each id once ([`Deferred::ask`]).
    pub(crate) lookups: Vec<NameId>,
    /// Ids in `lookups`.
    pub(crate) asked: Vec<u64>,
    /// An object of the batch refers to a name an earlier load left undefined
    /// (not in `lookups`, which holds the names first asked for by the batch).
    pub(crate) unresolved_before: bool,
    /// Names in `traps`.
    pub(crate) marked: Vec<u64>,
    /// Cells of thread-local variables used before their object was linked.
    pub(crate) tls: Vec<crate::link::tls::PendingCell>,
    /// Inputs of the batch follow the object being linked (one of them may
    /// define a variable it uses).
    pub(crate) more: bool,
    /// The ids of the names the batch's reading threads numbered
    /// (`symbols::dictionary`), as they become known.
    pub(crate) numbered: crate::symbols::dictionary::Numbered,
}

impl Deferred {
    pub(crate) fn mark_trap(&mut self, id: NameId) {
        if first_mark(&mut self.marked, id) {
            self.traps.push(id);
        }
    }

    /// Queues `id` for a look-up in the process at the end of the batch, once:
    /// in the wide corpus a name is referenced by about ten objects before the
    /// one that defines it (wide 1,001: 72,072 references, 6,757 names), and
    /// the end looked at each entry again per reference. An id removed (a load
    /// rolled back) and reused meanwhile is still queued: the end looks up
    /// whatever name then has it.
    pub(crate) fn ask(&mut self, id: NameId) {
        if first_mark(&mut self.asked, id) {
            self.lookups.push(id);
        }
    }
}

/// Sets `id`'s bit in `bits`; whether it was clear.
fn first_mark(bits: &mut Vec<u64>, id: NameId) -> bool {
    let (word, bit) = (id.0 as usize / 64, id.0 % 64);
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    let clear = bits[word] & (1 << bit) == 0;
    bits[word] |= 1 << bit;
    clear
}

/// Asks the process for `id` now, or (while a batch loads) at its end.
pub(crate) fn look_up_in_process(
    deferred: &mut Option<Deferred>,
    symbols: &mut SymbolTable,
    id: NameId,
) {
    match deferred {
        Some(deferred) => deferred.ask(id),
        None => {
            symbols.entry_with_process(id);
        }
    }
}

/// Everything linked so far, which the link stages and operations work over:
/// the symbol table, the memory space, the loaded objects and what they left
/// behind. The [`Linker`](crate::Linker) owns it with its options and
/// statistics, and sequences the stages over it.
pub(crate) struct Linked {
    pub(crate) space: Option<Space>,
    pub(crate) symbols: SymbolTable,
    pub(crate) objects: Objects,
    pub(crate) comdats: Map<String, ObjectId>,
    /// Per COMDAT signature: its names and users (`comdat.rs`).
    pub(crate) comdat_uses: Map<String, comdat::GroupUse>,
    /// Unloaded or replaced owners kept alive for their groups' users, by keeper id.
    pub(crate) kept: Objects,
    /// Ifunc resolvers waiting for the end of their batch (`ifunc.rs`).
    pub(crate) pending_ifuncs: Vec<ifunc::Pending>,
    /// What replaced and unloaded versions left for `reclaim`.
    pub(crate) retired: Retired,
    /// TLS images of loaded and retired objects, with their modules (`tls.rs`).
    pub(crate) tls_images: Vec<tls::Image>,
    /// What a batch being loaded leaves for its end (`linker/batch.rs`).
    pub(crate) deferred: Option<Deferred>,
    /// Nothing loaded runs (`LinkerOptions::link_only`).
    pub(crate) link_only: bool,
    next_id: u64,
}

impl Linked {
    pub(crate) fn new(link_only: bool) -> Linked {
        Linked {
            space: None,
            symbols: SymbolTable::default(),
            objects: Objects::new(),
            comdats: Map::default(),
            comdat_uses: Map::default(),
            kept: Objects::new(),
            pending_ifuncs: Vec::new(),
            retired: Retired::default(),
            tls_images: Vec::new(),
            deferred: None,
            link_only,
            next_id: 1,
        }
    }

    /// A fresh object id.
    pub(crate) fn new_id(&mut self) -> ObjectId {
        self.next_id += 1;
        ObjectId(self.next_id - 1)
    }

    /// The memory space (reserved at the first load).
    pub(crate) fn space(&mut self) -> Result<&mut Space> {
        loaded(self.space.as_mut())
    }

    /// `Unresolved` for `name` if some of its references pass `counts`: those
    /// objects' names, sorted, once each.
    pub(crate) fn needed_by(
        &self,
        name: NameId,
        counts: impl Fn(ObjectId, bool) -> bool,
    ) -> Option<crate::error::Unresolved> {
        let mut users: Vec<String> = (self.symbols.refs(name))
            .filter(|&(o, weak)| counts(o, weak))
            .map(|(o, _)| self.object_name(o))
            .collect();
        users.sort();
        users.dedup();
        (!users.is_empty()).then(|| crate::error::Unresolved {
            symbol: self.symbols.name(name).to_string(),
            needed_by: users,
            hint: None,
        })
    }

    /// An object's name for messages.
    pub(crate) fn object_name(&self, id: ObjectId) -> String {
        object_name(&self.objects, id)
    }
}

impl Linked {
    pub(crate) fn retired_mark(&self) -> RetiredMark {
        RetiredMark {
            pieces: self.retired.pieces.len(),
            frames: self.retired.frames.len(),
            slots: self.retired.slots.len(),
        }
    }

    /// Takes back what objects removed since `mark` retired, when none of their
    /// code ever ran (a failed transaction or batch): their unwind registrations
    /// go and their TLS modules are freed while the memory is still mapped; their
    /// pieces and local slots are returned for the caller to free.
    pub(crate) fn take_retired_since(&mut self, mark: &RetiredMark) -> (Vec<Piece>, Vec<SlotId>) {
        self.retired.frames.truncate(mark.frames);
        let pieces = self
            .retired
            .pieces
            .split_off(mark.pieces.min(self.retired.pieces.len()));
        self.release_tls(&pieces);
        let slots = (self.retired.slots).split_off(mark.slots.min(self.retired.slots.len()));
        (pieces, slots)
    }
}

impl Linked {
    /// The address of a name's current implementation (not its stub).
    pub(crate) fn definition_address(&self, name: &str) -> Option<u64> {
        match self.symbols.get(name)?.binding(None) {
            crate::symbols::Binding::Object(d) => Some(d.address),
            crate::symbols::Binding::Host(p) | crate::symbols::Binding::Process(p) => {
                Some(p.address)
            }
            crate::symbols::Binding::Unresolved { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name referenced by many objects before the one that defines it is
    /// looked up once at the end; being a trap and being looked up are apart.
    #[test]
    fn each_name_is_queued_once_for_the_end_of_the_batch() {
        let mut d = Deferred::default();
        for id in [5, 200, 5, 7, 200, 5, 64, 63] {
            d.ask(NameId(id));
        }
        assert_eq!(d.lookups, [5, 200, 7, 64, 63].map(NameId));
        d.mark_trap(NameId(5));
        d.mark_trap(NameId(5));
        assert_eq!(d.traps, [NameId(5)]);
        d.ask(NameId(1000));
        assert_eq!(d.lookups.last(), Some(&NameId(1000)));
        assert_eq!(d.lookups.len(), 6);
    }
}
