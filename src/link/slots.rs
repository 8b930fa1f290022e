//! Slots: each global name's 8-byte slot (its current implementation, or its
//! trap) and GOT entry (its canonical address), allocated when first needed and
//! rewritten whenever the name's binding changes; and the trap messages of
//! unresolved names, written at once or (in a batch) at its end.

use crate::error::Result;
use crate::link::{Deferred, Linked, Objects, Space};
use crate::symbols::{Binding, NameId, SlotId, StubTable, SymbolTable};

/// Where trap messages come from: the loaded objects (which of them need a
/// name) and, while a batch loads, its deferred work (messages written at its
/// end).
pub(crate) struct Traps<'a> {
    pub(crate) deferred: &'a mut Option<Deferred>,
    pub(crate) objects: &'a Objects,
}

impl Traps<'_> {
    /// The trap message of `id` now, or (in a batch) `None` and the name
    /// marked to get it at the batch's end.
    pub(crate) fn now(&mut self, symbols: &SymbolTable, id: NameId) -> Option<String> {
        match self.deferred {
            Some(deferred) => {
                deferred.mark_trap(id);
                None
            }
            None => Some(trap_message(symbols, self.objects, id)),
        }
    }
}

/// The slot index of a global name, allocated (with its current binding) if
/// new; its trap message is asked for only when the new slot traps.
pub(crate) fn slot_for(
    symbols: &mut SymbolTable,
    space: &mut Space,
    traps: &mut Traps,
    id: NameId,
    binding: &Binding,
) -> Result<SlotId> {
    if let Some(slot) = symbols.entry(id).slot {
        return Ok(slot);
    }
    // A trap message only matters while the slot points at its trap.
    let unresolved = matches!(binding, Binding::Unresolved { .. });
    let message = if unresolved {
        traps.now(symbols, id)
    } else {
        None
    };
    // A function's stub keeps the alignment the function declares (say
    // `aligned(64)`), as its address would in a static link.
    let align = match binding {
        Binding::Object(d) if d.code => 1u64 << d.align_log2.min(12),
        _ => 1,
    };
    let slot = (space.stubs).alloc_aligned(&mut space.region, message, 0, align)?;
    write(space, slot, binding);
    symbols.entry_mut(id).slot = Some(slot);
    Ok(slot)
}

/// Writes a name's slot and GOT entry for its current binding (and, if it
/// traps, its trap message).
pub(crate) fn refresh(symbols: &SymbolTable, space: &mut Space, traps: &mut Traps, name: NameId) {
    let entry = symbols.entry(name);
    let Some(slot) = entry.slot else {
        return;
    };
    let binding = entry.binding(None);
    if matches!(binding, Binding::Unresolved { .. }) {
        if let Some(message) = traps.now(symbols, name) {
            space.stubs.set_message(slot, message);
        }
    }
    write(space, slot, &binding);
}

/// A slot and its GOT entry as `binding` gives them (`slot_values`).
fn write(space: &mut Space, slot: SlotId, binding: &Binding) {
    let (s, g) = slot_values(&space.stubs, slot, binding);
    space.stubs.set_slot(&mut space.region, slot, s);
    space.stubs.set_got(&mut space.region, slot, g);
}

/// What calling an unresolved name's stub reports.
pub(crate) fn trap_message(symbols: &SymbolTable, objects: &Objects, id: NameId) -> String {
    let name = symbols.name(id);
    let needed: Vec<String> = (symbols.refs(id))
        .map(|(o, _)| super::object_name(objects, o))
        .collect();
    if needed.is_empty() {
        format!("call to `{name}`, which is undefined")
    } else {
        format!(
            "call to `{name}`, which is undefined (needed by {})",
            needed.join(", ")
        )
    }
}

/// `(slot, GOT entry)` for a binding: the slot holds the implementation (or the
/// trap), the GOT entry the canonical address (the stub for code).
pub(crate) fn slot_values(stubs: &StubTable, slot: SlotId, binding: &Binding) -> (u64, u64) {
    let stub = stubs.stub_addr(slot);
    match binding {
        Binding::Object(d) => (d.address, if d.code { stub } else { d.address }),
        Binding::Host(p) | Binding::Process(p) => (p.address, p.address),
        Binding::Unresolved { weak: true } => (stubs.trap_addr(slot), 0),
        Binding::Unresolved { weak: false } => (stubs.trap_addr(slot), stub),
    }
}

impl Linked {
    /// Writes a name's slot and GOT entry for its current binding.
    pub(crate) fn refresh_slot(&mut self, name: NameId) -> Result<()> {
        let (symbols, space, mut traps) = self.slot_parts()?;
        refresh(symbols, space, &mut traps, name);
        Ok(())
    }

    /// The slot index of a global name, allocated (with its current binding) if new.
    pub(crate) fn slot_for(&mut self, id: NameId, binding: &Binding) -> Result<SlotId> {
        let (symbols, space, mut traps) = self.slot_parts()?;
        slot_for(symbols, space, &mut traps, id, binding)
    }

    /// What writing slots needs, borrowed apart.
    fn slot_parts(&mut self) -> Result<(&mut SymbolTable, &mut Space, Traps<'_>)> {
        let space = super::loaded(self.space.as_mut())?;
        let traps = Traps {
            deferred: &mut self.deferred,
            objects: &self.objects,
        };
        Ok((&mut self.symbols, space, traps))
    }
}
