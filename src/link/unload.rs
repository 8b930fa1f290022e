//! Removing an object: its names fall back to other definitions or trap, its sites
//! and references are forgotten, its local GOT entries are freed and its memory
//! is retired (freed by `Linker::reclaim`, since a thread may still be in its code).
//!
//! Unloading is refused while another loaded object refers to one of its variables
//! and nothing else defines it: that object's code would read freed memory.

use crate::error::{Error, Result, Unresolved};
use crate::link::fixup::{apply_patches, site_patches, Patch};
use crate::link::Linked;
use crate::symbols::ObjectId;
use crate::symbols::{Binding, NameId, Site};

/// Other objects that refer to those of `id`'s variables (writable or constant)
/// that `counts` keeps, with nothing to fall back to: their code would read freed
/// memory, or a trap stub's bytes. A variable `counts` leaves out costs nothing,
/// however many objects use it (a replace whose new version keeps every variable
/// asks about none).
pub(crate) fn data_dependents(
    linker: &Linked,
    id: ObjectId,
    set: &[ObjectId],
    counts: impl Fn(&str) -> bool,
) -> Vec<Unresolved> {
    let Some(object) = linker.objects.get(&id) else {
        return Vec::new();
    };
    let mut names: Vec<(&str, NameId)> = (object.defines.iter())
        .map(|&n| (linker.symbols.name(n), n))
        .filter(|(name, _)| counts(name))
        .collect();
    names.sort_unstable();
    let dropped = |&(_, n): &(&str, NameId)| {
        let entry = linker.symbols.entry(n);
        entry.defs.iter().any(|d| d.object == id && !d.code)
            && matches!(
                entry.binding_with(linker.symbols.ref_pool(), Some(id), None),
                Binding::Unresolved { .. }
            )
    };
    (names.into_iter().filter(dropped))
        .filter_map(|(_, n)| linker.needed_by(n, |o, _| !set.contains(&o)))
        .collect()
}

/// `Err(InUse)` naming the objects outside `set` (which holds `id`) that use
/// `id`'s variables (those `counts` keeps), if any.
pub(crate) fn check(
    linker: &Linked,
    id: ObjectId,
    set: &[ObjectId],
    counts: impl Fn(&str) -> bool,
) -> Result<()> {
    let dependents = data_dependents(linker, id, set, counts);
    if dependents.is_empty() {
        Ok(())
    } else {
        Err(Error::InUse {
            object: linker.object_name(id),
            symbols: dependents,
        })
    }
}

/// What unloading `id` writes into other objects: the sites of its names,
/// re-patched for what each name falls back to (another object, the process, a
/// trap). Worked out before anything changes, so an unload whose fallback is out
/// of a site's reach (a `-fno-pic` reader of a variable the process also defines,
/// far from the region) fails having changed nothing.
pub(crate) fn plan(linker: &mut Linked, id: ObjectId) -> Result<Vec<Patch>> {
    let Some(object) = linker.objects.get(&id) else {
        return Ok(Vec::new());
    };
    let mut patches = Vec::new();
    for name in object.defines.clone() {
        if linker
            .symbols
            .entry(name)
            .defs
            .iter()
            .all(|d| d.object == id)
        {
            // Falls back to the process, if it defines the name.
            linker.symbols.entry_with_process(name);
        }
        let entry = linker.symbols.entry(name);
        let others: Vec<Site> = (entry.sites().iter())
            .filter(|s| s.object != id)
            .copied()
            .collect();
        let pool = linker.symbols.ref_pool();
        let (before, after) = (
            entry.binding(None),
            entry.binding_with(pool, Some(id), None),
        );
        if crate::link::fixup::variable_moves(&before, &after) {
            let space = super::loaded(linker.space.as_ref())?;
            let (symbols, objects) = (&linker.symbols, &linker.objects);
            patches.extend(crate::link::fixup::unrelax_patches(
                space,
                symbols,
                objects,
                name,
                |o| o == id,
            )?);
        }
        if others.is_empty() || after == before {
            continue;
        }
        let space = super::loaded(linker.space.as_ref())?;
        let (symbols, objects) = (&linker.symbols, &linker.objects);
        patches.extend(site_patches(
            space, symbols, objects, name, &after, &others,
        )?);
    }
    Ok(patches)
}

/// Removes `id` (see [`plan`]); fails, changing nothing, if another object's
/// reference cannot be re-patched.
pub(crate) fn remove(linker: &mut Linked, id: ObjectId) -> Result<()> {
    let patches = plan(linker, id)?;
    remove_planned(linker, id, &patches);
    Ok(())
}

/// Removes `id`, writing the patches [`plan`] worked out. Cannot fail.
pub(crate) fn remove_planned(linker: &mut Linked, id: ObjectId, patches: &[Patch]) {
    let Some(object) = linker.objects.remove(&id) else {
        return;
    };
    let sigs = linker.groups_to_keep(id, None);
    let keeper = linker.hand_to_keeper(id, &sigs);
    for name in object.refers.iter().chain(object.defines.iter()) {
        linker.symbols.retain_refs(*name, |(o, _)| o != id);
        let e = linker.symbols.entry_mut(*name);
        e.retain_sites(|s| s.object != id);
        e.defs.retain(|d| d.object != id);
    }
    if let Some(space) = linker.space.as_mut() {
        apply_patches(&mut space.region, patches);
    }
    for &name in &object.defines {
        // The space exists while an object is loaded.
        _ = linker.refresh_slot(name);
        let entry = linker.symbols.entry(name);
        let unresolved = entry.is_unresolved();
        if let (true, Some(slot), Some(space)) = (unresolved, entry.slot, linker.space.as_ref()) {
            let message = format!(
                "call to `{}`, which was unloaded with {}",
                linker.symbols.name(name),
                object.name
            );
            space.stubs.set_message(slot, message);
        }
    }
    // Names nothing uses any more (no definition, reference or slot) go.
    let mut names: Vec<_> = object
        .refers
        .iter()
        .chain(&object.defines)
        .copied()
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let e = linker.symbols.entry(name);
        if e.is_unused() && e.slot.is_none() {
            linker.symbols.remove(name);
        }
    }
    linker.comdats.retain(|_, owner| *owner != id);
    let comdats = &linker.comdats;
    linker
        .comdat_uses
        .retain(|sig, _| comdats.contains_key(sig));
    linker.forget_comdat_user(id);
    if let Some(keeper) = keeper {
        // Its COMDAT groups' users still run its code (comdat.rs).
        linker.kept.insert(keeper, object);
        linker.release_unused_keepers();
        return;
    }
    linker.release_unused_keepers();
    linker.retired.retire(object);
}
