//! Commit: a linked object is published — other objects' sites re-patched, its
//! definitions and references recorded in the symbol table, slots rewritten.

use super::fixup;
use super::resolve::NamedSite;
use super::slots;
use super::Defs;
use super::Layout;
use super::Linked;
use super::RelaxedLoad;
use super::Replacing;
use crate::error::Result;
use crate::input::{Class, Object, Role};
use crate::link::{apply_patches, Loaded, Patch, Placed};
use crate::memory::Target;
use crate::symbols::ObjectId;
use crate::symbols::{NameId, Site};

/// Where each loaded section went, for constructors, unload and debuggers.
pub(crate) fn placed(object: &Object, layout: &Layout) -> Vec<Placed> {
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

/// What resolving an object leaves for commit to publish.
pub(crate) struct Publish {
    /// Its global definitions.
    pub(crate) defs: Defs,
    /// The names it refers to, once each, each with whether all references are weak.
    pub(crate) refs: Vec<(NameId, bool)>,
    /// Its direct references to other objects' names.
    pub(crate) sites: Vec<NamedSite>,
    /// Its loads of other objects' variables relaxed to computing the address.
    pub(crate) relaxed: Box<[RelaxedLoad]>,
    /// New bytes for other objects' sites whose binding this load changes.
    pub(crate) patches: Vec<Patch>,
}

impl Linked {
    /// Patches for other objects' sites of names this object (re)binds.
    /// Patches for other objects' sites of names whose binding this load changes:
    /// the names it defines, and (replacing) the names the old version defined.
    pub(crate) fn rebinding_patches(
        &self,
        defs: &Defs,
        replaced: Option<ObjectId>,
        going: &[ObjectId],
    ) -> Result<Vec<Patch>> {
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
            // Only a replace moves a variable others may have relaxed loads
            // of (a plain load never rebinds another object's strong one),
            // and only one the replaced object defines.
            let relaxed = (entry.defs.iter()).any(|d| !d.code && Some(d.object) == replaced);
            if entry.sites().is_empty() && !relaxed {
                continue; // nothing to re-patch, whatever the binding
            }
            let after = entry.binding_with(self.symbols.ref_pool(), replaced, defs.get(name));
            let before = entry.binding(None);
            if relaxed && fixup::variable_moves(&before, &after) {
                let space = super::loaded(self.space.as_ref())?;
                let skip = |o: ObjectId| Some(o) == replaced || going.contains(&o);
                out.extend(fixup::unrelax_patches(
                    space,
                    &self.symbols,
                    &self.objects,
                    name,
                    skip,
                )?);
            }
            if fixup::sites_see_change(entry, [], &before, &after) {
                let others: Vec<Site> = entry
                    .sites()
                    .iter()
                    .filter(|s| Some(s.object) != replaced && !going.contains(&s.object))
                    .copied()
                    .collect();
                let space = super::loaded(self.space.as_ref())?;
                out.extend(fixup::site_patches(
                    space,
                    &self.symbols,
                    &self.objects,
                    name,
                    &after,
                    &others,
                )?);
            }
        }
        Ok(out)
    }

    /// Publishes a linked object: writes what it changes in other objects and
    /// its inherited data, records its definitions, references and sites, and
    /// rewrites the slots that change. Returns the old version's record when
    /// replacing.
    pub(crate) fn commit(
        &mut self,
        object: &Object,
        id: ObjectId,
        mut layout: Layout,
        publish: Publish,
        replacing: Option<&Replacing>,
    ) -> Result<Option<Loaded>> {
        let Publish {
            defs,
            refs,
            sites,
            relaxed,
            patches,
        } = publish;
        let refs = &refs[..];
        let space = self.space()?;
        let target = space.region.target_base();
        // Pools protect their chunks once; new code only needs to be made coherent.
        for piece in layout.pieces.iter().filter(|p| p.class == Class::Code) {
            let (at, reused) = (target + piece.offset, !piece.fresh);
            Target::code_written(&space.region, at, piece.len, reused);
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
            // Only its own entries go: a name it defines has no reference or
            // site of its own unless it also refers to it (then it is in
            // `refers`), and walking every referrer's would cost per referrer.
            for name in &old.defines {
                self.symbols
                    .entry_mut(*name)
                    .defs
                    .retain(|d| d.object != id);
            }
            for name in &old.refers {
                self.symbols.retain_refs(*name, |(o, _)| o != id);
                self.symbols
                    .entry_mut(*name)
                    .retain_sites(|s| s.object != id);
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
        self.unresolved_refs(refs, &mut touched);
        touched.extend(&defines);
        touched.extend(old_defines);
        let pieces = self.keep_data(&layout, old.as_ref());
        let sections = placed(object, &layout);
        let tables = sections.iter().any(|s| {
            matches!(
                s.role,
                Role::InitArray { .. } | Role::FiniArray { .. } | Role::Ctors | Role::Dtors
            )
        });
        let loaded = Loaded {
            name: object.name.clone(),
            pieces,
            data_symbols: std::mem::take(&mut layout.data),
            statics: (std::mem::take(&mut layout.statics).into_iter())
                .map(|(n, a, z)| (n, layout.translate(a), z))
                .collect(),
            sections,
            tables,
            defines,
            refers,
            local_slots: Vec::new(),
            relaxed,
            dso_handle: layout.dso_handle,
            exit_handlers: {
                let facts = super::prepare::facts(object);
                facts.calls_atexit || facts.uses_dso_handle
            },
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

    /// Adds to `out` the names the object being committed refers to (`refers`,
    /// each with whether all its references to it are weak; recorded already)
    /// whose slots its references change: only unresolved names' slots, whose trap
    /// message names the objects that need them and whose GOT entry is null while
    /// every reference is weak. In a batch the messages are written at its end
    /// (the trap is marked here), so a slot changes only if this object's strong
    /// reference ends "every reference is weak" (rewriting every such slot
    /// anyway was 2% of linking a thousand objects).
    pub(crate) fn unresolved_refs(&mut self, refers: &[(NameId, bool)], out: &mut Vec<NameId>) {
        let deferred = self.deferred.is_some();
        for &(name, weak) in refers {
            let e = self.symbols.entry(name);
            if e.slot.is_none() || !e.is_unresolved() {
                continue;
            }
            // This object's references are recorded: it is the one object
            // whose references are not all weak if its own are not and the
            // entry counts one such object. (Walking the name's referring
            // objects to see it read their block, a cache miss per name: a
            // third of this function's time at wide 5,001.)
            let only_strong = !weak && e.refs.strong_objects() == 1;
            if deferred && !only_strong {
                let mut traps = slots::Traps {
                    deferred: &mut self.deferred,
                    objects: &self.objects,
                };
                traps.now(&self.symbols, name);
            } else {
                out.push(name);
            }
        }
    }

    /// Records the sites and references of a newly linked object; returns the
    /// names it refers to.
    pub(crate) fn record_uses(
        &mut self,
        id: ObjectId,
        refs: &[(NameId, bool)],
        sites: Vec<NamedSite>,
    ) -> Vec<NameId> {
        for (name, site) in sites {
            self.symbols.entry_mut(name).push_site(site);
        }
        for &(name, weak) in refs {
            self.symbols.push_ref(name, (id, weak));
        }
        refs.iter().map(|(n, _)| *n).collect()
    }
}

impl Linked {
    /// Re-applies the slot, GOT entry and every site of `name` after its binding
    /// changed. Sites that cannot reach the new binding are reported; the others
    /// are patched.
    pub(crate) fn rebind(&mut self, id: NameId) -> Result<()> {
        if self.symbols.entry(id).defs.is_empty() {
            self.symbols.entry_with_process(id);
        }
        let entry = self.symbols.entry(id);
        let binding = entry.binding(None);
        let sites = entry.sites().to_vec();
        let Some(space) = &self.space else {
            return Ok(());
        };
        let patches =
            fixup::site_patches(space, &self.symbols, &self.objects, id, &binding, &sites)?;
        self.refresh_slot(id)?;
        let space = self.space()?;
        apply_patches(&mut space.region, &patches);
        Ok(())
    }
}

impl Linked {
    /// Before several objects are published together: each one's re-patches
    /// of the others were worked out against the old versions of the rest of
    /// the set, so every site of a name whose binding the whole set changes (a
    /// variable that moves, or moves to another object of the set, or one a new
    /// version adds) is worked out again for the binding after all of them —
    /// the sites of objects outside the set, and the new versions' own. Applied
    /// after the last is published; an error here refuses the set.
    pub(crate) fn set_patches(&self, going: &[ObjectId], new: &[&Publish]) -> Result<Vec<Patch>> {
        let mut names: Vec<NameId> = (going.iter())
            .filter_map(|id| self.objects.get(id))
            .flat_map(|o| o.defines.iter().copied())
            .chain(new.iter().flat_map(|p| p.defs.list.iter().map(|d| d.0)))
            .collect();
        names.sort_unstable();
        names.dedup();
        let space = super::loaded(self.space.as_ref())?;
        let mut patches = Vec::new();
        for name in names {
            let entry = self.symbols.entry(name);
            let extra: Vec<_> = new
                .iter()
                .filter_map(|p| p.defs.get(name))
                .copied()
                .collect();
            let new_refs: Vec<bool> = (new.iter())
                .filter_map(|p| p.refs.iter().find(|r| r.0 == name).map(|r| r.1))
                .collect();
            let (before, after) = (
                entry.binding(None),
                entry.binding_after(self.symbols.ref_pool(), going, &extra, &new_refs),
            );
            if fixup::variable_moves(&before, &after) {
                let skip = |o: ObjectId| going.contains(&o);
                let (symbols, objects) = (&self.symbols, &self.objects);
                patches.extend(fixup::unrelax_patches(space, symbols, objects, name, skip)?);
            }
            let new_sites = (new.iter().flat_map(|p| &p.sites))
                .filter(|s| s.0 == name)
                .map(|s| &s.1);
            if !fixup::sites_see_change(entry, new_sites, &before, &after) {
                continue;
            }
            let sites: Vec<Site> = (entry.sites().iter())
                .filter(|s| !going.contains(&s.object))
                .copied()
                .chain(
                    new.iter()
                        .flat_map(|p| &p.sites)
                        .filter(|s| s.0 == name)
                        .map(|s| s.1),
                )
                .collect();
            if sites.is_empty() {
                continue;
            }
            let (symbols, objects) = (&self.symbols, &self.objects);
            patches.extend(fixup::site_patches(
                space, symbols, objects, name, &after, &sites,
            )?);
        }
        Ok(patches)
    }
}
