//! Hostile input and failure: loads that fail at any stage leave the linker exactly
//! as it was; sizes and counts from the file are bounded before anything is
//! allocated.

mod common;

use std::path::PathBuf;

use goblin::elf::Elf;
use relink::{Error, Linker, Stage};

fn obj(name: &str) -> PathBuf {
    common::object("api", name)
}

#[test]
fn a_load_that_fails_at_any_stage_changes_nothing() {
    for stage in [Stage::Layout, Stage::Resolve, Stage::Fixup, Stage::Finalize] {
        let mut l = Linker::new().unwrap();
        let lib = l.load_file(obj("lib_v1")).unwrap();
        l.load_file(obj("user")).unwrap();
        l.load_file(obj("weak")).unwrap();
        let version: extern "C" fn() -> i32 = unsafe { l.function("version").unwrap() };
        let which: extern "C" fn() -> i32 = unsafe { l.function("which_flavour").unwrap() };
        let before = l.state_digest();
        l.set_fail_at(Some(stage));
        // A plain load, a load that would re-bind another object, and a replace.
        for (what, result) in [
            ("load", l.load_file(obj("ping")).map(|_| ())),
            ("rebinding load", l.load_file(obj("strong")).map(|_| ())),
            (
                "replace",
                l.replace(lib, &std::fs::read(obj("lib_v2")).unwrap()),
            ),
        ] {
            assert!(
                matches!(result, Err(Error::Injected(_))),
                "{stage:?} {what}: {result:?}"
            );
            assert_eq!(
                l.state_digest(),
                before,
                "{stage:?}: a failed {what} changed the linker"
            );
        }
        l.set_fail_at(None);
        assert_eq!(
            [version(), which()],
            [1, 1],
            "{stage:?}: the old code still runs"
        );
        l.load_file(obj("strong")).unwrap();
        l.replace(lib, &std::fs::read(obj("lib_v2")).unwrap())
            .unwrap();
        assert_eq!([version(), which()], [2, 2], "{stage:?}: and works after");
    }
}

/// `bytes` with field `field` (byte offset in the section header) of the section
/// named `name` set to `value`.
fn with_section_field(bytes: &[u8], name: &str, field: usize, value: u64) -> Vec<u8> {
    let elf = Elf::parse(bytes).unwrap();
    let index = elf
        .section_headers
        .iter()
        .position(|h| elf.shdr_strtab.get_at(h.sh_name) == Some(name))
        .unwrap_or_else(|| panic!("no {name}"));
    let at = elf.header.e_shoff as usize + index * elf.header.e_shentsize as usize + field;
    let mut out = bytes.to_vec();
    out[at..at + 8].copy_from_slice(&value.to_le_bytes());
    out
}

const SH_OFFSET: usize = 24;
const SH_SIZE: usize = 32;

#[test]
fn sizes_and_counts_from_the_file_are_bounded_before_allocation() {
    // globals.o has a 4 MiB .bss; math.o has .rela.text and .symtab.
    let bss_obj = common::testdata_dir()
        .join("obj")
        .join(common::arch())
        .join(if cfg!(target_arch = "x86_64") {
            "gcc-pie"
        } else {
            "gcc"
        })
        .join("globals/data.o");
    let bss = std::fs::read(&bss_obj).unwrap();
    let math = std::fs::read(obj("math")).unwrap();
    let rela = ".rela.text";
    let cases = [
        (
            "a .bss of 2^40 bytes",
            with_section_field(&bss, ".bss", SH_SIZE, 1 << 40),
            "more than",
        ),
        (
            "10^9 relocations",
            with_section_field(&math, rela, SH_SIZE, 1_000_000_000 * 24),
            "relocation section",
        ),
        (
            "a section past the end",
            with_section_field(&math, ".text", SH_OFFSET, 1 << 40),
            "outside the file",
        ),
        (
            "a symbol table past the end",
            with_section_field(&math, ".symtab", SH_SIZE, 1 << 50),
            "malformed",
        ),
        (
            "huge section alignment",
            with_section_field(&math, ".text", 48, 1 << 40),
            "alignment",
        ),
    ];
    let mut l = Linker::new().unwrap();
    for (what, bytes, part) in cases {
        let before = l.state_digest();
        let err = l.load_bytes(what, &bytes).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with(what) && msg.contains(part), "{what}: {msg}");
        assert_eq!(l.state_digest(), before, "{what}");
        relink::fuzz::parse(&bytes);
    }
    // The untouched objects still load.
    l.load_bytes("math.o", &math).unwrap();
}
