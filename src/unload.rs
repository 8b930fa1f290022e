//! Removing an object: its names fall back to other definitions or trap, its sites
//! and references are forgotten, its memory and local GOT entries are freed.

use crate::error::Result;
use crate::linker::{Linker, ObjectId};
use crate::symbols::Binding;

pub(crate) fn remove(linker: &mut Linker, id: ObjectId) -> Result<()> {
    let Some(object) = linker.objects.remove(&id) else {
        return Ok(());
    };
    for name in object.refers.iter().chain(object.defines.iter()) {
        if let Some(e) = linker.symbols.entries.get_mut(name) {
            e.refs.retain(|(o, _)| *o != id);
            e.sites.retain(|s| s.object != id);
            e.defs.retain(|d| d.object != id);
        }
    }
    let mut first_error = None;
    for name in &object.defines {
        if let Err(e) = linker.rebind(name) {
            first_error.get_or_insert(e);
        }
        let unresolved = linker
            .symbols
            .entries
            .get(name)
            .is_some_and(|e| matches!(e.binding(None), Binding::Unresolved { .. }));
        if let (true, Some(slot)) = (
            unresolved,
            linker.symbols.entries.get(name).and_then(|e| e.slot),
        ) {
            let message = format!("call to `{name}`, which was unloaded with {}", object.name);
            if let Some(space) = linker.space.as_ref() {
                space.stubs.set_message(slot, message);
            }
        }
    }
    linker.comdats.retain(|_, owner| *owner != id);
    if let Some(space) = linker.space.as_mut() {
        for slot in &object.local_slots {
            space.stubs.release(
                &mut space.region,
                *slot,
                "call through a freed GOT entry".into(),
            );
        }
        space.region.free(object.block);
    }
    first_error.map_or(Ok(()), Err)
}
