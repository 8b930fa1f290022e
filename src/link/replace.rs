//! Replace: what a replaced object's data becomes — inherited variables keep the
//! old version's storage, the rest is retired.

use super::*;
use crate::input::{Class, Definition, Object};
use crate::linker::{is_global, Linker, Loaded, ObjectId};
use crate::memory::pack::Piece;
use crate::symbols::{NameId, SymbolTable};

/// What replacing an object keeps from the version before.
pub(crate) struct Replacing {
    pub id: ObjectId,
    pub keep_state: bool,
    /// The old version's global writable data: (name, address, size), sorted.
    pub data: Vec<(NameId, u64, u64)>,
}

/// A global symbol's binding while its object resolves (it cannot change

/// Global writable data of the new version that keeps the old version's address:
/// same name, same size. Everything else (new names, changed sizes, statics) gets
/// fresh storage; changed sizes are re-patched through the reverse index.
pub(crate) fn inherited(
    object: &Object,
    layout: &Layout,
    r: &Replacing,
    symbols: &SymbolTable,
) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    for (i, sym) in object.symbols.iter().enumerate() {
        if !is_global(sym.binding) || sym.size == 0 {
            continue;
        }
        let (Some(addr), true) = (layout.addresses[i], writable_variable(object, sym)) else {
            continue;
        };
        let Some(name) = symbols.id(sym.name) else {
            continue;
        };
        if let Ok(k) = r.data.binary_search_by_key(&name, |d| d.0) {
            let (_, old, size) = r.data[k];
            if size == sym.size {
                out.push((addr, addr + size, old));
            }
        }
    }
    out
}

/// A variable in writable memory whose size (from the file) lies within its
/// section: only such symbols carry contents across a replace. A size running past
/// its section is not trusted with memory (a fuzzed object had one).
pub(crate) fn writable_variable(object: &Object, sym: &crate::input::Symbol) -> bool {
    match sym.definition {
        Definition::Section { section, offset } => {
            let s = object.section(section);
            matches!(s.class, Class::Data | Class::Zero)
                && offset
                    .checked_add(sym.size)
                    .is_some_and(|end| end <= s.size)
        }
        Definition::Common { .. } => true,
        _ => false,
    }
}

impl Linker {
    /// The pieces the new version uses: its own, and the old version's data
    /// pieces that still hold inherited variables. The old version's other pieces
    /// (its code among them) are retired: another thread may still be running it.
    pub(crate) fn keep_data(&mut self, layout: &Layout, old: Option<&Loaded>) -> Vec<Piece> {
        let mut pieces = layout.pieces.clone();
        let Some(old) = old else { return pieces };
        let target = self.space.as_ref().map_or(0, |s| s.region.target_base());
        for piece in &old.pieces {
            let (lo, hi) = (target + piece.offset, target + piece.offset + piece.len);
            let data = matches!(piece.class, Class::Data | Class::Zero);
            if data
                && layout
                    .redirects
                    .iter()
                    .any(|(_, _, to)| *to >= lo && *to < hi)
            {
                pieces.push(*piece);
            } else {
                self.retired.push(*piece);
            }
        }
        pieces
    }
}
