//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable replay
//! tests (`tests/fuzz_replay.rs`), so CI exercises the same code without nightly.

/// Parses `data` and walks everything the reader produced, checking the reader's
/// own promises: every relocation lies inside its section, every symbol's
/// definition names a section that exists and lies within it.
pub fn parse(data: &[u8]) {
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
        if let crate::input::Definition::Section { section, offset } = symbol.definition {
            let s = object
                .sections
                .get(section.0 as usize)
                .expect("symbol's section");
            assert!(offset <= s.size, "symbol past its section");
        }
    }
}
