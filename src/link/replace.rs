//! Replace: what a replaced object's data becomes — inherited variables keep the
//! old version's storage, the rest is retired.

use super::Layout;
use crate::error::{Result, Unresolved};
use crate::input::Binding as Bind;
use crate::input::{Class, Definition, Object};
use crate::link::Linked;
use crate::link::Names;
use crate::link::{is_global, Loaded};
use crate::symbols::Binding;

use crate::memory::pack::Piece;
use crate::symbols::ObjectId;
use crate::symbols::{NameId, SymbolTable};

/// What replacing an object keeps from the version before.
pub(crate) struct Replacing {
    pub id: ObjectId,
    pub keep_state: bool,
    pub allow_undefined: bool,
    /// The old version's global writable data: (name, address, size), sorted.
    pub data: Vec<(NameId, u64, u64)>,
}

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

impl Linked {
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
                self.retired.pieces.push(*piece);
            }
        }
        pieces
    }
}

impl Linked {
    /// Refuses a new version that drops a variable other objects still use.
    pub(crate) fn check_dropped_data(&self, id: ObjectId, object: &Object) -> Result<()> {
        let kept = |name: &str| {
            object
                .symbols
                .iter()
                .any(|s| s.name == name && s.binding != Bind::Local && s.is_defined())
        };
        // Variables of COMDAT groups kept alive for their users do not count.
        let groups = self.group_names(&self.groups_to_keep(id, Some(object)));
        crate::link::unload::check(self, id, |name| {
            !kept(name) && !groups.iter().any(|g| g == name)
        })
    }
}

/// How [`Linker::replace_with`](crate::Linker::replace_with) treats the old version's state:
/// `ReplaceOptions::new().keep_state(true)`.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct ReplaceOptions {
    pub(crate) keep_state: bool,
    pub(crate) allow_undefined: bool,
}

impl ReplaceOptions {
    /// Re-initialise inherited variables; run destructors and constructors.
    pub fn new() -> ReplaceOptions {
        ReplaceOptions::default()
    }

    /// Keep the current contents of inherited global variables (live coding)
    /// instead of re-initialising them; constructors and destructors do not run.
    pub fn keep_state(mut self, keep: bool) -> ReplaceOptions {
        self.keep_state = keep;
        self
    }

    /// Let through a new version that leaves names undefined (its own references,
    /// or names the old version defined that others use): calls to them trap
    /// with the name, as after an unload. By default such a replace is refused
    /// and nothing changes.
    pub fn allow_undefined(mut self, allow: bool) -> ReplaceOptions {
        self.allow_undefined = allow;
        self
    }
}

impl Linked {
    /// Names a new version of `id` would leave undefined, with who needs them:
    /// its own strong references nothing would define, and names the old
    /// version defined that the new one does not while other objects refer to
    /// them strongly. The process is asked about both first.
    pub(crate) fn left_undefined(
        &mut self,
        id: ObjectId,
        object: &str,
        names: &Names,
    ) -> Vec<Unresolved> {
        let mut out = Vec::new();
        let old: Vec<NameId> = (self.objects.get(&id)).map_or(Vec::new(), |o| o.defines.clone());
        for &name in &old {
            if names.defs.get(name).is_none() {
                self.symbols.entry_with_process(name);
            }
        }
        for &(name, weak) in &names.refs {
            let e = self.symbols.entry(name);
            if !weak
                && matches!(
                    e.binding_with(Some(id), names.defs.get(name)),
                    Binding::Unresolved { .. }
                )
            {
                out.push(Unresolved {
                    symbol: self.symbols.name(name).to_string(),
                    needed_by: vec![object.to_string()],
                });
            }
        }
        for name in old {
            let e = self.symbols.entry(name);
            if names.defs.get(name).is_some()
                || !matches!(e.binding_with(Some(id), None), Binding::Unresolved { .. })
            {
                continue;
            }
            let mut users: Vec<String> = (e.refs.iter())
                .filter(|&&(o, weak)| o != id && !weak)
                .map(|(o, _)| self.object_name(*o))
                .collect();
            users.sort();
            users.dedup();
            if !users.is_empty() {
                out.push(Unresolved {
                    symbol: self.symbols.name(name).to_string(),
                    needed_by: users,
                });
            }
        }
        out.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        out
    }
}
