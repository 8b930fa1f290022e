//! relink's reader (on `object`) against goblin, a second ELF parser: for every
//! object in testdata, the loaded sections, the symbols and the relocations must
//! agree in names, sizes, counts, offsets and addends.

mod common;

use goblin::elf::{section_header as sh, Elf};

fn loaded(h: &sh::SectionHeader) -> bool {
    let f = h.sh_flags as u32;
    f & sh::SHF_ALLOC != 0
        && f & sh::SHF_EXCLUDE == 0
        && h.sh_type != sh::SHT_NOTE
        && h.sh_type != sh::SHT_GROUP
}

#[test]
fn object_and_goblin_agree_on_every_testdata_object() {
    let files = common::all_objects();
    let mut checked = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let name = file.display().to_string();
        let ours = match relink::input::parse(&name, &bytes) {
            Ok(o) => o,
            // Initial-exec/local-exec TLS objects are refused on purpose (tests/tls.rs).
            Err(e) if e.to_string().contains("thread-local") => continue,
            Err(e) => panic!("{e}"),
        };
        let elf = Elf::parse(&bytes).unwrap();
        let theirs: Vec<(usize, &sh::SectionHeader)> = elf
            .section_headers
            .iter()
            .enumerate()
            .filter(|(_, h)| loaded(h))
            .collect();
        assert_eq!(ours.sections.len(), theirs.len(), "{name}: section count");
        for (s, (index, h)) in ours.sections.iter().zip(&theirs) {
            assert_eq!(s.name, elf.shdr_strtab.get_at(h.sh_name).unwrap(), "{name}");
            assert_eq!(s.size, h.sh_size, "{name}: {} size", s.name);
            assert_eq!(s.align, h.sh_addralign.max(1), "{name}: {} align", s.name);
            let relocs: Vec<_> = elf
                .shdr_relocs
                .iter()
                .filter(|(i, _)| elf.section_headers[*i].sh_info as usize == *index)
                .flat_map(|(_, r)| r.iter())
                // NONE, and the TLSDESC_CALL markers (x86-64 35, AArch64 569),
                // which relink reads as nothing to do (it does not relax TLS
                // sequences).
                .filter(|r| {
                    let marker = match elf.header.e_machine {
                        62 => 35,
                        183 => 569,
                        _ => u32::MAX,
                    };
                    r.r_type != 0 && r.r_type != marker
                })
                .collect();
            assert_eq!(
                s.relocs.len(),
                relocs.len(),
                "{name}: {} relocation count",
                s.name
            );
            for (a, b) in s.relocs.iter().zip(&relocs) {
                assert_eq!(a.offset, b.r_offset, "{name}: {}", s.name);
                assert_eq!(a.addend, b.r_addend.unwrap_or(0), "{name}: {}", s.name);
                assert_eq!(a.symbol.0 as usize, b.r_sym, "{name}: {}", s.name);
            }
        }
        assert_eq!(ours.symbols.len(), elf.syms.len(), "{name}: symbol count");
        for (a, b) in ours.symbols.iter().zip(elf.syms.iter()) {
            if b.st_type() != goblin::elf::sym::STT_SECTION {
                assert_eq!(a.name, elf.strtab.get_at(b.st_name).unwrap_or(""), "{name}");
            }
            assert_eq!(a.size, b.st_size, "{name}: `{}` size", a.name);
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} objects checked");
}
