//! x86-64: relocation kinds, stubs and traps.
//!
//! The psABI is <https://gitlab.com/x86-psABIs/x86-64-ABI>. Its letters are used as
//! local names: `S` symbol, `A` addend, `P` place, `GOT` the global offset table,
//! `G + GOT` the symbol's slot in it, `Z` the symbol's size.
//!
//! Quirks worth knowing:
//! - The small code model assumes every symbol is within ±2 GiB of the code. relink
//!   keeps all loaded code, data, slots and stubs in one reserved region, so every
//!   PC-relative reference between them reaches by construction. References to the
//!   *process* (libc's `stderr` read with `R_X86_64_PC32` by gcc's PIE code) reach
//!   only when the region is placed near it.
//! - `R_X86_64_32` zero-extends and `R_X86_64_32S` sign-extends: static-model code
//!   needs its symbols in the low 2 GiB (`llc -relocation-model=static`,
//!   `gcc -fno-pic`).
//! - `GOTPCRELX`/`REX_GOTPCRELX` allow a linker to rewrite the `mov` through the GOT
//!   into a `lea`. relink does so only for an object's loads of its own strong
//!   variables ([`relax_got_load`]; llc marks them plain `GOTPCREL`, so the
//!   instruction bytes decide): such a variable keeps its storage for as long as
//!   that code lives. Everything else loads through the slot, which is what hot
//!   replacement rewrites.
//! - There is one global offset table per linker; `_GLOBAL_OFFSET_TABLE_` is its
//!   start, so the large-model `GOT64`/`GOTOFF64`/`GOTPC64` kinds work unchanged.

use super::{
    check_range, int_or_uint_range, signed_range, FixupError, FixupValues, KindInfo, Reach, Target,
    TlsAddend, TlsTarget,
};

/// A stub: one aligned word, `jmp rel32` straight to the symbol's current
/// address or, out of that jump's reach, `jmp *slot(%rip)` through the slot
/// (in an array of its own), padded with `int3` ([`stub_word`]). Eight bytes
/// put eight stubs in a cache line: a program that calls into many objects
/// about once each (wide 5,001) waited for cold stub lines at its callees'
/// first instructions, and 16-byte stubs that held their slot took twice as
/// many lines.
pub const STUB_SIZE: usize = 8;
/// A trap entry: `lea slot(%rip), %rdi; jmp *handler(%rip)`, padded with `int3`.
pub const TRAP_SIZE: usize = 16;

/// An `atexit` thunk: `movabs $dso_handle, %rdx; xor %esi, %esi;
/// movabs $__cxa_atexit, %rax; jmp *%rax`, padded with `int3`.
pub const ATEXIT_SIZE: usize = 32;

/// A thread-local kind's addend adjusts its PC-relative field (the `-4` from the
/// field to the end of the `lea` or `mov`), as for any other `rel32`.
pub const TLS_ADDEND: TlsAddend = TlsAddend::Field;

/// Every kind's facts ([`Kind::info`]), indexed by kind, worked out at compile
/// time: the linker asks for them several times per relocation, and a lookup
/// costs less than the matches that work them out. It has one entry per variant
/// and `kind as usize` is the variant's place (checked below), so indexing it
/// cannot fail.
const INFO: [KindInfo; Kind::VARIANTS] = {
    let mut table = [KindInfo::new(0); Kind::VARIANTS];
    let mut i = 0;
    while i < Kind::ALL.len() {
        let kind = Kind::ALL[i];
        table[kind as usize] = kind.facts();
        i += 1;
    }
    table
};

// `Kind::ALL` names every variant once, in declaration order: a variant added to
// the enum and not to `ALL` does not compile.
const _: () = {
    assert!(Kind::ALL.len() == Kind::VARIANTS);
    assert!(Kind::covers_every_variant(&Kind::ALL));
    let mut i = 0;
    while i < Kind::ALL.len() {
        assert!(Kind::ALL[i] as usize == i && Kind::ALL[i].variant_index() == i);
        i += 1;
    }
};

const _: () = assert!(STUB_SIZE == 8);
const _: () = assert!(TRAP_SIZE >= 13 && TRAP_SIZE.is_power_of_two());

relocation_kinds! {
/// The relocation kinds of x86-64, as JITLink names them where it can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Fixup expression: `Fixup <- S + A : uint64`.
    /// Errors: none.
    Pointer64,
    /// Fixup expression: `Fixup <- S + A : uint32`.
    /// Errors: the value must fit in an unsigned 32-bit field.
    Pointer32,
    /// Fixup expression: `Fixup <- S + A : int32`.
    /// Errors: the value must fit in a signed 32-bit field.
    Pointer32Signed,
    /// Fixup expression: `Fixup <- S + A : int16 or uint16`.
    /// Errors: the value must be in `[-2^15, 2^16)`.
    Pointer16,
    /// Fixup expression: `Fixup <- S + A : int8 or uint8`.
    /// Errors: the value must be in `[-2^7, 2^8)`.
    Pointer8,
    /// Fixup expression: `Fixup <- S + A - P : int64`.
    /// Errors: none.
    Delta64,
    /// Fixup expression: `Fixup <- S + A - P : int32`.
    /// Errors: the value must fit in a signed 32-bit field.
    Delta32,
    /// Fixup expression: `Fixup <- S + A - P : int16`.
    /// Errors: the value must fit in a signed 16-bit field.
    Delta16,
    /// Fixup expression: `Fixup <- S + A - P : int8`.
    /// Errors: the value must fit in a signed 8-bit field.
    Delta8,
    /// A call or jump (`R_X86_64_PLT32`).
    /// Fixup expression: `Fixup <- S + A - P : int32`, where `S` is the stub of a
    /// symbol defined outside the object (or replaceable).
    /// Errors: the value must fit in a signed 32-bit field.
    Branch32,
    /// A load through the symbol's slot (`GOTPCREL`, `GOTPCRELX`, `REX_GOTPCRELX`).
    /// Fixup expression: `Fixup <- GOT + G + A - P : int32`.
    /// Errors: the value must fit in a signed 32-bit field.
    GotDelta32,
    /// Fixup expression: `Fixup <- GOT + G + A - P : int64` (`GOTPCREL64`).
    GotDelta64,
    /// Fixup expression: `Fixup <- G + A : int64` (`GOT64`).
    GotOffset64,
    /// Fixup expression: `Fixup <- S + A - GOT : int64` (`GOTOFF64`).
    GotBaseOffset64,
    /// Fixup expression: `Fixup <- GOT + A - P : int32` (`GOTPC32`).
    /// Errors: the value must fit in a signed 32-bit field.
    GotBaseDelta32,
    /// Fixup expression: `Fixup <- GOT + A - P : int64` (`GOTPC64`).
    GotBaseDelta64,
    /// Fixup expression: `Fixup <- Z + A : uint32` (`SIZE32`).
    /// Errors: the value must fit in an unsigned 32-bit field.
    Size32,
    /// Fixup expression: `Fixup <- Z + A : uint64` (`SIZE64`).
    Size64,
    /// Fixup expression: `Fixup <- S + A - GOT : int64` with `S` the symbol's stub
    /// (`PLTOFF64`, large code model calls).
    StubBaseOffset64,
    /// `TLSGD`: a `lea` of the [`TlsIndex`](crate::runtime::tls::TlsIndex) cell
    /// `{module, offset}` relink allocates for the variable, passed to
    /// `__tls_get_addr` (general dynamic).
    /// Fixup expression: `Fixup <- CELL + A - P : int32` (`CELL` in `slot`).
    /// Errors: the value must fit in a signed 32-bit field.
    TlsIndexDelta32,
    /// `TLSLD`: as `TlsIndexDelta32`, to the cell `{module, 0}` of the variable's
    /// module (local dynamic: `DTPOFF32` offsets are added to the result).
    /// Fixup expression: `Fixup <- CELL + A - P : int32`.
    /// Errors: the value must fit in a signed 32-bit field.
    TlsModuleDelta32,
    /// `DTPOFF32`: the variable's offset in its module's block.
    /// Fixup expression: `Fixup <- S + A : int32` where `S` is that offset.
    /// Errors: the value must fit in a signed 32-bit field.
    DtpOffset32,
    /// `DTPOFF64`: Fixup expression: `Fixup <- S + A : int64`, `S` as in `DtpOffset32`.
    DtpOffset64,
    /// `DTPMOD64`: Fixup expression: `Fixup <- module id : uint64` (in `s`).
    DtpModule64,
    /// `GOTTPOFF` (initial exec): a load of the cell relink allocates holding the
    /// variable's offset from the thread pointer (`%fs:0`).
    /// Fixup expression: `Fixup <- CELL + A - P : int32` (`CELL` in `slot`).
    /// Errors: the value must fit in a signed 32-bit field.
    TpCellDelta32,
    /// `TPOFF32` (local exec): the variable's offset from the thread pointer.
    /// Fixup expression: `Fixup <- S + A : int32` where `S` is that offset.
    /// Errors: the value must fit in a signed 32-bit field.
    TpOffset32,
    /// `TPOFF64`: Fixup expression: `Fixup <- S + A : int64`, `S` as in `TpOffset32`.
    TpOffset64,
    /// `GOTPC32_TLSDESC` (`-mtls-dialect=gnu2`): a `lea` of the TLS descriptor
    /// `{resolver, module, offset}` relink allocates; `call *(%rax)` (`TLSDESC_CALL`)
    /// needs nothing.
    /// Fixup expression: `Fixup <- DESC + A - P : int32` (`DESC` in `slot`).
    /// Errors: the value must fit in a signed 32-bit field.
    TlsDescDelta32,
}
}

impl Kind {
    /// Every kind, in declaration order, for tables, tests and the fuzzer.
    pub const ALL: [Kind; Kind::VARIANTS] = [
        Kind::Pointer64,
        Kind::Pointer32,
        Kind::Pointer32Signed,
        Kind::Pointer16,
        Kind::Pointer8,
        Kind::Delta64,
        Kind::Delta32,
        Kind::Delta16,
        Kind::Delta8,
        Kind::Branch32,
        Kind::GotDelta32,
        Kind::GotDelta64,
        Kind::GotOffset64,
        Kind::GotBaseOffset64,
        Kind::GotBaseDelta32,
        Kind::GotBaseDelta64,
        Kind::Size32,
        Kind::Size64,
        Kind::StubBaseOffset64,
        Kind::TlsIndexDelta32,
        Kind::TlsModuleDelta32,
        Kind::DtpOffset32,
        Kind::DtpOffset64,
        Kind::DtpModule64,
        Kind::TpCellDelta32,
        Kind::TpOffset32,
        Kind::TpOffset64,
        Kind::TlsDescDelta32,
    ];

    /// Facts about the kind that the linker needs before applying it.
    #[inline]
    pub fn info(self) -> KindInfo {
        INFO[self as usize]
    }

    /// What [`INFO`] holds for the kind.
    const fn facts(self) -> KindInfo {
        use Kind::*;
        let width = match self {
            Pointer64 | Delta64 | GotDelta64 | GotOffset64 | GotBaseOffset64 | GotBaseDelta64
            | Size64 | StubBaseOffset64 | DtpOffset64 | DtpModule64 | TpOffset64 => 8,
            Pointer32 | Pointer32Signed | Delta32 | Branch32 | GotDelta32 | GotBaseDelta32
            | Size32 | TlsIndexDelta32 | TlsModuleDelta32 | DtpOffset32 | TpCellDelta32
            | TpOffset32 | TlsDescDelta32 => 4,
            Pointer16 | Delta16 => 2,
            Pointer8 | Delta8 => 1,
        };
        let mut info = KindInfo::new(width);
        match self {
            Pointer32 | Pointer32Signed | Pointer16 | Pointer8 => info.absolute_narrow = true,
            Delta32 => {
                info.pc_relative_narrow = true;
                info.field_bias = 4;
            }
            Delta16 | Delta8 => {
                info.pc_relative_narrow = true;
                info.pc_relative_short = true;
                info.field_bias = width as u8;
            }
            Branch32 | StubBaseOffset64 => info.reach = Reach::Stub,
            GotDelta32 | GotDelta64 => info.target = Target::Slot,
            GotOffset64 => {
                info.target = Target::Slot;
                info.uses_got_base = true;
            }
            GotBaseOffset64 | GotBaseDelta32 | GotBaseDelta64 => info.uses_got_base = true,
            Size32 | Size64 => info.uses_size = true,
            TlsIndexDelta32 => info.target = Target::Tls(TlsTarget::Index),
            TlsModuleDelta32 => info.target = Target::Tls(TlsTarget::ModuleIndex),
            DtpOffset32 | DtpOffset64 => info.target = Target::Tls(TlsTarget::Offset),
            DtpModule64 => info.target = Target::Tls(TlsTarget::Module),
            TpCellDelta32 => info.target = Target::Tls(TlsTarget::TpCell),
            TpOffset32 | TpOffset64 => info.target = Target::Tls(TlsTarget::TpOffset),
            TlsDescDelta32 => info.target = Target::Tls(TlsTarget::Descriptor),
            Pointer64 | Delta64 => {}
        }
        if matches!(self, StubBaseOffset64) {
            info.uses_got_base = true;
        }
        info
    }

    /// Computes the fixup and writes it into `place` (at least `info().width` long).
    pub fn apply(self, place: &mut [u8], v: &FixupValues) -> Result<(), FixupError> {
        use Kind::*;
        let (s, a, p) = (v.s, v.a as u64, v.p);
        let (got, slot, z) = (v.got, v.slot, v.z);
        match self {
            Pointer64 => write64(place, s.wrapping_add(a)),
            Pointer32 => write_checked(place, s.wrapping_add(a), (0, 1 << 32), 4)?,
            Pointer32Signed => write_checked(place, s.wrapping_add(a), signed_range(32), 4)?,
            Pointer16 => write_checked(place, s.wrapping_add(a), int_or_uint_range(16), 2)?,
            Pointer8 => write_checked(place, s.wrapping_add(a), int_or_uint_range(8), 1)?,
            Delta64 => write64(place, s.wrapping_add(a).wrapping_sub(p)),
            Delta32 | Branch32 => write_checked(
                place,
                s.wrapping_add(a).wrapping_sub(p),
                signed_range(32),
                4,
            )?,
            Delta16 => write_checked(
                place,
                s.wrapping_add(a).wrapping_sub(p),
                signed_range(16),
                2,
            )?,
            Delta8 => write_checked(place, s.wrapping_add(a).wrapping_sub(p), signed_range(8), 1)?,
            GotDelta32 => write_checked(
                place,
                slot.wrapping_add(a).wrapping_sub(p),
                signed_range(32),
                4,
            )?,
            GotDelta64 => write64(place, slot.wrapping_add(a).wrapping_sub(p)),
            GotOffset64 => write64(place, slot.wrapping_sub(got).wrapping_add(a)),
            GotBaseOffset64 | StubBaseOffset64 => {
                write64(place, s.wrapping_add(a).wrapping_sub(got))
            }
            GotBaseDelta32 => write_checked(
                place,
                got.wrapping_add(a).wrapping_sub(p),
                signed_range(32),
                4,
            )?,
            GotBaseDelta64 => write64(place, got.wrapping_add(a).wrapping_sub(p)),
            Size32 => write_checked(place, z.wrapping_add(a), (0, 1 << 32), 4)?,
            Size64 => write64(place, z.wrapping_add(a)),
            TlsIndexDelta32 | TlsModuleDelta32 | TpCellDelta32 | TlsDescDelta32 => write_checked(
                place,
                slot.wrapping_add(a).wrapping_sub(p),
                signed_range(32),
                4,
            )?,
            DtpOffset32 | TpOffset32 => {
                write_checked(place, s.wrapping_add(a), signed_range(32), 4)?
            }
            DtpOffset64 | TpOffset64 => write64(place, s.wrapping_add(a)),
            DtpModule64 => write64(place, s),
        }
        Ok(())
    }
}

/// Bytes of immediate after a RIP-relative displacement at `field` in `code`:
/// its addend counts them too (`movl $1, x(%rip)` has `x - 8`). Read from the
/// ModRM byte before the field (mod 00, r/m 101: RIP-relative) and the opcode
/// before that; 0 for anything else. (VEX-encoded instructions are not read.)
pub fn immediate_after(code: &[u8], field: usize) -> u64 {
    let byte = |back: usize| field.checked_sub(back).and_then(|i| code.get(i)).copied();
    let Some(modrm) = byte(1).filter(|m| m & 0xc7 == 0x05) else {
        return 0;
    };
    let (reg, Some(op)) = ((modrm >> 3) & 7, byte(2)) else {
        return 0;
    };
    match (byte(4), byte(3)) {
        (Some(0x0f), Some(0x3a)) => return 1,
        (Some(0x0f), Some(0x38)) => return 0,
        (_, Some(0x0f)) => {
            return match op {
                0x70..=0x73 | 0xa4 | 0xac | 0xba | 0xc2 | 0xc4..=0xc6 => 1,
                _ => 0,
            }
        }
        _ => {}
    }
    // An operand-size prefix (before a REX prefix, if any) makes imm32 imm16.
    let rex = byte(3).is_some_and(|b| (0x40..=0x4f).contains(&b));
    let imm32 = if byte(if rex { 4 } else { 3 }) == Some(0x66) { 2 } else { 4 };
    match op {
        0x80 | 0x83 | 0xc0 | 0xc1 | 0x6b => 1,
        0xc6 if reg == 0 => 1,
        0xf6 if reg <= 1 => 1,
        0x81 | 0x69 => imm32,
        0xc7 if reg == 0 => imm32,
        0xf7 if reg <= 1 => imm32,
        _ => 0,
    }
}

/// Relaxes a load of a GOT entry to computing the address itself, given the two
/// bytes before a `GOTPCREL` field whose addend is -4: `mov foo@GOTPCREL(%rip),
/// %reg` (with or without REX) becomes `lea foo(%rip), %reg`, and the field then
/// takes `S + A - P` (`Delta32`). Returns false, changing nothing, for any other
/// instruction (`call *`, `jmp *`, arithmetic with the entry).
pub fn relax_got_load(insn: &mut [u8]) -> bool {
    match insn {
        // RIP-relative operand (mod 00, rm 101).
        [op @ 0x8b, modrm] if *modrm & 0xc7 == 0x05 => {
            *op = 0x8d; // lea r64, m
            true
        }
        _ => false,
    }
}

/// Undoes [`relax_got_load`], given the same two bytes: `lea foo(%rip), %reg`
/// becomes `mov foo@GOTPCREL(%rip), %reg` again, whose field then takes the
/// slot's `G + GOT + A - P` (`GotDelta32`). Returns false, changing nothing,
/// for any other instruction.
pub fn unrelax_got_load(insn: &mut [u8]) -> bool {
    match insn {
        [op @ 0x8d, modrm] if *modrm & 0xc7 == 0x05 => {
            *op = 0x8b; // mov r64, m
            true
        }
        _ => false,
    }
}

/// Relaxes initial exec to local exec (the psABI's `GOTTPOFF` relaxation), given
/// the three bytes before a `GOTTPOFF` field whose addend is -4: `movq
/// x@gottpoff(%rip), %reg` becomes `movq $x@tpoff, %reg` and `addq
/// x@gottpoff(%rip), %reg` becomes `addq $x@tpoff, %reg`; the field then takes
/// the thread-pointer offset itself (`TpOffset32`). Returns false, changing
/// nothing, for any other instruction.
pub fn relax_gottpoff(insn: &mut [u8]) -> bool {
    let [rex, op, modrm] = *insn else {
        return false;
    };
    // REX.W, maybe REX.R (r8-r15); RIP-relative operand (mod 00, rm 101).
    if rex & 0xfb != 0x48 || modrm & 0xc7 != 0x05 {
        return false;
    }
    let new_op = match op {
        0x8b => 0xc7, // mov r/m64, imm32
        0x03 => 0x81, // add r/m64, imm32 (/0)
        _ => return false,
    };
    let reg = (modrm >> 3) & 7;
    // The register moves from ModRM.reg to ModRM.rm: REX.R becomes REX.B.
    insn.copy_from_slice(&[0x48 | ((rex & 0x04) >> 2), new_op, 0xc0 | reg]);
    true
}

fn write64(place: &mut [u8], v: u64) {
    place[..8].copy_from_slice(&v.to_le_bytes());
}

/// Range-checks `v` (as a signed value) and writes its low `width` bytes.
fn write_checked(
    place: &mut [u8],
    v: u64,
    (lo, hi): (i64, i64),
    width: usize,
) -> Result<(), FixupError> {
    check_range(v as i64, lo, hi)?;
    place[..width].copy_from_slice(&v.to_le_bytes()[..width]);
    Ok(())
}

/// `rel32` from the end of an instruction at `end` to `target`.
fn rel32(target: u64, end: u64) -> Result<[u8; 4], FixupError> {
    let (lo, hi) = signed_range(32);
    let d = check_range(target.wrapping_sub(end) as i64, lo, hi)?;
    Ok((d as i32).to_le_bytes())
}

/// `movabs $dso_handle, %rdx; xor %esi, %esi; movabs $cxa_atexit, %rax;
/// jmp *%rax`: a tail call of `__cxa_atexit(f, NULL, dso_handle)` with `f`
/// already in `%rdi`. Absolute addresses, so it works at any distance. `out` is
/// at least [`ATEXIT_SIZE`] bytes; bytes after the code are left as they are.
pub fn write_atexit(out: &mut [u8], dso_handle: u64, cxa_atexit: u64) {
    out[..2].copy_from_slice(&[0x48, 0xba]); // movabs rdx, dso_handle
    out[2..10].copy_from_slice(&dso_handle.to_le_bytes());
    out[10..12].copy_from_slice(&[0x31, 0xf6]); // xor esi, esi
    out[12..14].copy_from_slice(&[0x48, 0xb8]); // movabs rax, __cxa_atexit
    out[14..22].copy_from_slice(&cxa_atexit.to_le_bytes());
    out[22..24].copy_from_slice(&[0xff, 0xe0]); // jmp rax
}

const _: () = assert!(ATEXIT_SIZE >= 24);

/// `jmp *slot(%rip)` — `ff 25 rel32` — then `int3` padding: a stub as first
/// written, jumping through its slot (see [`stub_word`]).
pub fn write_stub(out: &mut [u8], at: u64, slot: u64) -> Result<(), FixupError> {
    let out = out
        .get_mut(..STUB_SIZE)
        .ok_or(FixupError::Truncated { need: STUB_SIZE })?;
    out.fill(0xcc);
    out[..2].copy_from_slice(&[0xff, 0x25]);
    out[2..6].copy_from_slice(&rel32(slot, at + 6)?);
    Ok(())
}

/// The stub at `at` rewritten to reach `target` (which its slot at `slot`
/// holds): `jmp rel32` (`e9`) straight there when it is within reach, else
/// [`write_stub`]'s `jmp *slot(%rip)`. The stub is one aligned word, so
/// rewriting it is one 8-byte store, as rewriting the slot is: code running the
/// stub meanwhile executes the one jump or the other, whole (the one
/// cross-modifying write: a whole instruction in an aligned word, as JVMs
/// patch their call sites). Jumping straight, a call through a stub that is in
/// no cache waits for the stub's line only, not also for its slot's.
pub fn stub_word(at: u64, target: u64, slot: u64) -> u64 {
    let mut word = [0xcc; STUB_SIZE];
    if let Ok(rel) = rel32(target, at + 5) {
        word[0] = 0xe9;
        word[1..5].copy_from_slice(&rel);
    } else if write_stub(&mut word, at, slot).is_err() {
        // Not reached: the table keeps a stub and its slot in one region.
        word = [0xcc; STUB_SIZE];
    }
    u64::from_le_bytes(word)
}

/// `lea slot(%rip), %rdi; jmp *handler_cell(%rip)` then `int3` padding.
///
/// The handler is entered as if the stub's caller had called it with the slot's
/// address as its argument; the stack is aligned as at any function entry.
pub fn write_trap(out: &mut [u8], at: u64, slot: u64, handler_cell: u64) -> Result<(), FixupError> {
    let out = out
        .get_mut(..TRAP_SIZE)
        .ok_or(FixupError::Truncated { need: TRAP_SIZE })?;
    out.fill(0xcc);
    out[..3].copy_from_slice(&[0x48, 0x8d, 0x3d]);
    out[3..7].copy_from_slice(&rel32(slot, at + 7)?);
    out[7..9].copy_from_slice(&[0xff, 0x25]);
    out[9..13].copy_from_slice(&rel32(handler_cell, at + 13)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: Kind, v: FixupValues) -> Result<Vec<u8>, FixupError> {
        let mut buf = vec![0xaau8; 8];
        kind.apply(&mut buf, &v)?;
        Ok(buf[..kind.info().width].to_vec())
    }

    #[test]
    fn the_info_table_holds_every_kinds_facts() {
        for kind in Kind::ALL {
            assert_eq!(kind.info(), kind.facts(), "{kind:?}");
        }
        assert_eq!(Kind::Branch32.info().reach, Reach::Stub);
        assert_eq!(Kind::Pointer16.info().width, 2);
    }

    fn vals(s: u64, a: i64, p: u64) -> FixupValues {
        FixupValues {
            s,
            a,
            p,
            slot: 0x2000,
            got: 0x1000,
            z: 24,
        }
    }

    fn oor(value: i64, (lo, hi): (i64, i64)) -> Result<Vec<u8>, FixupError> {
        Err(FixupError::OutOfRange { value, lo, hi })
    }

    /// (kind, S, A, P) → bytes or error, including both ends of every range.
    #[test]
    fn encodings_and_ranges() {
        use Kind::*;
        let s32 = signed_range(32);
        let cases: Vec<(Kind, FixupValues, Result<Vec<u8>, FixupError>)> = vec![
            (
                Pointer64,
                vals(0x1122334455667788, 0, 0),
                Ok(0x1122334455667788u64.to_le_bytes().to_vec()),
            ),
            (Pointer64, vals(u64::MAX, 1, 0), Ok(vec![0; 8])),
            (Pointer32, vals(0xffff_fff0, 0xf, 0), Ok(vec![0xff; 4])),
            (
                Pointer32,
                vals(0xffff_fff0, 0x10, 0),
                oor(1 << 32, (0, 1 << 32)),
            ),
            (Pointer32, vals(0, -1, 0), oor(-1, (0, 1 << 32))),
            (
                Pointer32Signed,
                vals(0x7fff_ffff, 0, 0),
                Ok(vec![0xff, 0xff, 0xff, 0x7f]),
            ),
            (
                Pointer32Signed,
                vals(0x8000_0000, 0, 0),
                oor(0x8000_0000, s32),
            ),
            (
                Pointer32Signed,
                vals(0, -0x8000_0000, 0),
                Ok(vec![0, 0, 0, 0x80]),
            ),
            (
                Pointer32Signed,
                vals(0, -0x8000_0001, 0),
                oor(-0x8000_0001, s32),
            ),
            (Pointer16, vals(0xffff, 0, 0), Ok(vec![0xff, 0xff])),
            (
                Pointer16,
                vals(0x10000, 0, 0),
                oor(0x10000, int_or_uint_range(16)),
            ),
            (Pointer16, vals(0, -0x8000, 0), Ok(vec![0x00, 0x80])),
            (
                Pointer16,
                vals(0, -0x8001, 0),
                oor(-0x8001, int_or_uint_range(16)),
            ),
            (Pointer8, vals(0xff, 0, 0), Ok(vec![0xff])),
            (
                Pointer8,
                vals(0x100, 0, 0),
                oor(0x100, int_or_uint_range(8)),
            ),
            (Pointer8, vals(0, -129, 0), oor(-129, int_or_uint_range(8))),
            (
                Delta64,
                vals(0x1000, 8, 0x2000),
                Ok((-0xff8i64).to_le_bytes().to_vec()),
            ),
            (
                Delta32,
                vals(0x1000, -4, 0x1000),
                Ok((-4i32).to_le_bytes().to_vec()),
            ),
            (Delta32, vals(0x8000_0000, 0, 0), oor(0x8000_0000, s32)),
            (
                Delta32,
                vals(0x7fff_ffff, 0, 0),
                Ok(vec![0xff, 0xff, 0xff, 0x7f]),
            ),
            (Delta32, vals(0, 0, 0x8000_0000), Ok(vec![0, 0, 0, 0x80])),
            (Delta32, vals(0, 0, 0x8000_0001), oor(-0x8000_0001, s32)),
            (Delta16, vals(0x7fff, 0, 0), Ok(vec![0xff, 0x7f])),
            (Delta16, vals(0x8000, 0, 0), oor(0x8000, signed_range(16))),
            (Delta16, vals(0, 0, 0x8000), Ok(vec![0x00, 0x80])),
            (Delta8, vals(0x8f, 0, 0x10), Ok(vec![0x7f])),
            (Delta8, vals(0x90, 0, 0x10), oor(0x80, signed_range(8))),
            (Delta8, vals(0x10, 0, 0x90), Ok(vec![0x80])),
            (Delta8, vals(0x10, 0, 0x91), oor(-0x81, signed_range(8))),
            (
                Branch32,
                vals(0x1000, -4, 0x2000),
                Ok((-0x1004i32).to_le_bytes().to_vec()),
            ),
            (
                Branch32,
                vals(0x1_0000_0000, -4, 0x0),
                oor(0xffff_fffc, s32),
            ),
            (
                GotDelta32,
                vals(0, -4, 0x3000),
                Ok((-0x1004i32).to_le_bytes().to_vec()),
            ),
            (
                GotDelta64,
                vals(0, -4, 0x3000),
                Ok((-0x1004i64).to_le_bytes().to_vec()),
            ),
            (
                GotOffset64,
                vals(0, 0, 0),
                Ok(0x1000u64.to_le_bytes().to_vec()),
            ),
            (
                GotBaseOffset64,
                vals(0x1800, 8, 0),
                Ok(0x808u64.to_le_bytes().to_vec()),
            ),
            (
                GotBaseDelta32,
                vals(0, 2, 0x800),
                Ok(0x802u32.to_le_bytes().to_vec()),
            ),
            (
                GotBaseDelta64,
                vals(0, 2, 0x1800),
                Ok((-0x7fei64).to_le_bytes().to_vec()),
            ),
            (Size32, vals(0, 8, 0), Ok(32u32.to_le_bytes().to_vec())),
            (Size32, vals(0, -25, 0), oor(-1, (0, 1 << 32))),
            (Size64, vals(0, 0, 0), Ok(24u64.to_le_bytes().to_vec())),
            (
                StubBaseOffset64,
                vals(0x1010, 0, 0),
                Ok(0x10u64.to_le_bytes().to_vec()),
            ),
            (
                TlsIndexDelta32,
                vals(0, -4, 0x3000),
                Ok((-0x1004i32).to_le_bytes().to_vec()),
            ),
            (
                DtpOffset32,
                vals(0x10, 4, 0),
                Ok(0x14u32.to_le_bytes().to_vec()),
            ),
            (DtpOffset32, vals(0x8000_0000, 0, 0), oor(0x8000_0000, s32)),
            (
                DtpOffset64,
                vals(0x10, 8, 0),
                Ok(0x18u64.to_le_bytes().to_vec()),
            ),
            (
                DtpModule64,
                vals(0x1_0000_0003, 0, 0),
                Ok(0x1_0000_0003u64.to_le_bytes().to_vec()),
            ),
            // Static TLS: thread-pointer offsets are negative on x86-64.
            (
                TpCellDelta32,
                vals(0, -4, 0x3000),
                Ok((-0x1004i32).to_le_bytes().to_vec()),
            ),
            (
                TpOffset32,
                vals((-0x150i64) as u64, 4, 0),
                Ok((-0x14ci32).to_le_bytes().to_vec()),
            ),
            (
                TpOffset32,
                vals((-0x8000_0001i64) as u64, 0, 0),
                oor(-0x8000_0001, s32),
            ),
            (
                TpOffset64,
                vals((-0x150i64) as u64, 8, 0),
                Ok((-0x148i64).to_le_bytes().to_vec()),
            ),
            (
                TlsDescDelta32,
                vals(0, -4, 0x3000),
                Ok((-0x1004i32).to_le_bytes().to_vec()),
            ),
        ];
        for (i, (kind, v, want)) in cases.into_iter().enumerate() {
            assert_eq!(run(kind, v), want, "case {i}: {kind:?} {v:?}");
        }
    }

    #[test]
    fn gottpoff_relaxes_mov_and_add_only() {
        let relax = |b: [u8; 3]| {
            let mut b = b;
            relax_gottpoff(&mut b).then_some(b)
        };
        // movq x@gottpoff(%rip), %rax -> movq $x@tpoff, %rax
        assert_eq!(relax([0x48, 0x8b, 0x05]), Some([0x48, 0xc7, 0xc0]));
        // movq x@gottpoff(%rip), %r12 -> movq $x@tpoff, %r12
        assert_eq!(relax([0x4c, 0x8b, 0x25]), Some([0x49, 0xc7, 0xc4]));
        // addq x@gottpoff(%rip), %rdx -> addq $x@tpoff, %rdx
        assert_eq!(relax([0x48, 0x03, 0x15]), Some([0x48, 0x81, 0xc2]));
        // A non-RIP-relative operand, a 32-bit mov, another opcode: left alone.
        assert_eq!(relax([0x48, 0x8b, 0x04]), None);
        assert_eq!(relax([0x40, 0x8b, 0x05]), None);
        assert_eq!(relax([0x48, 0x2b, 0x05]), None);
        assert!(!relax_gottpoff(&mut [0x48, 0x8b]));
    }

    #[test]
    fn got_loads_relax_to_lea_and_nothing_else_does() {
        let relax = |b: [u8; 2]| {
            let mut b = b;
            relax_got_load(&mut b).then_some(b)
        };
        // movq foo@GOTPCREL(%rip), %r12 (4c 8b 25) -> leaq foo(%rip), %r12
        assert_eq!(relax([0x8b, 0x25]), Some([0x8d, 0x25]));
        // movl foo@GOTPCREL(%rip), %eax -> leal foo(%rip), %eax
        assert_eq!(relax([0x8b, 0x05]), Some([0x8d, 0x05]));
        // call *foo@GOTPCREL(%rip), addq foo@GOTPCREL(%rip), %rax, and a mov
        // whose operand is not RIP-relative: left alone.
        assert_eq!(relax([0xff, 0x15]), None);
        assert_eq!(relax([0x03, 0x05]), None);
        assert_eq!(relax([0x8b, 0x04]), None);
        assert!(!relax_got_load(&mut [0x8b]));
        // Undone: back to the load, and only from a relaxed one.
        for b in [[0x8b, 0x25], [0x8b, 0x05]] {
            let mut relaxed = relax(b).unwrap();
            assert!(unrelax_got_load(&mut relaxed));
            assert_eq!(relaxed, b);
        }
        assert!(!unrelax_got_load(&mut [0x8b, 0x05]));
        assert!(!unrelax_got_load(&mut [0x8d, 0x04]));
    }

    #[test]
    fn every_kind_has_a_consistent_width() {
        for kind in Kind::ALL {
            let w = kind.info().width;
            assert!(matches!(w, 1 | 2 | 4 | 8), "{kind:?}");
            // A place one byte short is refused, not overrun.
            let mut short = vec![0u8; w - 1];
            assert_eq!(
                super::super::RelocKind::X86_64(kind).apply(&mut short, &vals(0, 0, 0)),
                Err(FixupError::Truncated { need: w })
            );
        }
    }

    #[test]
    fn stub_jumps_through_slot() {
        let mut b = [0u8; STUB_SIZE];
        // jmp *0x1ffa(%rip): next instruction at 0x1006.
        write_stub(&mut b, 0x1000, 0x3000).unwrap();
        assert_eq!(b, [0xff, 0x25, 0xfa, 0x1f, 0, 0, 0xcc, 0xcc]);
        assert!(write_stub(&mut b, 0, 1 << 40).is_err());
        assert!(write_stub(&mut b[..5], 0, 0).is_err());
    }

    #[test]
    fn stub_word_jumps_straight_within_reach_and_through_the_slot_beyond() {
        let word = |at, target, slot| stub_word(at, target, slot).to_le_bytes();
        // jmp 0x2000: next instruction at 0x1005.
        assert_eq!(
            word(0x1000, 0x2000, 0x3000),
            [0xe9, 0xfb, 0x0f, 0, 0, 0xcc, 0xcc, 0xcc]
        );
        // Backwards, and at the edge of reach.
        assert_eq!(word(0x2000, 0x1000, 0x3000)[..5], [0xe9, 0xfb, 0xef, 0xff, 0xff]);
        let edge = 0x1005 + i32::MAX as u64;
        assert_eq!(word(0x1000, edge, 0x3000)[..5], [0xe9, 0xff, 0xff, 0xff, 0x7f]);
        // One byte beyond: the jump through the slot, as first written.
        let mut first = [0u8; STUB_SIZE];
        write_stub(&mut first, 0x1000, 0x3000).unwrap();
        assert_eq!(word(0x1000, edge + 1, 0x3000), first);
        assert_eq!(word(0x1000, 1 << 47, 0x3000), first);
    }

    #[test]
    fn trap_loads_slot_and_jumps_to_handler() {
        let mut b = [0u8; TRAP_SIZE];
        write_trap(&mut b, 0x1000, 0x1107, 0x200d).unwrap();
        assert_eq!(&b[..7], &[0x48, 0x8d, 0x3d, 0x00, 0x01, 0, 0]);
        assert_eq!(&b[7..13], &[0xff, 0x25, 0x00, 0x10, 0, 0]);
        assert_eq!(&b[13..], &[0xcc; 3]);
    }
}
