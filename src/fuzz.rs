//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable replay
//! tests (`tests/fuzz_replay.rs`), so CI exercises the same code without nightly.
//! Each panics only when an invariant of relink's is broken.

pub mod model;

use std::cell::RefCell;

use crate::arch::{aarch64, x86_64, FixupError, FixupValues, RelocKind};
use crate::input::Definition;
use crate::{Linker, LinkerOptions, ObjectId, ReplaceOptions};

/// Parses `data` and checks the reader's promises: every relocation lies inside
/// its section, every symbol's definition names a section that exists and lies
/// within it.
pub fn parse(data: &[u8]) {
    let copy = crate::input::Aligned::if_needed(data);
    let data = copy.as_ref().map_or(data, crate::input::Aligned::as_slice);
    let Ok(object) = crate::input::parse("fuzz", data) else {
        return;
    };
    for section in &object.sections {
        for r in &section.relocs {
            let end = r.offset + r.kind.info().width as u64;
            assert!(end <= section.size, "relocation past its section");
            assert!((r.symbol.0 as usize) < object.symbols.len());
        }
    }
    for symbol in &object.symbols {
        if let Definition::Section { section, offset } = symbol.definition {
            let s = object
                .sections
                .get(section.0 as usize)
                .expect("symbol's section");
            assert!(offset <= s.size, "symbol past its section");
        }
    }
}

/// A link-only linker (code never executable, no constructors), renewed now and
/// then so the names fuzzed objects leave behind do not pile up.
fn with_linker<R>(f: impl FnOnce(&mut Linker) -> R) -> R {
    thread_local! {
        static LINKER: RefCell<(Option<Linker>, u32)> = const { RefCell::new((None, 0)) };
    }
    LINKER.with(|cell| {
        let mut cell = cell.borrow_mut();
        cell.1 += 1;
        if cell.0.is_none() || cell.1 % 512 == 0 {
            let options = LinkerOptions::new()
                .link_only(true)
                .region_size(64 << 20)
                .stub_capacity(1 << 14);
            cell.0 = Linker::with_options(options).ok();
        }
        match cell.0.as_mut() {
            Some(l) => f(l),
            None => panic!("cannot create a linker"),
        }
    })
}

/// Links `data` as an object (layout, resolve, fixup into memory that is never
/// executable), unloads it, and checks that the linker ends as it began — and
/// that a failed load changed nothing.
pub fn link(data: &[u8]) {
    with_linker(|l| {
        let before = l.state_digest();
        match l.load_bytes("fuzz.o", data) {
            Ok(id) => {
                assert_eq!(l.objects().count(), 1);
                assert!(l.memory().live > 0);
                let _ = l.undefined();
                l.unload(id).expect("unload of a lone object");
                // SAFETY: no loaded code runs here (fuzzing links only).
                unsafe { l.reclaim() };
                assert_eq!(l.objects().count(), 0);
                assert_eq!(l.memory().retired, 0);
            }
            Err(_) => assert_eq!(l.state_digest(), before, "a failed load changed the linker"),
        }
    })
}

/// A structured sequence of load / replace / unload / lookup / reclaim over
/// `seeds` (valid objects) and mutations of them, checking after every step that
/// failed operations change nothing and that the accounting holds.
pub fn sequence(data: &[u8], seeds: &[&[u8]]) {
    if seeds.is_empty() {
        return;
    }
    let options = LinkerOptions::new()
        .link_only(true)
        .region_size(64 << 20)
        .stub_capacity(1 << 12);
    let Ok(mut l) = Linker::with_options(options) else {
        return;
    };
    let mut ids: Vec<ObjectId> = Vec::new();
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    while let Some(op) = next() {
        let before = l.state_digest();
        let pick = next().unwrap_or(0) as usize;
        let object = object_from(seeds[pick % seeds.len()], &mut next);
        match op % 6 {
            0 | 1 => match l.load_bytes("seq.o", &object) {
                Ok(id) => ids.push(id),
                Err(_) => assert_eq!(l.state_digest(), before, "failed load changed state"),
            },
            2 if !ids.is_empty() => {
                let id = ids[pick % ids.len()];
                let keep_state = pick & 1 == 1;
                if l.replace_with(id, &object, ReplaceOptions::new().keep_state(keep_state))
                    .is_err()
                {
                    assert_eq!(l.state_digest(), before, "failed replace changed state");
                }
            }
            3 if !ids.is_empty() => {
                let id = ids[pick % ids.len()];
                match l.unload(id) {
                    Ok(()) => ids.retain(|i| *i != id),
                    Err(_) => assert_eq!(l.state_digest(), before, "failed unload changed state"),
                }
            }
            4 => {
                let names = [
                    "add", "counter", "version", "ping", "main", "table", "f_0_0",
                ];
                let _ = l.address(names[pick % names.len()]);
                let _ = l.undefined();
            }
            _ => {
                // SAFETY: no loaded code runs here (fuzzing links only).
                unsafe { l.reclaim() };
                assert_eq!(l.memory().retired, 0);
            }
        }
        assert_eq!(l.objects().count(), ids.len());
        assert_eq!(l.memory().objects, ids.len());
    }
}

/// The model of `model` (issue 16) driven by `data`: the first byte says whether
/// loaded code runs (odd) or the linker is link-only (even: values are checked by
/// reading memory at `address()`), every following group of bytes draws one step.
/// The corpus holds only valid objects, so running their code is safe exactly when
/// the model says every name it uses is defined; a wrong fixup then shows as a
/// wrong value (or a crash, which is a finding too). Panics with the step and the
/// difference when relink and the model disagree.
pub fn model_sequence(data: &[u8], corpus: &model::Corpus) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let execute = mode & 1 == 1;
    let Ok(mut runner) = model::Runner::new(corpus, execute, model::Targets::from_env()) else {
        return;
    };
    let mut bytes = rest.iter().copied();
    let mut steps = Vec::new();
    loop {
        let mut ended = false;
        let mut draw = || {
            let b = bytes.next();
            ended |= b.is_none();
            u64::from(b.unwrap_or(0))
        };
        let step = model::draw_step(runner.model(), execute, &mut draw);
        if ended {
            return;
        }
        steps.push(step.clone());
        if let Err(f) = runner.step(&step) {
            panic!(
                "model: step {:?} of {steps:?} (execute: {execute}): {}",
                f.step, f.message
            );
        }
    }
}

/// A seed, possibly mutated by up to four (position, value) pairs from the input.
fn object_from(seed: &[u8], next: &mut impl FnMut() -> Option<u8>) -> Vec<u8> {
    let mut object = seed.to_vec();
    let flips = next().unwrap_or(0) % 5;
    for _ in 0..flips {
        let (hi, lo, v) = (
            next().unwrap_or(0),
            next().unwrap_or(0),
            next().unwrap_or(0),
        );
        if !object.is_empty() {
            let at = (usize::from(hi) << 8 | usize::from(lo)) % object.len();
            object[at] = v;
        }
    }
    object
}

/// Applies an arbitrary kind to an arbitrary place with arbitrary values and
/// compares with [`reference`], a model written independently of the encoders.
pub fn fixup(data: &[u8]) {
    if data.len() < 2 + 8 + 6 * 8 {
        return;
    }
    let word = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap_or([0; 8]));
    let kind = drawn_kind(data[0], data[1]);
    let before = word(2);
    let v = FixupValues {
        s: word(10),
        a: word(18) as i64,
        p: word(26),
        slot: word(34),
        got: word(42),
        z: word(50),
    };
    let mut place = before.to_le_bytes();
    let got = kind.apply(&mut place, &v);
    let width = kind.info().width;
    assert_eq!(
        place[width..],
        before.to_le_bytes()[width..],
        "{kind} wrote past its width"
    );
    if got.is_err() {
        assert_eq!(place, before.to_le_bytes(), "{kind} wrote despite an error");
    }
    let after = u64::from_le_bytes(place);
    if let Some(want) = reference(kind, before, &v) {
        match (&got, want) {
            (Ok(()), Some(expected)) => {
                assert_eq!(
                    after, expected,
                    "{kind} {v:x?}: {after:#x} != {expected:#x}"
                )
            }
            (Err(FixupError::OutOfRange { .. } | FixupError::Misaligned { .. }), None) => {}
            (got, want) => panic!("{kind} {v:x?} on {before:#x}: encoder {got:?}, model {want:x?}"),
        }
    }
}

/// The kind [`fixup`] applies: the architecture by the low bit of `arch`, the
/// kind of its `Kind::ALL` (every kind the readers produce) by `index`.
fn drawn_kind(arch: u8, index: u8) -> RelocKind {
    if arch & 1 == 0 {
        RelocKind::X86_64(x86_64::Kind::ALL[usize::from(index) % x86_64::Kind::ALL.len()])
    } else {
        RelocKind::Aarch64(aarch64::Kind::ALL[usize::from(index) % aarch64::Kind::ALL.len()])
    }
}

// One byte picks the kind: every kind of `ALL` can be drawn.
const _: () = assert!(x86_64::Kind::ALL.len() <= 256 && aarch64::Kind::ALL.len() <= 256);

/// What `kind` must produce from `before` and `v`: `Some(Some(bytes))` for a
/// successful write (as a little-endian word; bytes past the width unchanged),
/// `Some(None)` for a range or alignment error, `None` where the model has no
/// opinion (instruction classes it does not judge, unsupported forms).
fn reference(kind: RelocKind, before: u64, v: &FixupValues) -> Option<Option<u64>> {
    let (s, a, p) = (v.s as i128, v.a as i128, v.p as i128);
    let wrap = |x: i128| x.rem_euclid(1 << 64) as u64 as i64 as i128;
    let put = |x: i128, bytes: u32| {
        let mask: u64 = if bytes == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * bytes)) - 1
        };
        Some(Some((before & !mask) | (x as u64 & mask)))
    };
    let ranged = |x: i128, lo: i128, hi: i128, bytes: u32| {
        if (lo..hi).contains(&x) {
            put(x, bytes)
        } else {
            Some(None)
        }
    };
    let (sa, delta) = (wrap(s + a), wrap(s + a - p));
    match kind {
        RelocKind::X86_64(k) => {
            use x86_64::Kind::*;
            let (slot, got, z) = (v.slot as i128, v.got as i128, v.z as i128);
            match k {
                Pointer64 => put(sa, 8),
                Pointer32 | Size32 => {
                    let x = if k == Size32 { wrap(z + a) } else { sa };
                    ranged(x, 0, 1 << 32, 4)
                }
                Pointer32Signed => ranged(sa, -(1 << 31), 1 << 31, 4),
                Pointer16 => ranged(sa, -(1 << 15), 1 << 16, 2),
                Pointer8 => ranged(sa, -(1 << 7), 1 << 8, 1),
                Delta64 => put(delta, 8),
                Delta32 | Branch32 => ranged(delta, -(1 << 31), 1 << 31, 4),
                Delta16 => ranged(delta, -(1 << 15), 1 << 15, 2),
                Delta8 => ranged(delta, -(1 << 7), 1 << 7, 1),
                GotDelta32 => ranged(wrap(slot + a - p), -(1 << 31), 1 << 31, 4),
                GotDelta64 => put(wrap(slot + a - p), 8),
                GotOffset64 => put(wrap(slot - got + a), 8),
                GotBaseOffset64 | StubBaseOffset64 => put(wrap(s + a - got), 8),
                GotBaseDelta32 => ranged(wrap(got + a - p), -(1 << 31), 1 << 31, 4),
                GotBaseDelta64 => put(wrap(got + a - p), 8),
                Size64 => put(wrap(z + a), 8),
                TlsIndexDelta32 | TlsModuleDelta32 | TpCellDelta32 | TlsDescDelta32 => {
                    ranged(wrap(slot + a - p), -(1 << 31), 1 << 31, 4)
                }
                DtpOffset32 | TpOffset32 => ranged(sa, -(1 << 31), 1 << 31, 4),
                DtpOffset64 | TpOffset64 => put(sa, 8),
                DtpModule64 => put(s, 8),
            }
        }
        RelocKind::Aarch64(k) => aarch64_reference(k, before, v, sa, delta),
    }
}

/// The AArch64 half of [`reference`]: data words exactly; instructions by the
/// immediate field they must end up with, for instruction classes it recognises.
fn aarch64_reference(
    k: aarch64::Kind,
    before: u64,
    v: &FixupValues,
    sa: i128,
    delta: i128,
) -> Option<Option<u64>> {
    use aarch64::Kind::*;
    let insn = before as u32;
    let hi = before & !0xffff_ffff;
    let set = |field: u32, mask: u32, shift: u32| {
        Some(Some(
            hi | u64::from((insn & !(mask << shift)) | ((field & mask) << shift)),
        ))
    };
    let data = |x: i128, lo: i128, hi_: i128, bytes: u32| {
        if !(lo..hi_).contains(&x) {
            return Some(None);
        }
        let mask: u64 = if bytes == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * bytes)) - 1
        };
        Some(Some((before & !mask) | (x as u64 & mask)))
    };
    // A branch-like immediate: `bits` wide, scaled by 4, at `shift`.
    let branch = |class: bool, bits: u32, shift: u32| {
        if !class {
            return None;
        }
        if delta % 4 != 0 || !(-(1i128 << (bits + 1))..(1i128 << (bits + 1))).contains(&delta) {
            return Some(None);
        }
        set((delta >> 2) as u32, (1 << bits) - 1, shift)
    };
    let page = |x: i128| x & !0xfff;
    match k {
        Pointer64 => data(sa, i128::MIN, i128::MAX, 8),
        Pointer32 => data(sa, -(1 << 31), 1 << 32, 4),
        Pointer16 => data(sa, -(1 << 15), 1 << 16, 2),
        Delta64 => data(delta, i128::MIN, i128::MAX, 8),
        Delta32 => data(delta, -(1 << 31), 1 << 32, 4),
        Delta16 => data(delta, -(1 << 15), 1 << 16, 2),
        Branch32 => data(delta, -(1 << 31), 1 << 31, 4),
        GotDelta32 => {
            let d = (v.slot as i128 + v.a as i128 - v.p as i128).rem_euclid(1 << 64) as u64 as i64;
            data(i128::from(d), -(1 << 31), 1 << 31, 4)
        }
        Branch26 => branch(insn & 0x7c00_0000 == 0x1400_0000, 26, 0),
        TestBranch14 => branch(insn & 0x7e00_0000 == 0x3600_0000, 14, 5),
        CondBranch19 => {
            let class = insn & 0xff00_0010 == 0x5400_0000 || insn & 0x7e00_0000 == 0x3400_0000;
            branch(class, 19, 5)
        }
        Adr21 | Page21 { .. } => {
            let adrp = matches!(k, Page21 { .. });
            let op = if adrp { 0x9000_0000 } else { 0x1000_0000 };
            if insn & 0x9f00_0000 != op {
                return None;
            }
            // Page arithmetic is modulo 2^64, like every address computation.
            let x = if adrp {
                let wrap = |x: i128| x.rem_euclid(1 << 64) as u64 as i64 as i128;
                wrap(page(sa) - page(v.p as i128)) >> 12
            } else {
                delta
            };
            let checked = !matches!(k, Page21 { checked: false });
            if checked && !(-(1i128 << 20)..(1i128 << 20)).contains(&x) {
                return Some(None);
            }
            let x = x as u32;
            let lo = (x & 3) << 29;
            let hi21 = ((x >> 2) & 0x7ffff) << 5;
            Some(Some(
                hi | u64::from((insn & !(3 << 29) & !(0x7ffff << 5)) | lo | hi21),
            ))
        }
        // Immediate-field checks for the remaining forms need the full class
        // tables; the encoder tests cover them row by row, the fuzzer checks
        // only that they never panic or write past their width.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixup_draws_every_kind_of_both_architectures() {
        let drawn: Vec<RelocKind> = (0..=1u8)
            .flat_map(|arch| (0..=255u8).map(move |i| drawn_kind(arch, i)))
            .collect();
        let x = x86_64::Kind::ALL.into_iter().map(RelocKind::X86_64);
        let a = aarch64::Kind::ALL.into_iter().map(RelocKind::Aarch64);
        for kind in x.chain(a) {
            assert!(drawn.contains(&kind), "{kind:?} is never drawn");
        }
    }
}
