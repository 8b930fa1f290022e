//! Replace: what a replaced object's data becomes — inherited variables keep the
//! old version's storage, the rest is retired.

use super::*;
use crate::error::Error;
use crate::input;
use crate::input::Binding as Bind;
use crate::input::{Class, Definition, Object};
use crate::link::{is_global, Loaded};
use crate::linker::Linker;

use crate::memory::pack::Piece;
use crate::symbols::ObjectId;
use crate::symbols::{NameId, SymbolTable};

/// What replacing an object keeps from the version before.
pub(crate) struct Replacing {
    pub id: ObjectId,
    pub keep_state: bool,
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
                self.retired.pieces.push(*piece);
            }
        }
        pieces
    }
}

impl Linker {
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

impl Linker {
    /// Links `bytes` as the new version of `id` and switches to it; see
    /// [`Linker::replace_with`].
    pub(crate) fn replace_object(
        &mut self,
        id: ObjectId,
        bytes: &[u8],
        options: ReplaceOptions,
    ) -> Result<()> {
        let (name, data) = match self.objects.get(&id) {
            Some(o) => (o.name.clone(), o.data_symbols.clone()),
            None => return Err(Error::UnknownObject(id.0)),
        };
        let start = Instant::now();
        let copy = input::Aligned::if_needed(bytes);
        let object = input::parse(&name, copy.as_ref().map_or(bytes, input::Aligned::as_slice))?;
        self.stats.parse += start.elapsed();
        self.ensure_space(std::slice::from_ref(&object))?;
        self.check_dropped_data(id, &object)?;
        let replacing = crate::link::Replacing {
            id,
            keep_state: options.keep_state,
            data,
        };
        // Groups other objects use that the new version drops stay alive.
        let sigs = self.groups_to_keep(id, Some(&object));
        let keeper = self.hand_to_keeper(id, &sigs);
        let old = match self.link_as(&object, id, Some(&replacing)) {
            Ok(old) => old,
            Err(e) => {
                if let Some(k) = keeper {
                    self.move_groups(&sigs, k, id);
                }
                return Err(e);
            }
        };
        self.run_pending_resolvers()?;
        if let (false, false, Some(space)) =
            (options.keep_state, self.options.link_only, &self.space)
        {
            if let Some(old) = &old {
                super::finalize::run_destructors_of(space, &[old]);
            }
            super::finalize::run_constructors(space, &self.objects, &[id]);
        }
        let Some(mut old) = old else { return Ok(()) };
        if let Some(k) = keeper {
            self.retired.pieces.retain(|p| !old.pieces.contains(p));
            self.kept.insert(k, old);
            self.release_unused_keepers();
            return Ok(());
        }
        self.release_unused_keepers();
        let registers_exit_handlers = |o: &Loaded| {
            o.refers
                .iter()
                .any(|n| matches!(self.symbols.name(*n), "__cxa_atexit" | "atexit"))
                || !o.older.is_empty()
        };
        if options.keep_state && !self.options.link_only && registers_exit_handlers(&old) {
            // Its exit handlers (C++ static destructors of the kept state) still
            // point into its code: keep that code, and run them at unload.
            let pinned: Vec<Piece> = old
                .pieces
                .iter()
                .filter(|p| self.retired.pieces.contains(p))
                .copied()
                .collect();
            self.retired.pieces.retain(|p| !pinned.contains(p));
            old.pieces = pinned;
            old.debug = None;
            let older = std::mem::take(&mut old.older);
            if let Some(new) = self.objects.get_mut(&id) {
                new.older = older;
                new.older.push(old);
            }
        } else {
            // Its code is retired, not freed (commit retired its pieces already):
            // it stays unwindable until reclaimed.
            old.pieces.clear();
            self.retired.retire(old);
        }
        Ok(())
    }
}

/// How [`Linker::replace_with`] treats the old version's state:
/// `ReplaceOptions::new().keep_state(true)`.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct ReplaceOptions {
    pub(crate) keep_state: bool,
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
}
