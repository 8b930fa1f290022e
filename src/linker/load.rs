//! The load sequencer: one object through the link stages (`link/`) — layout,
//! resolve, fixup, commit, finalize — as a transaction. Everything that can
//! fail happens before shared state is touched; a failure is undone from one
//! record (`link::Undo`).

use crate::error::Error;
use crate::error::Result;
use crate::input;
use crate::input::Class;
use crate::input::Object;
use crate::link::commit::Publish;
use crate::link::replace;
use crate::link::replace::inherited;
use crate::link::replace::{ReplaceOptions, ReplaceReport};
use crate::link::resolve::{Fix, NamedSite, StaticFix};
use crate::link::Loaded;
use crate::link::{
    finalize, fixup, layout, look_up_in_process, Layout, Names, Patch, Replacing, Undo,
};
use crate::linker::Linker;
use crate::linker::ObjectId;
use crate::linker::Stage;
use crate::memory::pack::Piece;
use crate::runtime::unwind;
use std::time::Instant;

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

    pub(crate) fn link_inner(
        &mut self,
        object: &Object,
        id: ObjectId,
        replacing: Option<&Replacing>,
        undo: &mut Undo,
    ) -> Result<Option<Loaded>> {
        let cx = Linking {
            object,
            id,
            replacing,
        };
        let start = Instant::now();
        let mut layout = self.layout_stage(&cx, undo)?;
        self.stats.layout += start.elapsed();
        self.injected(Stage::Layout)?;

        let start = Instant::now();
        let Resolution {
            names,
            fixes,
            statics,
            sites,
            patches,
        } = self.resolve_stage(&cx, &mut layout, undo)?;
        self.stats.resolve += start.elapsed();
        self.injected(Stage::Resolve)?;

        let start = Instant::now();
        let frames = self.fixup_stage(&cx, &layout, fixes, statics)?;
        self.stats.fixup += start.elapsed();
        self.injected(Stage::Fixup)?;

        let start = Instant::now();
        let publish = Publish {
            defs: names.defs,
            refs: names.refs,
            sites,
            patches,
        };
        let old = self.finalize_stage(&cx, layout, publish, frames, undo)?;
        self.stats.finalize += start.elapsed();
        self.stats.objects += 1;
        Ok(old)
    }

    /// Layout: the object's pieces placed, its TLS module registered, its
    /// sections copied, and (replacing) the data it inherits.
    fn layout_stage(&mut self, cx: &Linking, undo: &mut Undo) -> Result<Layout> {
        let (object, arch) = (cx.object, self.arch);
        let excluded = self.linked.comdat_losers(object, cx.id);
        let mut layout = layout::place(self.space()?, arch, object, &excluded)?;
        undo.pieces.extend(layout.pieces.iter().copied());
        if let Some(plan) = layout.tls_plan {
            let image = self.linked.register_tls(object, plan)?;
            undo.tls_module = Some(image.module);
            layout.tls_image = Some(image);
        }
        let region = &mut self.space()?.region;
        layout::copy_sections(region, object, &layout);
        if let Some(at) = layout.atexit {
            layout::write_atexit(region, arch, object, at, layout.dso_handle)?;
        }
        layout.statics = replace::statics(object, &layout);
        if let Some(r) = cx.replacing {
            let inherited = inherited(object, &layout, r, &self.linked.symbols);
            layout.redirects = inherited.redirects;
            self.scratch.report.extend(inherited.notes);
        }
        Ok(layout)
    }

    /// Resolve: the object's names interned and bound, every relocation turned
    /// into a fixup, and the patches its definitions make to other objects.
    fn resolve_stage(
        &mut self,
        cx: &Linking,
        layout: &mut Layout,
        undo: &mut Undo,
    ) -> Result<Resolution> {
        let mut names = self.binder()?.names(cx.object, cx.id, layout, undo)?;
        layout.data = std::mem::take(&mut names.data);
        for &(name, _) in &names.refs {
            let e = self.linked.symbols.entry(name);
            // The process is asked only when no object defines the name.
            if e.defs.is_empty() && e.process().is_none() && names.defs.get(name).is_none() {
                look_up_in_process(&mut self.linked.deferred, &mut self.linked.symbols, name);
            }
        }
        if let Some(r) = cx.replacing.filter(|r| !r.allow_undefined) {
            let undefined = self.linked.left_undefined(r.id, &cx.object.name, &names);
            if !undefined.is_empty() {
                return Err(Error::ReplaceUndefined {
                    object: cx.object.name.to_string(),
                    symbols: undefined,
                });
            }
        }
        let (fixes, sites, statics) =
            (self.binder()?).resolve(cx.object, cx.id, layout, &names, undo)?;
        let replaced = cx.replacing.map(|r| r.id);
        let patches = self.linked.rebinding_patches(&names.defs, replaced)?;
        Ok(Resolution {
            names,
            fixes,
            statics,
            sites,
            patches,
        })
    }

    /// Fixup: the fixups applied (static-TLS ones once their offsets are known)
    /// and the unwind tables checked.
    fn fixup_stage(
        &mut self,
        cx: &Linking,
        layout: &Layout,
        fixes: Vec<Fix>,
        statics: Vec<StaticFix>,
    ) -> Result<Vec<unwind::Frames>> {
        let (object, arch) = (cx.object, self.arch);
        let region = &mut self.space()?.region;
        self.stats.veneers += fixup::apply(region, arch, object, layout, &fixes)?;
        self.stats.relocations += fixes.len() + statics.len();
        self.scratch.fixes = fixes;
        if !statics.is_empty() {
            let (relaxed, veneers) =
                (self.linked).apply_static_tls(arch, object, layout, statics)?;
            self.stats.relaxed += relaxed;
            self.stats.veneers += veneers;
        }
        finalize::unwind_frames(self.space()?, object, layout)
    }

    /// Finalize: IFUNC resolvers run, the object committed, then registered
    /// with the unwinder, the debugger and perf.
    fn finalize_stage(
        &mut self,
        cx: &Linking,
        layout: Layout,
        mut publish: Publish,
        frames: Vec<unwind::Frames>,
        undo: &Undo,
    ) -> Result<Option<Loaded>> {
        let (object, id) = (cx.object, cx.id);
        let base = self.space()?.region.target_base();
        let code: Vec<(u64, u64, bool)> = (layout.pieces.iter())
            .filter(|p| p.class == Class::Code)
            .map(|p| (base + p.offset, p.len, !p.fresh))
            .collect();
        let (defs, refs) = (&mut publish.defs, &publish.refs);
        (self.linked).run_resolvers(object, id, &code, defs, refs, &undo.ifuncs)?;
        let placed_at: Vec<Option<u64>> = (layout.sections.iter())
            .map(|s| s.map(|o| base + o))
            .collect();
        let tls_image = layout.tls_image;
        self.injected(Stage::Finalize)?;
        let old = self
            .linked
            .commit(object, id, layout, publish, cx.replacing)?;
        self.linked.tls_images.extend(tls_image);
        let locals = (undo.slots.iter())
            .filter(|(n, _)| n.is_none())
            .map(|(_, s)| *s);
        let linked = &mut self.linked;
        let Some(loaded) = linked.objects.get_mut(&id) else {
            return Ok(old);
        };
        loaded.local_slots = locals.collect();
        if let (false, Some(space)) = (self.options.link_only, &linked.space) {
            let perf_map = self.options.perf_map;
            let (symbols, placed) = (&linked.symbols, &placed_at[..]);
            finalize::register(space, symbols, loaded, object, placed, frames, perf_map);
        }
        Ok(old)
    }

    pub(crate) fn rollback(&mut self, undo: &mut Undo) {
        if let Some(module) = undo.tls_module.take() {
            crate::runtime::tls::unregister(module);
        }
        let Some(space) = self.linked.space.as_mut() else {
            return;
        };
        for (name, slot) in undo.slots.drain(..) {
            if let Some(name) = name {
                self.linked.symbols.entry_mut(name).slot = None;
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
            if self.linked.symbols.entry(name).is_unused() {
                self.linked.symbols.remove(name);
            }
        }
    }
}

impl Linker {
    /// Links `bytes` as the new version of `id` and switches to it; see
    /// [`Linker::replace_with`].
    pub(crate) fn replace_object(
        &mut self,
        id: ObjectId,
        bytes: &[u8],
        options: ReplaceOptions,
    ) -> Result<ReplaceReport> {
        self.scratch.report = ReplaceReport::default();
        let (name, data, statics) = match self.linked.objects.get(&id) {
            Some(o) => (o.name.clone(), o.data_symbols.clone(), o.statics.clone()),
            None => return Err(Error::UnknownObject(id.0)),
        };
        let start = Instant::now();
        let copy = input::Aligned::if_needed(bytes);
        let object = input::parse(&name, copy.as_ref().map_or(bytes, input::Aligned::as_slice))?;
        self.stats.parse += start.elapsed();
        self.ensure_space(std::slice::from_ref(&object))?;
        self.linked.check_dropped_data(id, &object)?;
        let replacing = crate::link::Replacing {
            id,
            keep_state: options.keep_state,
            allow_undefined: options.allow_undefined,
            data,
            statics,
        };
        // Groups other objects use that the new version drops stay alive.
        let sigs = self.linked.groups_to_keep(id, Some(&object));
        let keeper = self.linked.hand_to_keeper(id, &sigs);
        let old = match self.link_as(&object, id, Some(&replacing)) {
            Ok(old) => old,
            Err(e) => {
                if let Some(k) = keeper {
                    self.linked.move_groups(&sigs, k, id);
                }
                return Err(e);
            }
        };
        let mut report = std::mem::take(&mut self.scratch.report);
        self.linked.run_pending_resolvers()?;
        if let (true, false, Some(old)) = (options.keep_state, self.options.link_only, &old) {
            self.linked.keep_pointers_valid(id, old, &mut report);
        }
        if let (false, false, Some(space)) = (
            options.keep_state,
            self.options.link_only,
            &self.linked.space,
        ) {
            if let Some(old) = &old {
                super::finalize::run_destructors_of(space, &[old]);
            }
            super::finalize::run_constructors(space, &self.linked.objects, &[id]);
        }
        let Some(mut old) = old else {
            return Ok(report);
        };
        if let Some(k) = keeper {
            self.linked
                .retired
                .pieces
                .retain(|p| !old.pieces.contains(p));
            self.linked.kept.insert(k, old);
            self.linked.release_unused_keepers();
            return Ok(report);
        }
        self.linked.release_unused_keepers();
        let registers_exit_handlers = |o: &Loaded| {
            o.refers
                .iter()
                .any(|n| matches!(self.linked.symbols.name(*n), "__cxa_atexit" | "atexit"))
                || !o.older.is_empty()
        };
        if options.keep_state && !self.options.link_only && registers_exit_handlers(&old) {
            // Its exit handlers (C++ static destructors of the kept state) still
            // point into its code: keep that code, and run them at unload.
            let pinned: Vec<Piece> = old
                .pieces
                .iter()
                .filter(|p| self.linked.retired.pieces.contains(p))
                .copied()
                .collect();
            self.linked.retired.pieces.retain(|p| !pinned.contains(p));
            old.pieces = pinned;
            old.debug = None;
            let older = std::mem::take(&mut old.older);
            if let Some(new) = self.linked.objects.get_mut(&id) {
                new.older = older;
                new.older.push(old);
            }
        } else {
            // Its code is retired, not freed (commit retired its pieces already):
            // it stays unwindable until reclaimed.
            old.pieces.clear();
            self.linked.retired.retire(old);
        }
        Ok(report)
    }
}

/// The object one load links, and under what id (and, replacing, from what).
struct Linking<'a, 'o> {
    object: &'a Object<'o>,
    id: ObjectId,
    replacing: Option<&'a Replacing>,
}

/// What resolving an object gives the stages after it.
struct Resolution {
    names: Names,
    fixes: Vec<Fix>,
    statics: Vec<StaticFix>,
    sites: Vec<NamedSite>,
    patches: Vec<Patch>,
}
