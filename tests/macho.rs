//! Mach-O objects: programs built for `x86_64-apple-macosx` (run on x86-64) and
//! `arm64-apple-macosx` (run on AArch64, under qemu when cross-testing) go through
//! `relink run` and must print what the same C sources print when built natively for
//! Linux; one links ELF and Mach-O objects of one architecture in one `Linker`;
//! `relink info` shows Mach-O objects normalized; the addends read from Mach-O
//! equal those gas writes into ELF for the same assembly; malformed objects give
//! errors, never panics.
//!
//! The corpus is `testdata/macho/` (objects checked in; `bash testdata/macho/build.sh`
//! regenerates them, see its README). Tests that only parse run on every host.

mod common;

use common::Rng;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::backtrace::{call_chain, frames, Chain};
use common::{relink_command, run_with_timeout, testdata_dir};
use relink::arch::{Arch, RelocKind};
use relink::input::{Binding, Class, Definition, Object, Role, SymbolKind};

/// Generous: under qemu both relink and the program are emulated.
const TIME_LIMIT: Duration = Duration::from_secs(300);

fn macho_dir() -> PathBuf {
    testdata_dir().join("macho")
}

/// The objects of one program, sorted by name (the order the native build links).
fn objects(arch: &str, prog: &str) -> Vec<PathBuf> {
    let dir = macho_dir().join("obj").join(arch).join(prog);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no objects in {}", dir.display());
    out
}

fn is_macho(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn obj_path(arch: &str, prog: &str, name: &str) -> PathBuf {
    macho_dir().join("obj").join(arch).join(prog).join(name)
}

fn parse<'a>(name: &str, bytes: &'a [u8]) -> Object<'a> {
    relink::input::parse(name, bytes).unwrap_or_else(|e| panic!("{e}"))
}

// ---- Programs --------------------------------------------------------------------

fn check_program(prog: &str) -> common::Outcome {
    let arch = common::arch();
    let objs = objects(arch, prog);
    let mut cmd = relink_command();
    cmd.arg("run").args(&objs);
    let out = run_with_timeout(cmd, TIME_LIMIT);
    let expected = macho_dir().join("expected").join(arch);
    let stdout = read(&expected.join(format!("{prog}.stdout")));
    let status = String::from_utf8(read(&expected.join(format!("{prog}.status")))).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&stdout),
        "{arch}/{prog}: stdout differs (stderr: {stderr})"
    );
    assert_eq!(
        out.describe_status(),
        status.trim(),
        "{arch}/{prog}: exit status differs (stderr: {stderr})"
    );
    out
}

macro_rules! program_tests {
    ($($name:ident: $prog:literal;)*) => {
        $(
            #[test]
            fn $name() {
                check_program($prog);
            }
        )*
    };
}

// x86_64 Mach-O code runs natively on x86-64 Linux (Darwin and Linux agree on the
// C calling convention there, varargs included).
#[cfg(target_arch = "x86_64")]
program_tests! {
    x86_64_calls: "calls";
    x86_64_data: "data";
    x86_64_tables: "tables";
    x86_64_ctors: "ctors";
    x86_64_reltab: "reltab";
    x86_64_mixed_elf_and_macho: "mixed";
    x86_64_varargs: "varargs";
    x86_64_asm_relocations: "x86asm";
    x86_64_thread_local_variables: "tlv";
    x86_64_darwin_c_library_names: "darwin";
    x86_64_darwin_c_library_names_at_o0: "darwin0";
}

// arm64 Mach-O code runs on AArch64 Linux as long as it makes no variadic calls
// into glibc (arm64 Darwin passes variadic arguments on the stack): the programs
// print through testdata/macho/src/common/out.c.
#[cfg(target_arch = "aarch64")]
program_tests! {
    arm64_calls: "calls";
    arm64_data: "data";
    arm64_tables: "tables";
    arm64_ctors: "ctors";
    arm64_reltab: "reltab";
    arm64_mixed_elf_and_macho: "mixed";
    arm64_asm_relocations: "a64asm";
    arm64_thread_local_variables: "tlv";
    arm64_darwin_c_library_names: "darwin";
    arm64_darwin_c_library_names_at_o0: "darwin0";
}

/// `smash` overruns a stack-protected array in Mach-O code: relink's
/// `__stack_chk_guard` (x86-64; AArch64 glibc's own on AArch64) must be what the
/// epilogue compares, so glibc's `__stack_chk_fail` aborts as the native build does
/// (status and stdout compared by `check_program`; the message proves the abort is
/// the stack protector's, not a trap stub's).
#[test]
fn stack_protector_aborts_on_overrun_in_macho_code() {
    let out = check_program("smash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stack smashing detected"), "{stderr}");
}

extern "C" fn triple(x: i64) -> i64 {
    3 * x
}

/// One Linker holds an ELF object (gcc, Linux) and Mach-O objects (llc, Darwin) of
/// the host architecture: calls, data and function pointers cross both ways.
#[test]
fn elf_and_macho_objects_link_together_through_the_api() {
    let arch = common::arch();
    let mut linker = relink::Linker::new().unwrap();
    let mut formats = Vec::new();
    for path in objects(arch, "mixed") {
        formats.push(is_macho(&read(&path)));
        linker
            .load_file(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    assert!(formats.contains(&true) && formats.contains(&false));
    unsafe {
        let twice: extern "C" fn(i64) -> i64 = linker.function("macho_twice").unwrap();
        let apply: extern "C" fn(extern "C" fn(i64) -> i64, i64) -> i64 =
            linker.function("elf_apply").unwrap();
        let read_macho: extern "C" fn() -> i64 = linker.function("elf_read_macho").unwrap();
        let get_twice: extern "C" fn() -> usize = linker.function("elf_get_twice").unwrap();
        assert_eq!(twice(21), 42);
        assert_eq!(apply(triple, 7), 21 + 14, "ELF calls Rust and Mach-O");
        assert_eq!(read_macho(), 1234, "ELF reads Mach-O data");
        let value = linker.address("macho_value").unwrap() as *mut i64;
        *value = 99;
        assert_eq!(read_macho(), 99);
        let hook = linker.address("elf_hook").unwrap() as *const usize;
        assert_eq!(
            *hook, twice as usize,
            "ELF data holds the canonical address"
        );
        assert_eq!(get_twice(), twice as usize);
        let counter = linker.address("elf_counter").unwrap() as *const i64;
        assert_eq!(*counter, 10);
    }
}

// ---- Parsing: normalized form ------------------------------------------------------

#[test]
fn every_macho_object_parses_and_agrees_with_goblin() {
    let mut checked = 0;
    for path in common::all_macho_objects() {
        let bytes = read(&path);
        if !is_macho(&bytes) {
            continue;
        }
        let name = path.display().to_string();
        let ours = parse(&name, &bytes);
        let theirs = goblin::mach::MachO::parse(&bytes, 0).unwrap();
        let mut sections = Vec::new();
        for segment in theirs.segments.sections() {
            for s in segment {
                sections.push(s.unwrap().0);
            }
        }
        let loaded: Vec<_> = sections
            .iter()
            .filter(|s| {
                let (seg, flags) = (s.segname().unwrap(), s.flags);
                // arm64 __compact_unwind is read, and converted to .eh_frame records.
                let compact = s.name().unwrap() == "__compact_unwind";
                (seg != "__LD" && flags & 0x0200_0000 == 0)
                    || (compact && ours.arch == Arch::Aarch64)
            })
            .collect();
        assert_eq!(ours.sections.len(), loaded.len(), "{name}: section count");
        for (s, g) in ours.sections.iter().zip(&loaded) {
            assert_eq!(s.name, g.name().unwrap(), "{name}");
            if s.name == "__compact_unwind" {
                continue; // its size is the converted records'
            }
            assert_eq!(s.size, g.size, "{name}: {} size", s.name);
            assert_eq!(s.align, 1 << g.align, "{name}: {} align", s.name);
        }
        // Symbol 0 is null; nlist entry i is symbol i + 1; section symbols follow.
        let nlists: Vec<_> = theirs.symbols().map(|s| s.unwrap()).collect();
        assert_eq!(
            ours.symbols.len(),
            1 + nlists.len() + sections.len(),
            "{name}"
        );
        assert_eq!(ours.symbols[0].name, "");
        for (i, (raw, nlist)) in nlists.iter().enumerate() {
            let sym = &ours.symbols[i + 1];
            if nlist.n_type & 0xe0 != 0 {
                assert_eq!(sym.name, "", "{name}: stab {i}");
                continue;
            }
            assert_eq!(
                sym.name,
                raw.strip_prefix('_').unwrap_or(raw),
                "{name}: symbol {i}"
            );
            let external = nlist.n_type & 1 != 0;
            assert_eq!(sym.binding != Binding::Local, external, "{name}: {raw}");
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} Mach-O objects");
}

fn symbol<'o>(object: &'o Object, name: &str) -> &'o relink::input::Symbol<'o> {
    object
        .symbols
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{}: no symbol `{name}`", object.name))
}

fn section<'o>(object: &'o Object, name: &str) -> &'o relink::input::Section<'o> {
    object
        .sections
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{}: no section `{name}`", object.name))
}

#[test]
fn symbols_and_sections_are_normalized() {
    for arch in ["x86_64", "aarch64"] {
        let main = read(&obj_path(arch, "data", "main.o"));
        let main = parse("main.o", &main);
        assert_eq!(
            main.arch.name(),
            if arch == "x86_64" {
                "x86-64"
            } else {
                "aarch64"
            }
        );
        let counter = symbol(&main, "counter");
        assert_eq!(counter.definition, Definition::Common { size: 4, align: 4 });
        assert_eq!(counter.binding, Binding::Global);
        let m = symbol(&main, "main");
        assert_eq!((m.binding, m.kind), (Binding::Global, SymbolKind::Function));
        assert!(m.size > 0, "sizes come from the next symbol");
        let missing = symbol(&main, "missing_function");
        assert_eq!(
            (missing.binding, missing.definition),
            (Binding::Weak, Definition::Undefined)
        );
        assert!(main.symbols.iter().all(|s| !s.name.starts_with("_out")));
        assert!(main.symbols.iter().any(|s| s.name == "out_kv"));

        let util = read(&obj_path(arch, "data", "util.o"));
        let util = parse("util.o", &util);
        let big = symbol(&util, "big_common");
        // llc writes no alignment (`.comm _big_common,1048576`): ld64's rule applies.
        let align = 4096;
        assert_eq!(
            big.definition,
            Definition::Common {
                size: 1 << 20,
                align
            }
        );
        assert_eq!(section(&util, "__bss").class, Class::Zero);
        assert_eq!(section(&util, "__bss").size, 4 << 20);

        let data = read(&obj_path(arch, "data", "data.o"));
        let data = parse("data.o", &data);
        let hidden = symbol(&data, "hidden_value");
        assert!(hidden.hidden && hidden.binding == Binding::Global, "N_PEXT");
        assert_eq!(symbol(&data, "weak_answer").binding, Binding::Weak);
        assert_eq!(symbol(&data, "weak_data").binding, Binding::Weak);
        assert_eq!(symbol(&data, "hidden_value").kind, SymbolKind::Data);
        assert_eq!(section(&data, "__data").class, Class::Data);

        let early = read(&obj_path(arch, "ctors", "early.o"));
        let early = parse("early.o", &early);
        let init = section(&early, "__mod_init_func");
        assert_eq!(
            (init.class, init.role),
            (Class::ReadOnly, Role::InitArray { priority: 65535 })
        );
        assert_eq!(init.relocs.len(), 2);
        let term = section(&early, "__mod_term_func");
        assert_eq!(
            (term.class, term.role),
            (Class::ReadOnly, Role::FiniArray { priority: 65535 })
        );

        let table = read(&obj_path(arch, "tables", "table.o"));
        let table = parse("table.o", &table);
        // `const struct op const_ops[]` holds pointers: __DATA,__const, read-only.
        assert!(table
            .sections
            .iter()
            .any(|s| s.name == "__const" && s.class == Class::ReadOnly));
        let calls = read(&obj_path(arch, "calls", "main.o"));
        let calls = parse("main.o", &calls);
        assert_eq!(section(&calls, "__cstring").class, Class::ReadOnly);
        assert_eq!(section(&calls, "__text").class, Class::Code);
    }
    let ping = read(&obj_path("x86_64", "calls", "ping.o"));
    let ping = parse("ping.o", &ping);
    assert_eq!(section(&ping, "__literal8").class, Class::ReadOnly);
    let eh = section(&ping, "__eh_frame");
    assert_eq!((eh.class, eh.role), (Class::ReadOnly, Role::EhFrame));
}

/// `relink info` prints Mach-O objects like ELF ones: sections, symbols without
/// the leading underscore, relocations as arch kinds (a SUBTRACTOR pair as one).
#[test]
fn info_shows_macho_objects_normalized() {
    let run = |path: PathBuf| {
        let mut cmd = relink_command();
        cmd.arg("info").arg(&path);
        let out = run_with_timeout(cmd, TIME_LIMIT);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let tab = run(obj_path("x86_64", "reltab", "tab.o"));
    assert!(tab.contains("Mach-O relocatable object, x86-64"), "{tab}");
    assert!(tab.contains("__const"), "{tab}");
    assert!(tab.contains(" rel32\n") && !tab.contains("_rel32"), "{tab}");
    // A SUBTRACTOR pair is one relocation whose target is `a - b`.
    let pairs: Vec<&str> = tab
        .lines()
        .filter(|l| l.contains("Pointer32Signed"))
        .collect();
    assert!(pairs.iter().any(|l| l.ends_with("fn_one - rel32")), "{tab}");
    assert!(
        !tab.contains("SUBTRACTOR") && !tab.contains("UNSIGNED"),
        "{tab}"
    );
    let relocs = run(obj_path("aarch64", "a64asm", "relocs.o"));
    assert!(
        relocs.contains("Mach-O relocatable object, aarch64"),
        "{relocs}"
    );
    // Relocation rows: offset, kind, addend, target.
    for (kind, addend, target) in [
        ("PageOffset12 { shift: 4 }", "0x20", "mixed"),
        ("Page21 { checked: true }", "0x10", "longs"),
        ("Branch26", "0x8", "multi"),
        ("GotPage21", "0x0", "counter"),
        ("GotDelta32", "0x0", "counter"),
    ] {
        let found = relocs.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            l.contains(&format!(" {kind} ")) && words.ends_with(&[addend, target])
        });
        assert!(found, "missing {kind} {addend} {target} in\n{relocs}");
    }
}

/// Section names of the ELF twin and of the Mach-O build of the same assembly.
fn macho_section_name(elf: &str) -> &str {
    match elf {
        ".text" => "__text",
        ".text.multi" => "__text_multi",
        ".data" => "__data",
        ".rodata" => "__const",
        ".rodata.two" => "__const2",
        other => other,
    }
}

/// What a relocation computes, as (kind, target, addend) with `S + A - P` for the
/// differences: a Mach-O difference `S - minus + A` whose `minus` lies at section
/// offset `m` of the place's section is `S + (A + P - m) - P`, which is what ELF's
/// PC-relative kinds say. Local symbols become their section plus their offset (gas
/// names sections where llvm-mc names local symbols).
fn as_delta(object: &Object, r: &relink::input::Reloc) -> (String, String, i64) {
    let target = |id: relink::input::SymbolId, addend: i64| {
        let s = object.symbol(id);
        match s.definition {
            Definition::Section { section, offset } if s.binding == Binding::Local => {
                let name = object.section(section).name;
                (macho_section_name(name).to_string(), addend + offset as i64)
            }
            _ => (s.name.to_string(), addend),
        }
    };
    let Some(minus) = r.minus else {
        let (name, addend) = target(r.symbol, r.addend);
        return (r.kind.to_string(), name, addend);
    };
    let Definition::Section { offset: m, .. } = object.symbol(minus).definition else {
        panic!("minus is not defined in a section");
    };
    let delta = match r.kind {
        RelocKind::X86_64(relink::arch::x86_64::Kind::Pointer64)
        | RelocKind::Aarch64(relink::arch::aarch64::Kind::Pointer64) => "Delta64",
        _ => "Delta32",
    };
    let (name, addend) = target(r.symbol, r.addend + r.offset as i64 - m as i64);
    (delta.to_string(), name, addend)
}

/// The addends relink reads out of Mach-O instructions and data (implicit addends,
/// SIGNED_1/2/4, section-relative forms, ADDEND prefixes, SUBTRACTOR pairs) equal
/// the explicit ones gas writes into ELF for the same assembly source.
#[test]
fn macho_addends_equal_the_elf_twins() {
    for (arch, prog) in [("x86_64", "x86asm"), ("aarch64", "a64asm")] {
        let macho = read(&obj_path(arch, prog, "relocs.o"));
        let elf = read(&obj_path(arch, "elf-twins", &format!("{prog}-relocs.o")));
        let macho = parse("macho", &macho);
        let elf = parse("elf", &elf);
        let mut compared = 0;
        for es in elf.sections.iter().filter(|s| !s.relocs.is_empty()) {
            let Some(ms) = macho
                .sections
                .iter()
                .find(|s| s.name == macho_section_name(es.name))
            else {
                continue; // .eh_frame of the ELF build
            };
            for er in &es.relocs {
                let mr = ms.relocs.iter().find(|r| r.offset == er.offset);
                let Some(mr) = mr else {
                    panic!(
                        "{arch}: no Mach-O relocation at {}+{:#x}",
                        es.name, er.offset
                    )
                };
                let (ek, en, ea) = as_delta(&elf, er);
                let (mk, mn, ma) = as_delta(&macho, mr);
                // The ELF build reads the GOT slot where Mach-O has POINTER_TO_GOT's
                // ADRP; everything else must agree exactly.
                if er.kind.info().target != mr.kind.info().target {
                    continue;
                }
                assert_eq!(
                    (&mk, &mn, ma),
                    (&ek, &en, ea),
                    "{arch}: {}+{:#x}",
                    es.name,
                    er.offset
                );
                compared += 1;
            }
        }
        assert!(
            compared >= 25,
            "{arch}: only {compared} relocations compared"
        );
    }
}

/// llc leaves `__eh_frame`'s pointers to code (and to LSDAs) without relocations on
/// x86_64; the reader adds them, and each FDE then points at a function (each LSDA
/// pointer at an exception table). The personality keeps its own relocation.
#[test]
fn eh_frame_pointers_get_relocations() {
    let (mut functions, mut lsdas, mut personalities) = (0, 0, 0);
    for path in common::all_macho_objects() {
        let bytes = read(&path);
        if !is_macho(&bytes) {
            continue;
        }
        let object = parse(&path.display().to_string(), &bytes);
        let eh = object.sections.iter().find(|s| s.role == Role::EhFrame);
        let Some(eh) = eh.filter(|s| s.name == "__eh_frame") else {
            continue;
        };
        assert!(!eh.relocs.is_empty(), "{}", object.name);
        for r in &eh.relocs {
            let target = object.symbol(r.symbol);
            if target.kind != SymbolKind::Section {
                assert_eq!(target.name, "__gcc_personality_v0", "{}", object.name);
                assert_eq!(r.kind.to_string(), "GotDelta32");
                personalities += 1;
                continue;
            }
            let Definition::Section { section, .. } = target.definition else {
                panic!("{}: FDE pointer to an unloaded section", object.name);
            };
            let at = Definition::Section {
                section,
                offset: r.addend as u64,
            };
            let starts = |kind| {
                object
                    .symbols
                    .iter()
                    .any(|s| s.kind == kind && s.definition == at)
            };
            match object.section(section).name {
                "__gcc_except_tab" => {
                    assert!(starts(SymbolKind::Data), "{}: LSDA", object.name);
                    lsdas += 1;
                }
                _ => {
                    let what = format!("{}: FDE at {:#x}", object.name, r.offset);
                    assert!(starts(SymbolKind::Function), "{what} points at no function");
                    functions += 1;
                }
            }
        }
    }
    assert!(functions >= 50, "only {functions} FDE pointers");
    // lsda.c and cleanup.c (testdata/macho/src/unwind).
    assert_eq!((lsdas, personalities), (2, 2));
}

/// arm64 `__compact_unwind` becomes an unwind section: one FDE per function, its
/// pointer at the function's start; personality and LSDA pointers where the entry
/// has them (cleanup.c); x86_64's stays unloaded (it has `__eh_frame`).
#[test]
fn arm64_compact_unwind_becomes_eh_frame_records() {
    let dir = macho_dir().join("obj");
    for (arch, file) in [
        ("aarch64", "chain.o"),
        ("aarch64", "cleanup.o"),
        ("x86_64", "chain.o"),
    ] {
        let bytes = read(&dir.join(arch).join("unwind").join(file));
        let object = parse(file, &bytes);
        let converted = object
            .sections
            .iter()
            .find(|s| s.name == "__compact_unwind");
        if arch == "x86_64" {
            assert!(converted.is_none(), "x86_64 keeps using __eh_frame");
            continue;
        }
        let eh = converted.unwrap_or_else(|| panic!("{arch}/{file}: no unwind section"));
        assert_eq!(eh.role, Role::EhFrame);
        let mut targets: Vec<String> = eh
            .relocs
            .iter()
            .map(|r| {
                assert_eq!(r.kind.to_string(), "Pointer64");
                let target = object.symbol(r.symbol);
                match target.definition {
                    Definition::Section { section, .. } if target.kind == SymbolKind::Section => {
                        let at = Definition::Section {
                            section,
                            offset: r.addend as u64,
                        };
                        let name = object.section(section).name;
                        let global = object
                            .symbols
                            .iter()
                            .find(|s| s.definition == at && s.binding == Binding::Global);
                        global.map_or(format!("{name}+{}", r.addend), |s| {
                            format!("{name}:{}", s.name)
                        })
                    }
                    _ => target.name.to_string(),
                }
            })
            .collect();
        targets.sort();
        let want: &[&str] = match file {
            "chain.o" => &["__text:chain_inner", "__text:chain_outer"],
            _ => &[
                "__gcc_except_tab+0",
                "__gcc_personality_v0",
                "__text:guarded_call",
                "__text:squeeze",
            ],
        };
        assert_eq!(targets, want, "{arch}/{file}");
    }
}

// ---- Malformed input -----------------------------------------------------------------

/// Where things are in a Mach-O object, read by hand (independently of the reader).
struct Raw {
    /// (header offset, name, data offset, size, reloc offset, reloc count)
    sections: Vec<(usize, String, usize, usize, usize, usize)>,
    /// (nlist offset, count)
    symtab: (usize, usize),
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn raw(b: &[u8]) -> Raw {
    let mut sections = Vec::new();
    let mut symtab = (0, 0);
    let mut at = 32;
    for _ in 0..u32_at(b, 16) {
        let (cmd, size) = (u32_at(b, at), u32_at(b, at + 4) as usize);
        if cmd == 0x19 {
            for i in 0..u32_at(b, at + 64) as usize {
                let h = at + 72 + i * 80;
                let name = String::from_utf8_lossy(&b[h..h + 16])
                    .trim_end_matches('\0')
                    .to_string();
                let size = u64::from_le_bytes(b[h + 40..h + 48].try_into().unwrap()) as usize;
                sections.push((
                    h,
                    name,
                    u32_at(b, h + 48) as usize,
                    size,
                    u32_at(b, h + 56) as usize,
                    u32_at(b, h + 60) as usize,
                ));
            }
        } else if cmd == 2 {
            symtab = (u32_at(b, at + 8) as usize, u32_at(b, at + 12) as usize);
        }
        at += size;
    }
    Raw { sections, symtab }
}

/// The relocation entries of a section: (file offset, r_address, r_word1).
fn relocs(b: &[u8], raw: &Raw, section: &str) -> Vec<(usize, u32, u32)> {
    let s = raw.sections.iter().find(|s| s.1 == section).unwrap();
    (0..s.5)
        .map(|i| {
            let at = s.4 + i * 8;
            (at, u32_at(b, at), u32_at(b, at + 4))
        })
        .collect()
}

fn r_type(word1: u32) -> u32 {
    word1 >> 28
}

fn error_of(bytes: &[u8]) -> String {
    match relink::input::parse("bad.o", bytes) {
        Ok(_) => panic!("a malformed object parsed"),
        Err(e) => e.to_string(),
    }
}

fn assert_error(bytes: &[u8], wants: &[&str]) {
    let e = error_of(bytes);
    for want in wants {
        assert!(e.contains(want), "`{e}` does not contain `{want}`");
    }
}

/// Every Mach-O object of the corpus, and random mutations of each aimed at its
/// header, load commands, relocation tables and symbol table: parse or fail
/// cleanly, and whatever parses keeps the reader's promises (relink::fuzz::parse).
#[test]
fn mutated_macho_objects_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut runs = 0;
    for path in common::all_macho_objects() {
        let good = read(&path);
        relink::fuzz::parse(&good);
        if !is_macho(&good) {
            continue;
        }
        let layout = raw(&good);
        let mut tables: Vec<(usize, usize)> = layout
            .sections
            .iter()
            .filter(|s| s.5 > 0)
            .map(|s| (s.4, s.5 * 8))
            .collect();
        tables.push((layout.symtab.0, layout.symtab.1 * 16));
        tables.push((0, 32 + u32_at(&good, 20) as usize));
        for _ in 0..200 {
            let mut bad = good.clone();
            let (start, len) = tables[rng.next() as usize % tables.len()];
            let i = start + rng.next() as usize % len.max(1);
            match rng.next() % 5 {
                0 => bad.truncate(rng.next() as usize % good.len()),
                1 => bad[i] ^= 1 << (rng.next() % 8),
                2 => bad[i] = [0, 0x7f, 0x80, 0xff][rng.next() as usize % 4],
                3 => {
                    let at = (i & !3).min(bad.len() - 4);
                    bad[at..at + 4].copy_from_slice(&(rng.next() as u32).to_le_bytes());
                }
                _ => {
                    let at = rng.next() as usize % bad.len();
                    bad[at] ^= 1 << (rng.next() % 8);
                }
            }
            relink::fuzz::parse(&bad);
            runs += 1;
        }
    }
    assert!(runs >= 40 * 200, "{runs}");
}

#[test]
fn truncated_macho_objects_fail_cleanly() {
    for path in common::all_macho_objects() {
        let good = read(&path);
        if !is_macho(&good) {
            continue;
        }
        let step = (good.len() / 300).max(1);
        for len in (0..good.len()).step_by(step) {
            relink::fuzz::parse(&good[..len]);
        }
        let layout = raw(&good);
        let text = layout.sections.iter().find(|s| s.1 == "__text").unwrap();
        for len in [
            0,
            20,
            40,
            32 + u32_at(&good, 20) as usize - 1,
            text.2 + text.3 - 1,
        ] {
            assert!(
                relink::input::parse("cut.o", &good[..len]).is_err(),
                "{} cut to {len} bytes parsed",
                path.display()
            );
        }
    }
}

fn first_reloc(b: &[u8], section: &str, want: impl Fn(u32) -> bool) -> (Raw, usize, usize) {
    let layout = raw(b);
    let list = relocs(b, &layout, section);
    let index = list
        .iter()
        .position(|r| want(r.2))
        .unwrap_or_else(|| panic!("no such relocation in {section}"));
    let at = list[index].0;
    (layout, index, at)
}

#[test]
fn scattered_relocations_are_refused() {
    let mut b = read(&obj_path("x86_64", "calls", "main.o"));
    let (_, _, at) = first_reloc(&b, "__text", |_| true);
    b[at + 3] |= 0x80; // R_SCATTERED
    assert_error(&b, &["bad.o: __text+", "scattered relocation"]);
}

#[test]
fn subtractor_must_be_followed_by_unsigned() {
    for (arch, subtractor) in [("x86_64", 5), ("aarch64", 1)] {
        let good = read(&obj_path(arch, "reltab", "tab.o"));
        let (layout, index, at) = first_reloc(&good, "__const", |w| r_type(w) == subtractor);
        let mut b = good.clone();
        // The UNSIGNED that follows becomes another type.
        let next = at + 8 + 4;
        let word = u32_at(&b, next);
        put_u32(&mut b, next, (word & 0x0fff_ffff) | (2 << 28));
        assert_error(&b, &["__const+", "SUBTRACTOR not followed by an UNSIGNED"]);
        // At another place.
        let mut b = good.clone();
        let address = u32_at(&b, at + 8);
        put_u32(&mut b, at + 8, address + 4);
        assert_error(&b, &["SUBTRACTOR not followed"]);
        // Or missing: the SUBTRACTOR is the last entry.
        let mut b = good.clone();
        let h = layout.sections.iter().find(|s| s.1 == "__const").unwrap().0;
        put_u32(&mut b, h + 60, index as u32 + 1);
        assert_error(&b, &["SUBTRACTOR not followed"]);
    }
}

#[test]
fn arm64_addend_must_prefix_page_or_branch() {
    let good = read(&obj_path("aarch64", "a64asm", "relocs.o"));
    let (layout, index, at) = first_reloc(&good, "__text", |w| r_type(w) == 10);
    let mut b = good.clone();
    let next = at + 8 + 4;
    let word = u32_at(&b, next);
    put_u32(&mut b, next, (word & 0x0fff_ffff) | (5 << 28)); // GOT_LOAD_PAGE21
    assert_error(
        &b,
        &[
            "bad.o: __text+",
            "ARM64_RELOC_ADDEND followed by ARM64_RELOC_GOT_LOAD_PAGE21",
        ],
    );
    let mut b = good.clone();
    let h = layout.sections.iter().find(|s| s.1 == "__text").unwrap().0;
    put_u32(&mut b, h + 60, index as u32 + 1);
    assert_error(&b, &["ARM64_RELOC_ADDEND is the last relocation"]);
}

#[test]
fn arm64_pageoff12_needs_an_add_or_load_store() {
    let mut b = read(&obj_path("aarch64", "a64asm", "relocs.o"));
    let (layout, _, at) = first_reloc(&b, "__text", |w| r_type(w) == 4);
    let address = u32_at(&b, at) as usize;
    let text = layout.sections.iter().find(|s| s.1 == "__text").unwrap();
    put_u32(&mut b, text.2 + address, 0x1400_0000); // b .
    assert_error(&b, &["ARM64_RELOC_PAGEOFF12 on instruction 0x14000000"]);
}

#[test]
fn relocation_fields_are_checked() {
    let good = read(&obj_path("x86_64", "x86asm", "relocs.o"));
    let layout = raw(&good);
    let text = layout
        .sections
        .iter()
        .find(|s| s.1 == "__text")
        .unwrap()
        .clone();
    let list = relocs(&good, &layout, "__text");
    let (at, _, word1) = list[0];
    // Past the end of the section.
    let mut b = good.clone();
    put_u32(&mut b, at, text.3 as u32 - 2);
    assert_error(&b, &["runs past the end of the section"]);
    // An extern symbol index past the symbol table.
    let ext = list.iter().find(|r| r.2 & (1 << 27) != 0).unwrap();
    let mut b = good.clone();
    put_u32(
        &mut b,
        ext.0 + 4,
        (ext.2 & 0xff00_0000) | layout.symtab.1 as u32,
    );
    assert_error(&b, &["symbol index", "out of range"]);
    // A section ordinal past the sections.
    let local = list.iter().find(|r| r.2 & (1 << 27) == 0).unwrap();
    let mut b = good.clone();
    put_u32(&mut b, local.0 + 4, (local.2 & 0xff00_0000) | 200);
    assert_error(&b, &["section ordinal 200 out of range"]);
    // SIGNED with 8 bytes.
    let mut b = good.clone();
    put_u32(&mut b, at + 4, word1 | (3 << 25));
    assert_error(
        &b,
        &["X86_64_RELOC_SIGNED (1) with r_pcrel 1 and r_length 3"],
    );
    // GOT_LOAD against a section: not something assemblers emit.
    let got = list.iter().find(|r| r_type(r.2) == 3).unwrap();
    let mut b = good.clone();
    put_u32(&mut b, got.0 + 4, (got.2 & !(1 << 27) & 0xff00_0000) | 1);
    assert_error(
        &b,
        &["unsupported relocation X86_64_RELOC_GOT_LOAD", "r_extern"],
    );
}

#[test]
fn section_headers_are_checked() {
    let good = read(&obj_path("aarch64", "calls", "main.o"));
    let layout = raw(&good);
    let text = layout.sections.iter().find(|s| s.1 == "__text").unwrap().0;
    let mut b = good.clone();
    put_u32(&mut b, text + 52, 40); // align 2^40
    assert_error(&b, &["bad.o: __text", "alignment 2^40"]);
    let mut b = good.clone();
    put_u32(&mut b, text + 48, good.len() as u32); // data offset
    assert_error(&b, &["bad.o: __text", "outside the file"]);
    let mut b = good.clone();
    b[text + 40..text + 48].copy_from_slice(&(1u64 << 40).to_le_bytes()); // size
    assert!(relink::input::parse("bad.o", &b).is_err());
}

#[test]
fn header_is_checked() {
    let good = read(&obj_path("x86_64", "calls", "main.o"));
    let mut b = good.clone();
    put_u32(&mut b, 4, 7); // CPU_TYPE_X86 (32-bit)
    assert_error(&b, &["bad.o", "unsupported CPU type 0x7"]);
    let mut b = good.clone();
    put_u32(&mut b, 4, 0x0100_0012); // CPU_TYPE_POWERPC64
    assert_error(&b, &["unsupported CPU type 0x1000012"]);
    let mut b = good.clone();
    put_u32(&mut b, 12, 2); // MH_EXECUTE
    assert_error(&b, &["not a relocatable object"]);
    let mut b = good.clone();
    put_u32(&mut b, 20, u32::MAX); // sizeofcmds
    assert_error(&b, &["load commands"]);
}

#[test]
fn symbol_table_is_checked() {
    let good = read(&obj_path("x86_64", "data", "main.o"));
    let layout = raw(&good);
    let (symoff, nsyms) = layout.symtab;
    let defined = (0..nsyms)
        .map(|i| symoff + i * 16)
        .find(|&at| good[at + 4] & 0x0e == 0x0e)
        .unwrap();
    let mut b = good.clone();
    b[defined + 5] = 99; // n_sect
    assert_error(&b, &["LC_SYMTAB", "names section 99, which does not exist"]);
    let mut b = good.clone();
    b[defined + 8..defined + 16].copy_from_slice(&(1u64 << 40).to_le_bytes()); // n_value
    assert_error(&b, &["lies outside its section"]);
    let common = (0..nsyms)
        .map(|i| symoff + i * 16)
        .find(|&at| good[at + 4] == 0x01 && good[at + 8] != 0)
        .unwrap();
    let mut b = good.clone();
    b[common + 8..common + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_error(&b, &["COMMON of 1099511627776 bytes"]);
    let mut b = good.clone();
    put_u32(&mut b, defined, u32::MAX); // n_strx
    assert_error(&b, &["LC_SYMTAB", "symbol"]);
}

/// Thread-local variables: the TLV loads become slot loads of the descriptor, the
/// template sections are `Role::Tls`, and each descriptor `{thunk, key, offset}`
/// gets `Pointer64` to `_tlv_bootstrap`, `DtpModule64` and `DtpOffset64` (in that
/// order of offsets) to the variable's initial value.
#[test]
fn thread_local_variables_become_slots_and_descriptors() {
    use relink::arch::{aarch64, x86_64};
    for arch in ["x86_64", "aarch64"] {
        let bytes = read(&obj_path(arch, "tlv", "main.o"));
        let object = parse("main.o", &bytes);
        let tls: Vec<_> = object
            .sections
            .iter()
            .filter(|s| s.role == Role::Tls)
            .map(|s| (s.name, s.data.is_empty()))
            .collect();
        assert_eq!(
            tls,
            [("__thread_data", false), ("__thread_bss", true)],
            "{arch}"
        );
        let vars = object
            .sections
            .iter()
            .find(|s| s.name == "__thread_vars")
            .unwrap();
        assert_eq!(vars.class, Class::ReadOnly);
        // counter zeroed hidden name big ratio pad aligned: 8 descriptors.
        assert_eq!(vars.size, 8 * 24, "{arch}");
        let mut relocs: Vec<_> = vars.relocs.iter().collect();
        relocs.sort_by_key(|r| r.offset);
        assert_eq!(relocs.len(), 8 * 3, "{arch}");
        for d in relocs.chunks(3) {
            let base = d[0].offset;
            assert_eq!(base % 24, 0);
            assert_eq!(object.symbol(d[0].symbol).name, "_tlv_bootstrap");
            let kinds = [d[0].kind, d[1].kind, d[2].kind];
            let want = match arch {
                "x86_64" => [
                    RelocKind::X86_64(x86_64::Kind::Pointer64),
                    RelocKind::X86_64(x86_64::Kind::DtpModule64),
                    RelocKind::X86_64(x86_64::Kind::DtpOffset64),
                ],
                _ => [
                    RelocKind::Aarch64(aarch64::Kind::Pointer64),
                    RelocKind::Aarch64(aarch64::Kind::DtpModule64),
                    RelocKind::Aarch64(aarch64::Kind::DtpOffset64),
                ],
            };
            assert_eq!(kinds, want, "{arch} descriptor at {base}");
            assert_eq!((d[1].offset, d[2].offset), (base + 8, base + 16));
            assert_eq!(d[1].symbol, d[2].symbol);
            let init = object.symbol(d[2].symbol);
            assert!(init.name.ends_with("$tlv$init"), "{}", init.name);
            assert_eq!(init.kind, SymbolKind::Tls, "{}", init.name);
        }
        // Code reaches `_counter`'s descriptor through a slot.
        let text = object.sections.iter().find(|s| s.name == "__text").unwrap();
        let to_counter: Vec<_> = text
            .relocs
            .iter()
            .filter(|r| object.symbol(r.symbol).name == "counter")
            .map(|r| r.kind)
            .collect();
        let slot_kinds = match arch {
            "x86_64" => vec![RelocKind::X86_64(x86_64::Kind::GotDelta32)],
            _ => vec![
                RelocKind::Aarch64(aarch64::Kind::GotPage21),
                RelocKind::Aarch64(aarch64::Kind::GotPageOffset12),
            ],
        };
        assert!(!to_counter.is_empty(), "{arch}");
        assert!(
            to_counter.iter().all(|k| slot_kinds.contains(k)),
            "{arch}: {to_counter:?}"
        );
    }
}

/// Broken descriptor sections are errors naming the section and offset.
#[test]
fn malformed_thread_local_descriptors_are_errors() {
    let good = read(&obj_path("x86_64", "tlv", "vars.o"));
    let layout = raw(&good);
    let vars = layout
        .sections
        .iter()
        .find(|s| s.1 == "__thread_vars")
        .unwrap()
        .clone();
    // A descriptor section whose size is not a multiple of 24.
    let mut b = good.clone();
    b[vars.0 + 40..vars.0 + 48].copy_from_slice(&32u64.to_le_bytes()); // section_64.size
    assert_error(&b, &["bad.o: __thread_vars", "not a multiple of 24"]);
    // A relocation in the key word (moved from the offset word).
    let entries = relocs(&good, &layout, "__thread_vars");
    let (at, address, _) = entries.iter().find(|r| r.1 % 24 == 16).unwrap();
    let mut b = good.clone();
    put_u32(&mut b, *at, address - 8);
    assert_error(&b, &["bad.o: __thread_vars+0x8", "none in its key word"]);
}

/// Debug (N_STAB) entries are skipped without shifting the symbol indices that
/// relocations use; a relocation that names one is malformed.
/// Fuzzing found it: a relocation off a descriptor's thunk and offset words, at
/// an offset below 8, made the reader subtract past zero. Now an error.
#[test]
fn thread_local_descriptor_relocation_off_its_words_is_an_error() {
    let good = read(&obj_path("x86_64", "tlv", "vars.o"));
    let layout = raw(&good);
    let entries = relocs(&good, &layout, "__thread_vars");
    let (at, address, _) = entries.iter().find(|r| r.1 == 16).unwrap();
    let mut b = good.clone();
    put_u32(&mut b, *at, address - 12);
    assert_error(&b, &["bad.o: __thread_vars+0x4", "none in its key word"]);
}

/// Malformed arm64 `__compact_unwind`: errors that name the section and offset.
#[test]
fn malformed_compact_unwind_is_an_error() {
    let good = read(&obj_path("aarch64", "unwind", "chain.o"));
    let layout = raw(&good);
    let cu = layout
        .sections
        .iter()
        .find(|s| s.1 == "__compact_unwind")
        .unwrap()
        .clone();
    // Mode 1 is x86's, not arm64's (second entry's encoding word).
    let mut b = good.clone();
    put_u32(&mut b, cu.2 + 32 + 12, 0x0100_0000);
    assert_error(
        &b,
        &[
            "bad.o: __compact_unwind+0x2c",
            "unknown arm64 compact unwind mode",
        ],
    );
    // A frame encoding with a register-pair bit no arm64 encoding has.
    let mut b = good.clone();
    put_u32(&mut b, cu.2 + 12, 0x0400_0020);
    assert_error(&b, &["bad.o: __compact_unwind+0xc", "unknown bits"]);
    // Not a whole number of 32-byte entries.
    let mut b = good.clone();
    b[cu.0 + 40..cu.0 + 48].copy_from_slice(&40u64.to_le_bytes()); // section_64.size
    assert_error(
        &b,
        &["bad.o: __compact_unwind", "32-byte compact unwind entries"],
    );
    // An entry whose function pointer has no relocation.
    let entries = relocs(&good, &layout, "__compact_unwind");
    let (at, address, _) = entries.iter().find(|r| r.1 == 32).unwrap();
    let mut b = good.clone();
    put_u32(&mut b, *at, address + 8); // now on the length/encoding words
    assert!(
        error_of(&b).contains("__compact_unwind"),
        "{}",
        error_of(&b)
    );
}

#[test]
fn stab_entries_keep_symbol_indices() {
    let good = read(&obj_path("x86_64", "calls", "main.o"));
    let before = parse("good.o", &good);
    let (symoff, nsyms) = raw(&good).symtab;
    let index_of = |name: &str| {
        (0..nsyms)
            .find(|&i| before.symbols[i + 1].name == name)
            .unwrap_or_else(|| panic!("no `{name}`"))
    };
    let mut b = good.clone();
    b[symoff + index_of("main") * 16 + 4] = 0x24; // N_FUN
    let after = parse("stab.o", &b);
    assert_eq!(after.symbols.len(), before.symbols.len());
    for (i, (x, y)) in before.symbols.iter().zip(&after.symbols).enumerate() {
        if x.name == "main" {
            assert_eq!((y.name, y.definition), ("", Definition::Undefined));
        } else {
            assert_eq!((x.name, x.definition), (y.name, y.definition), "symbol {i}");
        }
    }
    for (s, t) in before.sections.iter().zip(&after.sections) {
        assert_eq!(s.relocs, t.relocs, "{}", s.name);
    }
    let mut b = good.clone();
    b[symoff + index_of("out_kv") * 16 + 4] = 0x24;
    assert_error(&b, &["bad.o: __text+", "is a debugging (stab) entry"]);
}

// ---- Darwin C library names --------------------------------------------------------

/// This test process's scratch directory for [`llc`]'s files.
fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("relink-macho-{}", std::process::id()))
}

/// `llc`s `ir` for `triple` into a file in [`scratch`]; returns its path.
fn llc(name: &str, ir: &str, triple: &str) -> PathBuf {
    let dir = scratch();
    std::fs::create_dir_all(&dir).unwrap();
    let (ll, obj) = (
        dir.join(format!("{name}.ll")),
        dir.join(format!("{name}.o")),
    );
    std::fs::write(&ll, ir).unwrap();
    let status = std::process::Command::new("llc")
        .args([
            "-filetype=obj",
            "-relocation-model=pic",
            &format!("-mtriple={triple}"),
        ])
        .arg(&ll)
        .arg("-o")
        .arg(&obj)
        .status()
        .expect("llc (LLVM 14) runs");
    assert!(status.success(), "llc {name}");
    obj
}

/// Mach-O code calling Darwin's `__error()` (what `errno` is on Darwin).
const SET_ERRNO: &str = "declare i32* @__error()
define void @set_errno(i32 %v) {
  %p = call i32* @__error()
  store i32 %v, i32* %p
  ret void
}
";

/// An ELF object with its own `__error`.
const OWN_ERROR: &str = "@my_errno = global i32 0
define i32* @__error() {
  ret i32* @my_errno
}
";

/// Darwin names come last: `__error` is glibc's errno unless anything else defines
/// the name — here an ELF object loaded with the Mach-O one, or the host.
#[test]
fn darwin_names_never_shadow_a_definition() {
    let (darwin, linux) = match common::arch() {
        "x86_64" => ("x86_64-apple-macosx", "x86_64-unknown-linux-gnu"),
        _ => ("arm64-apple-macosx", "aarch64-unknown-linux-gnu"),
    };
    let user = llc("set_errno", SET_ERRNO, darwin);

    // Alone: the alias of glibc's __errno_location, so errno itself changes.
    let mut linker = relink::Linker::new().unwrap();
    linker.load_file(&user).unwrap();
    let set: extern "C" fn(i32) = unsafe { linker.function("set_errno").unwrap() };
    set(1234);
    assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(1234));
    drop(linker);

    // With an ELF object that defines __error: the object wins.
    let own = llc("own_error", OWN_ERROR, linux);
    let mut linker = relink::Linker::new().unwrap();
    linker.load_files(&[&user, &own]).unwrap();
    let set: extern "C" fn(i32) = unsafe { linker.function("set_errno").unwrap() };
    set_glibc_errno(4321);
    set(77);
    assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(4321));
    let mine = linker.address("my_errno").unwrap() as *const i32;
    // SAFETY: the loaded object's `int`, nothing else writes it now.
    assert_eq!(unsafe { mine.read() }, 77);
    drop(linker);

    // A host definition wins too.
    extern "C" fn host_error() -> *mut i32 {
        static mut HOST_ERRNO: i32 = 0;
        std::ptr::addr_of_mut!(HOST_ERRNO)
    }
    let mut linker = relink::Linker::new().unwrap();
    linker.define("__error", host_error as *const u8).unwrap();
    linker.load_file(&user).unwrap();
    let set: extern "C" fn(i32) = unsafe { linker.function("set_errno").unwrap() };
    set_glibc_errno(4321);
    set(5);
    assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(4321));
    // SAFETY: only this test's loaded code writes HOST_ERRNO, and it has returned.
    assert_eq!(unsafe { host_error().read() }, 5);
    drop(linker);
    std::fs::remove_dir_all(scratch()).ok();
}

fn set_glibc_errno(v: i32) {
    // SAFETY: glibc's errno of this thread.
    unsafe { *libc::__errno_location() = v };
}

// ---- Unwinding through Mach-O frames -----------------------------------------------
//
// x86_64 Mach-O objects carry `__eh_frame`; arm64 ones only `__compact_unwind`, which
// relink converts into `.eh_frame` records (src/input/compact_unwind.rs). Objects:
// testdata/macho/obj/<arch>/unwind/ (chain.c, cleanup.c from llc; thrower.cpp from g++).

/// A C++ exception thrown by ELF code (`may_throw`, g++) unwinds through a Mach-O
/// frame, runs its cleanup (`__gcc_personality_v0` reading the Mach-O LSDA) and is
/// caught in host C++: what the same C and C++ do when linked natively.
#[test]
fn exceptions_cross_macho_frames_and_run_their_cleanups() {
    use relink_cxxhost::{call1, Outcome};
    let arch = common::arch();
    let mut linker = common::cxx_linker();
    let objects = [
        obj_path(arch, "unwind", "cleanup.o"),
        obj_path(arch, "unwind", "thrower.o"),
    ];
    linker.load_files(&objects).unwrap();
    let guarded: extern "C" fn(i32) -> i32 = unsafe { linker.function("guarded_call").unwrap() };
    let released = linker.address("released").unwrap() as *const i32;
    // SAFETY: `released` is the loaded object's `int`, read while nothing writes it.
    let released = || unsafe { released.read_volatile() };
    assert_eq!(call1(guarded, 5), Outcome::Returned(6));
    assert_eq!(released(), 5, "the cleanup runs on return");
    assert_eq!(
        call1(guarded, -3),
        Outcome::Threw("negative from ELF".into()),
        "{arch}: the exception crosses the Mach-O frame"
    );
    assert_eq!(released(), 2, "{arch}: the cleanup runs during unwinding");
    assert_eq!(
        call1(guarded, -1),
        Outcome::Threw("negative from ELF".into())
    );
    assert_eq!(released(), 1);
}

/// `_Unwind_Backtrace` from a host callback walks through two Mach-O frames
/// (`chain_inner`, `chain_outer`) and on into the host function that called them.
/// chain.o: arm64 compact unwind in `FRAME` mode (converted); nofp.o: the `DWARF`
/// mode, whose FDEs are in arm64 `__eh_frame`; x86_64: `__eh_frame` for both.
#[test]
fn backtraces_walk_through_macho_frames() {
    for (file, prefix) in [("chain.o", "chain"), ("nofp.o", "nofp")] {
        backtrace_through(file, prefix);
    }
}

fn backtrace_through(file: &str, prefix: &str) {
    let mut linker = relink::Linker::new().unwrap();
    linker
        .load_file(obj_path(common::arch(), "unwind", file))
        .unwrap();
    let outer: Chain = unsafe { linker.function(&format!("{prefix}_outer")).unwrap() };
    assert_eq!(call_chain(outer, 4), (2 * 5 + 100 + 1) * 3);
    let frames = frames();
    // A return address points after the call: look up ip - 1.
    let names: Vec<String> = frames
        .iter()
        .map(|&ip| match linker.symbolize((ip as u64).wrapping_sub(1)) {
            Some(s) => s.function.to_string(),
            None => format!("{ip:#x}"),
        })
        .collect();
    let at = |name: String| names.iter().position(|n| *n == name);
    let (Some(inner), Some(outer_at)) =
        (at(format!("{prefix}_inner")), at(format!("{prefix}_outer")))
    else {
        panic!("{file}: the Mach-O frames are missing from the backtrace: {names:?}");
    };
    assert_eq!(outer_at, inner + 1, "{file}: {names:?}");
    let host = call_chain as *const () as usize;
    let after = frames.get(outer_at + 1).copied().unwrap_or(0);
    assert!(
        after > host && after < host + 512,
        "{file}: the walk does not continue into the host after the Mach-O frames: {names:?}"
    );
}
