//! Layout: where an object's sections, commons, TLS image, cells, veneers and
//! `atexit` thunk go in the region, before anything is written; and copying the
//! sections there.

use super::tls;
use crate::arch::{Arch, Reach, RelocKind};
use crate::error::{Error, Result};
use crate::input::{Class, Definition, Object, Role, SymbolId};
use crate::link::is_global;
use crate::linker::Linker;
use crate::memory::pack::Piece;
use crate::runtime;
use crate::symbols::{Map, NameId};

/// Where an object's pieces go, before anything is written.
pub(crate) struct Layout {
    /// One piece per non-empty class. On replace, the old version's code and
    /// read-only pieces are retired; its data pieces live on while inherited.
    pub(crate) pieces: Vec<Piece>,
    /// Per section: offset in the region, or `None` if not loaded (COMDAT loser).
    pub(crate) sections: Vec<Option<u64>>,
    /// Per symbol: its target address, if this object defines it.
    pub(crate) addresses: Vec<Option<u64>>,
    pub(crate) dso_handle: u64,
    /// Target address of the object's `atexit` thunk, if it calls `atexit`
    /// (`Arch::write_atexit`).
    pub(crate) atexit: Option<u64>,
    /// Offset and capacity (in veneers) of the veneer area.
    pub(crate) veneers: (u64, u64),
    /// Replace: target ranges `[lo, hi)` of this version's global data that live on
    /// at an older version's address (`to`), which every reference uses instead.
    pub(crate) redirects: Vec<(u64, u64, u64)>,
    /// The TLS image (region offsets), if the object has thread-local sections,
    /// and its module once registered (`tls.rs`).
    pub(crate) tls_plan: Option<tls::ImagePlan>,
    pub(crate) tls_image: Option<tls::Image>,
    /// Region offset and capacity of the thread-local cells.
    pub(crate) tls_cells: (u64, u64),
    /// Global writable variables: (name, live address, size), sorted by name.
    pub(crate) data: Vec<(NameId, u64, u64)>,
}

impl Layout {
    /// The live address of `addr`: an inherited address if it falls in a redirect.
    pub(crate) fn translate(&self, addr: u64) -> u64 {
        self.redirects
            .iter()
            .find(|(lo, hi, _)| addr >= *lo && addr < *hi)
            .map_or(addr, |(lo, _, to)| to + (addr - lo))
    }
}

/// Distinct branch targets that might need veneers.
pub(crate) fn count_branches(object: &Object) -> u64 {
    let mut targets: Vec<(SymbolId, i64)> = object
        .sections
        .iter()
        .flat_map(|s| s.relocs.iter())
        .filter(|r| r.kind.info().reach == Reach::Veneer)
        .map(|r| (r.symbol, r.addend))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    targets.len() as u64
}

/// Whether the object's code reaches one of its own sections of another class
/// through a narrow PC-relative form (AArch64 `ADR`, `LDR` literal, `MOVW_PREL`,
/// x86-64 `PC8/16`): then its classes must be laid out close together.
pub(crate) fn needs_compact_layout(object: &Object) -> bool {
    object.sections.iter().any(|s| {
        s.relocs.iter().any(|r| {
            if !r.kind.info().pc_relative_narrow || is_wide(r.kind) {
                return false;
            }
            let target = match object.symbol(r.symbol).definition {
                Definition::Section { section, .. } => Some(object.section(section).class),
                Definition::Common { .. } => Some(Class::Zero),
                _ => None,
            };
            target.is_some_and(|c| c != s.class)
        })
    })
}

/// PC-relative kinds marked narrow that still reach ±2 GiB or more (x86-64
/// `PC32`, AArch64 `ADRP`/`PREL32`): the region keeps them in reach anyway.
pub(crate) fn is_wide(kind: RelocKind) -> bool {
    use crate::arch::{aarch64::Kind as A, x86_64::Kind as X};
    matches!(
        kind,
        RelocKind::X86_64(X::Delta32)
            | RelocKind::Aarch64(A::Delta32 | A::Page21 { .. })
            | RelocKind::Aarch64(A::MoveWide16 { group: 1.., .. })
    )
}

impl Linker {
    pub(crate) fn layout(&mut self, object: &Object, excluded: &[bool]) -> Result<Layout> {
        let arch = self.arch;
        let mut sizes = [0u64; 4];
        let mut aligns = [1u64; 4];
        let mut section_at = vec![None; object.sections.len()];
        let mut put = |class: Class, size: u64, align: u64| -> u64 {
            let c = class as usize;
            aligns[c] = aligns[c].max(align);
            let at = sizes[c].next_multiple_of(align);
            sizes[c] = at + size;
            at
        };
        for (i, s) in object.sections.iter().enumerate() {
            if !excluded[i] && s.role != Role::Tls {
                // Unwind sections get a zero terminator (runtime/unwind.rs).
                let extra = if s.role == Role::EhFrame {
                    runtime::unwind::TERMINATOR
                } else {
                    0
                };
                section_at[i] = Some((s.class, put(s.class, s.size + extra, s.align)));
            }
        }
        let mut commons = Map::default();
        for (i, sym) in object.symbols.iter().enumerate() {
            if let Definition::Common { size, align } = sym.definition {
                commons.insert(i, put(Class::Zero, size, align));
            }
        }
        let tls_plan = tls::plan_image(
            object,
            excluded,
            |size, align| put(Class::ReadOnly, size, align),
            |i, at| section_at[i] = Some((Class::ReadOnly, at)),
        );
        let cell_count = super::prepare::facts(object).tls_cells;
        let cells = put(Class::ReadOnly, cell_count * tls::CELL_SIZE, 16);
        let dso = put(Class::ReadOnly, 8, 8);
        let veneer_count = if arch.veneer_size() > 0 {
            count_branches(object)
        } else {
            0
        };
        let veneers = put(Class::Code, veneer_count * arch.veneer_size() as u64, 16);
        let atexit = object
            .symbols
            .iter()
            .any(|s| s.name == "atexit" && !s.is_defined() && is_global(s.binding))
            .then(|| put(Class::Code, Arch::ATEXIT_SIZE as u64, 16));
        // One piece per non-empty class, packed into pages shared with other
        // objects of the same class (memory/pack.rs).
        let together = super::prepare::facts(object).compact;
        let space = self.space()?;
        let mut class_start = [0u64; 4];
        let requests: Vec<(Class, u64, u64)> = Class::ALL
            .iter()
            .filter(|c| sizes[**c as usize] > 0)
            .map(|c| (*c, sizes[*c as usize], aligns[*c as usize]))
            .collect();
        let pieces = if together {
            space.pools.alloc_together(&mut space.region, &requests)?
        } else {
            let mut pieces = Vec::new();
            for &(c, size, align) in &requests {
                match space.pools.alloc(&mut space.region, c, size, align) {
                    Ok(piece) => pieces.push(piece),
                    Err(e) => {
                        for p in pieces {
                            space.pools.free(&mut space.region, p);
                        }
                        return Err(e);
                    }
                }
            }
            pieces
        };
        for piece in &pieces {
            class_start[piece.class as usize] = piece.offset;
        }
        let target = space.region.target_base();
        let abs = |class: Class, at: u64| class_start[class as usize] + at;
        let sections: Vec<Option<u64>> = section_at
            .iter()
            .map(|s| s.map(|(c, at)| abs(c, at)))
            .collect();
        let addresses = object
            .symbols
            .iter()
            .enumerate()
            .map(|(i, sym)| match sym.definition {
                Definition::Section { section, offset } => {
                    sections[section.0 as usize].map(|o| target + o + offset)
                }
                Definition::Absolute(v) => Some(v),
                Definition::Common { .. } => {
                    commons.get(&i).map(|at| target + abs(Class::Zero, *at))
                }
                Definition::Undefined => None,
            })
            .collect();
        Ok(Layout {
            pieces,
            sections,
            addresses,
            dso_handle: target + abs(Class::ReadOnly, dso),
            atexit: atexit.map(|at| target + abs(Class::Code, at)),
            veneers: (abs(Class::Code, veneers), veneer_count),
            redirects: Vec::new(),
            tls_plan: tls_plan.map(|p| tls::ImagePlan {
                start: abs(Class::ReadOnly, p.start),
                init_end: abs(Class::ReadOnly, p.init_end),
                end: abs(Class::ReadOnly, p.end),
                align: p.align,
            }),
            tls_image: None,
            tls_cells: (abs(Class::ReadOnly, cells), cell_count),
            data: Vec::new(),
        })
    }

    pub(crate) fn copy_sections(&mut self, object: &Object, layout: &Layout) {
        let Some(space) = self.space.as_mut() else {
            return;
        };
        for (s, at) in object.sections.iter().zip(&layout.sections) {
            if let (Some(at), false) = (at, s.data.is_empty()) {
                space
                    .region
                    .bytes_mut(*at, s.data.len() as u64)
                    .copy_from_slice(s.data);
            }
            if let (Some(at), Role::EhFrame) = (at, s.role) {
                let end = at + s.data.len() as u64;
                space
                    .region
                    .bytes_mut(end, runtime::unwind::TERMINATOR)
                    .fill(0);
            }
        }
    }

    /// Writes the object's `atexit` thunk at target address `at`.
    pub(crate) fn write_atexit(&mut self, object: &Object, at: u64, dso_handle: u64) -> Result<()> {
        let cxa_atexit =
            crate::symbols::dlsym("__cxa_atexit").ok_or_else(|| Error::Unsupported {
                at: crate::error::Location::object(&object.name),
                what: "`atexit`: the process has no `__cxa_atexit`".into(),
            })?;
        let arch = self.arch;
        let region = &mut self.space()?.region;
        let offset = at - region.target_base();
        let out = region.bytes_mut(offset, Arch::ATEXIT_SIZE as u64);
        arch.write_atexit(out, dso_handle, cxa_atexit.address);
        Ok(())
    }
}
