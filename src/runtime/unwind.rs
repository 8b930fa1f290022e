//! Unwind tables: each loaded object's `.eh_frame` (ELF) or `__eh_frame` (Mach-O)
//! is validated with `gimli` after relocation and then registered with the
//! process's unwinder, so that C++ exceptions, `_Unwind_Backtrace` and Rust
//! backtraces walk through loaded code.
//!
//! Two unwinders, two conventions:
//! - **libgcc** (`libgcc_s`, what every Rust and C++ program on glibc links):
//!   `__register_frame(begin)` takes a whole `.eh_frame` section and walks it up
//!   to a zero-length terminator. relink reserves four zero bytes after every
//!   unwind section (layout) for that terminator, and registers the section once.
//! - **LLVM libunwind** (detected by its `__unw_add_dynamic_fde`):
//!   `__register_frame(fde)` takes one FDE; relink registers each live FDE.
//!
//! Both `__deregister_frame`s must get exactly the pointers that were registered
//! (libgcc aborts otherwise), so a [`Registration`] remembers them and
//! deregisters on drop. A version that was replaced or unloaded keeps its
//! registration until its memory is reclaimed (`Linker::reclaim`), because a
//! thread may still be running, and unwinding through, its code.
//!
//! Validation refuses what would make the unwinder read out of bounds or lie:
//! CIE/FDE records that run past the section, 64-bit DWARF records (libgcc
//! does not read them), unknown pointer encodings or call-frame instructions,
//! an FDE whose PC range is not inside the object's own code, an LSDA pointer
//! outside the object's memory, or an indirect personality pointer outside the
//! region. FDEs of discarded COMDAT code keep a zero `pc_begin`, which both
//! unwinders skip (as they do for `ld`'s output); they are not registered.
//! Empty FDEs (g++'s, for functions without instructions) are accepted where
//! they start inside or at the end of the object's code, not registered, and
//! given a zero `pc_begin` too ([`Found::empty`]).
//!
//! The records are found by the walk shared with the Mach-O reader
//! (`input/eh_frame.rs`); a quick walk handles the common shapes, `gimli` reads
//! the rest.

use std::sync::OnceLock;

use gimli::{BaseAddresses, EhFrame, EhFrameOffset, LittleEndian, Pointer, UnwindSection};

use crate::error::{Error, Result};
use crate::input::eh_frame::{self, Stop};
use crate::input::{Object, SectionId};

/// Bytes of zero terminator reserved after every unwind section.
pub(crate) const TERMINATOR: u64 = 4;

/// A validated unwind section, ready to register.
#[derive(Debug)]
pub(crate) struct Frames {
    /// Target address of the section (followed by the terminator).
    section: u64,
    /// Target addresses of the FDEs that describe loaded code.
    fdes: Vec<u64>,
}

/// Address ranges an unwind section may point into.
pub(crate) struct Bounds<'b> {
    /// The object's code sections, `[start, end)` target addresses.
    pub code: &'b [(u64, u64)],
    /// Every placed section of the object.
    pub object: &'b [(u64, u64)],
    /// The whole region (GOT entries live there).
    pub region: (u64, u64),
}

/// Validates one relocated unwind section (`bytes`, at target `address`), and
/// clears the initial location of each empty FDE in it (see [`Found::empty`]).
pub(crate) fn validate(
    object: &Object,
    section: SectionId,
    bytes: &mut [u8],
    address: u64,
    bounds: &Bounds,
) -> Result<Frames> {
    let checked = (object.facts.get()).is_some_and(|f| f.unwind_checked.contains(&section));
    let found = match quick_frames(bytes, address, bounds, checked) {
        Some(found) => found,
        None => validate_with_gimli(object, section, bytes, address, bounds)?,
    };
    for &(at, width) in &found.empty {
        if let Some(field) = bytes.get_mut(at..at + width) {
            field.fill(0);
        }
    }
    Ok(Frames {
        section: address,
        fdes: found.live,
    })
}

/// The FDEs a validation found.
#[derive(Debug, Default, PartialEq)]
struct Found {
    /// Target addresses of the FDEs that describe loaded code.
    live: Vec<u64>,
    /// The initial-location fields (section offset, bytes) of empty FDEs, which
    /// describe no instruction: g++ `-O2` gives every function whose whole body
    /// is undefined behaviour one (a non-void function without `return`), in a
    /// `.text.unlikely*` section of its own, often empty. They are not
    /// registered, and [`validate`] clears the field, so that libgcc skips them
    /// as it skips discarded code's: its binary search over a section's FDEs,
    /// sorted by address, can step past a live FDE that starts where an empty
    /// one does, and not find it.
    empty: Vec<(usize, usize)>,
}

/// What an FDE describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Covers {
    /// Loaded code.
    Code,
    /// No instruction, at an address inside or at the end of the object's code.
    Nothing,
    /// Discarded COMDAT code (a zero initial location, left unrelocated).
    Discarded,
}

/// What an FDE covering `[lo, lo + len)` describes; `None`: it lies outside the
/// object's code.
#[inline]
fn covers(lo: u64, len: u64, code: &[(u64, u64)]) -> Option<Covers> {
    if len == 0 {
        let inside = code.iter().any(|&(a, b)| lo >= a && lo <= b);
        return inside.then_some(Covers::Nothing);
    }
    inside(lo, len, code).then_some(Covers::Code)
}

/// The FDEs of a section in the shape compilers give plain C code: "zR" CIEs
/// (version 1 or 3, a fixed-width absolute or PC-relative address encoding)
/// each before its FDEs, common call-frame instructions, every FDE inside the
/// object's code or (discarded COMDAT code) with a zero address. `None` for
/// anything else — other shapes, and every error: then [`validate_with_gimli`]
/// decides, and words the error. It accepts nothing that one refuses, and finds
/// the same FDEs (a test checks both on mutated sections); it is a fraction of
/// its cost, most of which went into `gimli`'s general parsing of each FDE.
///
/// `checked`: the section's instructions were found well formed before it was
/// relocated, and relocation changed none of them ([`instructions_hold`]), so
/// they are not walked again.
fn quick_frames(bytes: &[u8], address: u64, bounds: &Bounds, checked: bool) -> Option<Found> {
    // Room for an FDE every 32 bytes (a C function's is 24 to 48): grown one
    // push at a time, the list was a tenth of this function's cost.
    let mut found = Found {
        live: Vec::with_capacity(bytes.len() / 32),
        empty: Vec::new(),
    };
    let cie = |_, record: &[u8]| quick_cie(record, checked).ok_or(());
    eh_frame::walk(bytes, cie, |offset, record, &encoding| {
        let at = address.wrapping_add(offset as u64 + 8);
        match quick_fde(record, at, encoding, bounds, checked).ok_or(())? {
            Covers::Code => found.live.push(address.wrapping_add(offset as u64)),
            Covers::Nothing => found
                .empty
                .push((offset + 8, fixed_width(encoding).unwrap_or(0))),
            Covers::Discarded => {}
        }
        Ok(())
    })
    .ok()?;
    Some(found)
}

/// A "zR" CIE's address encoding (after its length and id), if its shape and
/// instructions are the common ones.
fn quick_cie(mut cie: &[u8], checked: bool) -> Option<u8> {
    let (&version, rest) = cie.split_first()?;
    cie = rest.strip_prefix(b"zR\0")?;
    leb128(&mut cie)?; // code alignment factor
    leb128(&mut cie)?; // data alignment factor
    match version {
        1 => cie = cie.get(1..)?,
        3 => _ = leb128(&mut cie).filter(|r| *r <= 0xffff)?,
        _ => return None,
    }
    let [1, encoding, instructions @ ..] = cie else {
        return None;
    };
    fixed_width(*encoding)?;
    (checked || well_formed(instructions)).then_some(*encoding)
}

/// Bytes of a fixed-width, absolute or PC-relative, direct address encoding.
fn fixed_width(encoding: u8) -> Option<usize> {
    if encoding & 0xf0 & !0x10 != 0 {
        return None; // indirect, or relative to something else than the place
    }
    match encoding & 0x0f {
        0x00 | 0x04 | 0x0c => Some(8),
        0x02 | 0x0a => Some(2),
        0x03 | 0x0b => Some(4),
        _ => None,
    }
}

/// Checks an FDE (after its length and CIE pointer; `at`: the target address of
/// its first address field).
#[inline]
fn quick_fde(fde: &[u8], at: u64, encoding: u8, bounds: &Bounds, checked: bool) -> Option<Covers> {
    let width = fixed_width(encoding)?;
    let begin = fde.get(..width)?;
    // As gimli's parse would: the fields and the augmentation data must fit.
    let mut rest = fde.get(2 * width..)?;
    let aug = usize::try_from(leb128(&mut rest)?).ok()?;
    let instructions = rest.get(aug..)?;
    if begin.iter().all(|b| *b == 0) {
        return Some(Covers::Discarded);
    }
    let base = if encoding & 0x10 != 0 { at } else { 0 };
    let lo = base.wrapping_add(field_value(begin, encoding));
    let len = field_value(&fde[width..2 * width], encoding);
    let covered = covers(lo, len, bounds.code)?;
    (checked || well_formed(instructions)).then_some(covered)
}

/// The value of a fixed-width address field (2, 4 or 8 bytes: [`fixed_width`])
/// of `encoding`, sign-extended where the encoding is signed.
#[inline]
fn field_value(field: &[u8], encoding: u8) -> u64 {
    let signed = encoding & 0x08 != 0;
    match *field {
        [a, b] if signed => i16::from_le_bytes([a, b]) as u64,
        [a, b] => u16::from_le_bytes([a, b]).into(),
        [a, b, c, d] if signed => i32::from_le_bytes([a, b, c, d]) as u64,
        [a, b, c, d] => u32::from_le_bytes([a, b, c, d]).into(),
        [a, b, c, d, e, f, g, h] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

/// Whether an unwind section's call-frame instructions are in the shape
/// [`quick_frames`] accepts, in the file, and its relocations write nothing
/// but FDEs' first address field: then relocation leaves the instructions as
/// they are, and [`validate`] need not walk them again. Worked out from the
/// object alone (`link::prepare::facts`: on a batch's reading thread, where walking
/// every FDE's instructions costs the linking thread nothing).
pub(crate) fn instructions_hold(object: &Object, section: SectionId) -> bool {
    let s = object.section(section);
    address_fields(&s.data).is_some_and(|fields| {
        s.relocs.iter().all(|r| {
            let end = r.offset.saturating_add(r.kind.info().width as u64);
            fields.iter().any(|&(a, b)| r.offset >= a && end <= b)
        })
    })
}

/// The `[start, end)` offsets of each FDE's first address field, if every CIE
/// and FDE is in the shape [`quick_frames`] accepts (instructions included).
fn address_fields(bytes: &[u8]) -> Option<Vec<(u64, u64)>> {
    let mut fields = Vec::new();
    let cie = |_, record: &[u8]| quick_cie(record, false).ok_or(());
    eh_frame::walk(bytes, cie, |offset, record, &encoding| {
        let width = fixed_width(encoding).ok_or(())?;
        let mut rest = record.get(2 * width..).ok_or(())?;
        let aug = leb128(&mut rest).and_then(|a| usize::try_from(a).ok());
        let instructions = aug.and_then(|aug| rest.get(aug..)).ok_or(())?;
        if !well_formed(instructions) {
            return Err(());
        }
        let start = offset as u64 + 8;
        fields.push((start, start + width as u64));
        Ok(())
    })
    .ok()?;
    Some(fields)
}

type Cie<'b> = gimli::CommonInformationEntry<gimli::EndianSlice<'b, LittleEndian>>;
type Fde<'b> = gimli::FrameDescriptionEntry<gimli::EndianSlice<'b, LittleEndian>>;

/// The thorough validation: any section `gimli` can read, with its errors.
/// The shared walk finds the records; `gimli` reads each.
fn validate_with_gimli(
    object: &Object,
    section: SectionId,
    bytes: &[u8],
    address: u64,
    bounds: &Bounds,
) -> Result<Found> {
    let at = |offset: usize| object.location(section, offset as u64);
    let bad = |offset: usize, reason: String| Error::malformed(at(offset), reason);
    let eh = EhFrame::new(bytes, LittleEndian);
    let bases = BaseAddresses::default().set_eh_frame(address);
    let mut found = Found::default();
    let cie = |offset: usize, _: &[u8]| -> Result<Cie> {
        let cie = eh
            .cie_from_offset(&bases, EhFrameOffset(offset))
            .map_err(|e| bad(offset, format!("unwind record: {e}")))?;
        let mut ins = cie.instructions(&eh, &bases);
        while ins
            .next()
            .map_err(|e| bad(offset, format!("CIE instructions: {e}")))?
            .is_some()
        {}
        if let Some(Pointer::Indirect(p)) = cie.personality() {
            if !inside(p, 8, &[bounds.region]) {
                return Err(bad(
                    offset,
                    format!("personality pointer {p:#x} is outside relink's memory"),
                ));
            }
        }
        Ok(cie)
    };
    let fde = |offset: usize, record: &[u8], cie: &Cie| -> Result<()> {
        let fde = eh
            .partial_fde_from_offset(&bases, EhFrameOffset(offset))
            .and_then(|partial| partial.parse(|_, _, _| Ok(cie.clone())))
            .map_err(|e| bad(offset, format!("FDE: {e}")))?;
        let encoding = cie.fde_address_encoding();
        let width = encoding.map_or(8, |e| encoded_width(e.0));
        if record
            .get(..width)
            .is_some_and(|r| r.iter().all(|b| *b == 0))
        {
            return Ok(()); // discarded COMDAT code: unwinders skip a zero pc_begin
        }
        let (lo, len) = (fde.initial_address(), fde.len());
        let Some(covered) = covers(lo, len, bounds.code) else {
            return Err(bad(
                offset,
                format!(
                    "FDE covers [{lo:#x}, {:#x}), which is not inside the object's code",
                    lo.wrapping_add(len)
                ),
            ));
        };
        check_fde(&eh, &bases, &fde, record, bounds).map_err(|reason| bad(offset, reason))?;
        match covered {
            Covers::Code => found.live.push(address + offset as u64),
            // Cleared only where it has a fixed width (compilers use no other).
            Covers::Nothing if encoding.is_none_or(|e| fixed_width(e.0 & 0x0f).is_some()) => {
                found.empty.push((offset + 8, width))
            }
            Covers::Nothing | Covers::Discarded => {}
        }
        Ok(())
    };
    eh_frame::walk(bytes, cie, fde).map_err(|stop| match stop {
        Stop::Callback(e) => e,
        Stop::Record(r) if r.why == eh_frame::Bad::Dwarf64 => Error::Unsupported {
            at: at(r.offset),
            what: r.reason().into(),
        },
        Stop::Record(r) => bad(r.offset, r.reason().into()),
    })?;
    Ok(found)
}

/// Checks an FDE's call-frame instructions and LSDA pointer; `record`: its
/// bytes after the length and CIE pointer.
fn check_fde(
    eh: &EhFrame<gimli::EndianSlice<LittleEndian>>,
    bases: &BaseAddresses,
    fde: &Fde,
    record: &[u8],
    bounds: &Bounds,
) -> std::result::Result<(), String> {
    if !fde_instructions(record, fde).is_some_and(well_formed) {
        let mut ins = fde.instructions(eh, bases);
        while ins
            .next()
            .map_err(|e| format!("FDE instructions: {e}"))?
            .is_some()
        {}
    }
    match fde.lsda() {
        Some(Pointer::Direct(p)) if !inside(p, 1, bounds.object) => {
            Err(format!("LSDA pointer {p:#x} is outside the object"))
        }
        Some(Pointer::Indirect(p)) => Err(format!("indirect LSDA pointer {p:#x} is not supported")),
        _ => Ok(()),
    }
}

/// The call-frame instructions of the FDE that `gimli` parsed from `record`
/// (its bytes after the length and CIE pointer): after its address and range,
/// and augmentation data. `None` where their layout is not the common one (a
/// variable-width address encoding): the caller then asks `gimli`.
fn fde_instructions<'b>(record: &'b [u8], fde: &Fde) -> Option<&'b [u8]> {
    let cie = fde.cie();
    let width = match cie.fde_address_encoding().map(|e| e.format().0) {
        None | Some(0x00) => usize::from(cie.address_size()),
        Some(0x02 | 0x0a) => 2,
        Some(0x03 | 0x0b) => 4,
        Some(0x04 | 0x0c) => 8,
        Some(_) => return None,
    };
    let mut rest = record.get(2 * width..)?;
    if cie.augmentation().is_some() {
        let len = usize::try_from(leb128(&mut rest)?).ok()?;
        rest = rest.get(len..)?;
    }
    Some(rest)
}

/// Whether `ins` is a sequence of well-formed call-frame instructions of the
/// common kinds. It accepts nothing that `gimli`'s iterator refuses; whatever it
/// does not accept (rarer opcodes, long LEB128s, malformed bytes) goes to
/// `gimli`, which then decides and words the error. Walking them here is a
/// fraction of the cost of `gimli` decoding each instruction.
fn well_formed(mut ins: &[u8]) -> bool {
    // Operands after the opcode: R register (ULEB128 that fits 16 bits),
    // U ULEB128, S SLEB128, B block (ULEB128 length and bytes), digits: fixed bytes.
    while let Some((&op, rest)) = ins.split_first() {
        ins = rest;
        let operands: &[u8] = match op >> 6 {
            1 | 3 => b"", // DW_CFA_advance_loc, DW_CFA_restore
            2 => b"U",    // DW_CFA_offset
            _ => match op {
                0x00 | 0x0a | 0x0b => b"",         // nop, remember_state, restore_state
                0x02 => b"1",                      // advance_loc1
                0x03 => b"2",                      // advance_loc2
                0x04 => b"4",                      // advance_loc4
                0x05 | 0x0c | 0x14 => b"RU",       // offset_extended, def_cfa, val_offset
                0x06 | 0x07 | 0x08 | 0x0d => b"R", // restore_extended, undefined, same_value, def_cfa_register
                0x09 => b"RR",                     // register
                0x0e | 0x2e => b"U",               // def_cfa_offset, GNU_args_size
                0x0f => b"B",                      // def_cfa_expression
                0x10 | 0x16 => b"RB",              // expression, val_expression
                0x11 | 0x12 | 0x15 => b"RS",       // offset_extended_sf, def_cfa_sf, val_offset_sf
                0x13 => b"S",                      // def_cfa_offset_sf
                _ => return false,                 // set_loc, vendor and unknown opcodes
            },
        };
        for operand in operands {
            let ok = match operand {
                b'R' => leb128(&mut ins).is_some_and(|r| r <= 0xffff),
                b'U' => leb128(&mut ins).is_some(),
                b'S' => leb128(&mut ins).is_some(),
                b'B' => leb128(&mut ins)
                    .and_then(|len| ins.get(usize::try_from(len).ok()?..))
                    .map(|rest| ins = rest)
                    .is_some(),
                digit => ins
                    .get(usize::from(digit - b'0')..)
                    .map(|rest| ins = rest)
                    .is_some(),
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// Reads a LEB128 of at most 9 bytes (longer ones go to `gimli`); signed ones
/// only need skipping, so their value is not sign-extended.
fn leb128(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

/// Bytes a `DW_EH_PE_*` value format takes (uleb/sleb: the first byte decides zero).
fn encoded_width(encoding: u8) -> usize {
    match encoding & 0x0f {
        0x02 | 0x0a => 2,
        0x03 | 0x0b => 4,
        0x01 | 0x09 => 1,
        _ => 8,
    }
}

fn inside(lo: u64, len: u64, ranges: &[(u64, u64)]) -> bool {
    let Some(hi) = lo.checked_add(len) else {
        return false;
    };
    ranges.iter().any(|(a, b)| lo >= *a && hi <= *b && lo < *b)
}

/// Which unwinder the process uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Convention {
    /// libgcc: one call per section.
    WholeSection,
    /// LLVM libunwind: one call per FDE.
    PerFde,
}

fn convention() -> Convention {
    static CONVENTION: OnceLock<Convention> = OnceLock::new();
    *CONVENTION.get_or_init(|| {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks up.
        let libunwind =
            unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__unw_add_dynamic_fde".as_ptr()) };
        if libunwind.is_null() {
            Convention::WholeSection
        } else {
            Convention::PerFde
        }
    })
}

extern "C" {
    fn __register_frame(begin: *const u8);
    fn __deregister_frame(begin: *const u8);
}

/// Unwind information registered with the process; deregistered when dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    registered: Vec<u64>,
    /// Registered in an executor's process instead: its handle there.
    remote: Option<(std::sync::Arc<crate::memory::remote::Remote>, u64)>,
}

impl Frames {
    /// Frames an executor was asked to register (validated by the linker).
    pub(crate) fn from_parts(section: u64, fdes: Vec<u64>) -> Frames {
        Frames { section, fdes }
    }
}

/// Registers validated frames where code runs: in this process, or (with
/// `remote`) in the executor's, whose unwinder convention is its own.
pub(crate) fn register_in(
    remote: Option<&std::sync::Arc<crate::memory::remote::Remote>>,
    frames: Frames,
) -> Option<Registration> {
    let Some(remote) = remote else {
        return register(frames);
    };
    if frames.fdes.is_empty() {
        return None;
    }
    let handle = remote.register_frames(frames.section, &frames.fdes);
    Some(Registration {
        registered: Vec::new(),
        remote: Some((remote.clone(), handle)),
    })
}

/// Registers validated frames. Their memory (section and terminator) must stay
/// mapped and unchanged until the registration is dropped.
pub(crate) fn register(frames: Frames) -> Option<Registration> {
    if frames.fdes.is_empty() {
        return None;
    }
    let registered = match convention() {
        Convention::WholeSection => vec![frames.section],
        Convention::PerFde => frames.fdes,
    };
    for p in &registered {
        // SAFETY: `p` is a validated, relocated section ending in a zero
        // terminator (or one FDE of it), mapped readable in the target view.
        unsafe { __register_frame(*p as *const u8) };
    }
    Some(Registration {
        registered,
        remote: None,
    })
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some((remote, handle)) = &self.remote {
            remote.deregister_frames(*handle);
        }
        for p in self.registered.iter().rev() {
            // SAFETY: exactly what `register` registered, still mapped (the owner
            // drops registrations before the memory is freed).
            unsafe { __deregister_frame(*p as *const u8) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::eh_frame::read_u32;
    use gimli::CieOrFde;

    /// A section with one CIE ("zR", pc-relative sdata4 addresses) and one FDE
    /// whose instructions are `ins`.
    fn section(ins: &[u8]) -> Vec<u8> {
        let mut cie = vec![0, 0, 0, 0, 1, b'z', b'R', 0, 1, 0x78, 16, 1, 0x1b];
        while cie.len() % 4 != 0 {
            cie.push(0);
        }
        let mut out = ((cie.len() as u32).to_le_bytes()).to_vec();
        out.extend(&cie);
        let fde_at = out.len() as u32;
        let mut fde = (fde_at + 4).to_le_bytes().to_vec(); // CIE pointer
        fde.extend([0, 1, 0, 0, 16, 0, 0, 0, 0]); // pc_begin, pc_range, no augmentation
        fde.extend(ins);
        out.extend((fde.len() as u32).to_le_bytes());
        out.extend(fde);
        out
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// Random instruction streams: whatever the quick walk accepts, `gimli`
    /// accepts too, and the walk finds the same instruction bytes.
    #[test]
    fn quick_walk_accepts_nothing_gimli_refuses() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut accepted = 0;
        for _ in 0..20_000 {
            let len = (next() % 12) as usize;
            let ins: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => (next() % 0x18) as u8,
                    1 => [0x2e, 0x01, 0x2d, 0xff, 0x80][(next() % 5) as usize],
                    _ => next() as u8,
                })
                .collect();
            let bytes = section(&ins);
            let eh = EhFrame::new(&bytes, LittleEndian);
            let bases = BaseAddresses::default().set_eh_frame(0x1000);
            let mut entries = eh.entries(&bases);
            let _cie = entries.next().unwrap().unwrap();
            let Some(CieOrFde::Fde(partial)) = entries.next().unwrap() else {
                panic!("no FDE");
            };
            let offset = partial.offset() as u64;
            let fde = partial.parse(|s, b, o| s.cie_from_offset(b, o)).unwrap();
            let found = fde_instructions(&bytes[offset as usize + 8..], &fde).unwrap();
            assert_eq!(found, &ins[..]);
            if well_formed(found) {
                accepted += 1;
                let mut it = fde.instructions(&eh, &bases);
                while it
                    .next()
                    .unwrap_or_else(|e| panic!("{ins:x?}: {e}"))
                    .is_some()
                {}
            }
        }
        assert!(accepted > 1000, "only {accepted} accepted");
    }

    /// Mutated sections (two FDEs, one of discarded code): whatever the quick
    /// validation accepts, the thorough one accepts too, with the same FDEs.
    #[test]
    fn quick_validation_agrees_with_gimli() {
        let file = std::fs::read("testdata/debug/x86_64/counter.o").unwrap();
        let object = crate::input::parse("counter.o", &file).unwrap();
        let id = SectionId(0);
        let code = [(0x1000u64, 0x1100u64)];
        let bounds = Bounds {
            code: &code,
            object: &code,
            region: (0, u64::MAX),
        };
        let mut base = section(&[0x41, 0x0e, 0x10, 0x86, 0x02]);
        // pc_begin of the FDE (after the CIE): PC-relative, pointing at the code.
        let fde = read_u32(&base, 0).unwrap() as usize + 4;
        let place = 0x1000 + fde as u64 + 8;
        let delta = 0x1010u64.wrapping_sub(place) as u32;
        base[fde + 8..fde + 12].copy_from_slice(&delta.to_le_bytes());
        // A second FDE, of discarded code (zero address), sharing the CIE.
        let mut zero = vec![0u8; 4 + 4 + 8 + 1];
        zero[..4].copy_from_slice(&13u32.to_le_bytes());
        zero[4..8].copy_from_slice(&(base.len() as u32 + 4).to_le_bytes());
        base.extend(zero);
        let address = 0x1000;
        assert!(quick_frames(&base, address, &bounds, false).is_some());
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        let (mut quick, mut both, mut checked) = (0, 0, 0);
        for _ in 0..50_000 {
            let mut bytes = base.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = match next() % 3 {
                    0 => bytes[i] ^ (1 << (next() % 8)),
                    1 => [0, 1, 3, 0x0b, 0x1b, 0x80, 0xff][(next() % 7) as usize],
                    _ => next() as u8,
                };
            }
            if next().is_multiple_of(8) {
                bytes.truncate((next() % bytes.len() as u64) as usize);
            }
            let thorough = validate_with_gimli(&object, id, &bytes, address, &bounds);
            let found = quick_frames(&bytes, address, &bounds, false);
            if let Some(found) = &found {
                quick += 1;
                let thorough = thorough.unwrap_or_else(|e| panic!("{bytes:x?}: {e}"));
                assert_eq!(&thorough, found, "{bytes:x?}");
            }
            // Instructions found well formed beforehand need no second walk:
            // the answer is the same without it.
            if address_fields(&bytes).is_some() {
                checked += 1;
                let skipped = quick_frames(&bytes, address, &bounds, true);
                assert_eq!(skipped, found, "{bytes:x?}");
            }
            both += 1;
        }
        assert!(quick > 1000 && both > quick, "{quick} of {both}");
        assert!(checked > 1000, "{checked} checked beforehand");
    }

    /// A compiled object's unwind section: its instructions hold through
    /// relocation (only FDE addresses are relocated) until a relocation
    /// writes elsewhere.
    #[test]
    fn instructions_hold_only_while_relocations_write_fde_addresses() {
        let file = std::fs::read("testdata/debug/x86_64/counter.o").unwrap();
        let parse = || crate::input::parse("counter.o", &file).unwrap();
        let object = parse();
        let eh = (0..object.sections.len() as u32)
            .map(SectionId)
            .find(|&i| object.section(i).role == crate::input::Role::EhFrame)
            .unwrap();
        assert!(!object.section(eh).relocs.is_empty());
        assert!(instructions_hold(&object, eh));
        // Checked where an object is read ahead, not where facts are first
        // asked for on the linking thread (validating walks them there).
        crate::link::prepare::prepare(&object);
        assert_eq!(crate::link::prepare::facts(&object).unwind_checked, [eh]);
        assert!(crate::link::prepare::facts(&parse()).unwind_checked.is_empty());
        for shift in [4i64, -4, 1] {
            let mut moved = parse();
            let r = &mut moved.sections[eh.0 as usize].relocs[0];
            r.offset = r.offset.wrapping_add_signed(shift);
            assert!(!instructions_hold(&moved, eh), "moved by {shift}");
        }
    }

    /// A section at `address` with one CIE ("zR", pc-relative sdata4) and an
    /// FDE per `(start, length)`, each with the instructions of a C function.
    fn with_fdes(address: u64, fdes: &[(u64, u32)]) -> Vec<u8> {
        let mut out = section(&[])[..20].to_vec(); // the CIE
        for &(start, len) in fdes {
            let at = out.len() as u64;
            let place = address + at + 8;
            let mut fde = (at as u32 + 4).to_le_bytes().to_vec(); // CIE pointer
            fde.extend((start.wrapping_sub(place) as u32).to_le_bytes());
            fde.extend(len.to_le_bytes());
            fde.extend([0, 0x41, 0x0e, 0x10, 0x86, 0x02, 0, 0]); // no augmentation
            out.extend((fde.len() as u32).to_le_bytes());
            out.extend(fde);
        }
        out
    }

    /// Runs `test` with an object to name in errors and bounds: code at
    /// [0x2000, 0x2100), and an empty code section at its end.
    fn with_empty_fde_setup(test: impl FnOnce(&Object, &Bounds)) {
        let file = std::fs::read("testdata/debug/x86_64/counter.o").unwrap();
        let object = crate::input::parse("counter.o", &file).unwrap();
        let code = [(0x2000, 0x2100), (0x2100, 0x2100)];
        let bounds = Bounds {
            code: &code,
            object: &code,
            region: (0, u64::MAX),
        };
        test(&object, &bounds);
    }

    /// g++'s empty FDEs, at the start, in the middle and at the end of the
    /// code: accepted by both validations alike, not registered, and their
    /// initial location cleared (libgcc then skips them).
    #[test]
    fn empty_fdes_are_accepted_cleared_and_not_registered() {
        with_empty_fde_setup(|object, bounds| {
            let address = 0x1000;
            for empty in [0x2000, 0x2080, 0x20c0, 0x2100] {
                let fdes = [(0x2000, 0x40), (empty, 0), (0x2040, 0x80), (0x2000, 0)];
                let mut bytes = with_fdes(address, &fdes);
                // The CIE takes 20 bytes, each FDE 24.
                let (first, second, third, fourth) = (20, 44, 68, 92);
                let want = Found {
                    live: vec![address + first, address + third],
                    empty: vec![(second as usize + 8, 4), (fourth as usize + 8, 4)],
                };
                let quick = quick_frames(&bytes, address, bounds, false);
                assert_eq!(quick.as_ref(), Some(&want), "empty FDE at {empty:#x}");
                let thorough = validate_with_gimli(object, SectionId(0), &bytes, address, bounds);
                assert_eq!(thorough.unwrap(), want, "empty FDE at {empty:#x}");
                let frames = validate(object, SectionId(0), &mut bytes, address, bounds).unwrap();
                assert_eq!(frames.fdes, want.live);
                for (at, width) in want.empty {
                    assert_eq!(bytes[at..at + width], [0; 4]);
                }
                // A live FDE keeps its address; the walk still accepts the section.
                assert_ne!(bytes[first as usize + 8..][..4], [0; 4]);
                let again = quick_frames(&bytes, address, bounds, false).unwrap();
                assert_eq!(again.live, want.live);
            }
        });
    }

    /// An FDE outside the object's code stays an error, empty or not (an empty
    /// one may only sit inside or at the end of a code section).
    #[test]
    fn fdes_outside_the_code_are_refused() {
        with_empty_fde_setup(|object, bounds| {
            let address = 0x1000;
            for (start, len) in [
                (0x2100, 0x10),
                (0x20f0, 0x20),
                (0x1ff0, 0x20),
                (0x3000, 0),
                (0x1fff, 0),
            ] {
                let mut bytes = with_fdes(address, &[(0x2000, 0x40), (start, len)]);
                assert_eq!(quick_frames(&bytes, address, bounds, false), None);
                let e = validate(object, SectionId(0), &mut bytes, address, bounds).unwrap_err();
                let end = start + u64::from(len);
                let want =
                    format!("FDE covers [{start:#x}, {end:#x}), which is not inside the object's code");
                assert!(e.to_string().contains(&want), "{e}");
            }
        });
    }
}
