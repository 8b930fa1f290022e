//! Every relocation kind the readers produce from the test objects (ELF and
//! Mach-O, x86-64 and AArch64) is in its architecture's `Kind::ALL`, the list the
//! encoder tests and the fuzzer's `fixup` target draw from.

mod common;

use relink::arch::{aarch64, x86_64, RelocKind};

#[test]
fn every_kind_read_from_the_test_objects_is_in_kind_all() {
    let objects: Vec<_> = common::all_objects()
        .into_iter()
        .chain(common::all_macho_objects())
        .collect();
    assert!(objects.len() > 50, "{} objects", objects.len());
    let (mut relocations, mut seen) = (0usize, Vec::new());
    for path in &objects {
        let bytes = std::fs::read(path).unwrap();
        let copy = relink::input::Aligned::if_needed(&bytes);
        let bytes = copy.as_ref().map_or(&bytes[..], |c| c.as_slice());
        let name = path.display().to_string();
        let object = relink::input::parse(&name, bytes).unwrap_or_else(|e| panic!("{e}"));
        for r in object.sections.iter().flat_map(|s| &s.relocs) {
            relocations += 1;
            let listed = match r.kind {
                RelocKind::X86_64(k) => x86_64::Kind::ALL.contains(&k),
                RelocKind::Aarch64(k) => aarch64::Kind::ALL.contains(&k),
            };
            assert!(listed, "{name}: {:?} is not in Kind::ALL", r.kind);
            if !seen.contains(&r.kind) {
                seen.push(r.kind);
            }
        }
    }
    assert!(relocations > 1000, "{relocations} relocations");
    assert!(seen.len() > 40, "{} distinct kinds", seen.len());
}
