//! The replace sequencer: new versions of one or several loaded objects are
//! linked completely beside the old ones (`Linker::prepare`), checked together
//! (variables others use, names left undefined), and only then published one
//! after the other (`Linker::publish`), with nothing in between that can fail.
//! A failure before publishing takes every new version back: nothing changes.

use crate::error::{Error, Location, Result};
use crate::input;
use crate::input::Object;
use crate::link::commit::Publish;
use crate::link::replace::{NewVersion, ReplaceOptions, ReplaceReport};
use crate::link::{Loaded, Patch, Replacing, Undo};
use crate::linker::load::{Linking, Ready};
use crate::linker::Linker;
use crate::memory::pack::Piece;
use crate::symbols::ObjectId;
use std::time::Instant;

impl Linker {
    /// Replaces each `(id, bytes)` by its new version, all or none; see
    /// [`Linker::replace_many`].
    pub(crate) fn replace_set(
        &mut self,
        items: &[(ObjectId, &[u8])],
        options: ReplaceOptions,
    ) -> Result<ReplaceReport> {
        let mut ids: Vec<ObjectId> = Vec::with_capacity(items.len());
        for &(id, _) in items {
            let Some(o) = self.linked.objects.get(&id) else {
                return Err(Error::UnknownObject(id.0));
            };
            if ids.contains(&id) {
                return Err(Error::Unsupported {
                    at: Location::object(&o.name),
                    what: "two new versions of one object in one replace".into(),
                });
            }
            ids.push(id);
        }
        let start = Instant::now();
        // Aligned copies of the inputs that need one, by position (none, as a
        // rule: the list is then not even allocated).
        let copies: Vec<(usize, input::Aligned)> = (items.iter().enumerate())
            .filter_map(|(i, (_, bytes))| Some((i, input::Aligned::if_needed(bytes)?)))
            .collect();
        let mut objects = Vec::with_capacity(items.len());
        for (i, (id, bytes)) in items.iter().enumerate() {
            let name = self.linked.object_name(*id);
            let copy = copies.iter().find(|(at, _)| *at == i).map(|(_, c)| c);
            let bytes = copy.map_or(*bytes, input::Aligned::as_slice);
            objects.push(input::parse(&name, bytes)?);
        }
        self.stats.parse += start.elapsed();
        if objects.is_empty() {
            return Ok(ReplaceReport::default());
        }
        self.load_default_libraries_before(&objects)?;
        self.ensure_space(&objects)?;
        self.linked.check_dropped_data(&ids, &objects)?;
        let replacing: Vec<Replacing> = (ids.iter())
            .filter_map(|id| Some((id, self.linked.objects.get(id)?)))
            .map(|(&id, o)| Replacing {
                id,
                keep_state: options.keep_state,
                data: o.data_symbols.clone(),
                statics: o.statics.clone(),
            })
            .collect();
        self.scratch.report = ReplaceReport::default();
        // Definitions of the set's old versions do not make the new ones duplicates.
        self.scratch.replacing.clear();
        self.scratch.replacing.extend_from_slice(&ids);
        let prepared = self.prepare_all(&objects, &replacing, options);
        self.scratch.replacing.clear();
        let (prepared, final_patches) = prepared?;

        let mut olds = Vec::with_capacity(prepared.len());
        let mut keepers = Vec::with_capacity(prepared.len());
        for ((object, r), p) in objects.iter().zip(&replacing).zip(prepared) {
            let cx = Linking {
                object,
                id: r.id,
                replacing: Some(r),
            };
            olds.push(self.publish(&cx, p.ready, &p.undo)?);
            keepers.push(p.keeper);
        }
        if let Some(space) = self.linked.space.as_mut() {
            crate::link::apply_patches(&mut space.region, &final_patches);
        }
        let mut report = std::mem::take(&mut self.scratch.report);
        self.linked.run_pending_resolvers()?;
        if options.keep_state {
            for (id, old) in ids.iter().zip(&olds) {
                if let Some(old) = old {
                    self.linked.keep_pointers_valid(*id, old, &mut report);
                }
            }
        }
        // An old version whose constructors were pending is not destroyed, and
        // its new version's constructors wait for it to be complete, with
        // `keep_state` too (what it keeps was never constructed).
        let was_pending: Vec<bool> = ids.iter().map(|id| self.is_pending(*id)).collect();
        if let (false, false, Some(space)) = (
            options.keep_state,
            self.options.link_only,
            &self.linked.space,
        ) {
            let old: Vec<&Loaded> = (olds.iter().zip(&was_pending))
                .filter(|(_, pending)| !**pending)
                .filter_map(|(old, _)| old.as_ref())
                .collect();
            super::finalize::run_destructors_of(space, &old);
        }
        let construct: Vec<ObjectId> = (ids.iter().zip(&was_pending))
            .filter(|(_, pending)| **pending || !options.keep_state)
            .map(|(id, _)| *id)
            .collect();
        self.run_constructors_of(&construct);
        for ((id, old), keeper) in ids.iter().zip(olds).zip(keepers) {
            if let Some(old) = old {
                self.retire_version(*id, old, keeper, options);
            }
        }
        Ok(report)
    }

    /// Links every new version up to publishing, each with its own undo
    /// record; checks the names they would leave undefined; runs their IFUNC
    /// resolvers; and works out the re-patches the whole set makes
    /// (`Linked::set_patches`). On any failure, everything is taken back in
    /// reverse order.
    fn prepare_all(
        &mut self,
        objects: &[Object],
        replacing: &[Replacing],
        options: ReplaceOptions,
    ) -> Result<(Vec<Prepared>, Vec<Patch>)> {
        let mut done: Vec<Prepared> = Vec::with_capacity(objects.len());
        let mut failure = None;
        for (object, r) in objects.iter().zip(replacing) {
            // Groups other objects use that the new version drops stay alive.
            let sigs = self.linked.groups_to_keep(r.id, Some(object));
            let keeper = self.linked.hand_to_keeper(r.id, &sigs).map(|k| (k, sigs));
            let mut undo = Undo::default();
            let cx = Linking {
                object,
                id: r.id,
                replacing: Some(r),
            };
            match self.prepare(&cx, &mut undo) {
                Ok(ready) => done.push(Prepared {
                    ready,
                    undo,
                    keeper,
                }),
                Err(e) => {
                    self.take_back(r.id, undo, keeper);
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_none() && !options.allow_undefined {
            let set: Vec<NewVersion> = (done.iter().zip(objects).zip(replacing))
                .map(|((p, object), r)| NewVersion {
                    id: r.id,
                    name: &object.name,
                    defs: &p.ready.publish.defs,
                    refs: &p.ready.publish.refs,
                })
                .collect();
            let undefined = self.linked.left_undefined(&set);
            if !undefined.is_empty() {
                let names: Vec<&str> = objects.iter().map(|o| &*o.name).collect();
                failure = Some(Error::ReplaceUndefined {
                    object: names.join(", "),
                    symbols: undefined,
                });
            }
        }
        // Their code runs first here, once the set is known to be complete.
        if failure.is_none() {
            for ((p, object), r) in done.iter_mut().zip(objects).zip(replacing) {
                let cx = Linking {
                    object,
                    id: r.id,
                    replacing: Some(r),
                };
                if let Err(e) = self.resolvers_stage(&cx, &mut p.ready, &p.undo) {
                    failure = Some(e);
                    break;
                }
            }
        }
        let mut patches = Vec::new();
        if failure.is_none() && done.len() > 1 {
            let ids: Vec<ObjectId> = replacing.iter().map(|r| r.id).collect();
            let new: Vec<&Publish> = done.iter().map(|p| &p.ready.publish).collect();
            match self.linked.set_patches(&ids, &new) {
                Ok(list) => patches = list,
                Err(e) => failure = Some(e),
            }
        }
        let Some(e) = failure else {
            return Ok((done, patches));
        };
        for (p, r) in done.into_iter().zip(replacing).rev() {
            self.take_back(r.id, p.undo, p.keeper);
        }
        Err(e)
    }

    /// Takes back a new version of `id` prepared but not published: its memory,
    /// slots and names, and the COMDAT groups its keeper took over.
    fn take_back(&mut self, id: ObjectId, mut undo: Undo, keeper: Keeper) {
        self.rollback(&mut undo);
        if let Some((k, sigs)) = keeper {
            self.linked.move_groups(&sigs, k, id);
        }
    }

    /// What becomes of a replaced version once its successor is live: kept for
    /// its COMDAT groups' users, kept for its exit handlers, or retired until
    /// `reclaim`.
    fn retire_version(
        &mut self,
        id: ObjectId,
        mut old: Loaded,
        keeper: Keeper,
        options: ReplaceOptions,
    ) {
        if let Some((k, _)) = keeper {
            (self.linked.retired.pieces).retain(|p| !old.pieces.contains(p));
            self.linked.kept.insert(k, old);
            self.linked.release_unused_keepers();
            return;
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
            let pinned: Vec<Piece> = (old.pieces.iter())
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
    }
}

/// The object that took over a replaced version's COMDAT groups, and the
/// groups' signatures.
type Keeper = Option<(ObjectId, Vec<String>)>;

/// A new version linked up to publishing, with what takes it back.
struct Prepared {
    ready: Ready,
    undo: Undo,
    keeper: Keeper,
}
