//! Layout: where an object's sections, commons, TLS image, cells, veneers and
//! `atexit` thunk go in the region, before anything is written; and copying the
//! sections there.

use super::tls;
use crate::arch::{Arch, Reach};
use crate::error::{Error, Result};
use crate::input::{Class, Definition, Object, Reloc, Role, Section, Symbol, SymbolId, SymbolKind};
use crate::link::Space;
use crate::memory::pack::Piece;
use crate::memory::Region;
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
    /// Replace: sections reached through an anchor (AArch64 `.LANCHOR0`) and how
    /// far their anchored variables moved (0: they start afresh).
    pub(crate) anchors: Vec<(crate::input::SectionId, u64)>,
    /// Statics (name, address as placed, size), for a later replace to match.
    pub(crate) statics: Vec<(String, u64, u64)>,
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
        addr.wrapping_add(self.shift(addr))
    }

    /// How far the variable holding `named` moved: 0 if it is not inherited.
    pub(crate) fn shift(&self, named: u64) -> u64 {
        (self.redirects.iter())
            .find(|(lo, hi, _)| named >= *lo && named < *hi)
            .map_or(0, |(lo, _, to)| to.wrapping_sub(*lo))
    }

    /// How far what relocation `r` (in section `from`, against the object's own
    /// `sym` at `addr`) names moved: 0 unless it lies in inherited data. A sized
    /// symbol is its own variable; a section symbol or a label plus addend names
    /// the one at `S + A`, less what the addend counts of the field itself on
    /// x86-64 (`.bss - 4`: llc pic reaches its own dso_local variables so, gcc
    /// its statics; in data a PC-relative addend is the plain offset). Code
    /// reaching a section through gcc's AArch64 anchors (`.LANCHOR0`) takes the
    /// anchored variables' common distance.
    pub(crate) fn reference_shift(
        &self,
        from: &Section,
        r: &Reloc,
        sym: &Symbol,
        addr: u64,
    ) -> u64 {
        if self.redirects.is_empty() && self.anchors.is_empty() {
            return 0; // not a replace, or nothing inherited
        }
        let by_address = sym.kind == SymbolKind::Section || sym.size == 0;
        if !by_address {
            return self.shift(addr);
        }
        let code = from.class == Class::Code;
        if let Definition::Section { section, .. } = sym.definition {
            if let Some(&(_, shift)) = self.anchors.iter().find(|a| code && a.0 == section) {
                return shift;
            }
        }
        let mut bias = 0;
        if code && r.kind.info().field_bias > 0 {
            bias = r.kind.info().field_bias as u64
                + crate::arch::x86_64::immediate_after(&from.data, r.offset as usize);
        }
        self.shift(addr.wrapping_add(r.addend as u64).wrapping_add(bias))
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
            if !r.kind.info().pc_relative_short {
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

/// Offsets of everything an object places, per permission class, before the
/// classes' pieces are allocated.
struct Plan {
    sizes: [u64; 4],
    aligns: [u64; 4],
    /// Per section: its class and offset in the class's piece.
    sections: Vec<Option<(Class, u64)>>,
    /// Per common symbol index: its offset in the zero-fill piece.
    commons: Map<usize, u64>,
    tls: Option<tls::ImagePlan>,
    cells: u64,
    cell_count: u64,
    dso: u64,
    veneers: u64,
    veneer_count: u64,
    atexit: Option<u64>,
}

impl Plan {
    /// Room for `size` bytes aligned to `align` in `class`; the offset.
    fn put(&mut self, class: Class, size: u64, align: u64) -> u64 {
        let c = class as usize;
        self.aligns[c] = self.aligns[c].max(align);
        let at = self.sizes[c].next_multiple_of(align);
        self.sizes[c] = at + size;
        at
    }

    fn of(arch: Arch, object: &Object, excluded: &[bool]) -> Plan {
        // What needs a pass over all its symbols or relocations was worked
        // out where the object was read.
        let facts = super::prepare::facts(object);
        let mut plan = Plan {
            sizes: [0; 4],
            aligns: [1; 4],
            sections: vec![None; object.sections.len()],
            commons: Map::default(),
            tls: None,
            cells: 0,
            cell_count: facts.tls_cells,
            dso: 0,
            veneers: 0,
            veneer_count: 0,
            atexit: None,
        };
        for (i, s) in object.sections.iter().enumerate() {
            if !super::comdat::excluded(excluded, i) && s.role != Role::Tls {
                // Unwind sections get a zero terminator (runtime/unwind.rs).
                let extra = if s.role == Role::EhFrame {
                    runtime::unwind::TERMINATOR
                } else {
                    0
                };
                plan.sections[i] = Some((s.class, plan.put(s.class, s.size + extra, s.align)));
            }
        }
        for &i in &facts.commons {
            if let Definition::Common { size, align } = object.symbol(SymbolId(i)).definition {
                let at = plan.put(Class::Zero, size, align);
                plan.commons.insert(i as usize, at);
            }
        }
        let mut tls_sections = Vec::new();
        plan.tls = tls::plan_image(
            object,
            excluded,
            |size, align| plan.put(Class::ReadOnly, size, align),
            |i, at| tls_sections.push((i, at)),
        );
        for (i, at) in tls_sections {
            plan.sections[i] = Some((Class::ReadOnly, at));
        }
        plan.cells = plan.put(Class::ReadOnly, plan.cell_count * tls::CELL_SIZE, 16);
        plan.dso = plan.put(Class::ReadOnly, 8, 8);
        if arch.veneer_size() > 0 {
            plan.veneer_count = match arch == object.arch {
                true => facts.branch_targets,
                false => count_branches(object),
            };
        }
        let veneer_bytes = plan.veneer_count * arch.veneer_size() as u64;
        plan.veneers = plan.put(Class::Code, veneer_bytes, 16);
        plan.atexit =
            (facts.calls_atexit).then(|| plan.put(Class::Code, Arch::ATEXIT_SIZE as u64, 16));
        plan
    }
}

/// Places an object: one piece per non-empty permission class, packed into
/// pages shared with other objects of the same class (`memory/pack.rs`), or
/// allocated together when its code reaches its own data narrowly.
pub(crate) fn place(
    space: &mut Space,
    arch: Arch,
    object: &Object,
    excluded: &[bool],
) -> Result<Layout> {
    let plan = Plan::of(arch, object, excluded);
    let pieces = allocate(space, &plan, super::prepare::facts(object).compact)?;
    let mut class_start = [0u64; 4];
    for piece in &pieces {
        class_start[piece.class as usize] = piece.offset;
    }
    let target = space.region.target_base();
    let abs = |class: Class, at: u64| class_start[class as usize] + at;
    let sections: Vec<Option<u64>> = (plan.sections.iter())
        .map(|s| s.map(|(c, at)| abs(c, at)))
        .collect();
    let addresses = (object.symbols.iter().enumerate())
        .map(|(i, sym)| match sym.definition {
            Definition::Section { section, offset } => {
                sections[section.0 as usize].map(|o| target + o + offset)
            }
            Definition::Absolute(v) => Some(v),
            Definition::Common { .. } => {
                (plan.commons.get(&i)).map(|at| target + abs(Class::Zero, *at))
            }
            Definition::Undefined => None,
        })
        .collect();
    Ok(Layout {
        pieces,
        sections,
        addresses,
        dso_handle: target + abs(Class::ReadOnly, plan.dso),
        atexit: plan.atexit.map(|at| target + abs(Class::Code, at)),
        veneers: (abs(Class::Code, plan.veneers), plan.veneer_count),
        redirects: Vec::new(),
        statics: Vec::new(),
        anchors: Vec::new(),
        tls_plan: plan.tls.map(|p| tls::ImagePlan {
            start: abs(Class::ReadOnly, p.start),
            init_end: abs(Class::ReadOnly, p.init_end),
            end: abs(Class::ReadOnly, p.end),
            align: p.align,
        }),
        tls_image: None,
        tls_cells: (abs(Class::ReadOnly, plan.cells), plan.cell_count),
        data: Vec::new(),
    })
}

/// The pieces a plan asks for; none is left allocated if one fails.
fn allocate(space: &mut Space, plan: &Plan, together: bool) -> Result<Vec<Piece>> {
    let requests: Vec<(Class, u64, u64)> = (Class::ALL.iter())
        .filter(|c| plan.sizes[**c as usize] > 0)
        .map(|c| (*c, plan.sizes[*c as usize], plan.aligns[*c as usize]))
        .collect();
    if together {
        return space.pools.alloc_together(&mut space.region, &requests);
    }
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
    Ok(pieces)
}

/// Copies the object's sections to where the layout put them (unwind sections
/// with their zero terminator).
pub(crate) fn copy_sections(region: &mut Region, object: &Object, layout: &Layout) {
    for (s, at) in object.sections.iter().zip(&layout.sections) {
        if let (Some(at), false) = (at, s.data.is_empty()) {
            (region.bytes_mut(*at, s.data.len() as u64)).copy_from_slice(&s.data);
        }
        if let (Some(at), Role::EhFrame) = (at, s.role) {
            let end = at + s.data.len() as u64;
            region.bytes_mut(end, runtime::unwind::TERMINATOR).fill(0);
        }
    }
}

/// Writes the object's `atexit` thunk at target address `at`.
pub(crate) fn write_atexit(
    region: &mut Region,
    arch: Arch,
    object: &Object,
    at: u64,
    dso_handle: u64,
) -> Result<()> {
    let cxa_atexit = match region.remote() {
        Some(remote) => remote.lookup("__cxa_atexit"),
        None => crate::symbols::dlsym("__cxa_atexit"),
    };
    let cxa_atexit = cxa_atexit.ok_or_else(|| Error::Unsupported {
        at: crate::error::Location::object(&object.name),
        what: "`atexit`: the process has no `__cxa_atexit`".into(),
    })?;
    let offset = at - region.target_base();
    let out = region.bytes_mut(offset, Arch::ATEXIT_SIZE as u64);
    arch.write_atexit(out, dso_handle, cxa_atexit.address);
    Ok(())
}
