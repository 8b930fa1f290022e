//! Choosing where the region goes, from what the objects' relocations need.
//!
//! - A narrow absolute relocation (`R_X86_64_32/32S`, AArch64 `ABS32`, checked
//!   `MOVW_UABS_G0/G1`) needs its target in the low 2 GiB: the region goes low.
//! - A narrow PC-relative relocation to data the process defines (gcc's PIE code
//!   reads `stderr` with `R_X86_64_PC32`) needs the region within ±2 GiB of it.
//! - Both at once cannot be satisfied: that is an error naming both places.

use crate::error::{Error, Result};
use crate::input::{Binding, Definition, Object, Symbol};
use crate::memory::{self, Placement, LOW_LIMIT, NEAR};

use crate::symbols::{Map, ProcessSymbol, SymbolTable};

/// Why objects need a particular placement (a message naming the first place).
#[derive(Debug, Default)]
pub(crate) struct Needs {
    pub low: Option<String>,
    pub near: Option<(String, u64)>,
}

pub(crate) fn needs(objects: &[Object], symbols: &SymbolTable) -> Needs {
    let mut needs = Needs::default();
    // The batch's global definitions, first one wins: built once, and only if a
    // relocation needs them (position-independent code never does).
    let defined = std::cell::OnceCell::new();
    let defined = || {
        defined.get_or_init(|| {
            let mut defined: Map<&str, &Definition> = Map::default();
            for o in objects {
                for s in o
                    .symbols
                    .iter()
                    .filter(|s| s.binding != Binding::Local && s.is_defined())
                {
                    defined.entry(s.name).or_insert(&s.definition);
                }
            }
            defined
        })
    };
    let mut process: Map<&str, Option<ProcessSymbol>> = Map::default();
    for object in objects {
        for &(si, ri) in &super::prepare::facts(object).narrow {
            let section = &object.sections[si];
            let r = &section.relocs[ri];
            let info = r.kind.info();
            let sym = object.symbol(r.symbol);
            let at = || {
                format!(
                    "{}: {}+{:#x} ({} to `{}`)",
                    object.name, section.name, r.offset, r.kind, sym.name
                )
            };
            if info.absolute_narrow && needs.low.is_none() && !is_absolute(defined(), sym) {
                needs.low = Some(at());
            }
            let from_process = info.pc_relative_narrow
                && needs.near.is_none()
                && !sym.is_defined()
                && sym.binding != Binding::Local
                && !defined().contains_key(sym.name);
            if !from_process {
                continue;
            }
            // Looked up without touching the table: placement runs before the
            // load's transaction.
            let entry = symbols.get(sym.name);
            if entry.is_some_and(|e| !e.defs.is_empty() || e.host().is_some()) {
                continue;
            }
            let found = *process.entry(sym.name).or_insert_with(|| {
                entry
                    .and_then(|e| e.process())
                    .unwrap_or_else(|| crate::symbols::dlsym(sym.name))
            });
            if let Some(p) = found.filter(|p| !p.function) {
                needs.near = Some((at(), p.address));
            }
        }
    }
    needs
}

/// The relocations [`needs`] looks at: `(section, relocation)` indices of those
/// with a narrow absolute or PC-relative field.
pub(crate) fn narrow(object: &Object) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (si, section) in object.sections.iter().enumerate() {
        for (ri, r) in section.relocs.iter().enumerate() {
            let info = r.kind.info();
            if info.absolute_narrow || info.pc_relative_narrow {
                out.push((si, ri));
            }
        }
    }
    out
}

/// An absolute symbol (`SHN_ABS`), here or defined by another object of the batch:
/// it does not move with the region, so narrow references to it need no placement.
fn is_absolute(defined: &Map<&str, &Definition>, sym: &Symbol) -> bool {
    let def = if sym.is_defined() || sym.binding == Binding::Local {
        Some(&sym.definition)
    } else {
        defined.get(sym.name).copied()
    };
    matches!(def, Some(Definition::Absolute(_)))
}

pub(crate) fn choose(needs: &Needs, option: Placement) -> Result<Placement> {
    if option != Placement::Auto {
        return Ok(option);
    }
    match (&needs.low, &needs.near) {
        (Some(low), Some((near, _))) => Err(Error::Placement(format!(
            "no placement satisfies these objects: {low} needs the low 2 GiB, but {near} \
             reads data of the process directly and needs to be within ±2 GiB of it \
             (rebuild one of them: -fPIC, or llc -relocation-model=pic)"
        ))),
        (Some(_), None) => Ok(Placement::Low),
        _ => Ok(Placement::NearProcess),
    }
}

/// Whether a region already placed at `base` serves objects with `needs`.
pub(crate) fn check(needs: &Needs, placement: Placement, base: u64, size: u64) -> Result<()> {
    if let Some(low) = &needs.low {
        if base + size > LOW_LIMIT {
            return Err(Error::Placement(format!(
                "{low} needs the low 2 GiB, but the region was placed at {base:#x} ({placement:?}) \
                 for the objects loaded before; load it first, or use Placement::Low"
            )));
        }
    }
    if let Some((near, anchor)) = &needs.near {
        if !memory::within(base, base + size, *anchor, NEAR) {
            return Err(Error::Placement(format!(
                "{near} needs the region within ±2 GiB of {anchor:#x}, but it was placed at \
                 {base:#x} ({placement:?}) for the objects loaded before"
            )));
        }
    }
    Ok(())
}
