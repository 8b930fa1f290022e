//! The load sequencer: one object through the link stages (`link/`) — layout,
//! resolve, fixup, commit, finalize — as a transaction. Everything that can
//! fail happens before shared state is touched; a failure is undone from one
//! record (`link::Undo`).

use crate::error::Error;
use crate::error::Result;
use crate::input;
use crate::input::Class;
use crate::input::Object;
use crate::link::replace::inherited;
use crate::link::replace::ReplaceOptions;
use crate::link::Loaded;
use crate::link::{finalize, fixup, layout, look_up_in_process, Names, Replacing, Undo};
use crate::linker::Linker;
use crate::linker::ObjectId;
use crate::linker::Stage;
use crate::memory::pack::Piece;
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
        let excluded = self.linked.comdat_losers(object, id);
        let arch = self.arch;
        let mut layout = layout::place(self.space()?, arch, object, &excluded)?;
        undo.pieces.extend(layout.pieces.iter().copied());
        if let Some(plan) = layout.tls_plan {
            let image = self.linked.register_tls(object, plan)?;
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
            layout.redirects = inherited(object, &layout, r, &self.linked.symbols);
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
            let e = self.linked.symbols.entry(name);
            // The process is asked only when no object defines the name.
            if e.defs.is_empty() && e.process().is_none() && defs.get(name).is_none() {
                look_up_in_process(&mut self.linked.deferred, &mut self.linked.symbols, name);
            }
        }
        let (fixes, sites, statics) =
            (self.binder()?).resolve(object, id, &layout, &defs, &uses, undo)?;
        let patches = self
            .linked
            .rebinding_patches(&defs, replacing.map(|r| r.id))?;
        self.stats.resolve += start.elapsed();
        self.injected(Stage::Resolve)?;

        let start = Instant::now();
        self.stats.veneers +=
            fixup::apply(&mut self.space()?.region, arch, object, &layout, &fixes)?;
        let relocations = fixes.len() + statics.len();
        self.scratch.fixes = fixes;
        if !statics.is_empty() {
            let (relaxed, veneers) = self
                .linked
                .apply_static_tls(arch, object, &layout, statics)?;
            self.stats.relaxed += relaxed;
            self.stats.veneers += veneers;
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
        self.linked
            .run_resolvers(object, id, &code, &mut defs, &refs, &undo.ifuncs)?;
        let base = self.space()?.region.target_base();
        let placed_at: Vec<Option<u64>> = layout
            .sections
            .iter()
            .map(|s| s.map(|o| base + o))
            .collect();
        self.injected(Stage::Finalize)?;
        let old = self
            .linked
            .commit(object, id, layout, defs, &refs, sites, patches, replacing)?;
        self.linked.tls_images.extend(tls_image);
        let locals = undo
            .slots
            .iter()
            .filter(|(n, _)| n.is_none())
            .map(|(_, s)| *s);
        if let Some(loaded) = self.linked.objects.get_mut(&id) {
            loaded.local_slots = locals.collect();
        }
        let perf_map = self.options.perf_map;
        if let (false, Some(space), Some(loaded)) = (
            self.options.link_only,
            &self.linked.space,
            self.linked.objects.get_mut(&id),
        ) {
            finalize::register(
                space,
                &self.linked.symbols,
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
    ) -> Result<()> {
        let (name, data) = match self.linked.objects.get(&id) {
            Some(o) => (o.name.clone(), o.data_symbols.clone()),
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
            data,
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
        self.linked.run_pending_resolvers()?;
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
        let Some(mut old) = old else { return Ok(()) };
        if let Some(k) = keeper {
            self.linked
                .retired
                .pieces
                .retain(|p| !old.pieces.contains(p));
            self.linked.kept.insert(k, old);
            self.linked.release_unused_keepers();
            return Ok(());
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
        Ok(())
    }
}
