//! Fixup: relocations applied to the new object's memory (veneers for branches
//! out of reach), static-TLS fixups once their offsets are known.

use super::object_name;
use super::resolve::{Fix, StaticFix};
use super::Layout;
use super::Objects;
use super::Space;
use crate::arch::Arch;
use crate::arch::{FixupError, FixupValues, Reach, RelocKind};
use crate::error::Location;
use crate::error::{Error, Result};
use crate::input::Class;
use crate::input::{Object, SectionId};
use crate::link::Linked;
use crate::memory::Region;
use crate::memory::Target;
use crate::symbols::Map;
use crate::symbols::Site;
use crate::symbols::{Binding, Entry};
use crate::symbols::{NameId, ObjectId, SymbolTable};

impl Linked {
    /// Finishes and applies the static-TLS fixups (initial and local exec) once
    /// every other fixup is applied, so that the object's own TLS image is final
    /// when the C library copies it into every thread (`runtime/static_tls.rs`).
    /// Returns how many loads were relaxed, and how many branches went through
    /// veneers.
    pub(crate) fn apply_static_tls(
        &mut self,
        arch: Arch,
        object: &Object,
        layout: &Layout,
        statics: Vec<StaticFix>,
    ) -> Result<(usize, usize)> {
        let mut relaxed = 0;
        let mut offsets: Map<u64, i64> = Map::default();
        let mut fixes = Vec::with_capacity(statics.len());
        for (mut fix, u) in statics {
            let tp = match offsets.get(&u.module) {
                Some(tp) => *tp,
                None if u.module == crate::link::tls::PROCESS_MODULE => 0,
                None => {
                    let name = object.symbol(fix.symbol).name;
                    let start = layout.sections[fix.section].unwrap_or(0);
                    let at = || object.location(SectionId(fix.section as u32), fix.offset - start);
                    let tp = self.static_tls_offset(u.module, layout.tls_image, name, at)?;
                    offsets.insert(u.module, tp);
                    tp
                }
            };
            match u.cell {
                Some((cell, offset)) => {
                    let value = (tp as u64).wrapping_add(offset);
                    self.write_tp_cell(cell, value)?;
                    if relax_initial_exec(&mut self.space()?.region, &mut fix, value, layout) {
                        relaxed += 1;
                    }
                }
                None => fix.v.s = (tp as u64).wrapping_add(fix.v.s),
            }
            fixes.push(fix);
        }
        let veneers = apply(&mut self.space()?.region, arch, object, layout, &fixes)?;
        Ok((relaxed, veneers))
    }
}

/// x86-64 initial exec whose variable's thread-pointer offset is `value`:
/// rewrites the instruction to take it as an immediate (local exec) when it is
/// a `mov` or `add` (`arch::x86_64::relax_gottpoff`), saving the cell's load.
pub(crate) fn relax_initial_exec(
    region: &mut Region,
    fix: &mut Fix,
    value: u64,
    layout: &Layout,
) -> bool {
    use crate::arch::x86_64::{relax_gottpoff, Kind};
    let section_start = layout.sections[fix.section].unwrap_or(u64::MAX);
    if fix.kind != RelocKind::X86_64(Kind::TpCellDelta32)
        || fix.v.a != -4
        || fix.offset < section_start.saturating_add(3)
        || i32::try_from(value as i64).is_err()
    {
        return false;
    }
    if !relax_gottpoff(region.bytes_mut(fix.offset - 3, 3)) {
        return false;
    }
    fix.kind = RelocKind::X86_64(Kind::TpOffset32);
    fix.v.s = value;
    fix.v.a = 0;
    true
}

/// A load of an address through a slot at region offset `at` (`offset` into
/// its code section), rewritten to compute the address instead
/// (`arch::x86_64::relax_got_load`, `arch::aarch64::relax_got_load`; AArch64's
/// `ADRP` of the slot's page takes the symbol's page unchanged). Returns the
/// kind the field then takes, `S` being the symbol; `None`, changing nothing,
/// if the kind, addend or instruction does not allow it. Only for the object's
/// own strong variables (`Binder::resolve_global`): their storage stays put as
/// long as the code does, so the slot would only add a load.
pub(crate) fn relax_got_load(
    region: &mut Region,
    at: u64,
    offset: u64,
    kind: RelocKind,
    addend: i64,
) -> Option<RelocKind> {
    use crate::arch::{aarch64, read_u32, write_u32, x86_64};
    match kind {
        RelocKind::X86_64(x86_64::Kind::GotDelta32) if addend == -4 && offset >= 2 => {
            x86_64::relax_got_load(region.bytes_mut(at - 2, 2))
                .then_some(RelocKind::X86_64(x86_64::Kind::Delta32))
        }
        RelocKind::Aarch64(aarch64::Kind::GotPage21) if addend == 0 => {
            Some(RelocKind::Aarch64(aarch64::Kind::Page21 { checked: true }))
        }
        RelocKind::Aarch64(aarch64::Kind::GotPageOffset12) if addend == 0 => {
            let place = region.bytes_mut(at, 4);
            let add = aarch64::relax_got_load(read_u32(place))?;
            write_u32(place, add);
            Some(RelocKind::Aarch64(aarch64::Kind::PageOffset12 { shift: 0 }))
        }
        _ => None,
    }
}

/// The veneers of one object: its veneer area (from the layout), filled one
/// destination at a time.
struct Veneers {
    /// Region offset of the area, and its capacity in veneers.
    area: u64,
    capacity: u64,
    /// Destination → region offset of its veneer.
    placed: Map<u64, u64>,
    /// Branches that went through a veneer.
    used: usize,
}

impl Veneers {
    /// The region offset of a veneer to `dest`, written if new.
    fn to(&mut self, region: &mut Region, arch: Arch, dest: u64) -> Result<u64, FixupError> {
        self.used += 1;
        if let Some(at) = self.placed.get(&dest) {
            return Ok(*at);
        }
        let n = self.placed.len() as u64;
        if n >= self.capacity {
            return Err(FixupError::Unsupported("no room left for veneers"));
        }
        let size = arch.veneer_size() as u64;
        let off = self.area + n * size;
        let target = region.target_base() + off;
        arch.write_veneer(region.bytes_mut(off, size), target, dest)?;
        self.placed.insert(dest, off);
        Ok(off)
    }
}

/// Applies an object's fixups to its memory: a branch out of reach goes through
/// a veneer, an own function referenced through a narrow field binds directly.
/// Returns how many branches went through veneers.
pub(crate) fn apply(
    region: &mut Region,
    arch: Arch,
    object: &Object,
    layout: &Layout,
    fixes: &[Fix],
) -> Result<usize> {
    let mut veneers = Veneers {
        area: layout.veneers.0,
        capacity: layout.veneers.1,
        placed: Map::default(),
        used: 0,
    };
    for f in fixes {
        apply_one(region, arch, f, &mut veneers).map_err(|problem| Error::Fixup {
            at: object.location(
                SectionId(f.section as u32),
                f.offset - layout.sections[f.section].unwrap_or(0),
            ),
            kind: f.kind,
            symbol: object.symbol(f.symbol).name.to_string(),
            problem,
        })?;
    }
    Ok(veneers.used)
}

fn apply_one(
    region: &mut Region,
    arch: Arch,
    f: &Fix,
    veneers: &mut Veneers,
) -> Result<(), FixupError> {
    let width = f.kind.info().width as u64;
    let mut result = f.kind.apply(region.bytes_mut(f.offset, width), &f.v);
    if let (Err(FixupError::OutOfRange { .. }), Some(s)) = (&result, f.direct) {
        let v = FixupValues { s, ..f.v };
        result = f.kind.apply(region.bytes_mut(f.offset, width), &v);
    }
    if matches!(result, Err(FixupError::OutOfRange { .. })) && f.kind.info().reach == Reach::Veneer
    {
        let dest = f.v.s.wrapping_add(f.v.a as u64);
        let off = veneers.to(region, arch, dest)?;
        let v = FixupValues {
            s: region.target_base() + off,
            a: 0,
            ..f.v
        };
        result = f.kind.apply(region.bytes_mut(f.offset, width), &v);
    }
    result
}

/// New bytes for each site of `name` under `binding`, or the first error.
pub(crate) fn site_patches(
    space: &Space,
    symbols: &SymbolTable,
    objects: &Objects,
    name: NameId,
    binding: &Binding,
    sites: &[Site],
) -> Result<Vec<Patch>> {
    let slot = symbols.entry(name).slot;
    let stub = slot.map(|s| space.stubs.stub_addr(s));
    let mut out = Vec::with_capacity(sites.len());
    for site in sites {
        let width = site.kind.info().width as u64;
        let mut bytes = space.region.bytes(site.offset, width).to_vec();
        let v = FixupValues {
            p: site.p,
            s: value_of(binding, stub, site.kind, site.p, site.addend),
            a: site.addend,
            z: size_of(binding),
            got: space.stubs.got_base(),
            ..FixupValues::default()
        };
        let section =
            (objects.get(&site.object)).and_then(|o| o.sections.get(site.section as usize));
        site.kind
            .apply(&mut bytes, &v)
            .map_err(|problem| Error::Fixup {
                at: Location::at(
                    &object_name(objects, site.object),
                    section.map_or("?", |s| s.name.as_str()),
                    site.section_offset,
                ),
                kind: site.kind,
                symbol: symbols.name(name).to_string(),
                problem,
            })?;
        let code = section.is_some_and(|s| s.class == Class::Code);
        out.push(Patch {
            offset: site.offset,
            target: site.p,
            bytes,
            code,
        });
    }
    Ok(out)
}

/// Whether a variable bound as `before` is somewhere else bound as `after`, or
/// stays but only weakly (a later strong definition would take it away):
/// other objects' loads of it that were relaxed to its address
/// ([`RelaxedLoad`](super::RelaxedLoad)) must then load through its slot again.
/// Relaxed loads only ever reach a strong definition, and a plain load never
/// takes the binding from one: only replacing or unloading its object does.
pub(crate) fn variable_moves(before: &Binding, after: &Binding) -> bool {
    match (before, after) {
        (Binding::Object(b), Binding::Object(a)) => !b.code && (a.address != b.address || a.weak),
        (Binding::Object(b), _) => !b.code,
        _ => false,
    }
}

/// Turns the relaxed loads of `name` ([`RelaxedLoad`](super::RelaxedLoad)) in
/// the objects that refer to it, but for those `skip` names, back into loads
/// through its slot: `leaq v(%rip)` becomes `movq v@GOTPCREL(%rip)` again,
/// whose GOT entry follows the name wherever it is bound next. Costs per
/// referring object, only when a variable moves (resized by a replace,
/// unloaded): a replace that keeps it where it was writes nothing.
pub(crate) fn unrelax_patches(
    space: &Space,
    symbols: &SymbolTable,
    objects: &Objects,
    name: NameId,
    skip: impl Fn(ObjectId) -> bool,
) -> Result<Vec<Patch>> {
    let entry = symbols.entry(name);
    // Every relaxed load kept its slot.
    let Some(slot) = entry.slot else {
        return Ok(Vec::new());
    };
    let kind = super::resolve::GOT_LOAD;
    let mut out = Vec::new();
    for (id, _) in symbols.refs(name).filter(|&(id, _)| !skip(id)) {
        let Some(object) = objects.get(&id) else {
            continue;
        };
        for load in object.relaxed.iter().filter(|l| l.name == name) {
            // The instruction's two bytes before the field, and the field.
            let (at, p) = (
                u64::from(load.at),
                space.region.target_base() + u64::from(load.at),
            );
            let mut bytes = space.region.bytes(at - 2, 6).to_vec();
            let v = FixupValues {
                p,
                a: -4,
                slot: space.stubs.got_addr(slot),
                ..FixupValues::default()
            };
            let written = if crate::arch::x86_64::unrelax_got_load(&mut bytes[..2]) {
                kind.apply(&mut bytes[2..], &v)
            } else if crate::arch::x86_64::relax_got_load(&mut [bytes[0], bytes[1]]) {
                // Turned back when the variable moved before: its GOT entry
                // follows it.
                continue;
            } else {
                Err(FixupError::Unsupported(
                    "a relaxed load that is neither `lea` nor `mov`",
                ))
            };
            written.map_err(|problem| {
                let section =
                    (object.sections.iter()).find(|s| (s.offset..s.offset + s.size).contains(&at));
                Error::Fixup {
                    at: Location::at(
                        &object.name,
                        section.map_or("?", |s| s.name.as_str()),
                        section.map_or(at, |s| at - s.offset),
                    ),
                    kind,
                    symbol: symbols.name(name).to_string(),
                    problem,
                }
            })?;
            out.push(Patch {
                offset: at - 2,
                target: p - 2,
                bytes,
                code: true,
            });
        }
    }
    Ok(out)
}

/// Bytes to write at a site once a load commits.
pub(crate) struct Patch {
    pub offset: u64,
    pub target: u64,
    pub bytes: Vec<u8>,
    pub code: bool,
}

pub(crate) fn apply_patches(region: &mut Region, patches: &[Patch]) {
    for p in patches {
        region
            .bytes_mut(p.offset, p.bytes.len() as u64)
            .copy_from_slice(&p.bytes);
        if p.code {
            Target::code_written(region, p.target, p.bytes.len() as u64, true);
        }
    }
}

/// `S` for a direct (non-GOT, non-branch) reference to a name bound as `binding`:
/// an object's code through its stub, its data directly, the process's symbols at
/// their address — or through the stub when a process function is out of a
/// narrow PC-relative reach. Unresolved names point at their stub (which traps);
/// weak unresolved ones are null.
pub(crate) fn value_of(
    binding: &Binding,
    stub: Option<u64>,
    kind: RelocKind,
    p: u64,
    a: i64,
) -> u64 {
    match (binding, stub) {
        (Binding::Object(d), Some(stub)) if d.code => stub,
        (Binding::Object(d), _) => d.address,
        (Binding::Host(s) | Binding::Process(s), Some(stub)) if s.function => {
            let info = kind.info();
            let far = s.address.wrapping_add(a as u64).wrapping_sub(p) as i64;
            // An AArch64 `:lo12:` field decides as the `ADRP` just before it does.
            let out_of_reach = ((info.pc_relative_narrow || info.page_offset)
                && !(i32::MIN as i64..=i32::MAX as i64).contains(&far))
                // A narrow absolute field (`-fno-pic` code's `mov $exit, %edi`,
                // `.eh_frame`'s personality pointer) takes the stub in the low
                // region: the function's canonical address for such code, as
                // `ld`'s canonical PLT entry is.
                || (info.absolute_narrow && s.address.wrapping_add(a as u64) >= 1 << 31);
            if out_of_reach {
                stub
            } else {
                s.address
            }
        }
        (Binding::Host(s) | Binding::Process(s), _) => s.address,
        (Binding::Unresolved { weak: true }, _) => 0,
        (Binding::Unresolved { weak: false }, stub) => stub.unwrap_or(0),
    }
}

/// What of a binding direct references' bytes depend on (see [`value_of`]):
/// an object's function is reached through its stub (once it has one) wherever
/// its code is, so a replace that moves it changes no site; the size only if
/// some site uses it (`sized`: `Entry::sites_use_size`).
fn seen_by_sites(binding: &Binding, sized: bool) -> (u8, u64, u64) {
    let (tag, address, size) = match binding {
        Binding::Object(d) if d.code => (0, 0, d.size),
        Binding::Object(d) => (1, d.address, d.size),
        Binding::Host(s) => (2, s.address, s.size),
        Binding::Process(s) => (3, s.address, s.size),
        Binding::Unresolved { weak } => (4 + *weak as u8, 0, 0),
    };
    (tag, address, if sized { size } else { 0 })
}

/// Whether a name's direct references (`entry`'s sites, and `more` besides)
/// read something else once it is bound as `after` instead of `before`.
pub(crate) fn sites_see_change<'a>(
    entry: &Entry,
    more: impl IntoIterator<Item = &'a Site>,
    before: &Binding,
    after: &Binding,
) -> bool {
    if entry.slot.is_none() {
        return before != after;
    }
    let sized = entry.sites_use_size() || more.into_iter().any(|s| s.kind.info().uses_size);
    seen_by_sites(before, sized) != seen_by_sites(after, sized)
}

pub(crate) fn size_of(binding: &Binding) -> u64 {
    match binding {
        Binding::Object(d) => d.size,
        Binding::Host(p) | Binding::Process(p) => p.size,
        Binding::Unresolved { .. } => 0,
    }
}
