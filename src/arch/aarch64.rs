//! AArch64: relocation kinds, stubs, traps and veneers.
//!
//! The psABI is "ELF for the Arm 64-bit Architecture" (AAELF64),
//! <https://github.com/ARM-software/abi-aa/blob/main/aaelf64/aaelf64.rst>; the
//! register conventions are AAPCS64 in the same repository. Its letters are used as
//! local names: `S` symbol, `A` addend, `P` place, `GOT` the global offset table,
//! `GOT + G` the symbol's slot in it, `X` the computed value, and
//! `Page(x) = x & !0xfff`.
//!
//! Quirks worth knowing:
//! - Every instruction is 4 bytes and no immediate holds an address. An address is
//!   built by `ADRP`, which adds `imm21 << 12` to `Page(PC)`, followed by an `ADD` or
//!   a load/store carrying the low 12 bits (`:lo12:`). `ADR_PREL_PG_HI21` is
//!   therefore `Page(S + A) - Page(P)`, a difference of *pages*: it reaches ±4 GiB
//!   and is range-checked on the page delta, not on `S + A - P`. relink keeps code,
//!   data, slots and stubs in one region so that every `ADRP` between them reaches.
//! - The load/store forms (`LDSTn_ABS_LO12_NC`) scale their 12-bit immediate by the
//!   access size: `LDR x0, [x1, #:lo12:sym]` holds bits \[11:3\] of the address.
//!   AAELF64 asks the linker to check that the low bits it drops are zero; relink
//!   makes that a `Misaligned` error, because dropping them would silently load
//!   from a different address. Mach-O's `PAGEOFF12` does not name the access size;
//!   its reader asks [`page_offset12_shift`] for it.
//! - `_NC` means "no check": the relocation writes one piece of a wider value (the
//!   low 12 bits after an `ADRP`, one 16-bit group of a `MOVZ/MOVK` sequence) and
//!   the overflow check, if any, belongs to the piece that carries the top bits.
//! - `MOVW_*_Gn` build a value 16 bits at a time: group `n` writes bits
//!   `[16n + 15 : 16n]` of `X` into a move-wide instruction whose `hw` field the
//!   assembler already set to `n` (relink checks that it did). Unsigned (`UABS`)
//!   forms patch `MOVZ`/`MOVK` and check `X < 2^(16(n+1))`. The checking signed
//!   forms (`SABS`, `PREL`) patch `MOVN`/`MOVZ` and *rewrite the opcode* by sign:
//!   `X >= 0` becomes `MOVZ` with the selected bits, `X < 0` becomes `MOVN` with
//!   the selected bits of `!X`, so the untouched upper bits come out as ones; they
//!   check `-2^(16(n+1)) <= X < 2^(16(n+1))`. `G3` needs no check; the `_NC` signed
//!   forms patch `MOVK` and leave its opcode alone.
//! - `B`/`BL` reach ±128 MiB. A call that does not reach goes through a *veneer*
//!   placed near the caller; `B.cond`, `CBZ` and `TBZ` have no veneer (compilers
//!   keep them inside one function) and out of range is an error.
//! - Veneers and stubs use `x16` (IP0) as scratch. AAPCS64 reserves IP0/IP1 for
//!   exactly this: a linker-inserted veneer between a `B`/`BL` and its target may
//!   corrupt IP0, IP1 and the flags, and nothing else — `x0`–`x7` and `x8` still
//!   carry the call's arguments, `x18` is the platform's and `x30` the caller's
//!   return address. An indirect `BR x16`/`BR x17` is also accepted by a `BTI c`
//!   landing pad, so stubs can jump into code built with branch protection.
//! - GOT relocations compute `G(GDAT(S + A))`: the slot is keyed by `S + A`. relink
//!   keeps one slot per symbol, so a GOT kind with a nonzero addend is an error
//!   (compilers never emit one). `LD64_GOTPAGE_LO15` is relative to `Page(GOT)`,
//!   the only kind that needs the GOT base.
//! - AArch64 does not keep the instruction cache coherent with data writes. Every
//!   code range this file writes into (fixups in code, stubs, traps, veneers) must
//!   be cleaned and invalidated (`DC CVAU`, `IC IVAU`, `DSB ISH`, `ISB`) before it
//!   runs. relink's `memory` module does that when it finalizes a code range; this
//!   file only writes bytes. Slots are data: rewriting one needs no flush, which is
//!   why hot replacement goes through slots and never patches branches.
//! - Cortex-A53 erratum 843419 concerns an `ADRP` at page offset `0xff8`/`0xffc`.
//!   relink does not patch object code for it; stubs, traps and veneers placed at a
//!   multiple of their size never put an `ADRP` there.

use super::{
    check_aligned, check_range, int_or_uint_range, read_u32, signed_range, write_u32, FixupError,
    FixupValues, KindInfo, Reach, Target, TlsAddend, TlsTarget,
};

/// A stub: `ldr x16, slot; br x16`, then its slot (at [`STUB_SLOT`]): the
/// load hits the line the stub's fetch brought in.
pub const STUB_SIZE: usize = 16;
/// Where a stub's slot lies in it.
pub const STUB_SLOT: usize = 8;
/// A trap entry: `adrp x0, slot; add x0, x0, :lo12:slot; adrp x16, cell;
/// ldr x16, [x16, :lo12:cell]; br x16`, padded with `brk #0`.
pub const TRAP_SIZE: usize = 32;
/// A veneer: `adrp x16, target; add x16, x16, :lo12:target; br x16; brk #0`.
pub const VENEER_SIZE: usize = 16;

/// An `atexit` thunk: `ldr x2, dso_handle; ldr x16, cxa_atexit; mov x1, xzr;
/// br x16`, then the two addresses it loads.
pub const ATEXIT_SIZE: usize = 32;

/// A thread-local kind's addend belongs to the variable: AAELF64 computes
/// `G(GTLSIDX(S, A))`, `G(GTPREL(S + A))` and `TLSDESC(S + A)`, and the
/// instructions' fields hold page and low-12 parts of the cell's address only.
pub const TLS_ADDEND: TlsAddend = TlsAddend::Variable;

const _: () = assert!(ATEXIT_SIZE >= 8 * 4);
const _: () = assert!(STUB_SLOT == 2 * 4 && STUB_SLOT + 8 == STUB_SIZE);
const _: () = assert!(TRAP_SIZE >= 5 * 4 && TRAP_SIZE.is_power_of_two());
const _: () = assert!(VENEER_SIZE == 4 * 4 && VENEER_SIZE.is_power_of_two());

relocation_kinds! {
/// The relocation kinds of AArch64, named as JITLink names them where it can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `ABS64`. Fixup expression: `Fixup <- S + A : uint64`.
    /// Errors: none.
    Pointer64,
    /// `ABS32`. Fixup expression: `Fixup <- S + A : int32 or uint32`.
    /// Errors: the value must be in `[-2^31, 2^32)`.
    Pointer32,
    /// `ABS16`. Fixup expression: `Fixup <- S + A : int16 or uint16`.
    /// Errors: the value must be in `[-2^15, 2^16)`.
    Pointer16,
    /// `PREL64`. Fixup expression: `Fixup <- S + A - P : int64`.
    /// Errors: none.
    Delta64,
    /// `PREL32`. Fixup expression: `Fixup <- S + A - P : int32 or uint32`.
    /// Errors: the value must be in `[-2^31, 2^32)`.
    Delta32,
    /// `PREL16`. Fixup expression: `Fixup <- S + A - P : int16 or uint16`.
    /// Errors: the value must be in `[-2^15, 2^16)`.
    Delta16,
    /// `PLT32`, a 32-bit offset to a function in data.
    /// Fixup expression: `Fixup <- S + A - P : int32`, `S` may be the symbol's stub.
    /// Errors: the value must be in `[-2^31, 2^31)`.
    Branch32,
    /// `CALL26`, `JUMP26`: a `B` or `BL`.
    /// Fixup expression: `imm26 <- (S + A - P) >> 2`.
    /// Errors: not `B`/`BL`; the value must be in `[-2^27, 2^27)` and 4-aligned.
    Branch26,
    /// `CONDBR19`: a `B.cond`, `CBZ` or `CBNZ`.
    /// Fixup expression: `imm19 <- (S + A - P) >> 2`.
    /// Errors: wrong instruction; the value must be in `[-2^20, 2^20)` and 4-aligned.
    CondBranch19,
    /// `TSTBR14`: a `TBZ` or `TBNZ`.
    /// Fixup expression: `imm14 <- (S + A - P) >> 2`.
    /// Errors: wrong instruction; the value must be in `[-2^15, 2^15)` and 4-aligned.
    TestBranch14,
    /// `LD_PREL_LO19`: an `LDR`, `LDRSW` or `PRFM` (literal).
    /// Fixup expression: `imm19 <- (S + A - P) >> 2`.
    /// Errors: wrong instruction; the value must be in `[-2^20, 2^20)` and 4-aligned.
    LoadLiteral19,
    /// `ADR_PREL_LO21`: an `ADR`.
    /// Fixup expression: `immhi:immlo <- S + A - P`.
    /// Errors: not `ADR`; the value must be in `[-2^20, 2^20)`.
    Adr21,
    /// `ADR_PREL_PG_HI21` (`checked`), `ADR_PREL_PG_HI21_NC`: an `ADRP`.
    /// Fixup expression: `immhi:immlo <- (Page(S + A) - Page(P)) >> 12`.
    /// Errors: not `ADRP`; when `checked`, the page delta must be in `[-2^32, 2^32)`.
    Page21 { checked: bool },
    /// `ADD_ABS_LO12_NC` (`shift` 0), `LDSTn_ABS_LO12_NC` (`shift` = log2 of n/8):
    /// an `ADD` (immediate) or a load/store (unsigned offset).
    /// Fixup expression: `imm12 <- ((S + A) & 0xfff) >> shift`.
    /// Errors: not an `ADD` or a load/store of `2^shift` bytes; the low `shift` bits
    /// of `S + A` must be zero.
    PageOffset12 { shift: u8 },
    /// `MOVW_UABS_Gn(_NC)` (unsigned), `MOVW_SABS_Gn` (signed), `MOVW_PREL_Gn(_NC)`
    /// (signed, `pcrel`): a `MOVZ`, `MOVK` or `MOVN` with `hw = group`.
    /// Fixup expression: `X = S + A` or `S + A - P` (`pcrel`);
    /// `imm16 <- X >> (16 * group)`; when `signed` and the instruction is `MOVZ` or
    /// `MOVN`, it becomes `MOVZ` if `X >= 0` and `MOVN` with `imm16 <- !X >> (16 *
    /// group)` if `X < 0`.
    /// Errors: wrong instruction or `hw`; `MOVN` for an unsigned kind; when `checked`
    /// (groups 0–2), `X` must be in `[0, 2^(16(group+1)))` (unsigned) or in
    /// `[-2^(16(group+1)), 2^(16(group+1)))` (signed).
    MoveWide16 {
        group: u8,
        checked: bool,
        signed: bool,
        pcrel: bool,
    },
    /// `ADR_GOT_PAGE`: an `ADRP` to the symbol's slot.
    /// Fixup expression: `immhi:immlo <- (Page(GOT + G) - Page(P)) >> 12`.
    /// Errors: not `ADRP`; `A != 0`; the page delta must be in `[-2^32, 2^32)`.
    GotPage21,
    /// `LD64_GOT_LO12_NC`: an `LDR x` (unsigned offset) from the slot.
    /// Fixup expression: `imm12 <- ((GOT + G) & 0xfff) >> 3`.
    /// Errors: not a 64-bit `LDR`; `A != 0`; the slot must be 8-aligned.
    GotPageOffset12,
    /// `LD64_GOTPAGE_LO15`: an `LDR x` (unsigned offset) from the slot, relative to
    /// the page of the GOT.
    /// Fixup expression: `imm12 <- (GOT + G - Page(GOT)) >> 3`.
    /// Errors: not a 64-bit `LDR`; `A != 0`; the value must be in `[0, 2^15)` and
    /// 8-aligned.
    GotPageOffset15,
    /// Mach-O `ARM64_RELOC_POINTER_TO_GOT` (pc-relative, 32 bits): a data word holding
    /// the distance to the symbol's slot (`__eh_frame` personality pointers).
    /// Fixup expression: `Fixup <- GOT + G + A - P : int32`.
    /// Errors: the value must fit in a signed 32-bit field.
    GotDelta32,
    /// `TLSDESC_ADR_PAGE21`: an `ADRP` to the TLS descriptor relink allocates for
    /// `S + A` (`{resolver, module, offset}`; its address is in `slot`).
    /// Fixup expression: `immhi:immlo <- (Page(DESC) - Page(P)) >> 12`.
    /// Errors: not `ADRP`; the page delta must be in `[-2^32, 2^32)`.
    TlsDescPage21,
    /// `TLSDESC_LD64_LO12`: the `LDR x` of the descriptor's resolver.
    /// Fixup expression: `imm12 <- (DESC & 0xfff) >> 3`.
    /// Errors: not a 64-bit `LDR`; the descriptor must be 8-aligned.
    TlsDescLoad12,
    /// `TLSDESC_ADD_LO12`: the `ADD` that passes the descriptor's address.
    /// Fixup expression: `imm12 <- DESC & 0xfff`.
    /// Errors: not an `ADD` (immediate).
    TlsDescAdd12,
    /// `TLSGD_ADR_PAGE21` (`module: false`), `TLSLD_ADR_PAGE21` (`module: true`): an
    /// `ADRP` to the `TlsIndex` cell `{module, offset}` (or `{module, 0}`).
    /// Fixup expression: `immhi:immlo <- (Page(CELL) - Page(P)) >> 12`.
    /// Errors: not `ADRP`; the page delta must be in `[-2^32, 2^32)`.
    TlsIndexPage21 { module: bool },
    /// `TLSGD_ADD_LO12_NC`, `TLSLD_ADD_LO12_NC`: the `ADD` completing the cell's
    /// address. Fixup expression: `imm12 <- CELL & 0xfff`.
    /// Errors: not an `ADD` (immediate).
    TlsIndexAdd12 { module: bool },
    /// `TLSLD_ADD_DTPREL_HI12` (`hi`), `TLSLD_ADD_DTPREL_LO12(_NC)`: an `ADD` of the
    /// variable's offset in its module's block (`S`, local dynamic).
    /// Fixup expression: `imm12 <- (S + A) >> 12` (`hi`) or `(S + A) & 0xfff`.
    /// Errors: not an `ADD`; `hi`: `S + A` must be in `[0, 2^24)`; `checked`:
    /// `S + A` must be in `[0, 2^12)`.
    DtpOffsetAdd12 { hi: bool, checked: bool },
    /// `TLS_DTPREL64` (1029; debug information), and the offset word of a Mach-O
    /// thread-local variable descriptor: the variable's offset in its module's block.
    /// Fixup expression: `Fixup <- S + A : int64` where `S` is that offset.
    DtpOffset64,
    /// `TLS_DTPMOD64` (1028), and the key word of a Mach-O thread-local variable
    /// descriptor. Fixup expression: `Fixup <- module id : uint64` (in `s`).
    DtpModule64,
    /// `TLSIE_ADR_GOTTPREL_PAGE21` (initial exec): an `ADRP` to the cell relink
    /// allocates holding the variable's offset from the thread pointer
    /// (`tpidr_el0`; its address is in `slot`).
    /// Fixup expression: `immhi:immlo <- (Page(CELL) - Page(P)) >> 12`.
    /// Errors: not `ADRP`; the page delta must be in `[-2^32, 2^32)`.
    TpCellPage21,
    /// `TLSIE_LD64_GOTTPREL_LO12_NC`: the `LDR x` of that cell.
    /// Fixup expression: `imm12 <- (CELL & 0xfff) >> 3`.
    /// Errors: not a 64-bit `LDR`; the cell must be 8-aligned.
    TpCellLoad12,
    /// `TLSIE_LD_GOTTPREL_PREL19`: an `LDR x` (literal) of that cell.
    /// Fixup expression: `imm19 <- (CELL - P) >> 2`.
    /// Errors: wrong instruction; the value must be in `[-2^20, 2^20)` and 4-aligned.
    TpCellLiteral19,
    /// `TLSLE_ADD_TPREL_HI12` (`hi`), `TLSLE_ADD_TPREL_LO12(_NC)` (local exec): an
    /// `ADD` of the variable's offset from the thread pointer (`S`).
    /// Fixup expression: `imm12 <- (S + A) >> 12` (`hi`) or `(S + A) & 0xfff`.
    /// Errors: not an `ADD`; `hi`: `S + A` must be in `[0, 2^24)`; `checked`:
    /// `S + A` must be in `[0, 2^12)`.
    TpOffsetAdd12 { hi: bool, checked: bool },
    /// `TLSLE_LDSTn_TPREL_LO12(_NC)`: a load/store of `2^shift` bytes at the
    /// variable's offset from the thread pointer (`S`).
    /// Fixup expression: `imm12 <- ((S + A) & 0xfff) >> shift`.
    /// Errors: not a load/store of that size; the low `shift` bits of `S + A` must
    /// be zero; `checked`: `S + A` must be in `[0, 2^12)`.
    TpOffsetLoadStore12 { shift: u8, checked: bool },
    /// `TLSLE_MOVW_TPREL_Gn(_NC)`: a `MOVZ`, `MOVN` or `MOVK` of the variable's
    /// offset from the thread pointer (`S`), as `MoveWide16` signed, absolute.
    TpOffsetMoveWide16 { group: u8, checked: bool },
}
}

/// `MoveWide16` as a constant expression, for [`Kind::ALL`].
const fn movw(group: u8, checked: bool, signed: bool, pcrel: bool) -> Kind {
    Kind::MoveWide16 {
        group,
        checked,
        signed,
        pcrel,
    }
}

/// `TpOffsetLoadStore12` as a constant expression, for [`Kind::ALL`].
const fn tp_ldst(shift: u8, checked: bool) -> Kind {
    Kind::TpOffsetLoadStore12 { shift, checked }
}

/// `TpOffsetMoveWide16` as a constant expression, for [`Kind::ALL`].
const fn tp_movw(group: u8, checked: bool) -> Kind {
    Kind::TpOffsetMoveWide16 { group, checked }
}

// A variant added to the enum and not to `Kind::ALL` does not compile.
const _: () = assert!(Kind::covers_every_variant(&Kind::ALL));

impl Kind {
    /// Every kind the readers produce, one entry per distinct relocation, for
    /// tests and the fuzzer. Every variant has at least one entry (checked at
    /// compile time); that every kind a reader produces is here is checked by the
    /// readers' tests.
    pub const ALL: [Kind; 73] = [
        Kind::Pointer64,
        Kind::Pointer32,
        Kind::Pointer16,
        Kind::Delta64,
        Kind::Delta32,
        Kind::Delta16,
        Kind::Branch32,
        Kind::Branch26,
        Kind::CondBranch19,
        Kind::TestBranch14,
        Kind::LoadLiteral19,
        Kind::Adr21,
        Kind::Page21 { checked: true },
        Kind::Page21 { checked: false },
        Kind::PageOffset12 { shift: 0 },
        Kind::PageOffset12 { shift: 1 },
        Kind::PageOffset12 { shift: 2 },
        Kind::PageOffset12 { shift: 3 },
        Kind::PageOffset12 { shift: 4 },
        movw(0, true, false, false),
        movw(1, true, false, false),
        movw(2, true, false, false),
        movw(0, false, false, false),
        movw(1, false, false, false),
        movw(2, false, false, false),
        movw(3, false, false, false),
        movw(0, true, true, false),
        movw(1, true, true, false),
        movw(2, true, true, false),
        movw(0, true, true, true),
        movw(1, true, true, true),
        movw(2, true, true, true),
        movw(3, false, true, true),
        movw(0, false, true, true),
        movw(1, false, true, true),
        movw(2, false, true, true),
        Kind::GotPage21,
        Kind::GotPageOffset12,
        Kind::GotPageOffset15,
        Kind::GotDelta32,
        Kind::TlsDescPage21,
        Kind::TlsDescLoad12,
        Kind::TlsDescAdd12,
        Kind::TlsIndexPage21 { module: false },
        Kind::TlsIndexPage21 { module: true },
        Kind::TlsIndexAdd12 { module: false },
        Kind::TlsIndexAdd12 { module: true },
        Kind::DtpOffsetAdd12 {
            hi: true,
            checked: true,
        },
        Kind::DtpOffsetAdd12 {
            hi: false,
            checked: true,
        },
        Kind::DtpOffsetAdd12 {
            hi: false,
            checked: false,
        },
        Kind::DtpOffset64,
        Kind::DtpModule64,
        Kind::TpCellPage21,
        Kind::TpCellLoad12,
        Kind::TpCellLiteral19,
        Kind::TpOffsetAdd12 {
            hi: true,
            checked: true,
        },
        Kind::TpOffsetAdd12 {
            hi: false,
            checked: true,
        },
        Kind::TpOffsetAdd12 {
            hi: false,
            checked: false,
        },
        tp_ldst(0, true),
        tp_ldst(0, false),
        tp_ldst(1, true),
        tp_ldst(1, false),
        tp_ldst(2, true),
        tp_ldst(2, false),
        tp_ldst(3, true),
        tp_ldst(3, false),
        tp_ldst(4, true),
        tp_ldst(4, false),
        tp_movw(2, true),
        tp_movw(1, true),
        tp_movw(1, false),
        tp_movw(0, true),
        tp_movw(0, false),
    ];

    /// Facts about the kind that the linker needs before applying it.
    #[inline]
    pub fn info(self) -> KindInfo {
        use Kind::*;
        let mut info = KindInfo::new(self.width());
        match self {
            Pointer32 | Pointer16 => info.absolute_narrow = true,
            MoveWide16 {
                group,
                checked,
                pcrel,
                ..
            } => {
                // G0 and G1 reach 16 and 32 bits; G2 and G3 reach further.
                if checked && group < 2 {
                    if pcrel {
                        info.pc_relative_narrow = true;
                        info.pc_relative_short = group == 0;
                    } else {
                        info.absolute_narrow = true;
                    }
                }
            }
            Delta32 | Page21 { .. } => info.pc_relative_narrow = true,
            PageOffset12 { .. } => info.page_offset = true,
            Delta16 | Adr21 | LoadLiteral19 | CondBranch19 | TestBranch14 => {
                info.pc_relative_narrow = true;
                info.pc_relative_short = true;
            }
            Branch32 => info.reach = Reach::Stub,
            Branch26 => info.reach = Reach::Veneer,
            GotPage21 | GotPageOffset12 | GotDelta32 => info.target = Target::Slot,
            GotPageOffset15 => {
                info.target = Target::Slot;
                info.uses_got_base = true;
            }
            TlsDescPage21 | TlsDescLoad12 | TlsDescAdd12 => {
                info.target = Target::Tls(TlsTarget::Descriptor)
            }
            TlsIndexPage21 { module } | TlsIndexAdd12 { module } => {
                info.target = Target::Tls(if module {
                    TlsTarget::ModuleIndex
                } else {
                    TlsTarget::Index
                })
            }
            DtpOffsetAdd12 { .. } | DtpOffset64 => info.target = Target::Tls(TlsTarget::Offset),
            DtpModule64 => info.target = Target::Tls(TlsTarget::Module),
            TpCellPage21 | TpCellLoad12 | TpCellLiteral19 => {
                info.target = Target::Tls(TlsTarget::TpCell)
            }
            TpOffsetAdd12 { .. } | TpOffsetLoadStore12 { .. } | TpOffsetMoveWide16 { .. } => {
                info.target = Target::Tls(TlsTarget::TpOffset)
            }
            Pointer64 | Delta64 => {}
        }
        info
    }

    /// Bytes read and written at the place: a data word, or one instruction.
    const fn width(self) -> usize {
        use Kind::*;
        match self {
            Pointer64 | Delta64 | DtpOffset64 | DtpModule64 => 8,
            Pointer32 | Delta32 | Branch32 | GotDelta32 => 4,
            Pointer16 | Delta16 => 2,
            Branch26
            | CondBranch19
            | TestBranch14
            | LoadLiteral19
            | Adr21
            | Page21 { .. }
            | PageOffset12 { .. }
            | MoveWide16 { .. }
            | GotPage21
            | GotPageOffset12
            | GotPageOffset15
            | TlsDescPage21
            | TlsDescLoad12
            | TlsDescAdd12
            | TlsIndexPage21 { .. }
            | TlsIndexAdd12 { .. }
            | DtpOffsetAdd12 { .. }
            | TpCellPage21
            | TpCellLoad12
            | TpCellLiteral19
            | TpOffsetAdd12 { .. }
            | TpOffsetLoadStore12 { .. }
            | TpOffsetMoveWide16 { .. } => 4,
        }
    }

    /// Computes the fixup and writes it into `place` (at least `info().width` long).
    ///
    /// On error `place` is left as it was.
    pub fn apply(self, place: &mut [u8], v: &FixupValues) -> Result<(), FixupError> {
        use Kind::*;
        let width = self.info().width;
        let place = place
            .get_mut(..width)
            .ok_or(FixupError::Truncated { need: width })?;
        let (s, a, p) = (v.s, v.a as u64, v.p);
        let sa = s.wrapping_add(a);
        let delta = sa.wrapping_sub(p) as i64;
        match self {
            Pointer64 => place.copy_from_slice(&sa.to_le_bytes()),
            Pointer32 => write_data(place, sa as i64, int_or_uint_range(32))?,
            Pointer16 => write_data(place, sa as i64, int_or_uint_range(16))?,
            Delta64 => place.copy_from_slice(&delta.to_le_bytes()),
            Delta32 => write_data(place, delta, int_or_uint_range(32))?,
            Delta16 => write_data(place, delta, int_or_uint_range(16))?,
            Branch32 => write_data(place, delta, signed_range(32))?,
            Branch26 => patch(place, |i| branch26(i, delta))?,
            CondBranch19 => patch(place, |i| cond_branch19(i, delta))?,
            TestBranch14 => patch(place, |i| test_branch14(i, delta))?,
            LoadLiteral19 => patch(place, |i| load_literal19(i, delta))?,
            Adr21 => patch(place, |i| adr(i, delta))?,
            Page21 { checked } => patch(place, |i| adrp(i, sa, p, checked))?,
            PageOffset12 { shift } => patch(place, |i| page_offset12(i, sa, shift))?,
            MoveWide16 {
                group,
                checked,
                signed,
                pcrel,
            } => {
                let x = if pcrel { delta as u64 } else { sa };
                patch(place, |i| move_wide(i, x, group, checked, signed))?
            }
            GotPage21 => patch(place, |i| adrp(i, got_slot(v)?, p, true))?,
            GotPageOffset12 => patch(place, |i| page_offset12_ldr64(i, got_slot(v)?))?,
            GotPageOffset15 => patch(place, |i| got_page_offset15(i, got_slot(v)?, v.got))?,
            GotDelta32 => {
                let d = v.slot.wrapping_add(a).wrapping_sub(p) as i64;
                write_data(place, d, signed_range(32))?
            }
            TlsDescPage21 | TlsIndexPage21 { .. } => patch(place, |i| adrp(i, v.slot, p, true))?,
            TlsDescLoad12 => patch(place, |i| page_offset12_ldr64(i, v.slot))?,
            TlsDescAdd12 | TlsIndexAdd12 { .. } => patch(place, |i| add_imm12(i, v.slot & 0xfff))?,
            DtpOffsetAdd12 { hi, checked } => {
                patch(place, |i| dtp_offset_add12(i, sa, hi, checked))?
            }
            DtpOffset64 => place.copy_from_slice(&sa.to_le_bytes()),
            DtpModule64 => place.copy_from_slice(&s.to_le_bytes()),
            TpCellPage21 => patch(place, |i| adrp(i, v.slot, p, true))?,
            TpCellLoad12 => patch(place, |i| page_offset12_ldr64(i, v.slot))?,
            TpCellLiteral19 => {
                let d = v.slot.wrapping_sub(p) as i64;
                patch(place, |i| {
                    expect(i, &[&LDR_X_LITERAL], "a 64-bit LDR (literal)")?;
                    load_literal19(i, d)
                })?
            }
            TpOffsetAdd12 { hi, checked } => {
                patch(place, |i| dtp_offset_add12(i, sa, hi, checked))?
            }
            TpOffsetLoadStore12 { shift, checked } => patch(place, |i| {
                if checked {
                    check_range(sa as i64, 0, 1 << 12)?;
                }
                page_offset12(i, sa, shift)
            })?,
            TpOffsetMoveWide16 { group, checked } => {
                patch(place, |i| move_wide(i, sa, group, checked, true))?
            }
        }
        Ok(())
    }
}

/// Range-checks `value` and writes its low `place.len()` bytes.
fn write_data(place: &mut [u8], value: i64, (lo, hi): (i64, i64)) -> Result<(), FixupError> {
    check_range(value, lo, hi)?;
    let n = place.len();
    place.copy_from_slice(&value.to_le_bytes()[..n]);
    Ok(())
}

/// Reads the instruction at `place`, rewrites it with `f`, and writes it back.
fn patch(
    place: &mut [u8],
    f: impl FnOnce(u32) -> Result<u32, FixupError>,
) -> Result<(), FixupError> {
    let insn = f(read_u32(place))?;
    write_u32(place, insn);
    Ok(())
}

/// `GOT + G`, refusing an addend: AAELF64 keys slots by `S + A`, relink by `S`.
fn got_slot(v: &FixupValues) -> Result<u64, FixupError> {
    if v.a != 0 {
        return Err(FixupError::Unsupported(
            "a GOT relocation with a nonzero addend (relink keeps one slot per symbol)",
        ));
    }
    Ok(v.slot)
}

// ---- Instruction classes -------------------------------------------------------

/// A class of instructions, `Class(mask, bits)`: those with `insn & mask == bits`.
struct Class(u32, u32);

const B_BL: Class = Class(0x7c00_0000, 0x1400_0000);
/// `B.cond` and `BC.cond`.
const B_COND: Class = Class(0xff00_0000, 0x5400_0000);
const CBZ_CBNZ: Class = Class(0x7e00_0000, 0x3400_0000);
const TBZ_TBNZ: Class = Class(0x7e00_0000, 0x3600_0000);
/// `LDR`, `LDRSW`, `PRFM` and SIMD&FP `LDR` (literal).
const LOAD_LITERAL: Class = Class(0x3b00_0000, 0x1800_0000);
const ADR: Class = Class(0x9f00_0000, 0x1000_0000);
const ADRP: Class = Class(0x9f00_0000, 0x9000_0000);
/// `ADD`/`ADDS` (immediate), 32 or 64 bits, unshifted (`sh` = 0).
const ADD_IMM: Class = Class(0x5fc0_0000, 0x1100_0000);
/// `ADD` (immediate) with `LSL #12` (`sh` = 1), as `:dtprel_hi12:` uses it.
const ADD_IMM_LSL12: Class = Class(0x5fc0_0000, 0x1140_0000);
/// Every load/store (unsigned offset), integer or SIMD&FP, and `PRFM`.
const LDST_UIMM: Class = Class(0x3b00_0000, 0x3900_0000);
/// `LDR x` (unsigned offset), the load through a slot.
const LDR_X_UIMM: Class = Class(0xffc0_0000, 0xf940_0000);
/// `LDR x` (literal).
const LDR_X_LITERAL: Class = Class(0xff00_0000, 0x5800_0000);
/// `MOVN`, `MOVZ`, `MOVK` (and the unallocated `opc` = 01).
const MOVE_WIDE: Class = Class(0x1f80_0000, 0x1280_0000);

impl Class {
    fn has(&self, insn: u32) -> bool {
        insn & self.0 == self.1
    }
}

/// `Ok` if `insn` is in one of `classes`, else `BadInstruction`.
fn expect(insn: u32, classes: &[&Class], expected: &'static str) -> Result<(), FixupError> {
    if classes.iter().any(|c| c.has(insn)) {
        Ok(())
    } else {
        Err(FixupError::BadInstruction { insn, expected })
    }
}

/// The access-size shift of an instruction that a `PageOffset12` can patch: 0 for
/// `ADD` (immediate), log2 of the access size in bytes for a load/store (unsigned
/// offset). `None` for any other instruction.
pub fn page_offset12_shift(insn: u32) -> Option<u8> {
    if ADD_IMM.has(insn) {
        return Some(0);
    }
    if !LDST_UIMM.has(insn) {
        return None;
    }
    let size = (insn >> 30) as u8;
    let simd = insn & (1 << 26) != 0;
    let opc_hi = insn & (1 << 23) != 0;
    match (simd && opc_hi, size) {
        (true, 0) => Some(4), // 128-bit `LDR q`/`STR q`
        (true, _) => None,    // unallocated
        (false, size) => Some(size),
    }
}

// ---- Encoders ------------------------------------------------------------------

/// `Page(x)`: the address of the 4 KiB page holding `x`.
const fn page(x: u64) -> u64 {
    x & !0xfff
}

/// Replaces the bits of `field` in `insn` with `value << lsb`, masked to the field.
const fn set_field(insn: u32, field: u32, lsb: u32, value: u64) -> u32 {
    (insn & !field) | (((value as u32) << lsb) & field)
}

/// `ADR`/`ADRP` split their 21-bit immediate: `immlo` in [30:29], `immhi` in [23:5].
const fn encode_adrp_imm(insn: u32, imm: i64) -> u32 {
    let imm = imm as u64;
    let insn = set_field(insn, 0x6000_0000, 29, imm & 3);
    set_field(insn, 0x00ff_ffe0, 5, (imm >> 2) & 0x7_ffff)
}

/// `B`/`BL`: imm26 in [25:0].
const fn encode_imm26(insn: u32, imm: i64) -> u32 {
    set_field(insn, 0x03ff_ffff, 0, imm as u64)
}

/// `B.cond`/`CBZ`/`LDR (literal)`: imm19 in [23:5].
const fn encode_imm19(insn: u32, imm: i64) -> u32 {
    set_field(insn, 0x00ff_ffe0, 5, imm as u64)
}

/// `TBZ`/`TBNZ`: imm14 in [18:5].
const fn encode_imm14(insn: u32, imm: i64) -> u32 {
    set_field(insn, 0x0007_ffe0, 5, imm as u64)
}

/// `ADD` (immediate) and load/store (unsigned offset): imm12 in [21:10].
const fn encode_imm12(insn: u32, imm: u64) -> u32 {
    set_field(insn, 0x003f_fc00, 10, imm)
}

/// `MOVZ`/`MOVK`/`MOVN`: imm16 in [20:5].
const fn encode_imm16(insn: u32, imm: u64) -> u32 {
    set_field(insn, 0x001f_ffe0, 5, imm & 0xffff)
}

/// Checks a PC-relative branch offset of `bits` bits (4-aligned) and scales it.
fn word_offset(delta: i64, bits: u32) -> Result<i64, FixupError> {
    let (lo, hi) = signed_range(bits);
    check_range(delta, lo, hi)?;
    check_aligned(delta, 4)?;
    Ok(delta >> 2)
}

fn branch26(insn: u32, delta: i64) -> Result<u32, FixupError> {
    expect(insn, &[&B_BL], "B or BL")?;
    Ok(encode_imm26(insn, word_offset(delta, 28)?))
}

fn cond_branch19(insn: u32, delta: i64) -> Result<u32, FixupError> {
    expect(insn, &[&B_COND, &CBZ_CBNZ], "B.cond, CBZ or CBNZ")?;
    Ok(encode_imm19(insn, word_offset(delta, 21)?))
}

fn test_branch14(insn: u32, delta: i64) -> Result<u32, FixupError> {
    expect(insn, &[&TBZ_TBNZ], "TBZ or TBNZ")?;
    Ok(encode_imm14(insn, word_offset(delta, 16)?))
}

fn load_literal19(insn: u32, delta: i64) -> Result<u32, FixupError> {
    expect(insn, &[&LOAD_LITERAL], "a load (literal)")?;
    Ok(encode_imm19(insn, word_offset(delta, 21)?))
}

fn adr(insn: u32, delta: i64) -> Result<u32, FixupError> {
    expect(insn, &[&ADR], "ADR")?;
    let (lo, hi) = signed_range(21);
    Ok(encode_adrp_imm(insn, check_range(delta, lo, hi)?))
}

/// `ADRP` from the page of `p` to the page of `target`.
fn adrp(insn: u32, target: u64, p: u64, checked: bool) -> Result<u32, FixupError> {
    expect(insn, &[&ADRP], "ADRP")?;
    let delta = page(target).wrapping_sub(page(p)) as i64;
    if checked {
        let (lo, hi) = signed_range(33);
        check_range(delta, lo, hi)?;
    }
    Ok(encode_adrp_imm(insn, delta >> 12))
}

/// What each `PageOffset12` shift expects at the place.
const PAGE_OFFSET12_EXPECTED: [&str; 5] = [
    "an ADD (immediate) or an 8-bit load/store (unsigned offset)",
    "a 16-bit load/store (unsigned offset)",
    "a 32-bit load/store (unsigned offset)",
    "a 64-bit load/store (unsigned offset)",
    "a 128-bit load/store (unsigned offset)",
];

/// The low 12 bits of `target`, scaled by the access size of `insn`.
fn page_offset12(insn: u32, target: u64, shift: u8) -> Result<u32, FixupError> {
    let expected = *PAGE_OFFSET12_EXPECTED
        .get(usize::from(shift))
        .ok_or(FixupError::Unsupported("PageOffset12 shift must be 0..=4"))?;
    if page_offset12_shift(insn) != Some(shift) {
        return Err(FixupError::BadInstruction { insn, expected });
    }
    check_aligned(target as i64, 1 << shift)?;
    Ok(encode_imm12(insn, (target & 0xfff) >> shift))
}

/// Relaxes the load of a slot to computing the address itself: `ldr xT, [xN,
/// :got_lo12:foo]` becomes `add xT, xN, :lo12:foo` (its `ADRP` then takes the
/// page of `foo` itself). `None` for anything but a 64-bit `LDR` (unsigned
/// offset) into a general register (`xzr` as `Rd` of an `ADD` is `sp`).
pub fn relax_got_load(insn: u32) -> Option<u32> {
    const RD: u32 = 0x1f;
    (LDR_X_UIMM.has(insn) && insn & RD != RD).then_some(0x9100_0000 | (insn & 0x3ff))
}

/// The low 12 bits of `slot` in a 64-bit `LDR`.
fn page_offset12_ldr64(insn: u32, slot: u64) -> Result<u32, FixupError> {
    expect(insn, &[&LDR_X_UIMM], "a 64-bit LDR (unsigned offset)")?;
    check_aligned(slot as i64, 8)?;
    Ok(encode_imm12(insn, (slot & 0xfff) >> 3))
}

/// An `ADD` (immediate) with `imm12` (not shifted by the instruction's own `sh`).
fn add_imm12(insn: u32, imm: u64) -> Result<u32, FixupError> {
    expect(insn, &[&ADD_IMM], "an ADD (immediate)")?;
    Ok(encode_imm12(insn, imm & 0xfff))
}

/// Bits [23:12] (`hi`) or [11:0] of a TLS block offset in an `ADD` (immediate).
fn dtp_offset_add12(insn: u32, x: u64, hi: bool, checked: bool) -> Result<u32, FixupError> {
    if hi {
        expect(insn, &[&ADD_IMM_LSL12], "an ADD (immediate, LSL #12)")?;
        check_range(x as i64, 0, 1 << 24)?;
        Ok(encode_imm12(insn, (x >> 12) & 0xfff))
    } else {
        if checked {
            check_range(x as i64, 0, 1 << 12)?;
        }
        add_imm12(insn, x)
    }
}

/// `slot - Page(got)` in a 64-bit `LDR`.
fn got_page_offset15(insn: u32, slot: u64, got: u64) -> Result<u32, FixupError> {
    expect(insn, &[&LDR_X_UIMM], "a 64-bit LDR (unsigned offset)")?;
    let x = slot.wrapping_sub(page(got)) as i64;
    check_range(x, 0, 1 << 15)?;
    check_aligned(x, 8)?;
    Ok(encode_imm12(insn, (x >> 3) as u64))
}

const OPC_MOVN: u32 = 0b00;
const OPC_MOVZ: u32 = 0b10;
const OPC_MOVK: u32 = 0b11;

/// What each `MoveWide16` group expects at the place.
const MOVE_WIDE_EXPECTED: [&str; 4] = [
    "a MOVZ, MOVK or MOVN with LSL #0",
    "a MOVZ, MOVK or MOVN with LSL #16",
    "a 64-bit MOVZ, MOVK or MOVN with LSL #32",
    "a 64-bit MOVZ, MOVK or MOVN with LSL #48",
];

/// The `opc` of a move-wide instruction whose `hw` selects `group`.
fn move_wide_opc(insn: u32, group: u8) -> Result<u32, FixupError> {
    let expected = *MOVE_WIDE_EXPECTED
        .get(usize::from(group))
        .ok_or(FixupError::Unsupported("MoveWide16 group must be 0..=3"))?;
    let opc = (insn >> 29) & 3;
    let hw = (insn >> 21) & 3;
    let sf = insn >> 31;
    if !MOVE_WIDE.has(insn) || opc == 0b01 || hw != u32::from(group) || (sf == 0 && hw >= 2) {
        return Err(FixupError::BadInstruction { insn, expected });
    }
    Ok(opc)
}

/// The overflow check of a checking `MOVW_*_Gn` (none for `G3`).
fn move_wide_range(x: u64, group: u8, signed: bool) -> Result<(), FixupError> {
    let bits = 16 * (u32::from(group) + 1);
    if bits >= 64 {
        return Ok(());
    }
    let lo = if signed { -(1i64 << bits) } else { 0 };
    check_range(x as i64, lo, 1i64 << bits)?;
    Ok(())
}

/// Bits `[16 * group + 15 : 16 * group]` of `x` in a `MOVZ/MOVK/MOVN`; a signed
/// kind turns `MOVZ`/`MOVN` into `MOVZ x` or `MOVN !x` by the sign of `x`.
fn move_wide(insn: u32, x: u64, group: u8, checked: bool, signed: bool) -> Result<u32, FixupError> {
    let opc = move_wide_opc(insn, group)?;
    if !signed && opc == OPC_MOVN {
        return Err(FixupError::BadInstruction {
            insn,
            expected: "MOVZ or MOVK (MOVN takes only signed MOVW relocations)",
        });
    }
    if checked {
        move_wide_range(x, group, signed)?;
    }
    let shift = 16 * u32::from(group);
    if !signed || opc == OPC_MOVK {
        return Ok(encode_imm16(insn, x >> shift));
    }
    let (opc, imm) = if (x as i64) < 0 {
        (OPC_MOVN, !x >> shift)
    } else {
        (OPC_MOVZ, x >> shift)
    };
    let insn = set_field(insn, 0x6000_0000, 29, u64::from(opc));
    Ok(encode_imm16(insn, imm))
}

// ---- Stubs, traps, veneers -----------------------------------------------------

const ADRP_X0: u32 = 0x9000_0000;
const ADRP_X16: u32 = 0x9000_0010;
const ADD_X0_X0: u32 = 0x9100_0000;
const ADD_X16_X16: u32 = 0x9100_0210;
const LDR_X16_X16: u32 = 0xf940_0210;
/// `ldr x16, #0` (literal).
const LDR_X16_LITERAL: u32 = 0x5800_0010;
const BR_X16: u32 = 0xd61f_0200;
const BRK_0: u32 = 0xd420_0000;

/// Writes `words` little-endian at the start of `out`, then `brk #0` to its end.
fn write_words(out: &mut [u8], words: &[u32]) {
    for (i, chunk) in out.chunks_exact_mut(4).enumerate() {
        let word = words.get(i).copied().unwrap_or(BRK_0);
        chunk.copy_from_slice(&word.to_le_bytes());
    }
}

/// The first `size` bytes of `out`, or `Truncated`.
fn room(out: &mut [u8], size: usize) -> Result<&mut [u8], FixupError> {
    out.get_mut(..size)
        .ok_or(FixupError::Truncated { need: size })
}

/// `ldr x2, dso_handle; ldr x16, cxa_atexit; mov x1, xzr; br x16`, then the two
/// addresses the loads read: a tail call of `__cxa_atexit(f, NULL, dso_handle)`
/// with `f` already in `x0`. Absolute addresses, so it works at any distance.
/// `out` is at least [`ATEXIT_SIZE`] bytes.
pub fn write_atexit(out: &mut [u8], dso_handle: u64, cxa_atexit: u64) {
    let words = [
        0x5800_0082u32, // ldr x2, #16 (dso_handle)
        0x5800_00b0,    // ldr x16, #20 (__cxa_atexit)
        0xaa1f_03e1,    // mov x1, xzr
        BR_X16,
    ];
    for (chunk, word) in out[..16].chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out[16..24].copy_from_slice(&dso_handle.to_le_bytes());
    out[24..32].copy_from_slice(&cxa_atexit.to_le_bytes());
}

/// `ldr x16, slot; br x16` (the slot itself, [`STUB_SLOT`] bytes in, is not
/// written here).
///
/// The slot must be 4-aligned and within ±1 MiB of `at`.
pub fn write_stub(out: &mut [u8], at: u64, slot: u64) -> Result<(), FixupError> {
    let out = room(out, STUB_SLOT)?;
    let words = [
        load_literal19(LDR_X16_LITERAL, slot.wrapping_sub(at) as i64)?,
        BR_X16,
    ];
    write_words(out, &words);
    Ok(())
}

/// `adrp x0, slot; add x0, x0, #:lo12:slot; adrp x16, cell;
/// ldr x16, [x16, #:lo12:cell]; br x16`, then `brk #0` padding.
///
/// The handler is entered as if the stub's caller had called it with the slot's
/// address as its only argument: `x0` = slot, `x30` untouched (a tail call), the
/// stack as at the call. `handler_cell` must be 8-aligned.
pub fn write_trap(out: &mut [u8], at: u64, slot: u64, handler_cell: u64) -> Result<(), FixupError> {
    let out = room(out, TRAP_SIZE)?;
    let words = [
        adrp(ADRP_X0, slot, at, true)?,
        page_offset12(ADD_X0_X0, slot, 0)?,
        adrp(ADRP_X16, handler_cell, at.wrapping_add(8), true)?,
        page_offset12(LDR_X16_X16, handler_cell, 3)?,
        BR_X16,
    ];
    write_words(out, &words);
    Ok(())
}

/// `adrp x16, target; add x16, x16, #:lo12:target; br x16; brk #0`.
///
/// Reaches ±4 GiB (by page) from `at`; clobbers only `x16` (IP0).
pub fn write_veneer(out: &mut [u8], at: u64, target: u64) -> Result<(), FixupError> {
    let out = room(out, VENEER_SIZE)?;
    let words = [
        adrp(ADRP_X16, target, at, true)?,
        page_offset12(ADD_X16_X16, target, 0)?,
        BR_X16,
    ];
    write_words(out, &words);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind::*;

    /// The place of most rows: 8 GiB, so that `P ± 2^32` is a valid address.
    const P: u64 = 0x2_0000_0000;
    /// What a data place holds before the fixup.
    const DATA: u64 = 0xaaaa_aaaa_aaaa_aaaa;
    const I32U: (i64, i64) = int_or_uint_range(32);
    const I16U: (i64, i64) = int_or_uint_range(16);
    const I32: (i64, i64) = signed_range(32);
    const I28: (i64, i64) = signed_range(28);
    const I21: (i64, i64) = signed_range(21);
    const I16: (i64, i64) = signed_range(16);
    const I33: (i64, i64) = signed_range(33);

    type Want = Result<u64, FixupError>;

    fn v(s: u64, a: i64, p: u64) -> FixupValues {
        FixupValues {
            s,
            a,
            p,
            slot: 0,
            got: 0,
            z: 0,
        }
    }

    fn gv(slot: u64, got: u64, p: u64) -> FixupValues {
        FixupValues {
            s: 0,
            a: 0,
            p,
            slot,
            got,
            z: 0,
        }
    }

    fn uabs(group: u8, checked: bool) -> Kind {
        movw(group, checked, false, false)
    }

    fn sabs(group: u8) -> Kind {
        movw(group, true, true, false)
    }

    fn prel(group: u8, checked: bool) -> Kind {
        movw(group, checked, true, true)
    }

    fn lo12(shift: u8) -> Kind {
        PageOffset12 { shift }
    }

    fn oor(value: i64, (lo, hi): (i64, i64)) -> Want {
        Err(FixupError::OutOfRange { value, lo, hi })
    }

    fn mis(value: u64, align: u64) -> Want {
        Err(FixupError::Misaligned {
            value: value as i64,
            align,
        })
    }

    /// `BadInstruction` for the row's own instruction (its text is not compared).
    const BAD: Want = Err(FixupError::BadInstruction {
        insn: 0,
        expected: "",
    });

    fn unsupported() -> Want {
        Err(FixupError::Unsupported(""))
    }

    /// Applies `kind` to `before` (little-endian, in an 8-byte buffer) and returns
    /// the `width` bytes written; checks that nothing else moved.
    fn run(kind: Kind, before: u64, v: &FixupValues) -> Want {
        let width = kind.info().width;
        let mut buf = before.to_le_bytes();
        let result = kind.apply(&mut buf, v);
        assert_eq!(
            buf[width..],
            before.to_le_bytes()[width..],
            "{kind:?} wrote past its width"
        );
        if result.is_err() {
            assert_eq!(buf, before.to_le_bytes(), "{kind:?} wrote despite an error");
        }
        result?;
        let mut out = [0u8; 8];
        out[..width].copy_from_slice(&buf[..width]);
        Ok(u64::from_le_bytes(out))
    }

    /// Compares results; error texts (`expected`, `Unsupported`) are not compared.
    fn same(got: &Want, want: &Want, before: u64) -> bool {
        use FixupError::*;
        match (got, want) {
            (Err(BadInstruction { insn, .. }), Err(BadInstruction { .. })) => {
                u64::from(*insn) == before
            }
            (Err(Unsupported(_)), Err(Unsupported(_))) => true,
            _ => got == want,
        }
    }

    /// (kind, place before, values, place after or error). Every instruction word
    /// was assembled by `llvm-mc -triple=aarch64-linux-gnu -show-encoding` from the
    /// text in the comment next to it.
    #[rustfmt::skip]
    fn cases() -> Vec<(Kind, u64, FixupValues, Want)> {
        vec![
            // Data: both ends of every range.
            (Pointer64, DATA, v(0x1122_3344_5566_7788, 0, 0), Ok(0x1122_3344_5566_7788)),
            (Pointer64, DATA, v(u64::MAX, 1, 0), Ok(0)),
            (Pointer64, DATA, v(0x1000, -0x1001, 0), Ok(u64::MAX)),
            (Pointer32, DATA, v(0xffff_fff0, 0xf, 0), Ok(0xffff_ffff)),
            (Pointer32, DATA, v(0xffff_fff0, 0x10, 0), oor(0x1_0000_0000, I32U)),
            (Pointer32, DATA, v(0, -0x8000_0000, 0), Ok(0x8000_0000)),
            (Pointer32, DATA, v(0, -0x8000_0001, 0), oor(-0x8000_0001, I32U)),
            (Pointer16, DATA, v(0xfff0, 0xf, 0), Ok(0xffff)),
            (Pointer16, DATA, v(0x1_0000, 0, 0), oor(0x1_0000, I16U)),
            (Pointer16, DATA, v(0x10, -0x8010, 0), Ok(0x8000)),
            (Pointer16, DATA, v(0x10, -0x8011, 0), oor(-0x8001, I16U)),
            (Delta64, DATA, v(0x1000, 8, 0x2000), Ok(-0xff8i64 as u64)),
            (Delta64, DATA, v(0, 0, 1), Ok(u64::MAX)),
            (Delta32, DATA, v(P + 0xffff_fffc, 3, P), Ok(0xffff_ffff)),
            (Delta32, DATA, v(P + 0xffff_fffc, 4, P), oor(0x1_0000_0000, I32U)),
            (Delta32, DATA, v(P, 0, P + 0x8000_0000), Ok(0x8000_0000)),
            (Delta32, DATA, v(P, -1, P + 0x8000_0000), oor(-0x8000_0001, I32U)),
            (Delta16, DATA, v(P + 0xffff, 0, P), Ok(0xffff)),
            (Delta16, DATA, v(P + 0x1_0000, 0, P), oor(0x1_0000, I16U)),
            (Delta16, DATA, v(P - 0x8000, 0, P), Ok(0x8000)),
            (Delta16, DATA, v(P - 0x8001, 0, P), oor(-0x8001, I16U)),
            (Branch32, DATA, v(P + 0x7fff_ffff, 0, P), Ok(0x7fff_ffff)),
            (Branch32, DATA, v(P + 0x8000_0000, 0, P), oor(0x8000_0000, I32)),
            (Branch32, DATA, v(P, 0, P + 0x8000_0000), Ok(0x8000_0000)),
            (Branch32, DATA, v(P, 0, P + 0x8000_0001), oor(-0x8000_0001, I32)),

            // B/BL: ±128 MiB, 4-aligned; the opcode is kept.
            (Branch26, 0x9400_0000 /* bl #0 */, v(P + 0x7ff_fffc, 0, P), Ok(0x95ff_ffff /* bl #0x7fffffc */)),
            (Branch26, 0x9400_0000 /* bl #0 */, v(P + 0x800_0000, 0, P), oor(0x800_0000, I28)),
            (Branch26, 0x1400_0000 /* b #0 */, v(P - 0x800_0000, 0, P), Ok(0x1600_0000 /* b #-0x8000000 */)),
            (Branch26, 0x1400_0000 /* b #0 */, v(P - 0x800_0004, 0, P), oor(-0x800_0004, I28)),
            (Branch26, 0x9400_0000 /* bl #0 */, v(P + 0x802, 0, P), mis(0x802, 4)),
            (Branch26, 0x9400_0000 /* bl #0 */, v(P + 0x1000, -0x10, P), Ok(0x9400_03fc /* bl #0xff0 */)),
            (Branch26, 0x9400_048d /* bl #0x1234 */, v(P - 4, 0, P), Ok(0x97ff_ffff /* bl #-4 */)),
            (Branch26, 0xb400_0000 /* cbz x0, #0 */, v(P, 0, P), BAD),
            (Branch26, 0xd63f_0020 /* blr x1 */, v(P, 0, P), BAD),

            // B.cond/CBZ/CBNZ: ±1 MiB, 4-aligned.
            (CondBranch19, 0x5400_0001 /* b.ne #0 */, v(P + 0xf_fffc, 0, P), Ok(0x547f_ffe1 /* b.ne #0xffffc */)),
            (CondBranch19, 0x5400_0001 /* b.ne #0 */, v(P + 0x10_0000, 0, P), oor(0x10_0000, I21)),
            (CondBranch19, 0xb400_0001 /* cbz x1, #0 */, v(P - 0x10_0000, 0, P), Ok(0xb480_0001 /* cbz x1, #-0x100000 */)),
            (CondBranch19, 0x3500_0003 /* cbnz w3, #0 */, v(P - 0x10_0004, 0, P), oor(-0x10_0004, I21)),
            (CondBranch19, 0x3500_0003 /* cbnz w3, #0 */, v(P + 6, 0, P), mis(6, 4)),
            (CondBranch19, 0x5400_0000 /* b.eq #0 */, v(P - 8, 0, P), Ok(0x54ff_ffc0 /* b.eq #-8 */)),
            (CondBranch19, 0x3608_0000 /* tbz x0, #1, #0 */, v(P, 0, P), BAD),
            (CondBranch19, 0x1400_0000 /* b #0 */, v(P, 0, P), BAD),

            // TBZ/TBNZ: ±32 KiB, 4-aligned; the bit number is kept.
            (TestBranch14, 0xb6f8_0000 /* tbz x0, #63, #0 */, v(P + 0x7ffc, 0, P), Ok(0xb6fb_ffe0 /* tbz x0, #63, #0x7ffc */)),
            (TestBranch14, 0xb6f8_0000 /* tbz x0, #63, #0 */, v(P + 0x8000, 0, P), oor(0x8000, I16)),
            (TestBranch14, 0x37f8_0005 /* tbnz w5, #31, #0 */, v(P - 0x8000, 0, P), Ok(0x37fc_0005 /* tbnz w5, #31, #-0x8000 */)),
            (TestBranch14, 0x37f8_0005 /* tbnz w5, #31, #0 */, v(P - 0x8004, 0, P), oor(-0x8004, I16)),
            (TestBranch14, 0x37f8_0005 /* tbnz w5, #31, #0 */, v(P + 2, 0, P), mis(2, 4)),
            (TestBranch14, 0xb400_0000 /* cbz x0, #0 */, v(P, 0, P), BAD),

            // LDR (literal): ±1 MiB, 4-aligned.
            (LoadLiteral19, 0x5800_0000 /* ldr x0, #0 */, v(P + 0xf_fffc, 0, P), Ok(0x587f_ffe0 /* ldr x0, #0xffffc */)),
            (LoadLiteral19, 0x5800_0000 /* ldr x0, #0 */, v(P + 0x10_0000, 0, P), oor(0x10_0000, I21)),
            (LoadLiteral19, 0x1800_0001 /* ldr w1, #0 */, v(P - 0x10_0000, 0, P), Ok(0x1880_0001 /* ldr w1, #-0x100000 */)),
            (LoadLiteral19, 0x9800_0002 /* ldrsw x2, #0 */, v(P - 0x10_0004, 0, P), oor(-0x10_0004, I21)),
            (LoadLiteral19, 0x9c00_0003 /* ldr q3, #0 */, v(P + 0x10, 0, P), Ok(0x9c00_0083 /* ldr q3, #0x10 */)),
            (LoadLiteral19, 0xd800_0000 /* prfm pldl1keep, #0 */, v(P + 0x20, 0, P), Ok(0xd800_0100 /* prfm pldl1keep, #0x20 */)),
            (LoadLiteral19, 0x5c00_0004 /* ldr d4, #0 */, v(P + 5, 0, P), mis(5, 4)),
            (LoadLiteral19, 0xf940_0020 /* ldr x0, [x1] */, v(P, 0, P), BAD),

            // ADR: ±1 MiB, any byte.
            (Adr21, 0x1000_0000 /* adr x0, #0 */, v(P + 0xf_ffff, 0, P), Ok(0x707f_ffe0 /* adr x0, #0xfffff */)),
            (Adr21, 0x1000_0000 /* adr x0, #0 */, v(P + 0x10_0000, 0, P), oor(0x10_0000, I21)),
            (Adr21, 0x1000_0007 /* adr x7, #0 */, v(P - 0x10_0000, 0, P), Ok(0x1080_0007 /* adr x7, #-0x100000 */)),
            (Adr21, 0x1000_0007 /* adr x7, #0 */, v(P - 0x10_0001, 0, P), oor(-0x10_0001, I21)),
            (Adr21, 0x1000_0000 /* adr x0, #0 */, v(P + 1, 0, P), Ok(0x3000_0000 /* adr x0, #1 */)),
            (Adr21, 0x1000_0000 /* adr x0, #0 */, v(P + 2, 1, P), Ok(0x7000_0000 /* adr x0, #3 */)),
            (Adr21, 0x1000_0000 /* adr x0, #0 */, v(P - 1, 0, P), Ok(0x70ff_ffe0 /* adr x0, #-1 */)),
            (Adr21, 0x9000_0000 /* adrp x0, #0 */, v(P, 0, P), BAD),

            // ADRP: a page delta, checked to ±4 GiB unless _NC.
            (Page21 { checked: true }, 0x9000_0010 /* adrp x16, #0 */, v(P + 0xffff_ffff, 0, P + 0x123), Ok(0xf07f_fff0 /* adrp x16, #0xfffff000 */)),
            (Page21 { checked: true }, 0x9000_0010 /* adrp x16, #0 */, v(P + 0x1_0000_0000, 0, P + 0x123), oor(0x1_0000_0000, I33)),
            (Page21 { checked: true }, 0x9000_0010 /* adrp x16, #0 */, v(P - 0x1_0000_0000, 0, P + 0xfff), Ok(0x9080_0010 /* adrp x16, #-0x100000000 */)),
            (Page21 { checked: true }, 0x9000_0010 /* adrp x16, #0 */, v(P - 0x1_0000_0001, 0, P), oor(-0x1_0000_1000, I33)),
            (Page21 { checked: true }, 0x9000_0000 /* adrp x0, #0 */, v(P + 0x1000, 0, P + 0xffc), Ok(0xb000_0000 /* adrp x0, #0x1000 */)),
            (Page21 { checked: true }, 0x9000_0000 /* adrp x0, #0 */, v(P + 0xff0, 0x10, P + 0xffc), Ok(0xb000_0000 /* adrp x0, #0x1000 */)),
            (Page21 { checked: true }, 0x9000_0000 /* adrp x0, #0 */, v(P + 0xff8, 0, P + 0x10), Ok(0x9000_0000 /* adrp x0, #0 */)),
            (Page21 { checked: true }, 0x9000_0003 /* adrp x3, #0 */, v(P + 0xfff, 0, P + 0x1000), Ok(0xf0ff_ffe3 /* adrp x3, #-0x1000 */)),
            (Page21 { checked: true }, 0x1000_0000 /* adr x0, #0 */, v(P, 0, P), BAD),
            (Page21 { checked: false }, 0x9000_0000 /* adrp x0, #0 */, v(P + 0x1_0000_0000, 0, P), Ok(0x9080_0000 /* adrp x0, #-0x100000000 */)),
            (Page21 { checked: false }, 0x9000_0000 /* adrp x0, #0 */, v(P + 0x2_0000_1000, 0, P), Ok(0xb000_0000 /* adrp x0, #0x1000 */)),
            (Page21 { checked: false }, 0x9000_0000 /* adrp x0, #0 */, v(P + 0x5432, 0, P), Ok(0xb000_0020 /* adrp x0, #0x5000 */)),

            // :lo12: in ADD (shift 0) and load/stores scaled by their size.
            (lo12(0), 0x9100_0020 /* add x0, x1, #0 */, v(0x1234_5678, 0x10, 0), Ok(0x911a_2020 /* add x0, x1, #0x688 */)),
            (lo12(0), 0x1100_0083 /* add w3, w4, #0 */, v(0x7fff_ffff, 0, 0), Ok(0x113f_fc83 /* add w3, w4, #0xfff */)),
            (lo12(0), 0xb100_0020 /* adds x0, x1, #0 */, v(0x1001, 0, 0), Ok(0xb100_0420 /* adds x0, x1, #1 */)),
            (lo12(0), 0x913f_fc20 /* add x0, x1, #0xfff */, v(0x1000, 0, 0), Ok(0x9100_0020 /* add x0, x1, #0 */)),
            (lo12(0), 0x3940_0020 /* ldrb w0, [x1] */, v(0x4321, 0, 0), Ok(0x394c_8420 /* ldrb w0, [x1, #0x321] */)),
            (lo12(0), 0x3900_03e2 /* strb w2, [sp] */, v(0xfff, 0, 0), Ok(0x393f_ffe2 /* strb w2, [sp, #0xfff] */)),
            (lo12(0), 0x3980_0020 /* ldrsb x0, [x1] */, v(0x7, 0, 0), Ok(0x3980_1c20 /* ldrsb x0, [x1, #0x7] */)),
            (lo12(0), 0x3d40_0020 /* ldr b0, [x1] */, v(P + 0x10, 0, 0), Ok(0x3d40_4020 /* ldr b0, [x1, #0x10] */)),
            (lo12(0), 0x9140_0020 /* add x0, x1, #0, lsl #12 */, v(0, 0, 0), BAD),
            (lo12(0), 0xd100_0020 /* sub x0, x1, #0 */, v(0, 0, 0), BAD),
            (lo12(0), 0xf940_0020 /* ldr x0, [x1] */, v(0, 0, 0), BAD),
            (lo12(1), 0x7940_0020 /* ldrh w0, [x1] */, v(P + 0xffe, 0, 0), Ok(0x795f_fc20 /* ldrh w0, [x1, #0xffe] */)),
            (lo12(1), 0x7900_0020 /* strh w0, [x1] */, v(P + 0xfff, 0, 0), mis(P + 0xfff, 2)),
            (lo12(1), 0x7d40_0020 /* ldr h0, [x1] */, v(0x1000, 2, 0), Ok(0x7d40_0420 /* ldr h0, [x1, #2] */)),
            (lo12(1), 0x7980_0020 /* ldrsh x0, [x1] */, v(0x10, 0, 0), Ok(0x7980_2020 /* ldrsh x0, [x1, #0x10] */)),
            (lo12(1), 0x3940_0020 /* ldrb w0, [x1] */, v(0, 0, 0), BAD),
            (lo12(2), 0xb940_0020 /* ldr w0, [x1] */, v(P + 0xffc, 0, 0), Ok(0xb94f_fc20 /* ldr w0, [x1, #0xffc] */)),
            (lo12(2), 0xb980_0020 /* ldrsw x0, [x1] */, v(P + 0x104, 0, 0), Ok(0xb981_0420 /* ldrsw x0, [x1, #0x104] */)),
            (lo12(2), 0xbd00_0020 /* str s0, [x1] */, v(P + 0x12, 0, 0), mis(P + 0x12, 4)),
            (lo12(2), 0xbd00_0020 /* str s0, [x1] */, v(P + 0x101, 0, 0), mis(P + 0x101, 4)),
            (lo12(2), 0x7940_0020 /* ldrh w0, [x1] */, v(0, 0, 0), BAD),
            (lo12(3), 0xf940_0020 /* ldr x0, [x1] */, v(P + 0xff8, 0, 0), Ok(0xf947_fc20 /* ldr x0, [x1, #0xff8] */)),
            (lo12(3), 0xf940_0020 /* ldr x0, [x1] */, v(P + 0x100, 8, 0), Ok(0xf940_8420 /* ldr x0, [x1, #0x108] */)),
            (lo12(3), 0xf980_0020 /* prfm pldl1keep, [x1] */, v(P + 0x40, 0, 0), Ok(0xf980_2020 /* prfm pldl1keep, [x1, #0x40] */)),
            (lo12(3), 0xfd00_0020 /* str d0, [x1] */, v(P + 0x1004, 0, 0), mis(P + 0x1004, 8)),
            (lo12(3), 0xb940_0020 /* ldr w0, [x1] */, v(0, 0, 0), BAD),
            (lo12(4), 0x3dc0_0020 /* ldr q0, [x1] */, v(P + 0xff0, 0, 0), Ok(0x3dc3_fc20 /* ldr q0, [x1, #0xff0] */)),
            (lo12(4), 0x3d80_0041 /* str q1, [x2] */, v(P + 0xff8, 0, 0), mis(P + 0xff8, 16)),
            (lo12(4), 0xf940_0020 /* ldr x0, [x1] */, v(0, 0, 0), BAD),
            (lo12(5), 0xf940_0020 /* ldr x0, [x1] */, v(0, 0, 0), unsupported()),

            // MOVW_UABS: MOVZ/MOVK, unsigned checks, opcode kept.
            (uabs(0, true), 0xd280_0000 /* movz x0, #0 */, v(0xffff, 0, 0), Ok(0xd29f_ffe0 /* movz x0, #0xffff */)),
            (uabs(0, true), 0xd280_0000 /* movz x0, #0 */, v(0x1_0000, 0, 0), oor(0x1_0000, (0, 0x1_0000))),
            (uabs(0, true), 0xd280_0000 /* movz x0, #0 */, v(0, -1, 0), oor(-1, (0, 0x1_0000))),
            (uabs(0, false), 0xf29f_ffe0 /* movk x0, #0xffff */, v(0x1234_5678_9abc_def0, 0, 0), Ok(0xf29b_de00 /* movk x0, #0xdef0 */)),
            (uabs(1, true), 0xd2a0_0000 /* movz x0, #0, lsl #16 */, v(0xffff_ffff, 0, 0), Ok(0xd2bf_ffe0 /* movz x0, #0xffff, lsl #16 */)),
            (uabs(1, true), 0xd2a0_0000 /* movz x0, #0, lsl #16 */, v(0x1_0000_0000, 0, 0), oor(0x1_0000_0000, (0, 0x1_0000_0000))),
            (uabs(1, true), 0x52a0_0000 /* movz w0, #0, lsl #16 */, v(0x1234_5678, 0, 0), Ok(0x52a2_4680 /* movz w0, #0x1234, lsl #16 */)),
            (uabs(1, false), 0xf2a0_0000 /* movk x0, #0, lsl #16 */, v(0x1234_5678_9abc_def0, 0, 0), Ok(0xf2b3_5780 /* movk x0, #0x9abc, lsl #16 */)),
            (uabs(2, true), 0xd2c0_0000 /* movz x0, #0, lsl #32 */, v(0xffff_ffff_ffff, 0, 0), Ok(0xd2df_ffe0 /* movz x0, #0xffff, lsl #32 */)),
            (uabs(2, true), 0xd2c0_0000 /* movz x0, #0, lsl #32 */, v(1 << 48, 0, 0), oor(1 << 48, (0, 1 << 48))),
            (uabs(2, false), 0xf2c0_0000 /* movk x0, #0, lsl #32 */, v(0x1234_5678_9abc_def0, 0, 0), Ok(0xf2ca_cf00 /* movk x0, #0x5678, lsl #32 */)),
            (uabs(3, false), 0xd2e0_0000 /* movz x0, #0, lsl #48 */, v(0x1234_5678_9abc_def0, 0, 0), Ok(0xd2e2_4680 /* movz x0, #0x1234, lsl #48 */)),
            (uabs(3, false), 0xd2e0_0000 /* movz x0, #0, lsl #48 */, v(u64::MAX, 0, 0), Ok(0xd2ff_ffe0 /* movz x0, #0xffff, lsl #48 */)),
            (uabs(3, false), 0xf2e0_0000 /* movk x0, #0, lsl #48 */, v(0xfedc_0000_0000_0000, 0, 0), Ok(0xf2ff_db80 /* movk x0, #0xfedc, lsl #48 */)),
            (uabs(0, true), 0x9280_0000 /* movn x0, #0 */, v(0, 0, 0), BAD),
            (uabs(1, true), 0xd280_0000 /* movz x0, #0 */, v(0, 0, 0), BAD),
            (uabs(0, true), 0x9100_0000 /* add x0, x0, #0 */, v(0, 0, 0), BAD),
            // `movz x0, #0, lsl #32` with sf cleared: a W register cannot take LSL #32.
            (uabs(2, true), 0x52c0_0000, v(0, 0, 0), BAD),
            (uabs(4, false), 0xd280_0000 /* movz x0, #0 */, v(0, 0, 0), unsupported()),

            // MOVW_SABS: signed checks; MOVZ for X >= 0, MOVN !X for X < 0.
            (sabs(0), 0xd280_0001 /* movz x1, #0 */, v(0xffff, 0, 0), Ok(0xd29f_ffe1 /* movz x1, #0xffff */)),
            (sabs(0), 0xd280_0001 /* movz x1, #0 */, v(0x1_0000, 0, 0), oor(0x1_0000, (-0x1_0000, 0x1_0000))),
            (sabs(0), 0xd280_0001 /* movz x1, #0 */, v(0, -1, 0), Ok(0x9280_0001 /* movn x1, #0 */)),
            (sabs(0), 0xd280_0001 /* movz x1, #0 */, v(0, -0x1_0000, 0), Ok(0x929f_ffe1 /* movn x1, #0xffff */)),
            (sabs(0), 0xd280_0001 /* movz x1, #0 */, v(0, -0x1_0001, 0), oor(-0x1_0001, (-0x1_0000, 0x1_0000))),
            (sabs(0), 0x9280_0001 /* movn x1, #0 */, v(5, 0, 0), Ok(0xd280_00a1 /* movz x1, #5 */)),
            (sabs(0), 0x5280_0001 /* movz w1, #0 */, v(0, -2, 0), Ok(0x1280_0021 /* movn w1, #1 */)),
            (sabs(0), 0xf280_0000 /* movk x0, #0 */, v(0, -2, 0), Ok(0xf29f_ffc0 /* movk x0, #0xfffe */)),
            (sabs(1), 0xd2a0_0002 /* movz x2, #0, lsl #16 */, v(0, -0x1_0000_0000, 0), Ok(0x92bf_ffe2 /* movn x2, #0xffff, lsl #16 */)),
            (sabs(1), 0xd2a0_0002 /* movz x2, #0, lsl #16 */, v(0xffff_ffff, 0, 0), Ok(0xd2bf_ffe2 /* movz x2, #0xffff, lsl #16 */)),
            (sabs(1), 0xd2a0_0002 /* movz x2, #0, lsl #16 */, v(0x1_0000_0000, 0, 0), oor(0x1_0000_0000, (-0x1_0000_0000, 0x1_0000_0000))),
            (sabs(1), 0xd2a0_0002 /* movz x2, #0, lsl #16 */, v(0, -0x1_0000_0001, 0), oor(-0x1_0000_0001, (-0x1_0000_0000, 0x1_0000_0000))),
            (sabs(1), 0xd2a0_0002 /* movz x2, #0, lsl #16 */, v(0, -0x1234_5678, 0), Ok(0x92a2_4682 /* movn x2, #0x1234, lsl #16 */)),
            (sabs(2), 0xd2c0_0003 /* movz x3, #0, lsl #32 */, v(0, -(1 << 48), 0), Ok(0x92df_ffe3 /* movn x3, #0xffff, lsl #32 */)),
            (sabs(2), 0xd2c0_0003 /* movz x3, #0, lsl #32 */, v((1 << 48) - 1, 0, 0), Ok(0xd2df_ffe3 /* movz x3, #0xffff, lsl #32 */)),
            (sabs(2), 0xd2c0_0003 /* movz x3, #0, lsl #32 */, v(1 << 48, 0, 0), oor(1 << 48, (-(1 << 48), 1 << 48))),
            (sabs(2), 0xd2c0_0003 /* movz x3, #0, lsl #32 */, v(0, -(1 << 48) - 1, 0), oor(-(1 << 48) - 1, (-(1 << 48), 1 << 48))),

            // MOVW_PREL: X = S + A - P, signed like SABS; _NC forms patch MOVK.
            (prel(0, true), 0xd280_0000 /* movz x0, #0 */, v(P - 0x1000, 0, P), Ok(0x9281_ffe0 /* movn x0, #0xfff */)),
            (prel(0, true), 0xd280_0000 /* movz x0, #0 */, v(P + 0xffff, 0, P), Ok(0xd29f_ffe0 /* movz x0, #0xffff */)),
            (prel(0, true), 0xd280_0000 /* movz x0, #0 */, v(P + 0x1_0000, 0, P), oor(0x1_0000, (-0x1_0000, 0x1_0000))),
            (prel(0, true), 0xd280_0000 /* movz x0, #0 */, v(P - 0x1_0000, 0, P), Ok(0x929f_ffe0 /* movn x0, #0xffff */)),
            (prel(0, true), 0xd280_0000 /* movz x0, #0 */, v(P - 0x1_0001, 0, P), oor(-0x1_0001, (-0x1_0000, 0x1_0000))),
            (prel(1, true), 0x92a0_0004 /* movn x4, #0, lsl #16 */, v(P + 0x1234_5678, 0, P), Ok(0xd2a2_4684 /* movz x4, #0x1234, lsl #16 */)),
            (prel(1, true), 0x92a0_0004 /* movn x4, #0, lsl #16 */, v(P - 0x1_0000_0001, 0, P), oor(-0x1_0000_0001, (-0x1_0000_0000, 0x1_0000_0000))),
            (prel(2, true), 0xd2c0_0005 /* movz x5, #0, lsl #32 */, v(P - 0x1_0000_0000, 0, P), Ok(0x92c0_0005 /* movn x5, #0, lsl #32 */)),
            (prel(2, true), 0xd2c0_0005 /* movz x5, #0, lsl #32 */, v(P + (1 << 48), 0, P), oor(1 << 48, (-(1 << 48), 1 << 48))),
            (prel(3, false), 0xd2e0_0006 /* movz x6, #0, lsl #48 */, v(0, 0, 0x10), Ok(0x92e0_0006 /* movn x6, #0, lsl #48 */)),
            (prel(3, false), 0xd2e0_0006 /* movz x6, #0, lsl #48 */, v(0x1234_0000_0000_0010, 0, 0x10), Ok(0xd2e2_4686 /* movz x6, #0x1234, lsl #48 */)),
            (prel(0, false), 0xf280_0000 /* movk x0, #0 */, v(0, 0, 0x10), Ok(0xf29f_fe00 /* movk x0, #0xfff0 */)),
            (prel(1, false), 0xf2a0_0000 /* movk x0, #0, lsl #16 */, v(0, 0, 0x10), Ok(0xf2bf_ffe0 /* movk x0, #0xffff, lsl #16 */)),
            (prel(2, false), 0xf2c0_0000 /* movk x0, #0, lsl #32 */, v(P + 0x1234_5678_9abc, 0, P), Ok(0xf2c2_4680 /* movk x0, #0x1234, lsl #32 */)),
            (prel(1, false), 0xd2a0_0000 /* movz x0, #0, lsl #16 */, v(P + (1 << 40) + 0x1_0000, 0, P), Ok(0xd2a0_0020 /* movz x0, #1, lsl #16 */)),

            // GOT: the slot's page, its low 12 bits, its offset from Page(GOT).
            (GotPage21, 0x9000_0000 /* adrp x0, #0 */, gv(P + 0x12_3458, 0, P + 0x10), Ok(0xf000_0900 /* adrp x0, #0x123000 */)),
            (GotPage21, 0x9000_0000 /* adrp x0, #0 */, gv(P + 0xffff_fff8, 0, P), Ok(0xf07f_ffe0 /* adrp x0, #0xfffff000 */)),
            (GotPage21, 0x9000_0000 /* adrp x0, #0 */, gv(P + 0x1_0000_0000, 0, P), oor(0x1_0000_0000, I33)),
            (GotPage21, 0x9000_0000 /* adrp x0, #0 */, gv(P - 0x1_0000_0000, 0, P), Ok(0x9080_0000 /* adrp x0, #-0x100000000 */)),
            (GotPage21, 0x9000_0000 /* adrp x0, #0 */, FixupValues { a: 8, ..gv(P, 0, P) }, unsupported()),
            (GotPage21, 0xf940_0000 /* ldr x0, [x0] */, gv(P, 0, P), BAD),
            (GotPageOffset12, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x12_3458, 0, 0), Ok(0xf942_2c01 /* ldr x1, [x0, #0x458] */)),
            (GotPageOffset12, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0xff8, 0, 0), Ok(0xf947_fc01 /* ldr x1, [x0, #0xff8] */)),
            (GotPageOffset12, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x45c, 0, 0), mis(P + 0x45c, 8)),
            (GotPageOffset12, 0xf940_0001 /* ldr x1, [x0] */, FixupValues { a: -8, ..gv(P, 0, 0) }, unsupported()),
            (GotPageOffset12, 0xb940_0001 /* ldr w1, [x0] */, gv(P, 0, 0), BAD),
            (GotPageOffset12, 0x9100_0001 /* add x1, x0, #0 */, gv(P, 0, 0), BAD),
            (GotPageOffset15, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x7ff8, P + 0x800, 0), Ok(0xf97f_fc01 /* ldr x1, [x0, #0x7ff8] */)),
            (GotPageOffset15, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x8000, P + 0x800, 0), oor(0x8000, (0, 0x8000))),
            (GotPageOffset15, 0xf940_0001 /* ldr x1, [x0] */, gv(P, P + 0x800, 0), Ok(0xf940_0001 /* ldr x1, [x0] */)),
            (GotPageOffset15, 0xf940_0001 /* ldr x1, [x0] */, gv(P - 8, P + 0x800, 0), oor(-8, (0, 0x8000))),
            (GotPageOffset15, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x804, P + 0x800, 0), mis(0x804, 8)),
            (GotPageOffset15, 0xf940_0001 /* ldr x1, [x0] */, FixupValues { a: 8, ..gv(P, P, 0) }, unsupported()),
            (GotPageOffset15, 0xb940_0001 /* ldr w1, [x0] */, gv(P, P, 0), BAD),
            // Data words: slot - P (+ A), signed 32 bits.
            (GotDelta32, 0, gv(P + 0x7fff_ffff, 0, P), Ok(0x7fff_ffff)),
            (GotDelta32, 0, gv(P + 0x8000_0000, 0, P), oor(0x8000_0000, (-0x8000_0000, 0x8000_0000))),
            (GotDelta32, 0, gv(P - 0x8000_0000, 0, P), Ok(0x8000_0000)),
            (GotDelta32, 0, gv(P - 0x8000_0001, 0, P), oor(-0x8000_0001, (-0x8000_0000, 0x8000_0000))),
            (GotDelta32, 0, FixupValues { a: 4, ..gv(P + 8, 0, P) }, Ok(12)),
            // TLS cells (descriptor or TlsIndex, in `slot`) and block offsets (in `s`).
            (TlsDescPage21, 0x9000_0000 /* adrp x0, #0 */, gv(P + 0x12_3458, 0, P + 0x10), Ok(0xf000_0900 /* adrp x0, #0x123000 */)),
            (TlsDescPage21, 0xf940_0000 /* ldr x0, [x0] */, gv(P, 0, P), BAD),
            (TlsIndexPage21 { module: false }, 0x9000_0000 /* adrp x0, #0 */, gv(P + 0x12_3458, 0, P + 0x10), Ok(0xf000_0900 /* adrp x0, #0x123000 */)),
            (TlsIndexPage21 { module: true }, 0x9000_0000 /* adrp x0, #0 */, gv(P + 0x1_0000_0000, 0, P), oor(0x1_0000_0000, I33)),
            (TlsDescLoad12, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x12_3458, 0, 0), Ok(0xf942_2c01 /* ldr x1, [x0, #0x458] */)),
            (TlsDescLoad12, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x45c, 0, 0), mis(P + 0x45c, 8)),
            (TlsDescAdd12, 0x9100_0000 /* add x0, x0, #0 */, gv(P + 0x12_3458, 0, 0), Ok(0x9111_6000 /* add x0, x0, #0x458 */)),
            (TlsDescAdd12, 0xf940_0001 /* ldr x1, [x0] */, gv(P, 0, 0), BAD),
            (TlsIndexAdd12 { module: false }, 0x9100_0000 /* add x0, x0, #0 */, gv(P + 0x12_3458, 0, 0), Ok(0x9111_6000 /* add x0, x0, #0x458 */)),
            (TlsIndexAdd12 { module: true }, 0x9100_0000 /* add x0, x0, #0 */, gv(P + 0xfff, 0, 0), Ok(0x913f_fc00 /* add x0, x0, #0xfff */)),
            (DtpOffsetAdd12 { hi: true, checked: true }, 0x9140_0000 /* add x0, x0, #0, lsl #12 */, v(0x12_3456, 0, 0), Ok(0x9144_8c00 /* add x0, x0, #0x123, lsl #12 */)),
            (DtpOffset64, 0, v(0x12_3456, 0x10, 0), Ok(0x12_3466)),
            // Static TLS: the cell of initial exec in `slot`, thread-pointer offsets in `s`.
            (TpCellPage21, 0x9000_0000 /* adrp x0, #0 */, gv(P + 0x12_3458, 0, P + 0x10), Ok(0xf000_0900 /* adrp x0, #0x123000 */)),
            (TpCellPage21, 0xf940_0000 /* ldr x0, [x0] */, gv(P, 0, P), BAD),
            (TpCellLoad12, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x12_3458, 0, 0), Ok(0xf942_2c01 /* ldr x1, [x0, #0x458] */)),
            (TpCellLoad12, 0xf940_0001 /* ldr x1, [x0] */, gv(P + 0x45c, 0, 0), mis(P + 0x45c, 8)),
            (TpCellLiteral19, 0x5800_0001 /* ldr x1, #0 */, gv(P + 0x100, 0, P), Ok(0x5800_0801 /* ldr x1, #0x100 */)),
            (TpCellLiteral19, 0x1800_0001 /* ldr w1, #0 */, gv(P + 0x100, 0, P), BAD),
            (TpOffsetAdd12 { hi: true, checked: true }, 0x9140_0000 /* add x0, x0, #0, lsl #12 */, v(0x12_3456, 0, 0), Ok(0x9144_8c00 /* add x0, x0, #0x123, lsl #12 */)),
            (TpOffsetAdd12 { hi: false, checked: false }, 0x9100_0000 /* add x0, x0, #0 */, v(0x12_3456, 0, 0), Ok(0x9111_5800 /* add x0, x0, #0x456 */)),
            (TpOffsetAdd12 { hi: false, checked: true }, 0x9100_0000 /* add x0, x0, #0 */, v(0x1000, 0, 0), oor(0x1000, (0, 0x1000))),
            (TpOffsetLoadStore12 { shift: 2, checked: false }, 0xb940_0001 /* ldr w1, [x0] */, v(0x1_0158, 0, 0), Ok(0xb941_5801 /* ldr w1, [x0, #0x158] */)),
            (TpOffsetLoadStore12 { shift: 3, checked: true }, 0xf940_0001 /* ldr x1, [x0] */, v(0x1_0158, 0, 0), oor(0x1_0158, (0, 0x1000))),
            (TpOffsetLoadStore12 { shift: 3, checked: false }, 0xf940_0001 /* ldr x1, [x0] */, v(0x154, 0, 0), mis(0x154, 8)),
            (TpOffsetMoveWide16 { group: 1, checked: true }, 0xd2a0_0000 /* movz x0, #0, lsl #16 */, v(0x12_3456, 0, 0), Ok(0xd2a0_0240 /* movz x0, #0x12, lsl #16 */)),
            (TpOffsetMoveWide16 { group: 0, checked: false }, 0xf280_0000 /* movk x0, #0 */, v(0x12_3456, 0, 0), Ok(0xf286_8ac0 /* movk x0, #0x3456 */)),
            (TpOffsetLoadStore12 { shift: 0, checked: true }, 0x3940_0001 /* ldrb w1, [x0] */, v(0x158, 0, 0), Ok(0x3945_6001 /* ldrb w1, [x0, #0x158] */)),
            (TpOffsetLoadStore12 { shift: 0, checked: true }, 0x3940_0001 /* ldrb w1, [x0] */, v(0x1000, 0, 0), oor(0x1000, (0, 0x1000))),
            (TpOffsetLoadStore12 { shift: 0, checked: false }, 0x3940_0001 /* ldrb w1, [x0] */, v(0x1_0158, 0, 0), Ok(0x3945_6001 /* ldrb w1, [x0, #0x158] */)),
            (TpOffsetLoadStore12 { shift: 1, checked: true }, 0x7940_0001 /* ldrh w1, [x0] */, v(0x158, 0, 0), Ok(0x7942_b001 /* ldrh w1, [x0, #0x158] */)),
            (TpOffsetLoadStore12 { shift: 1, checked: false }, 0x7940_0001 /* ldrh w1, [x0] */, v(0x1_0158, 0, 0), Ok(0x7942_b001 /* ldrh w1, [x0, #0x158] */)),
            (TpOffsetLoadStore12 { shift: 1, checked: false }, 0x7940_0001 /* ldrh w1, [x0] */, v(0x157, 0, 0), mis(0x157, 2)),
            (TpOffsetLoadStore12 { shift: 2, checked: true }, 0xb940_0001 /* ldr w1, [x0] */, v(0x158, 0, 0), Ok(0xb941_5801 /* ldr w1, [x0, #0x158] */)),
            (TpOffsetLoadStore12 { shift: 3, checked: false }, 0xb940_0001 /* ldr w1, [x0] */, v(0x158, 0, 0), BAD),
            (TpOffsetLoadStore12 { shift: 4, checked: true }, 0x3dc0_0001 /* ldr q1, [x0] */, v(0x150, 0, 0), Ok(0x3dc0_5401 /* ldr q1, [x0, #0x150] */)),
            (TpOffsetLoadStore12 { shift: 4, checked: false }, 0x3dc0_0001 /* ldr q1, [x0] */, v(0x1_0150, 0, 0), Ok(0x3dc0_5401 /* ldr q1, [x0, #0x150] */)),
            (TpOffsetMoveWide16 { group: 2, checked: true }, 0xd2c0_0000 /* movz x0, #0, lsl #32 */, v(0x1_2345_6789, 0, 0), Ok(0xd2c0_0020 /* movz x0, #1, lsl #32 */)),
            (TpOffsetMoveWide16 { group: 1, checked: false }, 0xf2a0_0000 /* movk x0, #0, lsl #16 */, v(0x12_3456, 0, 0), Ok(0xf2a0_0240 /* movk x0, #0x12, lsl #16 */)),
            (TpOffsetMoveWide16 { group: 0, checked: true }, 0xd280_0000 /* movz x0, #0 */, v(0x1234, 0, 0), Ok(0xd282_4680 /* movz x0, #0x1234 */)),
            (TpOffsetMoveWide16 { group: 0, checked: true }, 0xd280_0000 /* movz x0, #0 */, v(0x1_0000, 0, 0), oor(0x1_0000, (-0x1_0000, 0x1_0000))),
            (DtpModule64, 0, v(0x2_0000_0005, 0, 0), Ok(0x2_0000_0005)),
            (DtpOffsetAdd12 { hi: true, checked: true }, 0x9140_0000 /* add x0, x0, #0, lsl #12 */, v(0xff_f000, 0x1000, 0), oor(0x100_0000, (0, 0x100_0000))),
            (DtpOffsetAdd12 { hi: false, checked: false }, 0x9100_0000 /* add x0, x0, #0 */, v(0x12_3456, 0, 0), Ok(0x9111_5800 /* add x0, x0, #0x456 */)),
            (DtpOffsetAdd12 { hi: false, checked: true }, 0x9100_0000 /* add x0, x0, #0 */, v(0xff0, 0x10, 0), oor(0x1000, (0, 0x1000))),
            (DtpOffsetAdd12 { hi: false, checked: false }, 0xf940_0001 /* ldr x1, [x0] */, v(0, 0, 0), BAD),
        ]
    }

    #[test]
    fn encodings_and_ranges() {
        let cases = cases();
        for (i, (kind, before, v, want)) in cases.iter().enumerate() {
            let got = run(*kind, *before, v);
            assert!(
                same(&got, want, *before),
                "case {i}: {kind:?} {before:#x} {v:x?}\n got {got:x?}\nwant {want:x?}"
            );
        }
        // Every kind the ELF reader produces has rows.
        for kind in Kind::ALL {
            assert!(cases.iter().any(|c| c.0 == kind), "no rows for {kind:?}");
        }
    }

    #[test]
    fn got_loads_relax_to_add_and_nothing_else_does() {
        // ldr x1, [x0, #8] -> add x1, x0, #0; ldr x0, [sp] -> mov x0, sp
        assert_eq!(relax_got_load(0xf940_0401), Some(0x9100_0001));
        assert_eq!(relax_got_load(0xf940_03e0), Some(0x9100_03e0));
        // ldr w1, [x0]; ldr xzr, [x0] (an ADD would write sp); add x1, x0, #0
        assert_eq!(relax_got_load(0xb940_0001), None);
        assert_eq!(relax_got_load(0xf940_001f), None);
        assert_eq!(relax_got_load(0x9100_0001), None);
    }

    #[test]
    fn short_places_are_refused_untouched() {
        for kind in Kind::ALL {
            let w = kind.info().width;
            let mut short = vec![0x5au8; w - 1];
            let got = kind.apply(&mut short, &v(0, 0, 0));
            assert_eq!(got, Err(FixupError::Truncated { need: w }), "{kind:?}");
            assert!(short.iter().all(|&b| b == 0x5a), "{kind:?}");
        }
    }

    #[test]
    fn info_matches_the_kinds() {
        for kind in Kind::ALL {
            let info = kind.info();
            let got_kind = matches!(
                kind,
                GotPage21 | GotPageOffset12 | GotPageOffset15 | GotDelta32
            );
            assert_eq!(info.target == Target::Slot, got_kind, "{kind:?}");
            assert_eq!(info.uses_got_base, kind == GotPageOffset15, "{kind:?}");
            assert!(!info.uses_size, "{kind:?}");
        }
        assert_eq!(Branch26.info().reach, Reach::Veneer);
        assert_eq!(Branch32.info().reach, Reach::Stub);
        assert_eq!(CondBranch19.info().reach, Reach::Exact);
        assert!(uabs(1, true).info().absolute_narrow);
        assert!(!uabs(1, false).info().absolute_narrow);
        assert!(!uabs(2, true).info().absolute_narrow);
        assert!(prel(1, true).info().pc_relative_narrow);
    }

    #[test]
    fn page_offset12_shift_reads_the_access_size() {
        let cases: [(u32, Option<u8>); 10] = [
            (0x9100_0420 /* add x0, x1, #1 */, Some(0)),
            (0x3940_0020 /* ldrb w0, [x1] */, Some(0)),
            (0x79c0_0020 /* ldrsh w0, [x1] */, Some(1)),
            (0xbd00_0020 /* str s0, [x1] */, Some(2)),
            (0xf940_0020 /* ldr x0, [x1] */, Some(3)),
            (0xfd40_0020 /* ldr d0, [x1] */, Some(3)),
            (0x3dc0_0020 /* ldr q0, [x1] */, Some(4)),
            (0xf840_8c20 /* ldr x0, [x1, #8]! */, None),
            (0xa940_0440 /* ldp x0, x1, [x2] */, None),
            (0x9140_0420 /* add x0, x1, #1, lsl #12 */, None),
        ];
        for (insn, want) in cases {
            assert_eq!(page_offset12_shift(insn), want, "{insn:#010x}");
        }
    }

    fn words(bytes: &[u8]) -> Vec<u32> {
        bytes.chunks(4).map(read_u32).collect()
    }

    #[test]
    fn stub_loads_the_slot_and_branches() {
        let mut b = [0u8; STUB_SIZE];
        write_stub(&mut b, P, P + STUB_SLOT as u64).unwrap();
        let want: [u32; 4] = [
            0x5800_0050, /* ldr x16, #8 */
            0xd61f_0200, /* br x16 */
            0,           /* the slot, not written here */
            0,
        ];
        assert_eq!(words(&b), want);
        let before = b;
        let far = write_stub(&mut b, P, P + 0x10_0000);
        assert!(matches!(far, Err(FixupError::OutOfRange { .. })), "{far:?}");
        let odd = write_stub(&mut b, P, P + 6);
        assert!(matches!(odd, Err(FixupError::Misaligned { .. })), "{odd:?}");
        assert_eq!(b, before, "a failed write leaves the stub alone");
        assert_eq!(
            write_stub(&mut b[..7], P, P + 8),
            Err(FixupError::Truncated { need: 8 })
        );
    }

    #[test]
    fn trap_passes_the_slot_to_the_handler() {
        let mut b = [0u8; TRAP_SIZE];
        // The second ADRP sits on the next page: its own address is its P.
        write_trap(&mut b, P + 0xffc, P + 0x12_3458, P + 0x1008).unwrap();
        let want: [u32; 8] = [
            0xf000_0900, /* adrp x0, #0x123000 */
            0x9111_6000, /* add x0, x0, #0x458 */
            0x9000_0010, /* adrp x16, #0 */
            0xf940_0610, /* ldr x16, [x16, #0x8] */
            0xd61f_0200, /* br x16 */
            0xd420_0000, /* brk #0 */
            0xd420_0000, /* brk #0 */
            0xd420_0000, /* brk #0 */
        ];
        assert_eq!(words(&b), want);
        write_trap(&mut b, P, P + 0x10, P + 0x2000_0ff8).unwrap();
        assert_eq!(
            read_u32(&b[8..]),
            0x9010_0010 /* adrp x16, #0x20000000 */
        );
        assert_eq!(
            read_u32(&b[12..]),
            0xf947_fe10 /* ldr x16, [x16, #0xff8] */
        );
        assert_eq!(write_trap(&mut b, P, P, P + 4), mis(P + 4, 8).map(drop));
        assert_eq!(
            write_trap(&mut b, P, P - 0x1_0000_0001, P),
            oor(-0x1_0000_1000, I33).map(drop)
        );
        assert_eq!(
            write_trap(&mut b[..31], P, P, P),
            Err(FixupError::Truncated { need: 32 })
        );
    }

    #[test]
    fn veneer_reaches_four_gib() {
        let mut b = [0u8; VENEER_SIZE];
        write_veneer(&mut b, P, P + 0x2345_6788).unwrap();
        let want: [u32; 4] = [
            0xd011_a2b0, /* adrp x16, #0x23456000 */
            0x911e_2210, /* add x16, x16, #0x788 */
            0xd61f_0200, /* br x16 */
            0xd420_0000, /* brk #0 */
        ];
        assert_eq!(words(&b), want);
        write_veneer(&mut b, P + 0x8000_0000, P + 0x1000).unwrap();
        let want: [u32; 4] = [
            0xb0c0_0010, /* adrp x16, #-0x7ffff000 */
            0x9100_0210, /* add x16, x16, #0 */
            0xd61f_0200, /* br x16 */
            0xd420_0000, /* brk #0 */
        ];
        assert_eq!(words(&b), want);
        assert_eq!(
            write_veneer(&mut b, P, P + 0x1_0000_1000),
            oor(0x1_0000_1000, I33).map(drop)
        );
        assert_eq!(
            write_veneer(&mut b[..12], P, P),
            Err(FixupError::Truncated { need: 16 })
        );
    }
}
