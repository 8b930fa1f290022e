//! Prepare: what linking works out from an object alone — its facts (compact
//! layout, TLS cell bound, what placing its commons, `atexit` thunk and
//! veneers needs, the relocations placement looks at, unwind sections whose
//! instructions relocation leaves well formed, whether anything of it is
//! thread-local) and its named code — done
//! once, before the object is linked: on a batch's reading thread
//! (`batch::read_and_parse`), so the linking thread finds them ready.

use crate::input::{Binding, Definition, Facts, Object, Role, SectionId, Symbol, SymbolKind};
use crate::runtime::unwind;
use crate::symbols::dictionary::{self, Dictionary};

/// Works out everything [`facts`] and `Object::named_code` give, if not yet
/// done: on a batch's reading thread, and with the check of the object's unwind
/// instructions ([`Facts::unwind_checked`]), which spares the linking thread
/// that walk.
pub(crate) fn prepare(object: &Object) {
    object.named_code();
    object.facts.get_or_init(|| work_out_facts(object, true));
}

/// What the object's relocations say: worked out once. If [`prepare`] did not
/// run first (an object loaded or replaced alone), worked out here, on the
/// linking thread, without the unwind check: validating the relocated
/// section walks the instructions then (`unwind::validate`), and checking them
/// beforehand as well had made a replace of a one-function object 2% more
/// instructions.
pub(crate) fn facts<'o>(object: &'o Object) -> &'o Facts {
    object.facts.get_or_init(|| work_out_facts(object, false))
}

/// `unwind`: whether to check the unwind sections' instructions
/// ([`Facts::unwind_checked`]; empty if not).
fn work_out_facts(object: &Object, unwind: bool) -> Facts {
    // One pass over the symbols: the global names' hashes, and what passes
    // over them on the linking thread looked for.
    let count = object.symbols.len();
    let (mut name_hashes, mut named) = (Vec::with_capacity(count), Vec::with_capacity(count));
    let (mut tls_symbols, mut global_ifuncs, mut statics) = (false, false, Vec::new());
    let (mut commons, mut calls_atexit, mut uses_dso_handle) = (Vec::new(), false, false);
    for (i, s) in object.symbols.iter().enumerate() {
        let named_here = named_global(s);
        let hash = match named_here {
            true => crate::input::name_hash(s.name),
            false => 0,
        };
        name_hashes.push(hash);
        if named_here {
            named.push(hash);
        }
        tls_symbols |= s.kind == SymbolKind::Tls;
        global_ifuncs |= s.kind == SymbolKind::Ifunc && super::is_global(s.binding);
        if super::replace::is_static(object, s) {
            statics.push(i as u32);
        }
        if matches!(s.definition, Definition::Common { .. }) {
            commons.push(i as u32);
        }
        calls_atexit |= s.name == "atexit" && !s.is_defined() && super::is_global(s.binding);
        uses_dso_handle |= s.name == "__dso_handle" && !s.is_defined();
    }
    // Distinct hashes mean distinct names; a collision only costs the general path.
    named.sort_unstable();
    let distinct_names = named.windows(2).all(|w| w[0] != w[1]);
    Facts {
        compact: super::needs_compact_layout(object),
        tls_cells: super::tls::cell_count(object),
        commons,
        calls_atexit,
        uses_dso_handle,
        branch_targets: match object.arch.veneer_size() {
            0 => 0,
            _ => super::layout::count_branches(object),
        },
        narrow: super::placement::narrow(object),
        unwind_checked: (0..object.sections.len())
            .filter(|_| unwind)
            .map(|i| SectionId(i as u32))
            .filter(|&i| object.section(i).role == Role::EhFrame)
            .filter(|&i| unwind::instructions_hold(object, i))
            .collect(),
        name_hashes,
        distinct_names,
        tls_symbols,
        no_tls: !tls_symbols && object.sections.iter().all(|s| s.role != Role::Tls),
        global_ifuncs,
        statics,
        referenced: {
            let mut used = vec![false; object.symbols.len()];
            for r in object.sections.iter().flat_map(|s| &s.relocs) {
                if let Some(u) = used.get_mut(r.symbol.0 as usize) {
                    *u = true;
                }
            }
            used
        },
    }
}

/// Numbers the object's global names in a batch's `dictionary`
/// (`symbols::dictionary`): on the reading thread, so that the linking thread
/// finds each name's id by its number. Needs [`facts`] (the names' hashes).
pub(crate) fn number_names(object: &Object, dictionary: &std::sync::Mutex<Dictionary>) {
    let hashes = &facts(object).name_hashes;
    let named: Vec<(&str, u64)> = (object.symbols.iter().zip(hashes))
        .filter(|(s, _)| named_global(s))
        .map(|(s, &h)| (s.name, h))
        .collect();
    let mut numbered = Vec::with_capacity(named.len());
    {
        let mut dictionary = dictionary.lock().unwrap_or_else(|p| p.into_inner());
        dictionary.number_all(&named, &mut numbered);
    }
    let mut numbered = numbered.into_iter();
    let numbers = (object.symbols.iter())
        .map(|s| match named_global(s) {
            true => numbered.next().unwrap_or(dictionary::NONE),
            false => dictionary::NONE,
        })
        .collect();
    _ = object.name_numbers.set(numbers);
}

/// Whether a symbol's name goes into the symbol table (is hashed, numbered,
/// looked up): it is global (or weak) and has a name.
pub(crate) fn named_global(s: &Symbol) -> bool {
    s.binding != Binding::Local && !s.name.is_empty()
}
