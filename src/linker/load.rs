//! The load sequencer: one object through the link stages (`link/`) — layout,
//! resolve, fixup, commit, finalize — as a transaction. Everything that can
//! fail happens before shared state is touched; a failure is undone from one
//! record (`link::Undo`).

use crate::error::Result;
use crate::input::Class;
use crate::input::Object;
use crate::link::commit::Publish;
use crate::link::replace;
use crate::link::replace::inherited;
use crate::link::resolve::{Fix, Fixups, NamedSite, StaticFix};
use crate::link::Loaded;
use crate::link::{
    finalize, fixup, layout, look_up_in_process, Layout, Names, Patch, Replacing, Undo,
};
use crate::linker::Linker;
use crate::linker::ObjectId;
use crate::linker::Stage;
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
        let mut ready = self.prepare(&cx, undo)?;
        self.resolvers_stage(&cx, &mut ready, undo)?;
        self.publish(&cx, ready, undo)
    }

    /// Layout, resolve and fixup: everything short of running the object's code
    /// (its IFUNC resolvers) and publishing it. Another object's memory is not
    /// touched yet; `undo` takes it all back.
    pub(super) fn prepare(&mut self, cx: &Linking, undo: &mut Undo) -> Result<Ready> {
        // One clock reading between two stages ends the one and starts the
        // next (reading it was 3-6% of a replace).
        let start = Instant::now();
        let mut layout = self.layout_stage(cx, undo)?;
        let laid_out = Instant::now();
        self.stats.layout += laid_out - start;
        self.injected(Stage::Layout)?;

        let Resolution {
            names,
            fixes,
            statics,
            sites,
            relaxed,
            patches,
        } = self.resolve_stage(cx, &mut layout, undo)?;
        let resolved = Instant::now();
        self.stats.resolve += resolved - laid_out;
        self.injected(Stage::Resolve)?;

        let frames = self.fixup_stage(cx, &layout, fixes, statics)?;
        self.stats.fixup += resolved.elapsed();
        self.injected(Stage::Fixup)?;

        let publish = Publish {
            defs: names.defs,
            refs: names.refs,
            sites,
            relaxed,
            patches,
        };
        Ok(Ready {
            layout,
            publish,
            frames,
        })
    }

    /// Publishes a prepared object: commit, then registration. Cannot fail once
    /// memory is reserved.
    pub(super) fn publish(
        &mut self,
        cx: &Linking,
        ready: Ready,
        undo: &Undo,
    ) -> Result<Option<Loaded>> {
        let start = Instant::now();
        let old = self.finalize_stage(cx, ready, undo)?;
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
            layout.anchors = inherited.anchors;
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
            // Commit adds this object to the name's referring objects: the
            // cache misses of the words it writes, taken here, overlap each
            // other and resolving (pushing had been a twentieth of the
            // linking thread's time).
            self.linked.symbols.prefetch_refs(name);
        }
        for &name in &names.undefined {
            let e = self.linked.symbols.entry(name);
            // The process is asked only when no object defines the name.
            if e.defs.is_empty() && e.process().is_none() {
                look_up_in_process(&mut self.linked.deferred, &mut self.linked.symbols, name);
            } else if e.is_unresolved() {
                // Left undefined by an earlier load: not asked again.
                if let Some(deferred) = &mut self.linked.deferred {
                    deferred.unresolved_before = true;
                }
            }
        }
        self.scratch.undefined = std::mem::take(&mut names.undefined);
        // Loads of other objects' variables are relaxed in plain loads only: a
        // replace works out the re-patches of what moves against the old
        // versions, which must then be loads through the slot.
        self.scratch.relax_others = cx.replacing.is_none() && self.scratch.replacing.is_empty();
        let Fixups {
            fixes,
            sites,
            statics,
            relaxed,
            relaxed_loads,
        } = (self.binder()?).resolve(cx.object, cx.id, layout, &names, undo)?;
        self.stats.relaxed_got += relaxed;
        let replaced = cx.replacing.map(|r| r.id);
        // In a set, the others' sites are worked out once for the whole set.
        let going = &self.scratch.replacing;
        let patches = self
            .linked
            .rebinding_patches(&names.defs, replaced, going)?;
        Ok(Resolution {
            names,
            fixes,
            statics,
            sites,
            relaxed: relaxed_loads,
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

    /// The object's IFUNC resolvers run (its code made coherent first), before
    /// anything is published: the first of its code that runs.
    pub(super) fn resolvers_stage(
        &mut self,
        cx: &Linking,
        ready: &mut Ready,
        undo: &Undo,
    ) -> Result<()> {
        // No resolver of its own to run (most objects): `run_resolvers` would
        // return at once; no clock reading, no list of its code.
        if !crate::link::prepare::facts(cx.object).global_ifuncs && undo.ifuncs.is_empty() {
            return self.injected(Stage::Finalize);
        }
        let start = Instant::now();
        let base = self.space()?.region.target_base();
        let code: Vec<(u64, u64, bool)> = (ready.layout.pieces.iter())
            .filter(|p| p.class == Class::Code)
            .map(|p| (base + p.offset, p.len, !p.fresh))
            .collect();
        let (defs, refs) = (&mut ready.publish.defs, &ready.publish.refs);
        (self.linked).run_resolvers(cx.object, cx.id, &code, defs, refs, &undo.ifuncs)?;
        self.stats.finalize += start.elapsed();
        self.injected(Stage::Finalize)
    }

    /// Finalize: the object committed, then registered with the unwinder, the
    /// debugger and perf.
    fn finalize_stage(
        &mut self,
        cx: &Linking,
        ready: Ready,
        undo: &Undo,
    ) -> Result<Option<Loaded>> {
        let (object, id) = (cx.object, cx.id);
        let Ready {
            layout,
            publish,
            frames,
        } = ready;
        let base = self.space()?.region.target_base();
        let placed_at: Vec<Option<u64>> = (layout.sections.iter())
            .map(|s| s.map(|o| base + o))
            .collect();
        let tls_image = layout.tls_image;
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
            let perf = crate::runtime::perf::Perf {
                map: self.options.perf_map,
                jitdump: self.options.perf_jitdump,
            };
            let (symbols, placed) = (&linked.symbols, &placed_at[..]);
            finalize::register(space, symbols, loaded, object, placed, frames, perf);
        }
        Ok(old)
    }

    pub(crate) fn rollback(&mut self, undo: &mut Undo) {
        if let Some(module) = undo.tls_module.take() {
            crate::runtime::Host(self.linked.symbols.remote()).unregister(module);
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

/// The object one load links, and under what id (and, replacing, from what).
pub(super) struct Linking<'a, 'o> {
    pub(super) object: &'a Object<'o>,
    pub(super) id: ObjectId,
    pub(super) replacing: Option<&'a Replacing>,
}

/// A linked object ready to publish.
pub(super) struct Ready {
    layout: Layout,
    pub(super) publish: Publish,
    frames: Vec<unwind::Frames>,
}

/// What resolving an object gives the stages after it.
struct Resolution {
    names: Names,
    fixes: Vec<Fix>,
    statics: Vec<StaticFix>,
    sites: Vec<NamedSite>,
    relaxed: Box<[crate::link::RelaxedLoad]>,
    patches: Vec<Patch>,
}
