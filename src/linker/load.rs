//! The load sequencer: one object through the link stages (`link/`) — layout,
//! resolve, fixup, commit, finalize — as a transaction. Everything that can
//! fail happens before shared state is touched; a failure is undone from one
//! record (`link::Undo`).

use crate::error::Result;
use crate::input::Class;
use crate::input::Object;
use crate::link::replace::inherited;
use crate::link::Loaded;
use crate::link::{
    finalize, fixup, layout, look_up_in_process, Names, Replacing, RetiredMark, Undo,
};
use crate::linker::Linker;
use crate::linker::ObjectId;
use crate::linker::Stage;
use crate::memory::pack::Piece;
use crate::symbols::SlotId;
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
        let start = Instant::now();
        let excluded = self.comdat_losers(object, id);
        let arch = self.arch;
        let mut layout = layout::place(self.space()?, arch, object, &excluded)?;
        undo.pieces.extend(layout.pieces.iter().copied());
        if let Some(plan) = layout.tls_plan {
            let image = self.register_tls(object, plan)?;
            undo.tls_module = Some(image.module);
            layout.tls_image = Some(image);
        }
        let tls_image = layout.tls_image;
        let region = &mut self.space()?.region;
        layout::copy_sections(region, object, &layout);
        if let Some(at) = layout.atexit {
            layout::write_atexit(region, arch, object, at, layout.dso_handle)?;
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
        } = self.binder()?.names(object, id, &layout, undo)?;
        layout.data = data;
        for &(name, _) in &refs {
            let e = self.symbols.entry(name);
            // The process is asked only when no object defines the name.
            if e.defs.is_empty() && e.process().is_none() && defs.get(name).is_none() {
                look_up_in_process(&mut self.deferred, &mut self.symbols, name);
            }
        }
        let (fixes, sites, statics) =
            (self.binder()?).resolve(object, id, &layout, &defs, &uses, undo)?;
        let patches = self.rebinding_patches(&defs, replacing.map(|r| r.id))?;
        self.stats.resolve += start.elapsed();
        self.injected(Stage::Resolve)?;

        let start = Instant::now();
        self.stats.veneers +=
            fixup::apply(&mut self.space()?.region, arch, object, &layout, &fixes)?;
        let relocations = fixes.len() + statics.len();
        self.scratch.fixes = fixes;
        if !statics.is_empty() {
            self.apply_static_tls(object, &layout, statics)?;
        }
        let frames = finalize::unwind_frames(self.space()?, object, &layout)?;
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
        let perf_map = self.options.perf_map;
        if let (false, Some(space), Some(loaded)) = (
            self.options.link_only,
            &self.space,
            self.objects.get_mut(&id),
        ) {
            finalize::register(
                space,
                &self.symbols,
                loaded,
                object,
                &placed_at,
                frames,
                perf_map,
            );
        }
        self.stats.finalize += start.elapsed();
        self.stats.objects += 1;
        Ok(old)
    }

    pub(crate) fn rollback(&mut self, undo: &mut Undo) {
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
