//! Choosing where the region goes, from what the objects' relocations need.
//!
//! - A narrow absolute relocation (`R_X86_64_32/32S`, AArch64 `ABS32`, checked
//!   `MOVW_UABS_G0/G1`) needs its target in the low 2 GiB: the region goes low.
//! - A narrow PC-relative relocation to data the process defines (gcc's PIE code
//!   reads `stderr` with `R_X86_64_PC32`) needs the region within ±2 GiB of it.
//! - Both at once: the region goes low, and the process's variable gets a copy
//!   in the low 2 GiB that becomes the variable (`memory::copies`), as a static
//!   linker's copy relocation does. So does process data that a narrow absolute
//!   field names (`mov $stdout, %edi`, `&std::cout`), and process data a
//!   PC-relative field cannot reach from a region placed before.

use crate::error::{Error, Result};
use crate::input::{Binding, Definition, Object, Symbol};
use crate::memory::{self, Placement, LOW_LIMIT, NEAR};

use crate::symbols::{Map, ProcessSymbol, SymbolTable};

/// Why objects need a particular placement (a message naming the first place).
#[derive(Debug, Default)]
pub(crate) struct Needs {
    pub low: Option<String>,
    pub near: Option<(String, u64)>,
    /// Every process variable a narrow field refers to, once per name.
    pub process_data: Vec<NarrowData>,
}

/// A process variable that a narrow field refers to.
#[derive(Debug)]
pub(crate) struct NarrowData {
    pub name: String,
    pub symbol: ProcessSymbol,
    /// The first place, for messages.
    pub at: String,
    /// Through an absolute field (else a PC-relative one).
    pub absolute: bool,
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
    let mut seen: Map<(&str, bool), ()> = Map::default();
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
            let from_process = !sym.is_defined()
                && sym.binding != Binding::Local
                && !seen.contains_key(&(sym.name, info.absolute_narrow))
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
                    .unwrap_or_else(|| symbols.process_lookup(sym.name))
            });
            // Address 0: a thread-local of the process no thread touched yet (a
            // plain reference to it is refused when it is bound).
            let Some(p) = found.filter(|p| !p.function && p.address != 0) else {
                continue;
            };
            seen.insert((sym.name, info.absolute_narrow), ());
            if info.pc_relative_narrow && needs.near.is_none() {
                needs.near = Some((at(), p.address));
            }
            needs.process_data.push(NarrowData {
                name: sym.name.to_string(),
                symbol: p,
                at: at(),
                absolute: info.absolute_narrow,
            });
        }
    }
    needs
}

/// The process variables that narrow fields of code in `[base, base + size)`
/// cannot reach where they are: they need a copy within reach.
pub(crate) fn out_of_reach(needs: &Needs, base: u64, size: u64) -> Vec<&NarrowData> {
    let mut out: Vec<&NarrowData> = Vec::new();
    for d in &needs.process_data {
        let (lo, hi) = (d.symbol.address, d.symbol.address + d.symbol.size);
        let reached = if d.absolute {
            hi <= memory::copies::COPY_LIMIT
        } else {
            memory::within(base, base + size, lo, NEAR)
                && memory::within(base, base + size, hi, NEAR)
        };
        if !reached && !out.iter().any(|o| o.name == d.name) {
            out.push(d);
        }
    }
    out
}

/// Copies the process variables in `list` into reach (see `memory::copies`):
/// the copies, by name, or an error naming the first that cannot be made one.
///
/// Copies live in the low 2 GiB: a PC-relative field reaches them only from a
/// low region (`base + size` at most `LOW_LIMIT`).
pub(crate) fn make_copies(
    remote: Option<&crate::memory::remote::Remote>,
    list: &[&NarrowData],
    base: u64,
    size: u64,
) -> Result<Vec<(String, ProcessSymbol)>> {
    if let Some(d) = list.iter().find(|d| !d.absolute && base + size > LOW_LIMIT) {
        return Err(Error::Placement(format!(
            "{} needs the region within ±2 GiB of {:#x}, but it was placed at {base:#x} \
             for the objects loaded before",
            d.at, d.symbol.address
        )));
    }
    let wanted: Vec<(&str, ProcessSymbol)> = list.iter().map(|d| (&*d.name, d.symbol)).collect();
    let made = match remote {
        Some(remote) => remote.make_copies(&wanted),
        None => memory::copies::make(&wanted),
    };
    match made {
        Ok(copies) => Ok(list.iter().map(|d| d.name.clone()).zip(copies).collect()),
        Err((i, why)) => {
            let d = list[i];
            Err(Error::Placement(format!(
                "{} reads process variable `{}` at {:#x} with a 32-bit field, out of reach \
                 of the loaded code; it cannot be copied within reach: {why} (rebuild the \
                 object with -fPIC, or the library without -Bsymbolic)",
                d.at, d.name, d.symbol.address
            )))
        }
    }
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
    // Both low and near: low, and the variables read nearby get copies there.
    match (&needs.low, &needs.near) {
        (Some(_), _) => Ok(Placement::Low),
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
    Ok(())
}
