//! Removing an object: its names fall back to other definitions or trap, its sites
//! and references are forgotten, its local GOT entries are freed and its memory
//! is retired (freed by `Linker::reclaim`, since a thread may still be in its code).
//!
//! Unloading is refused while another loaded object refers to one of its variables
//! and nothing else defines it: that object's code would read freed memory.

use crate::error::{Error, Result, Unresolved};
use crate::link::Linked;
use crate::symbols::Binding;
use crate::symbols::ObjectId;

/// Other objects that refer to those of `id`'s variables `counts` keeps, with
/// nothing to fall back to. A variable `counts` leaves out costs nothing, however
/// many objects use it (a replace whose new version keeps every variable asks
/// about none).
pub(crate) fn data_dependents(
    linker: &Linked,
    id: ObjectId,
    counts: impl Fn(&str) -> bool,
) -> Vec<Unresolved> {
    let Some(object) = linker.objects.get(&id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut names: Vec<&str> = object
        .data_symbols
        .iter()
        .map(|(n, _, _)| linker.symbols.name(*n))
        .filter(|name| counts(name))
        .collect();
    names.sort_unstable();
    for name in names {
        let Some(entry) = linker.symbols.get(name) else {
            continue;
        };
        if !matches!(
            entry.binding_with(Some(id), None),
            Binding::Unresolved { .. }
        ) {
            continue;
        }
        let mut users: Vec<String> = entry
            .refs
            .iter()
            .filter(|(o, _)| *o != id)
            .map(|(o, _)| linker.object_name(*o))
            .collect();
        users.sort();
        users.dedup();
        if !users.is_empty() {
            out.push(Unresolved {
                symbol: name.to_string(),
                needed_by: users,
            });
        }
    }
    out
}

/// `Err(InUse)` naming the objects that use `id`'s variables (those `counts`
/// keeps), if any.
pub(crate) fn check(linker: &Linked, id: ObjectId, counts: impl Fn(&str) -> bool) -> Result<()> {
    let dependents = data_dependents(linker, id, counts);
    if dependents.is_empty() {
        Ok(())
    } else {
        Err(Error::InUse {
            object: linker.object_name(id),
            symbols: dependents,
        })
    }
}

pub(crate) fn remove(linker: &mut Linked, id: ObjectId) -> Result<()> {
    let Some(object) = linker.objects.remove(&id) else {
        return Ok(());
    };
    let sigs = linker.groups_to_keep(id, None);
    let keeper = linker.hand_to_keeper(id, &sigs);
    for name in object.refers.iter().chain(object.defines.iter()) {
        let e = linker.symbols.entry_mut(*name);
        e.refs.retain(|(o, _)| *o != id);
        e.retain_sites(|s| s.object != id);
        e.defs.retain(|d| d.object != id);
    }
    let mut first_error = None;
    for &name in &object.defines {
        if let Err(e) = linker.rebind(name) {
            first_error.get_or_insert(e);
        }
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
        return first_error.map_or(Ok(()), Err);
    }
    linker.release_unused_keepers();
    linker.retired.retire(object);
    first_error.map_or(Ok(()), Err)
}
