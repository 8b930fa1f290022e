//! Facts of both architectures' kinds, checked together.

use super::*;

/// Every kind of both architectures.
fn all_kinds() -> impl Iterator<Item = RelocKind> {
    let x = x86_64::Kind::ALL.into_iter().map(RelocKind::X86_64);
    x.chain(aarch64::Kind::ALL.into_iter().map(RelocKind::Aarch64))
}

/// Exactly the kinds that reach less than ±2 GiB are short.
#[test]
fn short_pc_relative_kinds() {
    use aarch64::Kind as A;
    use x86_64::Kind as X;
    let short = |k| {
        matches!(
            k,
            RelocKind::X86_64(X::Delta16 | X::Delta8)
                | RelocKind::Aarch64(
                    A::Delta16
                        | A::Adr21
                        | A::LoadLiteral19
                        | A::CondBranch19
                        | A::TestBranch14
                        | A::MoveWide16 {
                            group: 0,
                            checked: true,
                            pcrel: true,
                            ..
                        }
                )
        )
    };
    for kind in all_kinds() {
        let info = kind.info();
        assert_eq!(info.pc_relative_short, short(kind), "{kind}");
        assert!(!info.pc_relative_short || info.pc_relative_narrow, "{kind}");
    }
}

#[test]
fn tls_addends() {
    let mut a = -4;
    assert_eq!(Arch::X86_64.tls_addend().take_variable_part(&mut a), 0);
    assert_eq!(a, -4, "x86-64 keeps the addend in the field");
    let mut a = 16;
    assert_eq!(Arch::Aarch64.tls_addend().take_variable_part(&mut a), 16);
    assert_eq!(a, 0, "AArch64 moves the addend into the cell");
}

#[test]
fn atexit_thunks() {
    let (dso, cxa) = (0x1122_3344_5566_7788u64, 0x99aa_bbcc_ddee_ff00u64);
    let mut x = [0u8; Arch::ATEXIT_SIZE + 1];
    Arch::X86_64.write_atexit(&mut x, dso, cxa);
    let mut want = vec![0x48, 0xba];
    want.extend_from_slice(&dso.to_le_bytes());
    want.extend_from_slice(&[0x31, 0xf6, 0x48, 0xb8]);
    want.extend_from_slice(&cxa.to_le_bytes());
    want.extend_from_slice(&[0xff, 0xe0]);
    want.resize(Arch::ATEXIT_SIZE, 0xcc);
    want.push(0);
    assert_eq!(x.to_vec(), want);

    let mut a = [0u8; Arch::ATEXIT_SIZE + 1];
    Arch::Aarch64.write_atexit(&mut a, dso, cxa);
    let mut want = Vec::new();
    for insn in [0x5800_0082u32, 0x5800_00b0, 0xaa1f_03e1, 0xd61f_0200] {
        want.extend_from_slice(&insn.to_le_bytes());
    }
    want.extend_from_slice(&dso.to_le_bytes());
    want.extend_from_slice(&cxa.to_le_bytes());
    want.push(0);
    assert_eq!(a.to_vec(), want);
}

#[test]
fn every_variant_is_described() {
    assert_eq!(x86_64::Kind::ALL.len(), x86_64::Kind::VARIANTS);
    for (i, kind) in x86_64::Kind::ALL.into_iter().enumerate() {
        assert_eq!(kind.variant_index(), i);
    }
    for kind in aarch64::Kind::ALL {
        assert!(kind.variant_index() < aarch64::Kind::VARIANTS);
        assert!(matches!(kind.info().width, 2 | 4 | 8), "{kind:?}");
    }
}
