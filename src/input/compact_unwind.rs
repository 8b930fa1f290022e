//! arm64 Mach-O compact unwind (`__LD,__compact_unwind`) turned into `.eh_frame`
//! CIE/FDE records, so that the process's DWARF unwinder (libgcc) walks arm64
//! Mach-O frames: llc emits compact unwind only for arm64, no `__eh_frame`.
//!
//! An object's `__compact_unwind` is an array of 32-byte entries
//! `{function: u64, length: u32, encoding: u32, personality: u64, lsda: u64}`,
//! the pointers carried by `ARM64_RELOC_UNSIGNED` relocations. The encoding
//! (`<mach-o/compact_unwind_encoding.h>`) has a mode in bits 24–27:
//!
//! | mode | meaning | CFA and saved registers |
//! |---|---|---|
//! | `FRAME` (4) | `x29`/`x30` pushed, `x29` points at them | `CFA = x29 + 16`; `x30` at `CFA-8`, `x29` at `CFA-16`; pairs below, from `CFA-24` |
//! | `FRAMELESS` (2) | no frame record; bits 12–23 are the stack size / 16 | `CFA = sp + size`; return address stays in `x30`; pairs from `CFA-8` |
//! | `DWARF` (3) | bits 0–23: offset of an FDE in `__eh_frame` | nothing to convert: `__eh_frame` is loaded and registered as it is |
//!
//! Pairs (bits 0–4: `x19/x20` … `x27/x28`; bits 8–11: `d8/d9` … `d14/d15`) are
//! stored downward in that order, first register of a pair at the higher
//! address, as libunwind's `CompactUnwinder_arm64` reads them for `FRAME`. For
//! `FRAMELESS` libunwind starts reading at `sp + size` itself; LLVM's prologue puts
//! the first saved register at `sp + size - 8` (what is converted here), and does
//! not emit register pairs in frameless encodings anyway. An encoding of 0 means
//! "no unwind information": no FDE.
//!
//! Like the compact form, the rules hold from the end of the prologue to the
//! start of the epilogue — where calls happen, which is all exceptions and
//! backtraces need. Each entry becomes one CIE (augmentation `zR`, or `zPLR` when
//! it has a personality) and one FDE, with absolute 8-byte pointers
//! (`DW_EH_PE_absptr`) relocated by `Pointer64`: the function's start, the
//! personality, the LSDA. (A CIE per entry keeps the records independent; sharing
//! them would save about 24 bytes an entry.) llc may also give a function with a
//! non-`DWARF` encoding an FDE in `__eh_frame` (seen with `-fomit-frame-pointer`):
//! it is then registered twice, once per section, which the unwinder tolerates (the
//! first section that covers a PC answers).

use super::{Reloc, SymbolId};
use crate::arch::RelocKind;

/// Bytes of one `__compact_unwind` entry.
pub(crate) const ENTRY_SIZE: u64 = 32;

const MODE_MASK: u32 = 0x0f00_0000;
const MODE_FRAMELESS: u32 = 0x0200_0000;
const MODE_DWARF: u32 = 0x0300_0000;
const MODE_FRAME: u32 = 0x0400_0000;
const STACK_SIZE_MASK: u32 = 0x00ff_f000;
/// Bits an arm64 encoding may have besides its mode and register pairs:
/// `UNWIND_IS_NOT_FUNCTION_START`, `UNWIND_HAS_LSDA`, `UNWIND_PERSONALITY_MASK`.
const FLAGS_MASK: u32 = 0xf000_0000;

/// DWARF register numbers (AArch64 DWARF ABI): `x29`, `x30`, `sp`, `d8` = `v8`.
const X29: u8 = 29;
const X30: u8 = 30;
const SP: u8 = 31;
const V8: u8 = 72;

/// The data alignment factor of every CIE: saved slots are 8 bytes apart.
const DATA_ALIGN: i64 = -8;

/// Where a pointer of an entry goes: a symbol plus an addend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub symbol: SymbolId,
    pub addend: i64,
}

/// One `__compact_unwind` entry, its pointers resolved to targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub function: Target,
    pub length: u32,
    pub encoding: u32,
    pub personality: Option<Target>,
    pub lsda: Option<Target>,
}

/// The call-frame instructions that say what `encoding` says, or `None` when it
/// needs no FDE (0, or `DWARF`: the FDE is in `__eh_frame`). An error names what
/// is wrong with the encoding.
pub(crate) fn arm64_instructions(encoding: u32) -> Result<Option<Vec<u8>>, String> {
    let mode = encoding & MODE_MASK;
    let pairs = encoding & !(MODE_MASK | FLAGS_MASK);
    let mut ins = Vec::new();
    let first_slot = match mode {
        _ if encoding & !FLAGS_MASK == 0 => return Ok(None),
        MODE_DWARF => return Ok(None),
        MODE_FRAME => {
            if pairs & !0xf1f != 0 {
                return Err(format!("frame encoding {encoding:#010x} has unknown bits"));
            }
            def_cfa(&mut ins, X29, 16);
            offset(&mut ins, X30, 1);
            offset(&mut ins, X29, 2);
            3
        }
        MODE_FRAMELESS => {
            if pairs & !(0xf1f | STACK_SIZE_MASK) != 0 {
                return Err(format!("frameless encoding {encoding:#010x} has unknown bits"));
            }
            let size = u64::from((encoding & STACK_SIZE_MASK) >> 12) * 16;
            def_cfa(&mut ins, SP, size);
            1
        }
        _ => return Err(format!("unknown arm64 compact unwind mode in {encoding:#010x}")),
    };
    let mut slot = first_slot;
    let gprs = (0..5).filter(|i| pairs & (1 << i) != 0).map(|i| 19 + 2 * i);
    let fprs = (0..4).filter(|i| pairs & (0x100 << i) != 0).map(|i| V8 + 2 * i);
    for first in gprs.chain(fprs) {
        offset(&mut ins, first, slot);
        offset(&mut ins, first + 1, slot + 1);
        slot += 2;
    }
    Ok(Some(ins))
}

/// `DW_CFA_def_cfa reg, offset`.
fn def_cfa(ins: &mut Vec<u8>, reg: u8, offset: u64) {
    ins.push(0x0c);
    uleb(ins, u64::from(reg));
    uleb(ins, offset);
}

/// `reg` saved at `CFA - 8 * slot`: `DW_CFA_offset` (registers below 64) or
/// `DW_CFA_offset_extended`.
fn offset(ins: &mut Vec<u8>, reg: u8, slot: u64) {
    if reg < 64 {
        ins.push(0x80 | reg);
    } else {
        ins.push(0x05);
        uleb(ins, u64::from(reg));
    }
    uleb(ins, slot);
}

fn uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// An `.eh_frame` section built from compact unwind entries.
#[derive(Debug, Default)]
pub(crate) struct EhFrame {
    pub bytes: Vec<u8>,
    pub relocs: Vec<Reloc>,
}

impl EhFrame {
    /// Appends the CIE and FDE of `entry`, whose call-frame instructions are `ins`;
    /// `pointer` is the arch's 8-byte absolute relocation kind.
    pub(crate) fn push(&mut self, entry: &Entry, ins: &[u8], pointer: RelocKind) {
        let cie = self.bytes.len();
        let augmentation: &[u8] = match entry.personality {
            Some(_) => b"zPLR\0",
            None => b"zR\0",
        };
        let mut body = vec![0, 0, 0, 0, 1]; // CIE id, version
        body.extend_from_slice(augmentation);
        uleb(&mut body, 1); // code alignment factor
        body.push((DATA_ALIGN & 0x7f) as u8); // data alignment factor, sleb128 -8
        uleb(&mut body, u64::from(X30));
        let mut pointers = Vec::new();
        match entry.personality {
            Some(p) => {
                uleb(&mut body, 1 + 8 + 1 + 1);
                body.push(0x00); // personality: absptr
                pointers.push((body.len(), p));
                body.extend_from_slice(&[0; 8]);
                body.push(0x00); // LSDA: absptr
            }
            None => uleb(&mut body, 1),
        }
        body.push(0x00); // FDE pointers: absptr
        self.record(body, &pointers, pointer);

        let fde = self.bytes.len();
        let cie_pointer = (fde + 4 - cie) as u32;
        let mut body = cie_pointer.to_le_bytes().to_vec();
        let mut pointers = vec![(body.len(), entry.function)];
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&u64::from(entry.length).to_le_bytes());
        if entry.personality.is_some() {
            uleb(&mut body, 8);
            if let Some(lsda) = entry.lsda {
                pointers.push((body.len(), lsda));
            }
            body.extend_from_slice(&[0; 8]); // null LSDA when there is none
        } else {
            uleb(&mut body, 0);
        }
        body.extend_from_slice(ins);
        self.record(body, &pointers, pointer);
    }

    /// Appends one record: its length, `body` padded with `DW_CFA_nop` to a
    /// multiple of 8 bytes, and a relocation for each `(offset in body, target)`.
    fn record(&mut self, mut body: Vec<u8>, pointers: &[(usize, Target)], kind: RelocKind) {
        while !(body.len() + 4).is_multiple_of(8) {
            body.push(0); // DW_CFA_nop
        }
        let start = self.bytes.len() + 4;
        self.bytes
            .extend_from_slice(&(body.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&body);
        for &(at, target) in pointers {
            self.relocs.push(Reloc {
                offset: (start + at) as u64,
                kind,
                symbol: target.symbol,
                addend: target.addend,
                minus: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gimli::{
        BaseAddresses, CfaRule, EhFrame as GimliEhFrame, LittleEndian, Register,
        RegisterRule, UnwindContext, UnwindSection,
    };

    /// The CFA rule and saved-register offsets of the one FDE in `frame`, relocated
    /// as if the function were at 0x1000.
    fn rules(frame: &EhFrame) -> (CfaRule<usize>, Vec<(u16, i64)>) {
        let mut bytes = frame.bytes.clone();
        for r in &frame.relocs {
            let at = r.offset as usize;
            let value = 0x1000u64.wrapping_add(r.addend as u64);
            bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        let section = GimliEhFrame::new(&bytes, LittleEndian);
        let bases = BaseAddresses::default();
        let mut ctx = UnwindContext::new();
        let row = section
            .unwind_info_for_address(&bases, &mut ctx, 0x1000, GimliEhFrame::cie_from_offset)
            .unwrap();
        let mut saved: Vec<(u16, i64)> = row
            .registers()
            .map(|(reg, rule)| match rule {
                RegisterRule::Offset(o) => (reg.0, *o),
                other => panic!("{other:?}"),
            })
            .collect();
        saved.sort();
        (row.cfa().clone(), saved)
    }

    fn entry(encoding: u32, personality: bool) -> Entry {
        let target = |s| Target {
            symbol: SymbolId(s),
            addend: 0,
        };
        Entry {
            function: target(1),
            length: 0x40,
            encoding,
            personality: personality.then(|| target(2)),
            lsda: personality.then(|| target(3)),
        }
    }

    fn convert(encoding: u32, personality: bool) -> EhFrame {
        let mut frame = EhFrame::default();
        let ins = arm64_instructions(encoding).unwrap().unwrap();
        let kind = RelocKind::Aarch64(crate::arch::aarch64::Kind::Pointer64);
        frame.push(&entry(encoding, personality), &ins, kind);
        frame
    }

    #[test]
    fn frame_with_register_pairs() {
        // x19/x20, x23/x24 and d8/d9: what `stp` pairs below the frame record hold.
        let frame = convert(MODE_FRAME | 0x1 | 0x4 | 0x100, false);
        let (cfa, saved) = rules(&frame);
        assert_eq!(
            cfa,
            CfaRule::RegisterAndOffset {
                register: Register(29),
                offset: 16
            }
        );
        let want = [
            (19, -24),
            (20, -32),
            (23, -40),
            (24, -48),
            (29, -16),
            (30, -8),
            (72, -56),
            (73, -64),
        ];
        assert_eq!(saved, want);
    }

    #[test]
    fn frameless_with_stack_size() {
        let frame = convert(MODE_FRAMELESS | (3 << 12), false);
        let (cfa, saved) = rules(&frame);
        assert_eq!(
            cfa,
            CfaRule::RegisterAndOffset {
                register: Register(31),
                offset: 48
            }
        );
        assert!(saved.is_empty(), "the return address stays in x30");
    }

    #[test]
    fn personality_and_lsda_get_pointer_relocations() {
        let frame = convert(MODE_FRAME | 0x4000_0000, true);
        let symbols: Vec<u32> = frame.relocs.iter().map(|r| r.symbol.0).collect();
        assert_eq!(symbols, [2, 1, 3], "personality (CIE), function, LSDA (FDE)");
        let section = GimliEhFrame::new(&frame.bytes, LittleEndian);
        let bases = BaseAddresses::default();
        let mut entries = section.entries(&bases);
        let mut kinds = Vec::new();
        while let Some(e) = entries.next().unwrap() {
            kinds.push(matches!(e, gimli::CieOrFde::Cie(_)));
        }
        assert_eq!(kinds, [true, false]);
        assert_eq!(frame.bytes.len() % 8, 0);
    }

    #[test]
    fn dwarf_and_empty_encodings_need_no_fde() {
        assert_eq!(arm64_instructions(MODE_DWARF | 0x40), Ok(None));
        assert_eq!(arm64_instructions(0), Ok(None));
        assert!(arm64_instructions(0x0100_0000).is_err(), "mode 1 is not arm64's");
        assert!(arm64_instructions(MODE_FRAME | 0x20).is_err(), "unknown pair bit");
    }
}
