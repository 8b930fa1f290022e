//! Linking one parsed object into the linker: layout → resolve → fixup → commit.
//! See `linker.rs` for the transaction rule.

use std::collections::HashMap;
use std::time::Instant;

use crate::arch::{FixupError, FixupValues, Reach, RelocKind, Target};
use crate::error::{Error, Result};
use crate::input::{Binding as Bind, Class, Definition, Object, Reloc, Role, SectionId, SymbolId};
use crate::linker::{
    apply_patches, defines_code, is_global, object_def, size_of, slot_values, value_of, Linker,
    Loaded, ObjectId, Patch, Placed,
};
use crate::memory::{flush_icache, Block};
use crate::symbols::{Binding, ObjectDef, Site, SlotId};

/// Where an object's pieces go, before anything is written.
struct Layout {
    block: Block,
    classes: Vec<(Class, u64, u64)>,
    /// Per section: offset in the region, or `None` if not loaded (COMDAT loser).
    sections: Vec<Option<u64>>,
    /// Per symbol: its target address, if this object defines it.
    addresses: Vec<Option<u64>>,
    dso_handle: u64,
    /// Offset and capacity (in veneers) of the veneer area.
    veneers: (u64, u64),
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
    defs: &'c HashMap<&'o str, ObjectDef>,
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

    /// The site record of a direct reference at `place`.
    fn site(&self, place: Place) -> Site {
        Site {
            object: self.id,
            offset: place.at + place.r.offset,
            p: self.target + place.at + place.r.offset,
            kind: place.r.kind,
            addend: place.r.addend,
            section: place.si as u32,
            section_offset: place.r.offset,
        }
    }
}

/// A direct reference to a global name, recorded at commit.
type NamedSite = (String, Site);

/// What a load takes that must be given back if it fails.
#[derive(Default)]
struct Undo {
    block: Option<Block>,
    slots: Vec<(Option<String>, SlotId)>,
    entries: Vec<String>,
}

impl Linker {
    /// Links one object; see the module doc. Constructors are not run here.
    pub(crate) fn link(&mut self, object: &Object) -> Result<ObjectId> {
        let id = self.new_id();
        let mut undo = Undo::default();
        match self.link_inner(object, id, &mut undo) {
            Ok(()) => Ok(id),
            Err(e) => {
                self.rollback(undo);
                Err(e)
            }
        }
    }

    fn link_inner(&mut self, object: &Object, id: ObjectId, undo: &mut Undo) -> Result<()> {
        let start = Instant::now();
        let excluded = self.comdat_losers(object);
        self.check_duplicates(object, &excluded)?;
        let layout = self.layout(object, &excluded)?;
        undo.block = Some(layout.block);
        self.copy_sections(object, &layout);
        self.stats.layout += start.elapsed();

        let start = Instant::now();
        let defs = global_defs(object, id, &layout);
        for name in defs.keys().chain(referenced(object).iter()) {
            if !self.symbols.entries.contains_key(*name) {
                undo.entries.push(name.to_string());
            }
            let entry = self.symbols.entries.entry(name.to_string()).or_default();
            // The process is asked only when no object defines the name.
            if entry.defs.is_empty() && !defs.contains_key(name) {
                self.symbols.entry_with_process(name);
            }
        }
        let (fixes, sites) = self.resolve(object, id, &layout, &defs, undo)?;
        let patches = self.rebinding_patches(&defs)?;
        self.stats.resolve += start.elapsed();

        let start = Instant::now();
        self.apply_fixes(object, &layout, &fixes)?;
        self.stats.fixup += start.elapsed();
        self.stats.relocations += fixes.len();

        let start = Instant::now();
        self.commit(object, id, layout, defs, sites, patches)?;
        let locals = undo
            .slots
            .iter()
            .filter(|(n, _)| n.is_none())
            .map(|(_, s)| *s);
        if let Some(loaded) = self.objects.get_mut(&id) {
            loaded.local_slots = locals.collect();
        }
        self.stats.finalize += start.elapsed();
        self.stats.objects += 1;
        Ok(())
    }

    fn rollback(&mut self, undo: Undo) {
        let Some(space) = self.space.as_mut() else {
            return;
        };
        for (name, slot) in undo.slots {
            if let Some(name) = name {
                if let Some(e) = self.symbols.entries.get_mut(&name) {
                    e.slot = None;
                }
            }
            space.stubs.release(
                &mut space.region,
                slot,
                "call through a released slot".into(),
            );
        }
        if let Some(block) = undo.block {
            space.region.free(block);
        }
        for name in undo.entries {
            if self
                .symbols
                .entries
                .get(&name)
                .is_some_and(|e| e.is_unused())
            {
                self.symbols.entries.remove(&name);
            }
        }
    }

    /// Sections of COMDAT groups whose signature another object already provides.
    fn comdat_losers(&self, object: &Object) -> Vec<bool> {
        let mut excluded = vec![false; object.sections.len()];
        for group in &object.groups {
            if self.comdats.contains_key(group.signature) {
                for s in &group.sections {
                    excluded[s.0 as usize] = true;
                }
            }
        }
        excluded
    }

    fn check_duplicates(&self, object: &Object, excluded: &[bool]) -> Result<()> {
        for sym in &object.symbols {
            if sym.binding != Bind::Global || !live(&sym.definition, excluded) {
                continue;
            }
            if matches!(
                sym.definition,
                Definition::Common { .. } | Definition::Undefined
            ) {
                continue;
            }
            if let Some(first) = self.symbols.entries.get(sym.name).and_then(|e| {
                e.defs
                    .iter()
                    .find(|d| !d.weak)
                    .map(|d| self.object_name(d.object))
            }) {
                return Err(Error::Duplicate {
                    symbol: sym.name.to_string(),
                    first,
                    second: object.name.clone(),
                });
            }
        }
        Ok(())
    }

    fn layout(&mut self, object: &Object, excluded: &[bool]) -> Result<Layout> {
        let arch = self.arch;
        let space = self.space()?;
        let page = space.region.page_size();
        let mut sizes = [0u64; 4];
        let mut aligns = [page; 4];
        let mut section_at = vec![None; object.sections.len()];
        let mut put = |class: Class, size: u64, align: u64| -> u64 {
            let c = class as usize;
            aligns[c] = aligns[c].max(align);
            let at = sizes[c].next_multiple_of(align);
            sizes[c] = at + size;
            at
        };
        for (i, s) in object.sections.iter().enumerate() {
            if !excluded[i] {
                section_at[i] = Some((s.class, put(s.class, s.size, s.align)));
            }
        }
        let mut commons = HashMap::new();
        for (i, sym) in object.symbols.iter().enumerate() {
            if let Definition::Common { size, align } = sym.definition {
                commons.insert(i, put(Class::Zero, size, align));
            }
        }
        let dso = put(Class::ReadOnly, 8, 8);
        let veneer_count = if arch.veneer_size() > 0 {
            count_branches(object)
        } else {
            0
        };
        let veneers = put(Class::Code, veneer_count * arch.veneer_size() as u64, 16);
        let mut class_start = [0u64; 4];
        let mut total = 0u64;
        for c in Class::ALL {
            let i = c as usize;
            total = total.next_multiple_of(aligns[i]);
            class_start[i] = total;
            total += sizes[i].next_multiple_of(page);
        }
        let align = aligns.iter().copied().max().unwrap_or(page);
        let block = space.region.alloc(total, align)?;
        let base = block.offset;
        let target = space.region.target_base();
        let abs = |class: Class, at: u64| base + class_start[class as usize] + at;
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
        let classes = Class::ALL
            .iter()
            .map(|c| {
                (
                    *c,
                    base + class_start[*c as usize],
                    sizes[*c as usize].next_multiple_of(page),
                )
            })
            .collect();
        Ok(Layout {
            block,
            classes,
            sections,
            addresses,
            dso_handle: target + abs(Class::ReadOnly, dso),
            veneers: (abs(Class::Code, veneers), veneer_count),
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
        }
    }

    /// Computes every fixup's values, allocating slots as needed, and the sites
    /// (direct references to other objects' names) to record.
    fn resolve(
        &mut self,
        object: &Object,
        id: ObjectId,
        layout: &Layout,
        defs: &HashMap<&str, ObjectDef>,
        undo: &mut Undo,
    ) -> Result<(Vec<Fix>, Vec<NamedSite>)> {
        let space = self.space()?;
        let cx = Context {
            object,
            id,
            layout,
            defs,
            target: space.region.target_base(),
            got: space.stubs.got_base(),
        };
        let mut fixes = Vec::new();
        let mut sites = Vec::new();
        let mut locals: HashMap<SymbolId, SlotId> = HashMap::new();
        for (si, section) in object.sections.iter().enumerate() {
            let Some(at) = layout.sections[si] else {
                continue;
            };
            for r in &section.relocs {
                let sym = object.symbol(r.symbol);
                let special =
                    special_symbol(sym.name, layout, cx.got).filter(|_| !sym.is_defined());
                let place = Place { si, at, r };
                if !is_global(sym.binding) || special.is_some() {
                    let Some(fix) = self.resolve_local(&cx, place, special, &mut locals, undo)?
                    else {
                        continue;
                    };
                    fixes.push(fix);
                } else {
                    let (fix, site) = self.resolve_global(&cx, place, undo)?;
                    fixes.push(fix);
                    sites.extend(site);
                }
            }
        }
        Ok((fixes, sites))
    }

    /// A relocation against a local symbol, or a name relink defines per object.
    /// `None`: nothing to do (an unwind entry of discarded COMDAT code).
    fn resolve_local(
        &mut self,
        cx: &Context,
        place: Place,
        special: Option<u64>,
        locals: &mut HashMap<SymbolId, SlotId>,
        undo: &mut Undo,
    ) -> Result<Option<Fix>> {
        let (r, section) = (place.r, cx.object.section(SectionId(place.si as u32)));
        let sym = cx.object.symbol(r.symbol);
        let Some(addr) = special.or(cx.layout.addresses[r.symbol.0 as usize]) else {
            if section.role == Role::EhFrame {
                // Unwind entries of a discarded COMDAT group's code: they describe
                // nothing that is loaded, and stay unrelocated.
                return Ok(None);
            }
            return Err(Error::malformed(
                cx.object.location(SectionId(place.si as u32), r.offset),
                format!(
                    "refers to `{}`, which lies in a section relink does not load",
                    sym.name
                ),
            ));
        };
        let mut fix = cx.fix(place);
        fix.v.s = addr;
        fix.v.z = sym.size;
        if r.kind.info().target == Target::Slot {
            let slot = self.local_slot(locals, r.symbol, addr, undo)?;
            fix.v.slot = self.space()?.stubs.got_addr(slot);
        }
        Ok(Some(fix))
    }

    /// A relocation against a global name: bound directly to this object's own
    /// strong definition where the design allows, else through the name's slot,
    /// stub or current binding (recording a site for direct references).
    fn resolve_global(
        &mut self,
        cx: &Context,
        place: Place,
        undo: &mut Undo,
    ) -> Result<(Fix, Option<NamedSite>)> {
        let r = place.r;
        let (info, sym) = (r.kind.info(), cx.object.symbol(r.symbol));
        let own = cx.defs.get(sym.name);
        let entry = self.symbols.entries.get(sym.name).ok_or_else(|| {
            Error::malformed(
                cx.object.location(SectionId(place.si as u32), r.offset),
                "relocation against a global symbol with no name",
            )
        })?;
        let mut binding = entry.binding(own);
        let had_slot = entry.slot.is_some();
        if let Binding::Unresolved { weak } = &mut binding {
            *weak &= sym.binding == Bind::Weak;
        }
        let direct = own.filter(|d| !d.weak);
        let needs_slot = info.target == Target::Slot
            || info.reach != Reach::Exact
            || matches!(binding, Binding::Object(d) if d.code)
            || matches!(binding, Binding::Unresolved { .. })
            || matches!(binding, Binding::Host(p) | Binding::Process(p) if p.function);
        let mut stub = None;
        let mut fix = cx.fix(place);
        fix.v.z = size_of(&binding);
        if needs_slot {
            let slot = self.slot_for(sym.name, &binding)?;
            if !had_slot {
                undo.slots.push((Some(sym.name.to_string()), slot));
            }
            let stubs = &self.space()?.stubs;
            stub = Some(stubs.stub_addr(slot));
            fix.v.slot = stubs.got_addr(slot);
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
        let site = (records && direct.is_none()).then(|| (sym.name.to_string(), cx.site(place)));
        Ok((fix, site))
    }

    fn local_slot(
        &mut self,
        locals: &mut HashMap<SymbolId, SlotId>,
        sym: SymbolId,
        addr: u64,
        undo: &mut Undo,
    ) -> Result<SlotId> {
        if let Some(s) = locals.get(&sym) {
            return Ok(*s);
        }
        let space = self.space()?;
        let slot = space.stubs.alloc(
            &mut space.region,
            "call through a local GOT entry".into(),
            addr,
        )?;
        space.stubs.set_slot(&mut space.region, slot, addr);
        undo.slots.push((None, slot));
        locals.insert(sym, slot);
        Ok(slot)
    }

    /// Patches for other objects' sites of names this object (re)binds.
    fn rebinding_patches(&self, defs: &HashMap<&str, ObjectDef>) -> Result<Vec<Patch>> {
        let mut out = Vec::new();
        for (name, def) in defs {
            let entry = &self.symbols.entries[*name];
            let after = entry.binding(Some(def));
            if entry.binding(None) != after {
                out.extend(self.site_patches(name, &after, entry.slot, &entry.sites)?);
            }
        }
        Ok(out)
    }

    fn apply_fixes(&mut self, object: &Object, layout: &Layout, fixes: &[Fix]) -> Result<()> {
        let arch = self.arch;
        let mut veneers: HashMap<u64, u64> = HashMap::new();
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

    fn commit(
        &mut self,
        object: &Object,
        id: ObjectId,
        layout: Layout,
        defs: HashMap<&str, ObjectDef>,
        sites: Vec<NamedSite>,
        patches: Vec<Patch>,
    ) -> Result<()> {
        let space = self.space()?;
        for (class, off, len) in &layout.classes {
            space.region.protect(*off, *len, *class)?;
            if *class == Class::Code {
                flush_icache(space.region.target_base() + off, *len);
            }
        }
        apply_patches(&mut space.region, &patches);
        let mut refers: Vec<String> = referenced(object).iter().map(|s| s.to_string()).collect();
        for (name, site) in sites {
            if let Some(e) = self.symbols.entries.get_mut(&name) {
                e.sites.push(site);
            }
        }
        for name in &refers {
            let weak = object
                .symbols
                .iter()
                .filter(|s| s.name == name && !s.is_defined())
                .all(|s| s.binding == Bind::Weak);
            if let Some(e) = self.symbols.entries.get_mut(name) {
                e.refs.push((id, weak));
            }
        }
        let mut defines = Vec::with_capacity(defs.len());
        for (name, def) in defs {
            self.symbols
                .entries
                .entry(name.to_string())
                .or_default()
                .defs
                .push(def);
            defines.push(name.to_string());
        }
        for group in &object.groups {
            self.comdats
                .entry(group.signature.to_string())
                .or_insert(id);
        }
        let touched: Vec<String> = defines.iter().chain(refers.iter()).cloned().collect();
        refers.sort();
        refers.dedup();
        let sections = object
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
            .collect();
        self.objects.insert(
            id,
            Loaded {
                name: object.name.clone(),
                block: layout.block,
                sections,
                defines,
                refers,
                local_slots: Vec::new(),
                dso_handle: layout.dso_handle,
            },
        );
        for name in &touched {
            self.refresh_slot(name)?;
        }
        Ok(())
    }

    /// Writes a name's slot and GOT entry for its current binding.
    pub(crate) fn refresh_slot(&mut self, name: &str) -> Result<()> {
        let Some(entry) = self.symbols.entries.get(name) else {
            return Ok(());
        };
        let Some(slot) = entry.slot else {
            return Ok(());
        };
        let binding = entry.binding(None);
        let message = self.trap_message(name);
        let space = self.space()?;
        let (s, g) = slot_values(&space.stubs, slot, &binding);
        space.stubs.set_message(slot, message);
        space.stubs.set_slot(&mut space.region, slot, s);
        space.stubs.set_got(&mut space.region, slot, g);
        Ok(())
    }
}

fn live(def: &Definition, excluded: &[bool]) -> bool {
    match def {
        Definition::Section { section, .. } => !excluded[section.0 as usize],
        _ => true,
    }
}

/// Global definitions of an object that survive COMDAT selection.
fn global_defs<'a>(
    object: &Object<'a>,
    id: ObjectId,
    layout: &Layout,
) -> HashMap<&'a str, ObjectDef> {
    let mut out = HashMap::new();
    for (i, sym) in object.symbols.iter().enumerate() {
        if !is_global(sym.binding) || sym.name.is_empty() {
            continue;
        }
        let Some(addr) = layout.addresses[i] else {
            continue;
        };
        let weak = sym.binding == Bind::Weak || matches!(sym.definition, Definition::Common { .. });
        let code = defines_code(object, &sym.definition);
        out.entry(sym.name)
            .or_insert(object_def(id, addr, sym.size, code, weak));
    }
    out
}

/// Global names an object refers to without defining them (or defines weakly).
fn referenced<'a>(object: &Object<'a>) -> Vec<&'a str> {
    let mut out: Vec<&str> = object
        .sections
        .iter()
        .flat_map(|s| s.relocs.iter())
        .map(|r| object.symbol(r.symbol))
        .filter(|s| is_global(s.binding) && !s.name.is_empty())
        .filter(|s| special_name(s.name).is_none() || s.is_defined())
        .map(|s| s.name)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Names relink defines per object: `__dso_handle`, `_GLOBAL_OFFSET_TABLE_`.
fn special_name(name: &str) -> Option<()> {
    matches!(name, "__dso_handle" | "_GLOBAL_OFFSET_TABLE_").then_some(())
}

fn special_symbol(name: &str, layout: &Layout, got: u64) -> Option<u64> {
    match name {
        "__dso_handle" => Some(layout.dso_handle),
        "_GLOBAL_OFFSET_TABLE_" => Some(got),
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
