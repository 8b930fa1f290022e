//! Linking one parsed object into the linker: layout → resolve → fixup → commit.
//! See `linker.rs` for the transaction rule.

use std::time::Instant;

use crate::arch::{Arch, FixupError, FixupValues, Reach, RelocKind, Target};
use crate::error::{Error, Result};
use crate::input::{
    Binding as Bind, Class, Definition, Object, Reloc, Role, SectionId, SymbolId, SymbolKind,
};
use crate::linker::{
    apply_patches, defines_code, is_global, object_def, size_of, slot_values, value_of, Linker,
    Loaded, ObjectId, Patch, Placed, Stage,
};
use crate::memory::pack::Piece;
use crate::runtime;
use crate::symbols::{Binding, Map, NameId, ObjectDef, Site, SlotId, SymbolTable};
use crate::tls;

/// Where an object's pieces go, before anything is written.
pub(crate) struct Layout {
    /// One piece per non-empty class. On replace, the old version's code and
    /// read-only pieces are retired; its data pieces live on while inherited.
    pub(crate) pieces: Vec<Piece>,
    /// Per section: offset in the region, or `None` if not loaded (COMDAT loser).
    pub(crate) sections: Vec<Option<u64>>,
    /// Per symbol: its target address, if this object defines it.
    addresses: Vec<Option<u64>>,
    dso_handle: u64,
    /// Target address of the object's `atexit` thunk, if it calls `atexit`
    /// (`Arch::write_atexit`).
    atexit: Option<u64>,
    /// Offset and capacity (in veneers) of the veneer area.
    veneers: (u64, u64),
    /// Replace: target ranges `[lo, hi)` of this version's global data that live on
    /// at an older version's address (`to`), which every reference uses instead.
    redirects: Vec<(u64, u64, u64)>,
    /// The TLS image (region offsets), if the object has thread-local sections,
    /// and its module once registered (`tls.rs`).
    tls_plan: Option<tls::ImagePlan>,
    tls_image: Option<tls::Image>,
    /// Region offset and capacity of the thread-local cells.
    tls_cells: (u64, u64),
    /// Global writable variables: (name, live address, size), sorted by name.
    data: Vec<(NameId, u64, u64)>,
}

impl Layout {
    /// The live address of `addr`: an inherited address if it falls in a redirect.
    fn translate(&self, addr: u64) -> u64 {
        self.redirects
            .iter()
            .find(|(lo, hi, _)| addr >= *lo && addr < *hi)
            .map_or(addr, |(lo, _, to)| to + (addr - lo))
    }
}

/// What replacing an object keeps from the version before.
pub(crate) struct Replacing {
    pub id: ObjectId,
    pub keep_state: bool,
    /// The old version's global writable data: (name, address, size), sorted.
    pub data: Vec<(NameId, u64, u64)>,
}

/// A global symbol's binding while its object resolves (it cannot change
/// meanwhile), and its slot once it has one.
#[derive(Clone, Copy)]
struct Bound {
    binding: Binding,
    slot: Option<SlotId>,
}

/// How resolve treats each symbol of an object, decided once per object.
#[derive(Clone, Copy)]
enum SymbolUse {
    /// Bound within the object.
    Local,
    /// A name relink defines per object (`special_name`), undefined here.
    Special,
    /// A global name (interned); `own`: this object's definition of it, an index
    /// into [`Defs::list`].
    Global { name: NameId, own: Option<u32> },
    /// Any other global symbol: one without a name (malformed if a relocation uses
    /// it), or one this object neither defines nor refers to.
    Other,
}

/// An object's global names, interned; see `Linker::names`.
struct Names {
    /// Per symbol index.
    uses: Vec<SymbolUse>,
    defs: Defs,
    /// Names it refers to, sorted, with whether all their references are weak.
    refs: Vec<(NameId, bool)>,
    /// Its global writable variables: (name, live address, size), sorted.
    data: Vec<(NameId, u64, u64)>,
}

/// An object's global definitions that survive COMDAT selection, one per name
/// (the first symbol of a name wins), sorted by name id.
pub(crate) struct Defs {
    list: Vec<(NameId, ObjectDef)>,
}

impl Defs {
    fn index(&self, name: NameId) -> Option<u32> {
        self.list
            .binary_search_by_key(&name, |(n, _)| *n)
            .ok()
            .map(|i| i as u32)
    }

    pub(crate) fn get(&self, name: NameId) -> Option<&ObjectDef> {
        self.index(name).map(|i| &self.list[i as usize].1)
    }

    pub(crate) fn get_mut(&mut self, name: NameId) -> Option<&mut ObjectDef> {
        self.index(name).map(|i| &mut self.list[i as usize].1)
    }
}

/// One relocation, resolved: what to write where.
struct Fix {
    section: usize,
    offset: u64,
    kind: RelocKind,
    v: FixupValues,
    symbol: SymbolId,
    /// A second `S` to try if the first does not fit: an object's own function
    /// referenced through a narrow field (`jrcxz`, PC8) binds directly instead of
    /// to its stub.
    direct: Option<u64>,
}

/// What every relocation of one object is resolved against.
struct Context<'c, 'o> {
    object: &'c Object<'o>,
    id: ObjectId,
    layout: &'c Layout,
    defs: &'c Defs,
    /// Per symbol index.
    uses: &'c [SymbolUse],
    /// Target address of the region, and of the global offset table.
    target: u64,
    got: u64,
}

/// A relocation and where its section was placed.
#[derive(Clone, Copy)]
struct Place<'r> {
    si: usize,
    /// Offset of the section in the region.
    at: u64,
    r: &'r Reloc,
}

impl Context<'_, '_> {
    /// A fixup for `place` with `P`, `A` and `GOT` filled in.
    fn fix(&self, place: Place) -> Fix {
        Fix {
            section: place.si,
            offset: place.at + place.r.offset,
            kind: place.r.kind,
            v: FixupValues {
                p: self.target + place.at + place.r.offset,
                a: place.r.addend,
                got: self.got,
                ..FixupValues::default()
            },
            symbol: place.r.symbol,
            direct: None,
        }
    }

    /// The address of a symbol this object defines (the subtrahend of a difference).
    fn own_address(&self, sym: SymbolId, place: Place) -> Result<u64> {
        self.layout
            .addresses
            .get(sym.0 as usize)
            .copied()
            .flatten()
            .map(|a| self.layout.translate(a))
            .ok_or_else(|| Error::Unsupported {
                at: self
                    .object
                    .location(SectionId(place.si as u32), place.r.offset),
                what: format!(
                    "a difference from `{}`, which this object does not define",
                    self.object
                        .symbols
                        .get(sym.0 as usize)
                        .map_or("?", |s| s.name)
                ),
            })
    }

    /// The site record of a direct reference at `place` (at its live address, if
    /// the place lies in inherited data).
    fn site(&self, place: Place) -> Site {
        let p = self
            .layout
            .translate(self.target + place.at + place.r.offset);
        Site {
            object: self.id,
            offset: p - self.target,
            p,
            kind: place.r.kind,
            addend: place.r.addend,
            section: place.si as u32,
            section_offset: place.r.offset,
        }
    }
}

/// A direct reference to a global name, recorded at commit.
type NamedSite = (NameId, Site);

/// Where `resolve_global` puts its results: into the fixup being made, and (for
/// a direct reference) onto the sites to record.
struct Resolved<'a> {
    fix: &'a mut Fix,
    sites: &'a mut Vec<NamedSite>,
}

/// A static-TLS fixup, finished once its module's thread-pointer offset is known.
type StaticFix = (Fix, tls::StaticUse);

/// Lists every load needs for its own work, kept by the `Linker` between loads
/// (`Linker::scratch`) so that each object reuses their memory instead of
/// allocating it afresh: taken at the start of a stage, given back at its end
/// (a failed load just drops them).
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per symbol: whether a relocation uses it (`names`).
    referenced: Vec<bool>,
    /// Per symbol: its binding while the object resolves (`resolve`).
    bound: Vec<Option<Bound>>,
    /// The object's fixups (`resolve`, `apply_fixes`).
    fixes: Vec<Fix>,
}

/// A scratch list taken out of its place in [`Scratch`], holding `len` copies
/// of `value` (its room kept from earlier objects).
fn refill<T: Clone>(kept: &mut Vec<T>, len: usize, value: T) -> Vec<T> {
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
    slots: Vec<(Option<NameId>, SlotId)>,
    /// Names this load added to the symbol table.
    entries: Vec<NameId>,
    tls_module: Option<u64>,
    /// Local `STT_GNU_IFUNC` symbols' slots and their resolvers (`ifunc.rs`).
    pub(crate) ifuncs: Vec<(SlotId, u64)>,
}

impl Undo {
    fn clear(&mut self) {
        self.pieces.clear();
        self.slots.clear();
        self.entries.clear();
        self.tls_module = None;
        self.ifuncs.clear();
    }
}

impl Linker {
    /// Links one object; see the module doc. Constructors are not run here.
    pub(crate) fn link(&mut self, object: &Object) -> Result<ObjectId> {
        let id = self.new_id();
        self.link_as(object, id, None).map(|_| id)
    }

    /// Links `object` under `id`, as a new object or (with `replacing`) as the new
    /// version of an old one. Returns the old version's record when replacing.
    pub(crate) fn link_as(
        &mut self,
        object: &Object,
        id: ObjectId,
        replacing: Option<&Replacing>,
    ) -> Result<Option<Loaded>> {
        let mut undo = std::mem::take(&mut self.undo);
        undo.clear();
        let result = self.link_inner(object, id, replacing, &mut undo);
        if result.is_err() {
            self.rollback(&mut undo);
        }
        self.undo = undo;
        result
    }

    fn link_inner(
        &mut self,
        object: &Object,
        id: ObjectId,
        replacing: Option<&Replacing>,
        undo: &mut Undo,
    ) -> Result<Option<Loaded>> {
        let start = Instant::now();
        let excluded = self.comdat_losers(object, id);
        let mut layout = self.layout(object, &excluded)?;
        undo.pieces.extend(layout.pieces.iter().copied());
        if let Some(plan) = layout.tls_plan {
            let image = self.register_tls(object, plan)?;
            undo.tls_module = Some(image.module);
            layout.tls_image = Some(image);
        }
        let tls_image = layout.tls_image;
        self.copy_sections(object, &layout);
        if let Some(at) = layout.atexit {
            self.write_atexit(object, at, layout.dso_handle)?;
        }
        if let Some(r) = replacing {
            layout.redirects = inherited(object, &layout, r, &self.symbols);
        }
        self.stats.layout += start.elapsed();
        self.injected(Stage::Layout)?;

        let start = Instant::now();
        let Names {
            uses,
            mut defs,
            refs,
            data,
        } = self.names(object, id, &layout, undo)?;
        layout.data = data;
        for &(name, _) in &refs {
            let e = self.symbols.entry(name);
            // The process is asked only when no object defines the name.
            if e.defs.is_empty() && e.process().is_none() && defs.get(name).is_none() {
                self.look_up_in_process(name);
            }
        }
        let (fixes, sites, statics) = self.resolve(object, id, &layout, &defs, &uses, undo)?;
        let patches = self.rebinding_patches(&defs, replacing.map(|r| r.id))?;
        self.stats.resolve += start.elapsed();
        self.injected(Stage::Resolve)?;

        let start = Instant::now();
        self.apply_fixes(object, &layout, &fixes)?;
        let relocations = fixes.len() + statics.len();
        self.scratch.fixes = fixes;
        if !statics.is_empty() {
            self.apply_static_tls(object, &layout, statics)?;
        }
        let frames = self.unwind_frames(object, &layout)?;
        self.stats.fixup += start.elapsed();
        self.injected(Stage::Fixup)?;
        self.stats.relocations += relocations;

        let start = Instant::now();
        let code: Vec<(u64, u64, bool)> = (layout.pieces.iter())
            .filter(|p| p.class == Class::Code)
            .map(|p| {
                (
                    self.space().map_or(0, |s| s.region.target_base()) + p.offset,
                    p.len,
                    !p.fresh,
                )
            })
            .collect();
        self.run_resolvers(object, id, &code, &mut defs, &refs, &undo.ifuncs)?;
        let base = self.space()?.region.target_base();
        let placed_at: Vec<Option<u64>> = layout
            .sections
            .iter()
            .map(|s| s.map(|o| base + o))
            .collect();
        let old = self.commit(object, id, layout, defs, &refs, sites, patches, replacing)?;
        self.tls_images.extend(tls_image);
        let locals = undo
            .slots
            .iter()
            .filter(|(n, _)| n.is_none())
            .map(|(_, s)| *s);
        if let Some(loaded) = self.objects.get_mut(&id) {
            loaded.local_slots = locals.collect();
        }
        if !self.options.link_only {
            self.register(object, id, &placed_at, frames);
        }
        self.stats.finalize += start.elapsed();
        self.stats.objects += 1;
        Ok(old)
    }

    fn rollback(&mut self, undo: &mut Undo) {
        if let Some(module) = undo.tls_module.take() {
            crate::runtime::tls::unregister(module);
        }
        let Some(space) = self.space.as_mut() else {
            return;
        };
        for (name, slot) in undo.slots.drain(..) {
            if let Some(name) = name {
                self.symbols.entry_mut(name).slot = None;
            }
            space.stubs.release(
                &mut space.region,
                slot,
                "call through a released slot".into(),
            );
        }
        for piece in undo.pieces.drain(..) {
            space.pools.free(&mut space.region, piece);
        }
        for name in undo.entries.drain(..) {
            if self.symbols.entry(name).is_unused() {
                self.symbols.remove(name);
            }
        }
    }

    /// Sections of COMDAT groups whose signature another object already provides
    /// (`id` itself, when replacing, does not count).
    fn comdat_losers(&self, object: &Object, id: ObjectId) -> Vec<bool> {
        let mut excluded = vec![false; object.sections.len()];
        for group in &object.groups {
            if self.comdats.get(group.signature).is_some_and(|o| *o != id) {
                for s in &group.sections {
                    excluded[s.0 as usize] = true;
                }
            }
        }
        excluded
    }

    fn layout(&mut self, object: &Object, excluded: &[bool]) -> Result<Layout> {
        let arch = self.arch;
        let mut sizes = [0u64; 4];
        let mut aligns = [1u64; 4];
        let mut section_at = vec![None; object.sections.len()];
        let mut put = |class: Class, size: u64, align: u64| -> u64 {
            let c = class as usize;
            aligns[c] = aligns[c].max(align);
            let at = sizes[c].next_multiple_of(align);
            sizes[c] = at + size;
            at
        };
        for (i, s) in object.sections.iter().enumerate() {
            if !excluded[i] && s.role != Role::Tls {
                // Unwind sections get a zero terminator (runtime/unwind.rs).
                let extra = if s.role == Role::EhFrame {
                    runtime::unwind::TERMINATOR
                } else {
                    0
                };
                section_at[i] = Some((s.class, put(s.class, s.size + extra, s.align)));
            }
        }
        let mut commons = Map::default();
        for (i, sym) in object.symbols.iter().enumerate() {
            if let Definition::Common { size, align } = sym.definition {
                commons.insert(i, put(Class::Zero, size, align));
            }
        }
        let tls_plan = tls::plan_image(
            object,
            excluded,
            |size, align| put(Class::ReadOnly, size, align),
            |i, at| section_at[i] = Some((Class::ReadOnly, at)),
        );
        let cell_count = object.facts().tls_cells;
        let cells = put(Class::ReadOnly, cell_count * tls::CELL_SIZE, 16);
        let dso = put(Class::ReadOnly, 8, 8);
        let veneer_count = if arch.veneer_size() > 0 {
            count_branches(object)
        } else {
            0
        };
        let veneers = put(Class::Code, veneer_count * arch.veneer_size() as u64, 16);
        let atexit = object
            .symbols
            .iter()
            .any(|s| s.name == "atexit" && !s.is_defined() && is_global(s.binding))
            .then(|| put(Class::Code, Arch::ATEXIT_SIZE as u64, 16));
        // One piece per non-empty class, packed into pages shared with other
        // objects of the same class (memory/pack.rs).
        let together = object.facts().compact;
        let space = self.space()?;
        let mut class_start = [0u64; 4];
        let requests: Vec<(Class, u64, u64)> = Class::ALL
            .iter()
            .filter(|c| sizes[**c as usize] > 0)
            .map(|c| (*c, sizes[*c as usize], aligns[*c as usize]))
            .collect();
        let pieces = if together {
            space.pools.alloc_together(&mut space.region, &requests)?
        } else {
            let mut pieces = Vec::new();
            for &(c, size, align) in &requests {
                match space.pools.alloc(&mut space.region, c, size, align) {
                    Ok(piece) => pieces.push(piece),
                    Err(e) => {
                        for p in pieces {
                            space.pools.free(&mut space.region, p);
                        }
                        return Err(e);
                    }
                }
            }
            pieces
        };
        for piece in &pieces {
            class_start[piece.class as usize] = piece.offset;
        }
        let target = space.region.target_base();
        let abs = |class: Class, at: u64| class_start[class as usize] + at;
        let sections: Vec<Option<u64>> = section_at
            .iter()
            .map(|s| s.map(|(c, at)| abs(c, at)))
            .collect();
        let addresses = object
            .symbols
            .iter()
            .enumerate()
            .map(|(i, sym)| match sym.definition {
                Definition::Section { section, offset } => {
                    sections[section.0 as usize].map(|o| target + o + offset)
                }
                Definition::Absolute(v) => Some(v),
                Definition::Common { .. } => {
                    commons.get(&i).map(|at| target + abs(Class::Zero, *at))
                }
                Definition::Undefined => None,
            })
            .collect();
        Ok(Layout {
            pieces,
            sections,
            addresses,
            dso_handle: target + abs(Class::ReadOnly, dso),
            atexit: atexit.map(|at| target + abs(Class::Code, at)),
            veneers: (abs(Class::Code, veneers), veneer_count),
            redirects: Vec::new(),
            tls_plan: tls_plan.map(|p| tls::ImagePlan {
                start: abs(Class::ReadOnly, p.start),
                init_end: abs(Class::ReadOnly, p.init_end),
                end: abs(Class::ReadOnly, p.end),
                align: p.align,
            }),
            tls_image: None,
            tls_cells: (abs(Class::ReadOnly, cells), cell_count),
            data: Vec::new(),
        })
    }

    fn copy_sections(&mut self, object: &Object, layout: &Layout) {
        let Some(space) = self.space.as_mut() else {
            return;
        };
        for (s, at) in object.sections.iter().zip(&layout.sections) {
            if let (Some(at), false) = (at, s.data.is_empty()) {
                space
                    .region
                    .bytes_mut(*at, s.data.len() as u64)
                    .copy_from_slice(s.data);
            }
            if let (Some(at), Role::EhFrame) = (at, s.role) {
                let end = at + s.data.len() as u64;
                space
                    .region
                    .bytes_mut(end, runtime::unwind::TERMINATOR)
                    .fill(0);
            }
        }
    }

    /// Interns the object's global names — those it defines and those its
    /// relocations use (new ones are recorded in `undo`) — and decides once per
    /// symbol how resolve binds it. Returns the per-symbol uses, the global
    /// definitions, and the names it refers to (sorted by id), each with whether
    /// all its referring symbols are weak.
    fn names(
        &mut self,
        object: &Object,
        id: ObjectId,
        layout: &Layout,
        undo: &mut Undo,
    ) -> Result<Names> {
        let mut referenced = refill(&mut self.scratch.referenced, object.symbols.len(), false);
        for r in object.sections.iter().flat_map(|s| &s.relocs) {
            if let Some(used) = referenced.get_mut(r.symbol.0 as usize) {
                *used = true;
            }
        }
        // Every global name looked up first, in a loop that does nothing else:
        // the lookups' cache misses (hash index, name text) then overlap, where
        // between the steps below each waited for its own.
        let known: Vec<Option<NameId>> = (object.symbols.iter())
            .map(|s| {
                is_global(s.binding)
                    .then(|| self.symbols.id(s.name))
                    .flatten()
            })
            .collect();
        let mut uses = Vec::with_capacity(object.symbols.len());
        let globals = uses.capacity();
        let (mut list, mut refs, mut data) = (
            Vec::with_capacity(globals),
            Vec::with_capacity(globals),
            Vec::new(),
        );
        for (i, sym) in object.symbols.iter().enumerate() {
            let address = layout.addresses[i].map(|a| layout.translate(a));
            let global = is_global(sym.binding);
            let used = if !global {
                SymbolUse::Local
            } else if !sym.is_defined() && special_name(sym.name).is_some() {
                SymbolUse::Special
            } else if sym.name.is_empty() || (address.is_none() && !referenced[i]) {
                SymbolUse::Other
            } else {
                let (name, new) = match known[i] {
                    Some(name) => (name, false),
                    None => self.symbols.intern(sym.name),
                };
                if new {
                    undo.entries.push(name);
                }
                if let Some(addr) = address {
                    let common = matches!(sym.definition, Definition::Common { .. });
                    if sym.binding == Bind::Global && !common {
                        self.check_duplicate(object, id, sym.name, name)?;
                    }
                    let weak = sym.binding == Bind::Weak || common;
                    let code = defines_code(object, &sym.definition);
                    let mut def = object_def(id, addr, sym.size, code, weak);
                    match sym.definition {
                        Definition::Common { size, align } => {
                            // `align` is a power of two (the readers check).
                            (def.size, def.common) = (size, Some(align.trailing_zeros() as u8));
                        }
                        Definition::Section { section, offset } if code => {
                            let align = object.section(section).align.max(1);
                            def.align_log2 =
                                (align.trailing_zeros().min(offset.trailing_zeros()) as u8).min(12);
                        }
                        _ => {}
                    }
                    list.push((name, def));
                    if writable_variable(object, sym) {
                        data.push((name, addr, sym.size));
                    }
                }
                if referenced[i] {
                    refs.push((name, sym.is_defined() || sym.binding == Bind::Weak));
                }
                SymbolUse::Global { name, own: None }
            };
            uses.push(used);
        }
        // One definition per name: the first symbol's (the sort is stable).
        list.sort_by_key(|(n, _)| *n);
        list.dedup_by_key(|(n, _)| *n);
        let defs = Defs { list };
        for used in &mut uses {
            if let SymbolUse::Global { name, own } = used {
                *own = defs.index(*name);
            }
        }
        if layout.atexit.is_some() {
            // The atexit thunk calls it (and an object that registers exit
            // handlers is kept while they may run: `Linker::replace_with`).
            let (name, new) = self.symbols.intern("__cxa_atexit");
            if new {
                undo.entries.push(name);
            }
            refs.push((name, true));
        }
        refs.sort_unstable_by_key(|(n, _)| *n);
        // Several symbols of one name (rare): weak only if all are.
        refs.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 &= b.1;
            }
            same
        });
        // One entry per variable name (the last symbol's, as a map insert would).
        data.reverse();
        data.sort_by_key(|d| d.0);
        data.dedup_by_key(|d| d.0);
        data.shrink_to_fit();
        self.scratch.referenced = referenced;
        Ok(Names {
            uses,
            defs,
            refs,
            data,
        })
    }

    /// A strong definition of `name` by another loaded object is an error.
    fn check_duplicate(
        &self,
        object: &Object,
        id: ObjectId,
        symbol: &str,
        name: NameId,
    ) -> Result<()> {
        let other = self.symbols.entry(name).strong_def(id);
        match other {
            Some(first) => Err(Error::Duplicate {
                symbol: symbol.to_string(),
                first: self.object_name(first.object),
                second: object.name.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Computes every fixup's values, allocating slots as needed, and the sites
    /// (direct references to other objects' names) to record.
    #[allow(clippy::too_many_arguments)]
    fn resolve(
        &mut self,
        object: &Object,
        id: ObjectId,
        layout: &Layout,
        defs: &Defs,
        uses: &[SymbolUse],
        undo: &mut Undo,
    ) -> Result<(Vec<Fix>, Vec<NamedSite>, Vec<StaticFix>)> {
        let space = self.space()?;
        let cx = Context {
            object,
            id,
            layout,
            defs,
            uses,
            target: space.region.target_base(),
            got: space.stubs.got_base(),
        };
        let count = object.sections.iter().map(|s| s.relocs.len()).sum();
        let mut fixes = std::mem::take(&mut self.scratch.fixes);
        fixes.clear();
        fixes.reserve(count);
        let mut sites = Vec::new();
        let mut statics = Vec::new();
        let mut locals: Map<SymbolId, SlotId> = Map::default();
        let mut cells = tls::Cells::new(layout.tls_cells.0, layout.tls_cells.1);
        let mut bound = refill(&mut self.scratch.bound, object.symbols.len(), None);
        for (si, section) in object.sections.iter().enumerate() {
            let Some(at) = layout.sections[si] else {
                continue;
            };
            for r in &section.relocs {
                let sym = object.symbol(r.symbol);
                let place = Place { si, at, r };
                // Filled in where it lies: a fixup, and a `Result` around it, are
                // large, and moving them out of callees was a sixth of resolving.
                let mut fix = cx.fix(place);
                match cx.uses[r.symbol.0 as usize] {
                    SymbolUse::Local | SymbolUse::Special => {
                        let special = special_symbol(sym.name, layout, cx.got, cx.target)
                            .filter(|_| !sym.is_defined());
                        if !self.resolve_local(&cx, place, special, &mut locals, undo, &mut fix)? {
                            continue;
                        }
                    }
                    SymbolUse::Other => {
                        return Err(Error::malformed(
                            object.location(SectionId(si as u32), r.offset),
                            "relocation against a global symbol with no name",
                        ))
                    }
                    SymbolUse::Global { name, own } => {
                        let bound = &mut bound[r.symbol.0 as usize];
                        let to = Resolved {
                            fix: &mut fix,
                            sites: &mut sites,
                        };
                        self.resolve_global(&cx, place, name, own, bound, undo, to)?;
                    }
                }
                if let Target::Tls(target) = r.kind.info().target {
                    let f = tls::TlsFix {
                        object: id,
                        target,
                        symbol: r.symbol,
                        s: &mut fix.v.s,
                        a: &mut fix.v.a,
                        slot: &mut fix.v.slot,
                    };
                    let at = || object.location(SectionId(si as u32), r.offset);
                    let deferred = self.tls_fix(object, layout.tls_image, f, &mut cells, at)?;
                    fix.direct = None;
                    if let Some(u) = deferred {
                        if section.role == Role::Tls {
                            // glibc copies the image into every thread before
                            // the offset is known.
                            return Err(Error::Unsupported {
                                at: at(),
                                what: format!(
                                    "a thread-pointer offset ({}) inside thread-local data",
                                    r.kind
                                ),
                            });
                        }
                        statics.push((fix, u));
                        continue;
                    }
                } else if tls::is_tls_symbol(object, r.symbol) {
                    return Err(Error::Unsupported {
                        at: object.location(SectionId(si as u32), r.offset),
                        what: format!(
                            "a {} reference to thread-local `{}` (only thread-local \
                             relocations may refer to it)",
                            r.kind, sym.name
                        ),
                    });
                }
                if let Some(minus) = r.minus {
                    // A difference uses the same address as any other reference
                    // (a function's stub), so relative pointers compare equal to
                    // `&f` and follow replacement — except in unwind tables, which
                    // need the code's real address.
                    let direct = fix.direct.take();
                    let s = match section.role {
                        Role::EhFrame => direct.unwrap_or(fix.v.s),
                        _ => fix.v.s,
                    };
                    fix.v.s = s.wrapping_sub(cx.own_address(minus, place)?);
                }
                fixes.push(fix);
            }
        }
        self.scratch.bound = bound;
        Ok((fixes, sites, statics))
    }

    /// Finishes and applies the static-TLS fixups (initial and local exec) once
    /// every other fixup is applied, so that the object's own TLS image is final
    /// when the C library copies it into every thread (`runtime/static_tls.rs`).
    fn apply_static_tls(
        &mut self,
        object: &Object,
        layout: &Layout,
        statics: Vec<StaticFix>,
    ) -> Result<()> {
        let mut offsets: Map<u64, i64> = Map::default();
        let mut fixes = Vec::with_capacity(statics.len());
        for (mut fix, u) in statics {
            let tp = match offsets.get(&u.module) {
                Some(tp) => *tp,
                None => {
                    let name = object.symbol(fix.symbol).name;
                    let start = layout.sections[fix.section].unwrap_or(0);
                    let at = || object.location(SectionId(fix.section as u32), fix.offset - start);
                    let tp = self.static_tls_offset(u.module, layout.tls_image, name, at)?;
                    offsets.insert(u.module, tp);
                    tp
                }
            };
            match u.cell {
                Some((cell, offset)) => {
                    let value = (tp as u64).wrapping_add(offset);
                    self.write_tp_cell(cell, value)?;
                    if self.relax_initial_exec(&mut fix, value, layout) {
                        self.stats.relaxed += 1;
                    }
                }
                None => fix.v.s = (tp as u64).wrapping_add(fix.v.s),
            }
            fixes.push(fix);
        }
        self.apply_fixes(object, layout, &fixes)
    }

    /// Writes the object's `atexit` thunk at target address `at`.
    fn write_atexit(&mut self, object: &Object, at: u64, dso_handle: u64) -> Result<()> {
        let cxa_atexit =
            crate::symbols::dlsym("__cxa_atexit").ok_or_else(|| Error::Unsupported {
                at: crate::error::Location::object(&object.name),
                what: "`atexit`: the process has no `__cxa_atexit`".into(),
            })?;
        let arch = self.arch;
        let region = &mut self.space()?.region;
        let offset = at - region.target_base();
        let out = region.bytes_mut(offset, Arch::ATEXIT_SIZE as u64);
        arch.write_atexit(out, dso_handle, cxa_atexit.address);
        Ok(())
    }

    /// x86-64 initial exec whose variable's thread-pointer offset is `value`:
    /// rewrites the instruction to take it as an immediate (local exec) when it is
    /// a `mov` or `add` (`arch::x86_64::relax_gottpoff`), saving the cell's load.
    fn relax_initial_exec(&mut self, fix: &mut Fix, value: u64, layout: &Layout) -> bool {
        use crate::arch::x86_64::{relax_gottpoff, Kind};
        let section_start = layout.sections[fix.section].unwrap_or(u64::MAX);
        if fix.kind != RelocKind::X86_64(Kind::TpCellDelta32)
            || fix.v.a != -4
            || fix.offset < section_start.saturating_add(3)
            || i32::try_from(value as i64).is_err()
        {
            return false;
        }
        let Some(space) = self.space.as_mut() else {
            return false;
        };
        if !relax_gottpoff(space.region.bytes_mut(fix.offset - 3, 3)) {
            return false;
        }
        fix.kind = RelocKind::X86_64(Kind::TpOffset32);
        fix.v.s = value;
        fix.v.a = 0;
        true
    }

    /// A relocation against a local symbol, or a name relink defines per object:
    /// completes `fix` (made by [`Context::fix`]). `false`: nothing to do (an
    /// unwind entry of discarded COMDAT code).
    fn resolve_local(
        &mut self,
        cx: &Context,
        place: Place,
        special: Option<u64>,
        locals: &mut Map<SymbolId, SlotId>,
        undo: &mut Undo,
        fix: &mut Fix,
    ) -> Result<bool> {
        let (r, section) = (place.r, cx.object.section(SectionId(place.si as u32)));
        let sym = cx.object.symbol(r.symbol);
        let Some(addr) = special.or(cx.layout.addresses[r.symbol.0 as usize]) else {
            if section.role == Role::EhFrame {
                // Unwind entries of a discarded COMDAT group's code: they describe
                // nothing that is loaded, and stay unrelocated.
                return Ok(false);
            }
            return Err(Error::malformed(
                cx.object.location(SectionId(place.si as u32), r.offset),
                format!(
                    "refers to `{}`, which lies in a section relink does not load",
                    sym.name
                ),
            ));
        };
        // A section-relative reference into inherited data follows it.
        let a = r.addend as u64;
        fix.v.s = cx.layout.translate(addr.wrapping_add(a)).wrapping_sub(a);
        fix.v.z = sym.size;
        let ifunc = sym.kind == SymbolKind::Ifunc;
        if ifunc {
            // Every reference goes through the stub; the slot gets the resolved
            // address before the object is committed.
            let slot = self.local_slot(locals, r.symbol, addr, ifunc, undo)?;
            let stubs = &self.space()?.stubs;
            fix.v.s = stubs.stub_addr(slot);
            fix.v.slot = stubs.got_addr(slot);
        } else if r.kind.info().target == Target::Slot {
            let slot = self.local_slot(locals, r.symbol, addr, ifunc, undo)?;
            fix.v.slot = self.space()?.stubs.got_addr(slot);
        }
        Ok(true)
    }

    /// A relocation against a global name: bound directly to this object's own
    /// strong definition where the design allows, else through the name's slot,
    /// stub or current binding (recording a site for direct references).
    #[allow(clippy::too_many_arguments)]
    fn resolve_global(
        &mut self,
        cx: &Context,
        place: Place,
        name: NameId,
        own: Option<u32>,
        bound: &mut Option<Bound>,
        undo: &mut Undo,
        to: Resolved,
    ) -> Result<()> {
        let fix = to.fix;
        let r = place.r;
        let (info, sym) = (r.kind.info(), cx.object.symbol(r.symbol));
        let own = own.map(|i| &cx.defs.list[i as usize].1);
        let Bound { binding, slot } = *bound.get_or_insert_with(|| {
            let entry = self.symbols.entry(name);
            let mut binding = entry.binding(own);
            if let Binding::Unresolved { weak } = &mut binding {
                *weak &= sym.binding == Bind::Weak;
            }
            Bound {
                binding,
                slot: entry.slot,
            }
        });
        // An ifunc's own address is its resolver: calls go through the stub.
        let direct = own.filter(|d| !d.weak && sym.kind != SymbolKind::Ifunc);
        let needs_slot = info.target == Target::Slot
            || info.reach != Reach::Exact
            || matches!(binding, Binding::Object(d) if d.code)
            || matches!(binding, Binding::Unresolved { .. })
            || matches!(binding, Binding::Host(p) | Binding::Process(p) if p.function);
        let mut stub = None;
        fix.v.z = size_of(&binding);
        if needs_slot {
            let slot = match slot {
                Some(slot) => slot,
                None => {
                    let slot = self.slot_for(name, &binding)?;
                    undo.slots.push((Some(name), slot));
                    *bound = Some(Bound {
                        binding,
                        slot: Some(slot),
                    });
                    slot
                }
            };
            let stubs = &self.space()?.stubs;
            stub = Some(stubs.stub_addr(slot));
            fix.v.slot = stubs.got_addr(slot);
        }
        if info.reach == Reach::Veneer && r.addend != 0 && direct.is_none() {
            // A branch into the middle of a function bound through its stub would
            // land inside the stub.
            return Err(Error::Unsupported {
                at: cx.object.location(SectionId(place.si as u32), r.offset),
                what: format!(
                    "a branch to `{}`{:+} with an offset, to a function bound through a stub",
                    sym.name, r.addend
                ),
            });
        }
        fix.v.s = match (info.reach, direct) {
            (Reach::Exact, Some(d)) if d.code => {
                fix.direct = Some(d.address);
                stub.unwrap_or(d.address)
            }
            (_, Some(d)) => d.address,
            (Reach::Exact, None) => value_of(&binding, stub, r.kind, fix.v.p, r.addend),
            (_, None) => stub.unwrap_or(0),
        };
        let records = info.reach == Reach::Exact && info.target == Target::Symbol;
        if records && direct.is_none() {
            if r.minus.is_some() {
                return Err(Error::Unsupported {
                    at: cx.object.location(SectionId(place.si as u32), r.offset),
                    what: format!(
                        "a difference of `{}`, which another object defines",
                        sym.name
                    ),
                });
            }
            to.sites.push((name, cx.site(place)));
        }
        Ok(())
    }

    fn local_slot(
        &mut self,
        locals: &mut Map<SymbolId, SlotId>,
        sym: SymbolId,
        addr: u64,
        ifunc: bool,
        undo: &mut Undo,
    ) -> Result<SlotId> {
        if let Some(s) = locals.get(&sym) {
            return Ok(*s);
        }
        let space = self.space()?;
        // A local GOT entry's slot holds its address at once: it never traps.
        let slot = space.stubs.alloc(&mut space.region, None, addr)?;
        space.stubs.set_slot(&mut space.region, slot, addr);
        if ifunc {
            // An ifunc's canonical address is its stub; `addr` is its resolver.
            let stub = space.stubs.stub_addr(slot);
            space.stubs.set_got(&mut space.region, slot, stub);
            undo.ifuncs.push((slot, addr));
        }
        undo.slots.push((None, slot));
        locals.insert(sym, slot);
        Ok(slot)
    }

    /// Patches for other objects' sites of names this object (re)binds.
    /// Patches for other objects' sites of names whose binding this load changes:
    /// the names it defines, and (replacing) the names the old version defined.
    fn rebinding_patches(&self, defs: &Defs, replaced: Option<ObjectId>) -> Result<Vec<Patch>> {
        let old: &[NameId] = match replaced.and_then(|id| self.objects.get(&id)) {
            Some(o) => &o.defines,
            None => &[],
        };
        let mut names: Vec<NameId> = defs.list.iter().map(|(n, _)| *n).collect();
        if !old.is_empty() {
            names.extend(old);
            names.sort_unstable();
            names.dedup();
        }
        let mut out = Vec::new();
        for name in names {
            let entry = self.symbols.entry(name);
            if entry.sites().is_empty() {
                continue; // nothing to re-patch, whatever the binding
            }
            let after = entry.binding_with(replaced, defs.get(name));
            if entry.binding(None) != after {
                let others: Vec<Site> = entry
                    .sites()
                    .iter()
                    .filter(|s| Some(s.object) != replaced)
                    .copied()
                    .collect();
                out.extend(self.site_patches(name, &after, entry.slot, &others)?);
            }
        }
        Ok(out)
    }

    fn apply_fixes(&mut self, object: &Object, layout: &Layout, fixes: &[Fix]) -> Result<()> {
        let arch = self.arch;
        let mut veneers: Map<u64, u64> = Map::default();
        let mut used = 0;
        let space = self
            .space
            .as_mut()
            .ok_or_else(|| Error::NotFound("(no memory)".into()))?;
        let target = space.region.target_base();
        for f in fixes {
            let width = f.kind.info().width as u64;
            let place = space.region.bytes_mut(f.offset, width);
            let mut result = f.kind.apply(place, &f.v);
            if let (Err(FixupError::OutOfRange { .. }), Some(s)) = (&result, f.direct) {
                let v = FixupValues { s, ..f.v };
                result = f.kind.apply(space.region.bytes_mut(f.offset, width), &v);
            }
            if matches!(result, Err(FixupError::OutOfRange { .. }))
                && f.kind.info().reach == Reach::Veneer
            {
                let dest = f.v.s.wrapping_add(f.v.a as u64);
                used += 1;
                let n = veneers.len() as u64;
                let at = match veneers.get(&dest) {
                    Some(at) => Ok(*at),
                    None if n < layout.veneers.1 => {
                        let off = layout.veneers.0 + n * arch.veneer_size() as u64;
                        let out = space.region.bytes_mut(off, arch.veneer_size() as u64);
                        arch.write_veneer(out, target + off, dest).map(|()| {
                            veneers.insert(dest, off);
                            off
                        })
                    }
                    None => Err(FixupError::Unsupported("no room left for veneers")),
                };
                result = at.and_then(|off| {
                    let v = FixupValues {
                        s: target + off,
                        a: 0,
                        ..f.v
                    };
                    f.kind.apply(space.region.bytes_mut(f.offset, width), &v)
                });
            }
            result.map_err(|problem| Error::Fixup {
                at: object.location(
                    crate::input::SectionId(f.section as u32),
                    f.offset - layout.sections[f.section].unwrap_or(0),
                ),
                kind: f.kind.to_string(),
                symbol: object.symbol(f.symbol).name.to_string(),
                problem,
            })?;
        }
        self.stats.veneers += used;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        object: &Object,
        id: ObjectId,
        mut layout: Layout,
        defs: Defs,
        refs: &[(NameId, bool)],
        sites: Vec<NamedSite>,
        patches: Vec<Patch>,
        replacing: Option<&Replacing>,
    ) -> Result<Option<Loaded>> {
        self.injected(Stage::Finalize)?;
        let space = self.space()?;
        let target = space.region.target_base();
        // Pools protect their chunks once; new code only needs to be made coherent.
        for piece in layout.pieces.iter().filter(|p| p.class == Class::Code) {
            space
                .region
                .code_written(target + piece.offset, piece.len, !piece.fresh);
        }
        if replacing.is_some_and(|r| !r.keep_state) {
            // Inherited data takes the new version's initial (relocated) contents.
            for (lo, hi, to) in &layout.redirects {
                let fresh = space.region.bytes(lo - target, hi - lo).to_vec();
                space
                    .region
                    .bytes_mut(to - target, hi - lo)
                    .copy_from_slice(&fresh);
            }
        }
        apply_patches(&mut space.region, &patches);
        let old = replacing.and_then(|r| self.objects.remove(&r.id));
        if let Some(old) = &old {
            for name in old.defines.iter().chain(&old.refers) {
                let e = self.symbols.entry_mut(*name);
                e.defs.retain(|d| d.object != id);
                e.refs.retain(|(o, _)| *o != id);
                e.retain_sites(|s| s.object != id);
            }
        }
        let refers = self.record_uses(id, refs, sites);
        let mut defines = Vec::with_capacity(defs.list.len());
        for (name, def) in defs.list {
            self.symbols.entry_mut(name).defs.push(def);
            defines.push(name);
        }
        self.record_comdats(object, id, &layout.sections, replacing.is_some());
        // Definitions always change a slot; references, see `unresolved_refs`.
        let old_defines = old.as_ref().map_or(&[][..], |o| &o.defines[..]);
        let mut touched = Vec::with_capacity(refers.len() + defines.len() + old_defines.len());
        self.unresolved_refs(id, &refers, &mut touched);
        touched.extend(&defines);
        touched.extend(old_defines);
        let pieces = self.keep_data(&layout, old.as_ref());
        let loaded = Loaded {
            name: object.name.clone(),
            pieces,
            data_symbols: std::mem::take(&mut layout.data),
            sections: placed(object, &layout),
            defines,
            refers,
            local_slots: Vec::new(),
            dso_handle: layout.dso_handle,
            unwind: Vec::new(),
            debug: None,
            functions: Default::default(),
            older: Vec::new(),
        };
        self.objects.insert(id, loaded);
        for name in touched {
            self.refresh_slot(name)?;
        }
        Ok(old)
    }

    /// Adds to `out` the names object `id` refers to (its references recorded)
    /// whose slots its references change: only unresolved names' slots, whose trap
    /// message names the objects that need them and whose GOT entry is null while
    /// every reference is weak. In a batch the messages are written at its end
    /// (the trap is marked here), so a slot changes only if this object's strong
    /// reference ends "every reference is weak" (rewriting every such slot
    /// anyway was 2% of linking a thousand objects).
    fn unresolved_refs(&mut self, id: ObjectId, refers: &[NameId], out: &mut Vec<NameId>) {
        let deferred = self.deferred.is_some();
        for &name in refers {
            let e = self.symbols.entry(name);
            if e.slot.is_none() || !e.is_unresolved() {
                continue;
            }
            let others_weak = || e.refs.iter().all(|&(o, weak)| o == id || weak);
            let strong = || e.refs.iter().any(|&(o, weak)| o == id && !weak);
            if deferred && !(others_weak() && strong()) {
                self.trap_message_now(name);
            } else {
                out.push(name);
            }
        }
    }

    /// Records the sites and references of a newly linked object; returns the
    /// names it refers to, sorted.
    fn record_uses(
        &mut self,
        id: ObjectId,
        refs: &[(NameId, bool)],
        sites: Vec<NamedSite>,
    ) -> Vec<NameId> {
        for (name, site) in sites {
            self.symbols.entry_mut(name).push_site(site);
        }
        for &(name, weak) in refs {
            self.symbols.entry_mut(name).refs.push((id, weak));
        }
        refs.iter().map(|(n, _)| *n).collect()
    }

    /// The pieces the new version uses: its own, and the old version's data
    /// pieces that still hold inherited variables. The old version's other pieces
    /// (its code among them) are retired: another thread may still be running it.
    fn keep_data(&mut self, layout: &Layout, old: Option<&Loaded>) -> Vec<Piece> {
        let mut pieces = layout.pieces.clone();
        let Some(old) = old else { return pieces };
        let target = self.space.as_ref().map_or(0, |s| s.region.target_base());
        for piece in &old.pieces {
            let (lo, hi) = (target + piece.offset, target + piece.offset + piece.len);
            let data = matches!(piece.class, Class::Data | Class::Zero);
            if data
                && layout
                    .redirects
                    .iter()
                    .any(|(_, _, to)| *to >= lo && *to < hi)
            {
                pieces.push(*piece);
            } else {
                self.retired.push(*piece);
            }
        }
        pieces
    }

    /// Writes a name's slot and GOT entry for its current binding.
    pub(crate) fn refresh_slot(&mut self, name: NameId) -> Result<()> {
        let entry = self.symbols.entry(name);
        let Some(slot) = entry.slot else {
            return Ok(());
        };
        let binding = entry.binding(None);
        let unresolved = matches!(binding, Binding::Unresolved { .. });
        let message = unresolved.then(|| self.trap_message_now(name)).flatten();
        let space = self.space()?;
        let (s, g) = slot_values(&space.stubs, slot, &binding);
        if let Some(message) = message {
            space.stubs.set_message(slot, message);
        }
        space.stubs.set_slot(&mut space.region, slot, s);
        space.stubs.set_got(&mut space.region, slot, g);
        Ok(())
    }
}

/// Names relink defines per object: `__dso_handle`, `_GLOBAL_OFFSET_TABLE_`,
/// `_TLS_MODULE_BASE_` (the start of the object's own TLS block) and `atexit`
/// (the object's thunk, `Arch::write_atexit`).
fn special_name(name: &str) -> Option<()> {
    matches!(
        name,
        "__dso_handle" | "_GLOBAL_OFFSET_TABLE_" | "_TLS_MODULE_BASE_" | "atexit"
    )
    .then_some(())
}

fn special_symbol(name: &str, layout: &Layout, got: u64, target: u64) -> Option<u64> {
    match name {
        "__dso_handle" => Some(layout.dso_handle),
        "atexit" => layout.atexit,
        "_GLOBAL_OFFSET_TABLE_" => Some(got),
        "_TLS_MODULE_BASE_" => layout.tls_plan.map(|p| target + p.start),
        _ => None,
    }
}

/// Distinct branch targets that might need veneers.
fn count_branches(object: &Object) -> u64 {
    let mut targets: Vec<(SymbolId, i64)> = object
        .sections
        .iter()
        .flat_map(|s| s.relocs.iter())
        .filter(|r| r.kind.info().reach == Reach::Veneer)
        .map(|r| (r.symbol, r.addend))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    targets.len() as u64
}

/// Global writable data of the new version that keeps the old version's address:
/// same name, same size. Everything else (new names, changed sizes, statics) gets
/// fresh storage; changed sizes are re-patched through the reverse index.
fn inherited(
    object: &Object,
    layout: &Layout,
    r: &Replacing,
    symbols: &SymbolTable,
) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    for (i, sym) in object.symbols.iter().enumerate() {
        if !is_global(sym.binding) || sym.size == 0 {
            continue;
        }
        let (Some(addr), true) = (layout.addresses[i], writable_variable(object, sym)) else {
            continue;
        };
        let Some(name) = symbols.id(sym.name) else {
            continue;
        };
        if let Ok(k) = r.data.binary_search_by_key(&name, |d| d.0) {
            let (_, old, size) = r.data[k];
            if size == sym.size {
                out.push((addr, addr + size, old));
            }
        }
    }
    out
}

/// Where each loaded section went, for constructors, unload and debuggers.
fn placed(object: &Object, layout: &Layout) -> Vec<Placed> {
    object
        .sections
        .iter()
        .zip(&layout.sections)
        .map(|(s, at)| Placed {
            name: s.name.to_string(),
            class: s.class,
            role: s.role,
            offset: at.unwrap_or(0),
            size: if at.is_some() { s.size } else { 0 },
        })
        .collect()
}

/// Whether the object's code reaches one of its own sections of another class
/// through a narrow PC-relative form (AArch64 `ADR`, `LDR` literal, `MOVW_PREL`,
/// x86-64 `PC8/16`): then its classes must be laid out close together.
pub(crate) fn needs_compact_layout(object: &Object) -> bool {
    object.sections.iter().any(|s| {
        s.relocs.iter().any(|r| {
            if !r.kind.info().pc_relative_short {
                return false;
            }
            let target = match object.symbol(r.symbol).definition {
                Definition::Section { section, .. } => Some(object.section(section).class),
                Definition::Common { .. } => Some(Class::Zero),
                _ => None,
            };
            target.is_some_and(|c| c != s.class)
        })
    })
}

/// A variable in writable memory whose size (from the file) lies within its
/// section: only such symbols carry contents across a replace. A size running past
/// its section is not trusted with memory (a fuzzed object had one).
fn writable_variable(object: &Object, sym: &crate::input::Symbol) -> bool {
    match sym.definition {
        Definition::Section { section, offset } => {
            let s = object.section(section);
            matches!(s.class, Class::Data | Class::Zero)
                && offset
                    .checked_add(sym.size)
                    .is_some_and(|end| end <= s.size)
        }
        Definition::Common { .. } => true,
        _ => false,
    }
}
