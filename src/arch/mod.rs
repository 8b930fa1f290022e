//! Everything that depends on the instruction set: relocation kinds, how each is
//! computed, range-checked and encoded, and the code of stubs, traps and veneers.
//!
//! One flat file per architecture ([`x86_64`], [`aarch64`]). Formats map their raw
//! relocation types onto these kinds in `input/`; nothing here knows a file format,
//! and nothing outside this module knows an instruction encoding.
//!
//! A fixup is computed with *target* addresses (where the code will run) and written
//! into a *working* byte slice (where relink writes it). The two may differ.

/// Declares an architecture's relocation `Kind` enum and numbers its variants:
/// `Kind::VARIANTS` counts them and `Kind::variant_index` gives each its place in
/// the declaration, so that the arch file can prove at compile time that its
/// tables (`Kind::ALL`, the info table) describe every variant.
macro_rules! relocation_kinds {
    (
        $(#[$meta:meta])*
        pub enum Kind {
            $(
                $(#[$vmeta:meta])*
                $name:ident $({ $($field:ident: $fty:ty),* $(,)? })?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum Kind {
            $( $(#[$vmeta])* $name $({ $($field: $fty),* })?, )*
        }

        /// The variants of [`Kind`] without their fields, in declaration order.
        #[derive(Clone, Copy)]
        enum Variant {
            $($name,)*
        }

        impl Kind {
            /// How many variants `Kind` has.
            pub const VARIANTS: usize = [$(Variant::$name),*].len();

            /// The variant's place in the declaration, in `0..VARIANTS`.
            pub const fn variant_index(self) -> usize {
                match self {
                    $(Kind::$name { .. } => Variant::$name as usize,)*
                }
            }

            /// Whether `kinds` holds at least one kind of every variant.
            const fn covers_every_variant(kinds: &[Kind]) -> bool {
                let mut seen = [false; Kind::VARIANTS];
                let mut i = 0;
                while i < kinds.len() {
                    seen[kinds[i].variant_index()] = true;
                    i += 1;
                }
                let mut v = 0;
                while v < Kind::VARIANTS {
                    if !seen[v] {
                        return false;
                    }
                    v += 1;
                }
                true
            }
        }
    };
}

pub mod aarch64;
#[cfg(test)]
mod tests;
pub mod x86_64;

use std::fmt;

/// An instruction set relink can link for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture of the running process.
    pub const HOST: Option<Arch> = if cfg!(target_arch = "x86_64") {
        Some(Arch::X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(Arch::Aarch64)
    } else {
        None
    };

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86-64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// Size in bytes of one stub (jumps through its slot).
    pub fn stub_size(self) -> usize {
        match self {
            Arch::X86_64 => x86_64::STUB_SIZE,
            Arch::Aarch64 => aarch64::STUB_SIZE,
        }
    }

    /// Where in a stub its slot lies, if there (AArch64); x86-64's slots lie in
    /// an array of their own.
    pub fn stub_slot(self) -> Option<usize> {
        match self {
            Arch::X86_64 => None,
            Arch::Aarch64 => Some(aarch64::STUB_SLOT),
        }
    }

    /// Size in bytes of one trap entry (reports its slot's symbol, then aborts).
    pub fn trap_size(self) -> usize {
        match self {
            Arch::X86_64 => x86_64::TRAP_SIZE,
            Arch::Aarch64 => aarch64::TRAP_SIZE,
        }
    }

    /// Size in bytes of one branch veneer (0: the architecture needs none).
    pub fn veneer_size(self) -> usize {
        match self {
            Arch::X86_64 => 0,
            Arch::Aarch64 => aarch64::VENEER_SIZE,
        }
    }

    /// Bytes reserved for an `atexit` thunk (see [`Arch::write_atexit`]): the
    /// larger of the architectures' thunks.
    pub const ATEXIT_SIZE: usize = if x86_64::ATEXIT_SIZE > aarch64::ATEXIT_SIZE {
        x86_64::ATEXIT_SIZE
    } else {
        aarch64::ATEXIT_SIZE
    };

    /// Writes `atexit(f)` for one object: `__cxa_atexit(f, NULL, dso_handle)`
    /// with the object's own `__dso_handle` (glibc 2.34+ has no `atexit` in
    /// libc.so: it is compiled into each executable and library from
    /// libc_nonshared.a, for this reason). Absolute addresses, so it works at any
    /// distance. `out` is at least [`Arch::ATEXIT_SIZE`] bytes; the bytes after
    /// the architecture's thunk are filled with `int3` (`0xcc`).
    pub fn write_atexit(self, out: &mut [u8], dso_handle: u64, cxa_atexit: u64) {
        let out = &mut out[..Self::ATEXIT_SIZE];
        out.fill(0xcc);
        match self {
            Arch::X86_64 => x86_64::write_atexit(out, dso_handle, cxa_atexit),
            Arch::Aarch64 => aarch64::write_atexit(out, dso_handle, cxa_atexit),
        }
    }

    /// What the addend of a thread-local kind that reaches a cell means.
    pub fn tls_addend(self) -> TlsAddend {
        match self {
            Arch::X86_64 => x86_64::TLS_ADDEND,
            Arch::Aarch64 => aarch64::TLS_ADDEND,
        }
    }

    /// Writes a stub at target address `at` that jumps to the address held in `slot`.
    pub fn write_stub(self, out: &mut [u8], at: u64, slot: u64) -> Result<(), FixupError> {
        match self {
            Arch::X86_64 => x86_64::write_stub(out, at, slot),
            Arch::Aarch64 => aarch64::write_stub(out, at, slot),
        }
    }

    /// The stub at `at` rewritten to reach `target`, which its slot at `slot`
    /// holds, where the architecture's stubs jump straight (x86-64:
    /// [`x86_64::stub_word`], one aligned word); `None` where a stub always
    /// loads its slot. AArch64's keep loading it: an instruction rewritten
    /// under running code would need its cache line cleaned and invalidated
    /// on every rebinding, and qemu-user, which runs relink's AArch64 tests,
    /// does not see code rewritten through another mapping of its page.
    pub fn stub_word(self, at: u64, target: u64, slot: u64) -> Option<u64> {
        match self {
            Arch::X86_64 => Some(x86_64::stub_word(at, target, slot)),
            Arch::Aarch64 => None,
        }
    }

    /// Writes a trap entry at `at`: it passes `slot` (the slot address) as the first
    /// argument to the function whose address is stored at `handler_cell`.
    pub fn write_trap(
        self,
        out: &mut [u8],
        at: u64,
        slot: u64,
        handler_cell: u64,
    ) -> Result<(), FixupError> {
        match self {
            Arch::X86_64 => x86_64::write_trap(out, at, slot, handler_cell),
            Arch::Aarch64 => aarch64::write_trap(out, at, slot, handler_cell),
        }
    }

    /// Writes a veneer at `at` that branches to `target` (AArch64 only).
    pub fn write_veneer(self, out: &mut [u8], at: u64, target: u64) -> Result<(), FixupError> {
        match self {
            Arch::X86_64 => Err(FixupError::Unsupported("x86-64 has no veneers")),
            Arch::Aarch64 => aarch64::write_veneer(out, at, target),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A relocation kind of one architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelocKind {
    X86_64(x86_64::Kind),
    Aarch64(aarch64::Kind),
}

impl RelocKind {
    pub fn arch(self) -> Arch {
        match self {
            RelocKind::X86_64(_) => Arch::X86_64,
            RelocKind::Aarch64(_) => Arch::Aarch64,
        }
    }

    /// Facts about the kind that the linker needs before applying it.
    #[inline]
    pub fn info(self) -> KindInfo {
        match self {
            RelocKind::X86_64(k) => k.info(),
            RelocKind::Aarch64(k) => k.info(),
        }
    }

    /// Computes the fixup from `v` and writes it into `place`, which starts at the
    /// fixup location and is at least `info().width` bytes long.
    pub fn apply(self, place: &mut [u8], v: &FixupValues) -> Result<(), FixupError> {
        if place.len() < self.info().width {
            return Err(FixupError::Truncated {
                need: self.info().width,
            });
        }
        match self {
            RelocKind::X86_64(k) => k.apply(place, v),
            RelocKind::Aarch64(k) => k.apply(place, v),
        }
    }
}

impl fmt::Display for RelocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelocKind::X86_64(k) => write!(f, "{k:?}"),
            RelocKind::Aarch64(k) => write!(f, "{k:?}"),
        }
    }
}

/// What a relocation refers to besides its symbol's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The symbol's address (`S`).
    Symbol,
    /// The symbol's slot in the global offset table (`GOT + G`).
    Slot,
    /// Thread-local storage: the linker turns the variable into what the kind
    /// needs (`tls.rs`).
    Tls(TlsTarget),
}

/// What a thread-local relocation needs to know about its variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsTarget {
    /// A `TlsIndex` cell `{module, offset of S + A}` (general dynamic), in `slot`.
    Index,
    /// A `TlsIndex` cell `{module, 0}` of the variable's module (local dynamic), in
    /// `slot`.
    ModuleIndex,
    /// A TLS descriptor `{resolver, module, offset of S + A}`, in `slot`.
    Descriptor,
    /// The variable's offset in its module's block, in `s`.
    Offset,
    /// The module id, in `s`.
    Module,
    /// The variable's offset from the thread pointer (static TLS: initial and
    /// local exec), in `s`.
    TpOffset,
    /// A cell holding the variable's offset from the thread pointer (the GOT
    /// entry of initial-exec code), in `slot`.
    TpCell,
}

/// What the addend of a thread-local relocation that reaches a cell
/// ([`TlsTarget::Index`], [`TlsTarget::ModuleIndex`], [`TlsTarget::Descriptor`],
/// [`TlsTarget::TpCell`]) means: an architecture fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsAddend {
    /// It adjusts the fixup's own field (x86-64: the `-4` from a PC-relative
    /// field to the end of its instruction): the fixup keeps it, and the cell
    /// holds the variable's offset alone.
    Field,
    /// It belongs to the variable (AArch64: `S + A` names the variable): it goes
    /// into the cell (`{module, offset of S + A}`; dropped for a module cell
    /// `{module, 0}`), and the fixup uses none.
    Variable,
}

impl TlsAddend {
    /// Takes what of the fixup's addend `a` belongs to the variable out of the
    /// fixup: all of it ([`TlsAddend::Variable`], leaving 0) or none
    /// ([`TlsAddend::Field`], returning 0).
    pub fn take_variable_part(self, a: &mut i64) -> u64 {
        match self {
            TlsAddend::Field => 0,
            TlsAddend::Variable => std::mem::take(a) as u64,
        }
    }
}

/// How a branch that does not reach its target can still get there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Not a branch: out of range is an error.
    Exact,
    /// A call or jump: it may go through the symbol's stub.
    Stub,
    /// A call or jump that may also go through a veneer placed next to the caller.
    Veneer,
}

/// Facts about a relocation kind, from the architecture's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// Bytes read and written at the fixup location.
    pub width: usize,
    /// What the fixup needs the address of.
    pub target: Target,
    /// Whether the kind is a branch, and how it may reach a far target.
    pub reach: Reach,
    /// The kind needs the address of the global offset table (`GOT`).
    pub uses_got_base: bool,
    /// The kind stores an absolute address in 32 bits or fewer: whatever it points
    /// at must lie in the low 4 GiB (the region must be placed low).
    pub absolute_narrow: bool,
    /// The kind is PC-relative with a 32-bit or narrower reach to its target's
    /// address (process data it names must lie within that reach).
    pub pc_relative_narrow: bool,
    /// The kind is PC-relative with a reach shorter than ±2 GiB (x86-64 `PC8`,
    /// `PC16`; AArch64 `ADR`, `LDR` literal, `B.cond`, `TBZ`, `PREL16`,
    /// `MOVW_PREL_G0`): unlike the region's other references, which reach
    /// anything in it by construction, its target must lie close to it. Implies
    /// `pc_relative_narrow`.
    pub pc_relative_short: bool,
    /// The kind uses the symbol's size (`Z`) instead of its address.
    pub uses_size: bool,
    /// AArch64 `:lo12:` fields: the low bits of an address whose page an `ADRP`
    /// before it computes. Where a process function is reached through its stub,
    /// these must take the same address as their `ADRP` (`fixup::value_of`).
    pub page_offset: bool,
    /// Bytes the addend also counts besides the offset of what the reference
    /// names: x86-64 PC-relative fields measure from their own end, so `.bss - 4`
    /// names the variable at `.bss` (an instruction with an immediate after the
    /// field counts that too: `x86_64::immediate_after`). 0 elsewhere.
    pub field_bias: u8,
}

impl KindInfo {
    pub(crate) const fn new(width: usize) -> KindInfo {
        KindInfo {
            width,
            target: Target::Symbol,
            reach: Reach::Exact,
            uses_got_base: false,
            absolute_narrow: false,
            pc_relative_narrow: false,
            pc_relative_short: false,
            uses_size: false,
            page_offset: false,
            field_bias: 0,
        }
    }
}

/// The values a fixup expression is computed from, named as in the psABIs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixupValues {
    /// `P`: target address of the place being fixed up.
    pub p: u64,
    /// `S`: target address of the symbol (or of its stub or veneer).
    pub s: u64,
    /// `A`: the addend.
    pub a: i64,
    /// `GOT + G`: target address of the symbol's slot, for kinds that use one.
    pub slot: u64,
    /// `GOT`: target address of the global offset table.
    pub got: u64,
    /// `Z`: the symbol's size.
    pub z: u64,
}

/// Why a fixup could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixupError {
    /// The computed value does not fit: it is not in `[lo, hi)`.
    OutOfRange { value: i64, lo: i64, hi: i64 },
    /// The computed value is not a multiple of `align`.
    Misaligned { value: i64, align: u64 },
    /// The instruction at the place is not one this kind can patch.
    BadInstruction { insn: u32, expected: &'static str },
    /// Fewer than `need` bytes remain at the place.
    Truncated { need: usize },
    /// The operation does not exist on this architecture.
    Unsupported(&'static str),
}

impl fmt::Display for FixupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixupError::OutOfRange { value, lo, hi } => write!(
                f,
                "out of range: {} is not in [{}, {})",
                hex(*value),
                hex(*lo),
                hex(*hi)
            ),
            FixupError::Misaligned { value, align } => {
                write!(
                    f,
                    "misaligned: {} is not a multiple of {align}",
                    hex(*value)
                )
            }
            FixupError::BadInstruction { insn, expected } => {
                write!(f, "instruction {insn:#010x} is not {expected}")
            }
            FixupError::Truncated { need } => {
                write!(f, "the place runs past its section ({need} bytes needed)")
            }
            FixupError::Unsupported(what) => f.write_str(what),
        }
    }
}

/// A signed value in hex, `-0x10` rather than two's complement.
pub fn hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

/// The one range check: `value` must lie in `[lo, hi)`.
pub fn check_range(value: i64, lo: i64, hi: i64) -> Result<i64, FixupError> {
    if value >= lo && value < hi {
        Ok(value)
    } else {
        Err(FixupError::OutOfRange { value, lo, hi })
    }
}

/// Checks that `value` is a multiple of `align` (a power of two).
pub fn check_aligned(value: i64, align: u64) -> Result<i64, FixupError> {
    if (value as u64) & (align - 1) == 0 {
        Ok(value)
    } else {
        Err(FixupError::Misaligned { value, align })
    }
}

/// Signed range of an `bits`-bit two's complement field: `[-2^(bits-1), 2^(bits-1))`.
pub const fn signed_range(bits: u32) -> (i64, i64) {
    (-(1i64 << (bits - 1)), 1i64 << (bits - 1))
}

/// Range accepted by a field that may hold either a signed or an unsigned
/// `bits`-bit value (as ELF's plain `R_*_16`, `R_*_32` data relocations do).
pub const fn int_or_uint_range(bits: u32) -> (i64, i64) {
    (-(1i64 << (bits - 1)), 1i64 << bits)
}

pub(crate) fn read_u32(place: &[u8]) -> u32 {
    u32::from_le_bytes([place[0], place[1], place[2], place[3]])
}

pub(crate) fn write_u32(place: &mut [u8], v: u32) {
    place[..4].copy_from_slice(&v.to_le_bytes());
}

/// What an ELF image relink writes (`runtime/elf_image.rs`) says of the
/// architecture.
impl Arch {
    /// The ELF header's `e_machine`.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => object::elf::EM_X86_64,
            Arch::Aarch64 => object::elf::EM_AARCH64,
        }
    }

    /// The dynamic relocation that stores a symbol's offset from the thread
    /// pointer in a 64-bit word (static TLS): `R_X86_64_TPOFF64`,
    /// `R_AARCH64_TLS_TPREL64`.
    pub fn elf_tprel64(self) -> u32 {
        match self {
            Arch::X86_64 => object::elf::R_X86_64_TPOFF64,
            Arch::Aarch64 => object::elf::R_AARCH64_TLS_TPREL,
        }
    }

    /// The dynamic relocations that store a symbol's TLS module id and its
    /// offset in the module's block (general dynamic): `R_X86_64_DTPMOD64`
    /// and `DTPOFF64`, `R_AARCH64_TLS_DTPMOD` and `TLS_DTPREL`.
    pub fn elf_dtpmod_dtpoff64(self) -> [u32; 2] {
        match self {
            Arch::X86_64 => [object::elf::R_X86_64_DTPMOD64, object::elf::R_X86_64_DTPOFF64],
            Arch::Aarch64 => [
                object::elf::R_AARCH64_TLS_DTPMOD,
                object::elf::R_AARCH64_TLS_DTPREL,
            ],
        }
    }
}
