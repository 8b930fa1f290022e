//! Choosing where the region goes, from what the objects' relocations need.
//!
//! - A narrow absolute relocation (`R_X86_64_32/32S`, AArch64 `ABS32`, checked
//!   `MOVW_UABS_G0/G1`) needs its target in the low 2 GiB: the region goes low.
//! - A narrow PC-relative relocation to data the process defines (gcc's PIE code
//!   reads `stderr` with `R_X86_64_PC32`) needs the region within ±2 GiB of it.
//! - Both at once cannot be satisfied: that is an error naming both places.

use crate::error::{Error, Result};
use crate::input::{Binding, Definition, Object};
use crate::memory::{self, Placement, LOW_LIMIT, NEAR};
use crate::symbols::SymbolTable;

/// Why objects need a particular placement (a message naming the first place).
#[derive(Debug, Default)]
pub(crate) struct Needs {
    pub low: Option<String>,
    pub near: Option<(String, u64)>,
}

pub(crate) fn needs(objects: &[Object], symbols: &mut SymbolTable) -> Needs {
    let mut needs = Needs::default();
    let defined_in_batch = |name: &str| {
        objects.iter().any(|o| {
            o.symbols
                .iter()
                .any(|s| s.name == name && s.binding != Binding::Local && s.is_defined())
        })
    };
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
                if info.absolute_narrow
                    && needs.low.is_none()
                    && !matches!(sym.definition, Definition::Absolute(_))
                {
                    needs.low = Some(at());
                }
                if info.pc_relative_narrow
                    && needs.near.is_none()
                    && !sym.is_defined()
                    && sym.binding != Binding::Local
                    && !defined_in_batch(sym.name)
                {
                    let entry = symbols.entry_with_process(sym.name);
                    if entry.defs.is_empty() {
                        if let Some(Some(p)) = entry.process {
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
