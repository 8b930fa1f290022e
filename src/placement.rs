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
use crate::symbols::SymbolTable;

/// Why objects need a particular placement (a message naming the first place).
#[derive(Debug, Default)]
pub(crate) struct Needs {
    pub low: Option<String>,
    pub near: Option<(String, u64)>,
}

pub(crate) fn needs(objects: &[Object], symbols: &SymbolTable) -> Needs {
    let mut needs = Needs::default();
    for object in objects {
        for section in &object.sections {
            for r in &section.relocs {
                let info = r.kind.info();
                let sym = object.symbol(r.symbol);
                let at = || {
                    format!(
                        "{}: {}+{:#x} ({} to `{}`)",
                        object.name, section.name, r.offset, r.kind, sym.name
                    )
                };
                if info.absolute_narrow && needs.low.is_none() && !is_absolute(objects, sym) {
                    needs.low = Some(at());
                }
                if info.pc_relative_narrow
                    && needs.near.is_none()
                    && !sym.is_defined()
                    && sym.binding != Binding::Local
                    && global_def(objects, sym.name).is_none()
                {
                    // Looked up without touching the table: placement runs before
                    // the load's transaction.
                    let entry = symbols.entries.get(sym.name);
                    if entry.is_none_or(|e| e.defs.is_empty() && e.host.is_none()) {
                        let cached = entry.and_then(|e| e.process);
                        if let Some(p) = cached.unwrap_or_else(|| crate::symbols::dlsym(sym.name)) {
                            if !p.function {
                                needs.near = Some((at(), p.address));
                            }
                        }
                    }
                }
            }
        }
    }
    needs
}

/// The definition of a global `name` by some object of the batch.
fn global_def<'a>(objects: &'a [Object], name: &str) -> Option<&'a Definition> {
    objects.iter().find_map(|o| {
        o.symbols
            .iter()
            .find(|s| s.name == name && s.binding != Binding::Local && s.is_defined())
            .map(|s| &s.definition)
    })
}

/// An absolute symbol (`SHN_ABS`), here or defined by another object of the batch:
/// it does not move with the region, so narrow references to it need no placement.
fn is_absolute(objects: &[Object], sym: &Symbol) -> bool {
    let def = if sym.is_defined() || sym.binding == Binding::Local {
        Some(&sym.definition)
    } else {
        global_def(objects, sym.name)
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
