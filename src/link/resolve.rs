//! Resolve: every relocation of an object bound to an address — its own
//! symbols directly, global names through the symbol table (a slot, a stub, or a
//! direct site recorded for re-patching), TLS through `tls.rs`.

use super::object_name;
use super::refill;
use super::replace::writable_variable;
use super::slots;
use super::tls;
use super::Deferred;
use super::Layout;
use super::Objects;
use super::RelaxedLoad;
use super::Scratch;
use super::Space;
use super::Undo;
use crate::arch::{FixupValues, KindInfo, Reach, RelocKind, Target, TlsTarget};
use crate::error::{Error, Result};
use crate::input::Class;
use crate::input::{
    Binding as Bind, Definition, Object, Reloc, Role, SectionId, SymbolId, SymbolKind,
};
use crate::link::{size_of, value_of};
use crate::symbols::dictionary;
use crate::symbols::ObjectId;
use crate::symbols::SymbolTable;
use crate::symbols::{Binding, Map, NameId, ObjectDef, Site, SlotId};

/// A global symbol's binding while its object resolves (it cannot change
/// meanwhile), and its slot once it has one.
#[derive(Clone, Copy)]
pub(crate) struct Bound {
    pub(crate) binding: Binding,
    pub(crate) slot: Option<SlotId>,
}

/// How resolve treats each symbol of an object, decided once per object.
#[derive(Clone, Copy)]
pub(crate) enum SymbolUse {
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
pub(crate) struct Names {
    /// Per symbol index.
    pub(crate) uses: Vec<SymbolUse>,
    pub(crate) defs: Defs,
    /// Names it refers to, once each, with whether all their references are weak.
    pub(crate) refs: Vec<(NameId, bool)>,
    /// Of `refs`, the names it does not define itself (a scratch list: given
    /// back once the process has been asked for them).
    pub(crate) undefined: Vec<NameId>,
    /// Its global writable variables: (name, live address, size), sorted.
    pub(crate) data: Vec<(NameId, u64, u64)>,
}

/// An object's global definitions that survive COMDAT selection, one per name
/// (the first symbol of a name wins), sorted by name id.
pub(crate) struct Defs {
    pub(crate) list: Vec<(NameId, ObjectDef)>,
}

impl Defs {
    pub(crate) fn index(&self, name: NameId) -> Option<u32> {
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
pub(crate) struct Fix {
    pub(crate) section: usize,
    pub(crate) offset: u64,
    pub(crate) kind: RelocKind,
    pub(crate) v: FixupValues,
    pub(crate) symbol: SymbolId,
    /// A second `S` to try if the first does not fit: an object's own function
    /// referenced through a narrow field (`jrcxz`, PC8) binds directly instead of
    /// to its stub.
    pub(crate) direct: Option<u64>,
}

/// What every relocation of one object is resolved against.
pub(crate) struct Context<'c, 'o> {
    pub(crate) object: &'c Object<'o>,
    pub(crate) id: ObjectId,
    pub(crate) layout: &'c Layout,
    pub(crate) defs: &'c Defs,
    /// Per symbol index.
    pub(crate) uses: &'c [SymbolUse],
    /// Target address of the region, and of the global offset table.
    pub(crate) target: u64,
    pub(crate) got: u64,
}

/// A relocation and where its section was placed.
#[derive(Clone, Copy)]
pub(crate) struct Place<'r> {
    pub(crate) si: usize,
    /// Offset of the section in the region.
    pub(crate) at: u64,
    pub(crate) r: &'r Reloc,
}

impl Context<'_, '_> {
    /// A fixup for `place` with `P`, `A` and `GOT` filled in.
    pub(crate) fn fix(&self, place: Place) -> Fix {
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
    pub(crate) fn own_address(&self, sym: SymbolId, place: Place) -> Result<u64> {
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

    /// A difference `S - minus`: it uses the same address as any other
    /// reference (a function's stub), so relative pointers compare equal to `&f`
    /// and follow replacement — except in unwind tables, which need the code's
    /// real address.
    pub(crate) fn subtract(&self, place: Place, minus: SymbolId, fix: &mut Fix) -> Result<()> {
        let direct = fix.direct.take();
        let s = match self.object.section(SectionId(place.si as u32)).role {
            Role::EhFrame => direct.unwrap_or(fix.v.s),
            _ => fix.v.s,
        };
        fix.v.s = s.wrapping_sub(self.own_address(minus, place)?);
        Ok(())
    }

    /// The site record of a direct reference at `place` (at its live address, if
    /// the place lies in inherited data).
    pub(crate) fn site(&self, place: Place) -> Site {
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
pub(crate) type NamedSite = (NameId, Site);

/// The load through a slot that may be relaxed to another object's variable
/// (x86-64 `GOTPCREL`, `GOTPCRELX`, `REX_GOTPCRELX`).
pub(crate) const GOT_LOAD: RelocKind = RelocKind::X86_64(crate::arch::x86_64::Kind::GotDelta32);

/// The definition the load at `place` ([`GOT_LOAD`], in a plain load:
/// [`Scratch::relax_others`]) of a name bound as `binding` may be relaxed to:
/// another object's strong, non-common variable, loaded from code. (AArch64
/// loads keep the slot: relaxing one takes two instructions, which a variable
/// that moves would have to have rewritten together.)
fn other_variable<'b>(cx: &Context, place: Place, binding: &'b Binding) -> Option<&'b ObjectDef> {
    match binding {
        Binding::Object(d)
            if !d.code
                && !d.weak
                && d.common.is_none()
                && d.object != cx.id
                && cx.object.section(SectionId(place.si as u32)).class == Class::Code =>
        {
            Some(d)
        }
        _ => None,
    }
}

/// Where `resolve_global` puts its results: into the fixup being made, and (for
/// a direct reference) onto the sites to record.
pub(crate) struct Resolved<'a> {
    pub(crate) fix: &'a mut Fix,
    pub(crate) sites: &'a mut Vec<NamedSite>,
    /// The load's undo record (a new slot goes there).
    pub(crate) undo: &'a mut Undo,
    /// Loads through a slot rewritten to compute the address instead.
    pub(crate) relaxed: &'a mut usize,
    /// Those of them that load another object's variable.
    pub(crate) relaxed_loads: &'a mut Vec<RelaxedLoad>,
}

/// A static-TLS fixup, finished once its module's thread-pointer offset is known.
pub(crate) type StaticFix = (Fix, tls::StaticUse);

/// What [`Binder::resolve`] makes of an object's relocations.
pub(crate) struct Fixups {
    pub(crate) fixes: Vec<Fix>,
    /// Direct references to other objects' names, to record at commit.
    pub(crate) sites: Vec<NamedSite>,
    pub(crate) statics: Vec<StaticFix>,
    /// Loads through a slot rewritten to compute the address instead.
    pub(crate) relaxed: usize,
    /// Those of them that load another object's variable.
    pub(crate) relaxed_loads: Box<[RelaxedLoad]>,
}

/// Whether a global symbol's reference was bound to a loaded object's or the
/// host's definition (`resolve_global` left its binding in `bound`): then no
/// variable of the process's libraries is what it refers to, thread-local or
/// not, and [`tls::is_process_tls`] need not ask.
fn bound_here(bound: &Option<Bound>) -> bool {
    matches!(
        bound,
        Some(Bound {
            binding: Binding::Object(_) | Binding::Host(_),
            ..
        })
    )
}

/// Whether a reference of this kind to a name bound as `binding` goes through
/// the name's slot (GOT entry or stub): GOT kinds and branches always do, as do
/// references to an object's code (its stub is its address), to an unresolved
/// name (its trap) and to a process function (a stub reaches it from anywhere).
pub(crate) fn needs_slot(info: &KindInfo, binding: &Binding) -> bool {
    info.target == Target::Slot
        || info.reach != Reach::Exact
        || matches!(binding, Binding::Object(d) if d.code)
        || matches!(binding, Binding::Unresolved { .. })
        || matches!(binding, Binding::Host(p) | Binding::Process(p) if p.function)
}

/// `S` for a reference of `kind` at `p` to a global name bound as `binding`
/// (`direct`: this object's own strong definition of it; `stub`: the name's
/// stub, if it has a slot), and a second `S` to try if the first does not fit
/// (an own function through a narrow field binds to its code directly).
pub(crate) fn global_value(
    kind: RelocKind,
    binding: &Binding,
    direct: Option<&ObjectDef>,
    stub: Option<u64>,
    p: u64,
    addend: i64,
) -> (u64, Option<u64>) {
    match (kind.info().reach, direct) {
        (Reach::Exact, Some(d)) if d.code => (stub.unwrap_or(d.address), Some(d.address)),
        (_, Some(d)) => (d.address, None),
        (Reach::Exact, None) => (value_of(binding, stub, kind, p, addend), None),
        (_, None) => (stub.unwrap_or(0), None),
    }
}

/// Whether a reference is recorded as a site to re-patch when its name is
/// rebound: a direct (not GOT, not branch) reference to another object's name.
pub(crate) fn records_site(info: &KindInfo, direct: Option<&ObjectDef>) -> bool {
    info.reach == Reach::Exact && info.target == Target::Symbol && direct.is_none()
}

/// The definition an object's global symbol `sym`, placed at `addr`, gives its
/// name: code or data, weak or strong, a common's size and alignment, a
/// function's alignment (which its stub keeps).
fn definition(object: &Object, id: ObjectId, sym: &crate::input::Symbol, addr: u64) -> ObjectDef {
    let common = matches!(sym.definition, Definition::Common { .. });
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
            def.align_log2 = (align.trailing_zeros().min(offset.trailing_zeros()) as u8).min(12);
        }
        _ => {}
    }
    def
}

/// Names relink defines per object: `__dso_handle`, `_GLOBAL_OFFSET_TABLE_`,
/// `_TLS_MODULE_BASE_` (the start of the object's own TLS block) and `atexit`
/// (the object's thunk, `Arch::write_atexit`).
pub(crate) fn special_name(name: &str) -> Option<()> {
    matches!(
        name,
        "__dso_handle" | "_GLOBAL_OFFSET_TABLE_" | "_TLS_MODULE_BASE_" | "atexit"
    )
    .then_some(())
}

pub(crate) fn special_symbol(name: &str, layout: &Layout, got: u64, target: u64) -> Option<u64> {
    match name {
        "__dso_handle" => Some(layout.dso_handle),
        "atexit" => layout.atexit,
        "_GLOBAL_OFFSET_TABLE_" => Some(got),
        "_TLS_MODULE_BASE_" => layout.tls_plan.map(|p| target + p.start),
        _ => None,
    }
}

/// What binding one object's symbols may touch: the symbol table (names
/// interned, slots allocated), the memory space (slots, stubs, TLS cells), the
/// loaded objects (their names in messages, their TLS modules) and a batch's
/// deferred work. The stage's functions are its methods, so a signature shows
/// all a stage may change.
pub(crate) struct Binder<'a> {
    pub(crate) symbols: &'a mut SymbolTable,
    pub(crate) space: &'a mut Space,
    pub(crate) objects: &'a Objects,
    pub(crate) tls_images: &'a [tls::Image],
    pub(crate) deferred: &'a mut Option<Deferred>,
    pub(crate) scratch: &'a mut Scratch,
}

impl Binder<'_> {
    /// Interns the object's global names — those it defines and those its
    /// relocations use (new ones are recorded in `undo`) — and decides once per
    /// symbol how resolve binds it. Returns the per-symbol uses, the global
    /// definitions, and the names it refers to (once each), each with whether
    /// all its referring symbols are weak.
    pub(crate) fn names(
        &mut self,
        object: &Object,
        id: ObjectId,
        layout: &Layout,
        undo: &mut Undo,
    ) -> Result<Names> {
        // Which symbols relocations use, and the names' hashes: worked out
        // where the object was read (`prepare::facts`).
        let facts = super::prepare::facts(object);
        let referenced = &facts.referenced;
        let hashes = &facts.name_hashes;
        // Names the reading thread numbered (`symbols::dictionary`) whose ids
        // an earlier object of the batch found: by index. The others looked up
        // first, in loops that do nothing else: the lookups' cache misses
        // (the ids by number, the hash index, the name text) then overlap,
        // where between the steps below each waited for its own. Each loop
        // first asks for the lines the next one reads.
        let numbers = object.name_numbers.get().map_or(&[][..], Vec::as_slice);
        let number = |i: usize| numbers.get(i).copied().filter(|&n| n != dictionary::NONE);
        let named = |i: usize| super::prepare::named_global(&object.symbols[i]);
        let mut numbered = self.deferred.as_mut().map(|d| &mut d.numbered);
        let symbols = &*self.symbols;
        if let Some(numbered) = numbered.as_deref().filter(|_| !numbers.is_empty()) {
            (0..object.symbols.len())
                .filter(|&i| named(i))
                .filter_map(number)
                .for_each(|n| numbered.prefetch(n));
        }
        let mut known = std::mem::take(&mut self.scratch.known);
        known.clear();
        known.extend((0..object.symbols.len()).map(|i| {
            if !named(i) {
                return None;
            }
            let by_number = (numbered.as_mut().zip(number(i)))
                .and_then(|(numbered, n)| numbered.get(symbols, n));
            if by_number.is_none() {
                symbols.prefetch_name(hashes[i]);
            }
            by_number
        }));
        // The others in three passes, as the reading threads number names
        // (`Dictionary::number_all`): each name's candidate by tag, which asks
        // for its span; the candidates' texts; the comparisons. One loop of
        // `id_hashed` waited for each name's span and text in turn: with one
        // reading thread, which numbers nothing, a sixth of this thread's time
        // at wide 5,001.
        let mut candidates = std::mem::take(&mut self.scratch.candidates);
        candidates.clear();
        candidates.extend((0..object.symbols.len()).map(|i| {
            (known[i].is_none() && named(i))
                .then(|| symbols.candidate(hashes[i]))
                .flatten()
        }));
        for &c in candidates.iter().flatten() {
            symbols.prefetch_text(c);
        }
        for (i, (s, &h)) in object.symbols.iter().zip(hashes).enumerate() {
            if let Some(c) = candidates[i] {
                known[i] = symbols.id_from_candidate(s.name, h, c);
            }
        }
        self.scratch.candidates = candidates;
        for id in known.iter().flatten() {
            self.symbols.prefetch(*id);
        }
        let mut uses = Vec::with_capacity(object.symbols.len());
        let globals = uses.capacity();
        let (mut refs, mut data) = (Vec::with_capacity(globals), Vec::new());
        let mut list = std::mem::take(&mut self.scratch.defined);
        let mut undefined = std::mem::take(&mut self.scratch.undefined);
        let mut def_symbols = std::mem::take(&mut self.scratch.def_symbols);
        list.clear();
        undefined.clear();
        def_symbols.clear();
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
                    None => self.symbols.intern_hashed(sym.name, hashes[i]),
                };
                if new {
                    undo.entries.push(name);
                }
                if let (Some(n), Some(d)) = (number(i), self.deferred.as_mut()) {
                    d.numbered.set(self.symbols, n, name);
                }
                if let Some(addr) = address {
                    let common = matches!(sym.definition, Definition::Common { .. });
                    if sym.binding == Bind::Global && !common {
                        self.check_duplicate(object, id, sym.name, name)?;
                    }
                    list.push((name, definition(object, id, sym, addr)));
                    def_symbols.push(i as u32);
                    if writable_variable(object, sym) {
                        data.push((name, addr, sym.size));
                    }
                }
                if referenced[i] {
                    refs.push((name, sym.is_defined() || sym.binding == Bind::Weak));
                    if address.is_none() {
                        // With distinct names, this symbol is the name's only
                        // one: the object does not define it (else see below).
                        undefined.push(name);
                    }
                }
                SymbolUse::Global { name, own: None }
            };
            uses.push(used);
        }
        let defs = if facts.distinct_names {
            // Every name once: each definition is its own symbol's, and no
            // undefined symbol names one of them. Sorted through packed keys
            // (id, position), whose sort is a plain integer sort.
            let mut order = std::mem::take(&mut self.scratch.order);
            order.clear();
            order.extend(
                (list.iter().enumerate()).map(|(k, (n, _))| (u64::from(n.0) << 32) | k as u64),
            );
            order.sort_unstable();
            let sorted = (order.iter().enumerate())
                .map(|(at, &key)| {
                    let k = key as u32 as usize;
                    if let SymbolUse::Global { own, .. } = &mut uses[def_symbols[k] as usize] {
                        *own = Some(at as u32);
                    }
                    list[k]
                })
                .collect();
            self.scratch.order = order;
            self.scratch.defined = list;
            Defs { list: sorted }
        } else {
            // One definition per name: the first symbol's (the sort is stable).
            list.sort_by_key(|(n, _)| *n);
            list.dedup_by_key(|(n, _)| *n);
            let defs = Defs { list };
            for used in &mut uses {
                if let SymbolUse::Global { name, own } = used {
                    *own = defs.index(*name);
                }
            }
            defs
        };
        if layout.atexit.is_some() {
            // The atexit thunk calls it (and an object that registers exit
            // handlers is kept while they may run: `Linker::replace_with`).
            let (name, new) = self.symbols.intern("__cxa_atexit");
            if new {
                undo.entries.push(name);
            }
            if !refs.iter().any(|r| r.0 == name) {
                refs.push((name, true));
                if defs.get(name).is_none() {
                    undefined.push(name);
                }
            }
        }
        if !facts.distinct_names {
            // Several symbols of one name (rare): one reference, weak only if
            // all are. With distinct names the references stay in symbol order:
            // nothing needs them sorted, and sorting them was 5% of binding
            // names (wide 1,001).
            refs.sort_by_key(|(n, _)| *n);
            refs.dedup_by(|b, a| {
                let same = a.0 == b.0;
                if same {
                    a.1 &= b.1;
                }
                same
            });
            // Another symbol of the name may define it.
            undefined.clear();
            undefined.extend(
                (refs.iter())
                    .map(|&(n, _)| n)
                    .filter(|&n| defs.get(n).is_none()),
            );
        }
        // One entry per variable name (the last symbol's, as a map insert would).
        data.reverse();
        data.sort_by_key(|d| d.0);
        data.dedup_by_key(|d| d.0);
        data.shrink_to_fit();
        (self.scratch.known, self.scratch.def_symbols) = (known, def_symbols);
        Ok(Names {
            uses,
            defs,
            refs,
            undefined,
            data,
        })
    }

    /// A strong definition of `name` by another loaded object is an error.
    pub(crate) fn check_duplicate(
        &self,
        object: &Object,
        id: ObjectId,
        symbol: &str,
        name: NameId,
    ) -> Result<()> {
        let replacing = &self.scratch.replacing;
        let other = (self.symbols.entry(name).defs.iter())
            .find(|d| !d.weak && d.object != id && !replacing.contains(&d.object));
        match other {
            Some(first) => Err(Error::Duplicate {
                symbol: symbol.to_string(),
                first: object_name(self.objects, first.object),
                second: object.name.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Computes every fixup's values, allocating slots as needed, the sites
    /// (direct references to other objects' names) to record, and how many
    /// loads through a slot were relaxed.
    pub(crate) fn resolve(
        &mut self,
        object: &Object,
        id: ObjectId,
        layout: &Layout,
        names: &Names,
        undo: &mut Undo,
    ) -> Result<Fixups> {
        let space = &mut *self.space;
        let cx = Context {
            object,
            id,
            layout,
            defs: &names.defs,
            uses: &names.uses,
            target: space.region.target_base(),
            got: space.stubs.got_base(),
        };
        let count = object.sections.iter().map(|s| s.relocs.len()).sum();
        let mut fixes = std::mem::take(&mut self.scratch.fixes);
        fixes.clear();
        fixes.reserve(count);
        let mut sites = Vec::new();
        let mut statics = Vec::new();
        let mut relaxed = 0;
        let mut relaxed_loads = std::mem::take(&mut self.scratch.relaxed_loads);
        relaxed_loads.clear();
        let mut locals: Map<SymbolId, SlotId> = Map::default();
        let mut cells = tls::Cells::new(layout.tls_cells.0, layout.tls_cells.1);
        let mut bound = refill(&mut self.scratch.bound, object.symbols.len(), None);
        let mut process_tls = refill(&mut self.scratch.process_tls, object.symbols.len(), 0);
        // Asked for only if some name of the object may be bound in the
        // process (asking walks the process's libraries).
        let remote = space.region.remote().cloned();
        let thread_locals = std::cell::OnceCell::new();
        let thread_locals = || {
            &**thread_locals
                .get_or_init(|| crate::runtime::Host(remote.as_ref()).library_thread_locals())
        };
        let no_tls = super::prepare::facts(object).no_tls;
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
                            undo,
                            relaxed: &mut relaxed,
                            relaxed_loads: &mut relaxed_loads,
                        };
                        self.resolve_global(&cx, place, name, own, bound, to)?;
                    }
                }
                if let Target::Tls(target) = r.kind.info().target {
                    if let Some(u) = self.bind_tls(&cx, place, target, &mut fix, &mut cells)? {
                        statics.push((fix, u));
                        continue;
                    }
                } else if (!no_tls && tls::is_tls_symbol(object, r.symbol))
                    || (!bound_here(&bound[r.symbol.0 as usize])
                        && tls::is_process_tls(
                            thread_locals,
                            object,
                            r.symbol,
                            r.kind,
                            &mut process_tls,
                        ))
                {
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
                    cx.subtract(place, minus, &mut fix)?;
                }
                fixes.push(fix);
            }
        }
        self.scratch.bound = bound;
        self.scratch.process_tls = process_tls;
        let loads = Box::from(&relaxed_loads[..]);
        self.scratch.relaxed_loads = relaxed_loads;
        Ok(Fixups {
            fixes,
            sites,
            statics,
            relaxed,
            relaxed_loads: loads,
        })
    }

    /// A thread-local relocation: its `S` becomes what its kind needs (`tls.rs`).
    /// `Some`: a static-TLS use, finished once its module's offset is known.
    fn bind_tls(
        &mut self,
        cx: &Context,
        place: Place,
        target: TlsTarget,
        fix: &mut Fix,
        cells: &mut tls::Cells,
    ) -> Result<Option<tls::StaticUse>> {
        let (object, r) = (cx.object, place.r);
        let f = tls::TlsFix {
            object: cx.id,
            target,
            symbol: r.symbol,
            s: &mut fix.v.s,
            a: &mut fix.v.a,
            slot: &mut fix.v.slot,
        };
        let at = || object.location(SectionId(place.si as u32), r.offset);
        let deferred = self.tls_fix(object, cx.layout.tls_image, f, cells, at)?;
        fix.direct = None;
        if deferred.is_some() && object.section(SectionId(place.si as u32)).role == Role::Tls {
            // glibc copies the image into every thread before the offset is known.
            return Err(Error::Unsupported {
                at: at(),
                what: format!(
                    "a thread-pointer offset ({}) inside thread-local data",
                    r.kind
                ),
            });
        }
        Ok(deferred)
    }

    /// A relocation against a local symbol, or a name relink defines per object:
    /// completes `fix` (made by [`Context::fix`]). `false`: nothing to do (an
    /// unwind entry of discarded COMDAT code).
    pub(crate) fn resolve_local(
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
        // A reference into inherited data follows it.
        let by_address = sym.kind == SymbolKind::Section || sym.size == 0;
        fix.v.s = addr.wrapping_add(cx.layout.reference_shift(section, r, sym, addr));
        fix.v.z = sym.size;
        let ifunc = sym.kind == SymbolKind::Ifunc;
        if ifunc {
            // Every reference goes through the stub; the slot gets the resolved
            // address before the object is committed.
            let slot = self.local_slot(locals, r.symbol, addr, ifunc, undo)?;
            let stubs = &self.space.stubs;
            fix.v.s = stubs.stub_addr(slot);
            fix.v.slot = stubs.got_addr(slot);
        } else if r.kind.info().target == Target::Slot {
            // The slot holds `S`: a named variable's live address.
            let held = if by_address { addr } else { fix.v.s };
            let slot = self.local_slot(locals, r.symbol, held, ifunc, undo)?;
            fix.v.slot = self.space.stubs.got_addr(slot);
        }
        Ok(true)
    }

    /// A relocation against a global name: bound directly to this object's own
    /// strong definition where the design allows, else through the name's slot,
    /// stub or current binding (recording a site for direct references).
    pub(crate) fn resolve_global(
        &mut self,
        cx: &Context,
        place: Place,
        name: NameId,
        own: Option<u32>,
        bound: &mut Option<Bound>,
        to: Resolved,
    ) -> Result<()> {
        let fix = to.fix;
        let r = place.r;
        let (info, sym) = (r.kind.info(), cx.object.symbol(r.symbol));
        let own = own.map(|i| &cx.defs.list[i as usize].1);
        // Used where it lies: copied out (a `Binding` is 48 bytes), it was
        // read back through the stack right after being written.
        let bound = match bound {
            Some(b) => b,
            None => {
                let entry = self.symbols.entry(name);
                bound.insert(Bound {
                    binding: entry.binding_of_reference(own, sym.binding == Bind::Weak),
                    slot: entry.slot,
                })
            }
        };
        let binding = &bound.binding;
        // An ifunc's own address is its resolver: calls go through the stub.
        let direct = own.filter(|d| !d.weak && sym.kind != SymbolKind::Ifunc);
        if let Some(d) = direct.filter(|d| !d.code && info.target == Target::Slot) {
            // A load through the slot of the object's own strong variable: it
            // keeps its storage while this code lives (a replace that moves it
            // brings new code).
            let section = cx.object.section(SectionId(place.si as u32));
            let relaxed = if section.class == Class::Code {
                let region = &mut self.space.region;
                super::fixup::relax_got_load(region, fix.offset, r.offset, r.kind, r.addend)
            } else {
                None
            };
            if let Some(kind) = relaxed {
                (fix.kind, fix.v.s) = (kind, d.address);
                *to.relaxed += 1;
                return Ok(());
            }
        }
        let needs_slot = needs_slot(&info, binding);
        let mut stub = None;
        fix.v.z = size_of(binding);
        if needs_slot {
            let slot = match bound.slot {
                Some(slot) => slot,
                None => {
                    let mut traps = slots::Traps {
                        deferred: self.deferred,
                        objects: self.objects,
                    };
                    let slot =
                        slots::slot_for(self.symbols, self.space, &mut traps, name, binding)?;
                    to.undo.slots.push((Some(name), slot));
                    bound.slot = Some(slot);
                    slot
                }
            };
            let stubs = &self.space.stubs;
            stub = Some(stubs.stub_addr(slot));
            fix.v.slot = stubs.got_addr(slot);
        }
        // The kind first: one compare for the other relocations (a call per
        // relocation here cost 2-3 ns each, 4 ms at wide 5,001).
        let other = (r.kind == GOT_LOAD && self.scratch.relax_others && direct.is_none())
            .then(|| other_variable(cx, place, binding))
            .flatten();
        if let Some(d) = other {
            // Another object's strong variable, already placed: the load
            // computes its address (a cold line fewer each time it runs). The
            // slot stays, for when the variable moves (`unrelax_patches`).
            let region = &mut self.space.region;
            if let Ok(at) = u32::try_from(fix.offset) {
                let relaxed =
                    super::fixup::relax_got_load(region, fix.offset, r.offset, r.kind, r.addend);
                if let Some(kind) = relaxed {
                    (fix.kind, fix.v.s) = (kind, d.address);
                    *to.relaxed += 1;
                    to.relaxed_loads.push(RelaxedLoad { at, name });
                    return Ok(());
                }
            }
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
        (fix.v.s, fix.direct) = global_value(r.kind, binding, direct, stub, fix.v.p, r.addend);
        if records_site(&info, direct) {
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

    pub(crate) fn local_slot(
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
        let space = &mut *self.space;
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
}

/// Helpers for the resolve and commit stages.
pub(crate) fn is_global(b: Bind) -> bool {
    b != Bind::Local
}

pub(crate) fn defines_code(object: &Object, def: &Definition) -> bool {
    match def {
        Definition::Section { section, .. } => object.section(*section).class == Class::Code,
        _ => false,
    }
}

pub(crate) fn object_def(
    id: ObjectId,
    address: u64,
    size: u64,
    code: bool,
    weak: bool,
) -> ObjectDef {
    ObjectDef {
        object: id,
        address,
        size,
        code,
        weak,
        common: None,
        align_log2: 0,
    }
}

#[cfg(test)]
mod tests {
    //! How a reference to a global name is bound: every kind of binding, against
    //! every reach (exact, GOT, branch through a stub or a veneer), from a region
    //! placed near the process's symbols and from one placed far from them.
    use super::*;
    use crate::arch::{aarch64, x86_64};
    use crate::symbols::ProcessSymbol;

    const CODE: u64 = 0x7000_1000; // an object's function
    const DATA: u64 = 0x7000_8000; // an object's variable
    const STUB: u64 = 0x7000_0040; // the name's stub
    const LIBC: u64 = 0x7f00_0000_0000; // a process symbol
    const NEAR: u64 = LIBC - 0x1000_0000; // a reference 256 MiB below it
    const FAR: u64 = 0x1000_0000; // a reference in the low 2 GiB

    fn object(address: u64, code: bool) -> Binding {
        Binding::Object(object_def(ObjectId(2), address, 8, code, false))
    }

    fn process(function: bool) -> Binding {
        Binding::Process(ProcessSymbol {
            address: LIBC,
            size: 8,
            function,
        })
    }

    #[derive(Debug, PartialEq)]
    struct Bound {
        slot: bool,
        s: u64,
        direct: Option<u64>,
        site: bool,
    }

    /// Binds a reference of `kind` at `p` to a name bound as `binding`; `own`:
    /// the referring object defines it (strongly) itself.
    fn bind(kind: RelocKind, binding: Binding, own: bool, p: u64) -> Bound {
        let info = kind.info();
        let own_def = match binding {
            Binding::Object(d) if own => Some(d),
            _ => None,
        };
        let slot = needs_slot(&info, &binding);
        let stub = slot.then_some(STUB);
        let (s, direct) = global_value(kind, &binding, own_def.as_ref(), stub, p, 0);
        let site = records_site(&info, own_def.as_ref());
        Bound {
            slot,
            s,
            direct,
            site,
        }
    }

    fn row(slot: bool, s: u64, direct: Option<u64>, site: bool) -> Bound {
        Bound {
            slot,
            s,
            direct,
            site,
        }
    }

    #[test]
    fn a_global_is_bound_by_binding_reach_and_placement() {
        use x86_64::Kind as X;
        let pc32 = RelocKind::X86_64(X::Delta32);
        let abs64 = RelocKind::X86_64(X::Pointer64);
        let got = RelocKind::X86_64(X::GotDelta32);
        let call = RelocKind::X86_64(X::Branch32);
        let bl = RelocKind::Aarch64(aarch64::Kind::Branch26);
        let abs32 = RelocKind::X86_64(X::Pointer32);
        let lo12 = RelocKind::Aarch64(aarch64::Kind::PageOffset12 { shift: 0 });
        let unresolved = Binding::Unresolved { weak: false };
        let weak = Binding::Unresolved { weak: true };
        #[rustfmt::skip]
        let table: &[(&str, RelocKind, Binding, bool, u64, Bound)] = &[
            // Another object's function: everyone uses its stub, and a direct
            // reference is a site to re-patch.
            ("other code, pc32", pc32, object(CODE, true), false, NEAR, row(true, STUB, None, true)),
            ("other code, abs64", abs64, object(CODE, true), false, FAR, row(true, STUB, None, true)),
            ("other code, GOT", got, object(CODE, true), false, NEAR, row(true, STUB, None, false)),
            ("other code, call", call, object(CODE, true), false, NEAR, row(true, STUB, None, false)),
            ("other code, bl", bl, object(CODE, true), false, NEAR, row(true, STUB, None, false)),
            // Its own function: the stub too (so `&f` is one address), with the
            // code itself to fall back on; calls go straight to the code.
            ("own code, pc32", pc32, object(CODE, true), true, NEAR, row(true, STUB, Some(CODE), false)),
            ("own code, call", call, object(CODE, true), true, NEAR, row(true, CODE, None, false)),
            ("own code, bl", bl, object(CODE, true), true, NEAR, row(true, CODE, None, false)),
            // Another object's variable: its storage, directly (a site) or through
            // its GOT entry (which holds the same address).
            ("other data, pc32", pc32, object(DATA, false), false, NEAR, row(false, DATA, None, true)),
            ("other data, abs64", abs64, object(DATA, false), false, FAR, row(false, DATA, None, true)),
            ("other data, GOT", got, object(DATA, false), false, NEAR, row(true, DATA, None, false)),
            ("own data, pc32", pc32, object(DATA, false), true, NEAR, row(false, DATA, None, false)),
            // A process function: directly where a 32-bit field reaches it, else its stub.
            ("libc fn, pc32 near", pc32, process(true), false, NEAR, row(true, LIBC, None, true)),
            ("libc fn, pc32 far", pc32, process(true), false, FAR, row(true, STUB, None, true)),
            ("libc fn, abs64 far", abs64, process(true), false, FAR, row(true, LIBC, None, true)),
            ("libc fn, call", call, process(true), false, FAR, row(true, STUB, None, false)),
            // A narrow absolute field (`-fno-pic`'s `mov $exit, %edi`) or an AArch64
            // `:lo12:` after an ADRP that cannot reach it: the stub in the region.
            ("libc fn, abs32", abs32, process(true), false, FAR, row(true, STUB, None, true)),
            ("libc fn, lo12 far", lo12, process(true), false, FAR, row(true, STUB, None, true)),
            ("libc fn, lo12 near", lo12, process(true), false, NEAR, row(true, LIBC, None, true)),
            // Process data: its address, wherever the region is (placement keeps
            // narrow references in reach, or refuses).
            ("libc data, pc32 near", pc32, process(false), false, NEAR, row(false, LIBC, None, true)),
            ("libc data, pc32 far", pc32, process(false), false, FAR, row(false, LIBC, None, true)),
            ("libc data, GOT", got, process(false), false, FAR, row(true, LIBC, None, false)),
            // Undefined: the trap stub; a weak one is null unless reached by a call.
            ("undefined, pc32", pc32, unresolved, false, NEAR, row(true, STUB, None, true)),
            ("undefined, call", call, unresolved, false, NEAR, row(true, STUB, None, false)),
            ("weak undefined, abs64", abs64, weak, false, FAR, row(true, 0, None, true)),
            ("weak undefined, call", call, weak, false, FAR, row(true, STUB, None, false)),
        ];
        for (what, kind, binding, own, p, expected) in table {
            assert_eq!(&bind(*kind, *binding, *own, *p), expected, "{what}");
        }
    }
}
