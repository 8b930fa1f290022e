//! The ELF images relink hands to others, written with `object`'s ELF writer
//! (`object::write::elf::Writer`, which lays out and writes the headers,
//! string and symbol tables):
//! - for debuggers (`gdb.rs`): a copy of an ELF object whose loaded sections'
//!   `sh_addr` are their load addresses ([`with_addresses`]), or, for a Mach-O
//!   object, a small relocatable ELF of its placed sections and symbols
//!   ([`relocatable`]);
//! - for the C library (`static_tls.rs`): a shared object whose one `PT_TLS`
//!   block glibc places in static TLS, and whose one dynamic relocation tells
//!   relink where ([`tls_library`]).
//!
//! Everything here is little-endian ELF64, for the architectures relink links.

use std::mem::{offset_of, size_of};

use object::elf;
use object::read::elf::FileHeader as _;
use object::write::elf::{
    FileHeader, ProgramHeader, Rel, SectionHeader, SectionIndex, Sym, Writer,
};
use object::write::StringId;
use object::{Endianness, LittleEndian as LE};

use crate::arch::Arch;

/// A copy of the ELF object `file` in which each section `(index, address)` of
/// `placed` has `sh_addr = address`. `None` if the file's section headers are
/// not where its header says.
pub(crate) fn with_addresses(
    file: &[u8],
    placed: impl IntoIterator<Item = (usize, u64)>,
) -> Option<Vec<u8>> {
    let header = elf::FileHeader64::<LE>::parse(file).ok()?;
    let shoff = usize::try_from(header.e_shoff(LE)).ok()?;
    let entsize = usize::from(header.e_shentsize(LE));
    if entsize < size_of::<elf::SectionHeader64<LE>>() {
        return None;
    }
    let field = offset_of!(elf::SectionHeader64<LE>, sh_addr);
    let mut image = file.to_vec();
    for (index, address) in placed {
        let at = shoff
            .checked_add(index.checked_mul(entsize)?)?
            .checked_add(field)?;
        image
            .get_mut(at..at.checked_add(8)?)?
            .copy_from_slice(&address.to_le_bytes());
    }
    Some(image)
}

/// One section of a [`relocatable`] image.
pub(crate) struct Section<'a> {
    pub name: &'a [u8],
    /// Its load address.
    pub address: u64,
    pub size: u64,
    pub align: u64,
    pub write: bool,
    pub execute: bool,
    /// Its bytes; `None`: `SHT_NOBITS` (the debugger reads the process).
    pub contents: Option<&'a [u8]>,
}

/// One symbol of a [`relocatable`] image, defined in `section` (an index into
/// its sections) at `offset`.
pub(crate) struct Symbol<'a> {
    pub name: &'a [u8],
    pub section: usize,
    pub offset: u64,
    pub size: u64,
    pub global: bool,
    pub function: bool,
}

/// A relocatable ELF (`ET_REL`) of `sections`, each at its load address, with
/// `symbols` (locals first, as ELF requires), `.symtab`, `.strtab` and
/// `.shstrtab`. `None` if a symbol names no section.
pub(crate) fn relocatable(arch: Arch, sections: &[Section], symbols: &[Symbol]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = Writer::new(Endianness::Little, true, &mut out);
    w.reserve_file_header();
    let names: Vec<StringId> = sections
        .iter()
        .map(|s| w.add_section_name(s.name))
        .collect();
    let indices: Vec<SectionIndex> = sections.iter().map(|_| w.reserve_section_index()).collect();
    let mut ordered: Vec<&Symbol> = symbols.iter().collect();
    ordered.sort_by_key(|s| s.global); // stable: locals first, each in order
    let mut entries = Vec::with_capacity(ordered.len());
    for s in &ordered {
        let section = *indices.get(s.section)?;
        let name = w.add_string(s.name);
        w.reserve_symbol_index(Some(section));
        let (bind, kind) = (
            if s.global {
                elf::STB_GLOBAL
            } else {
                elf::STB_LOCAL
            },
            if s.function {
                elf::STT_FUNC
            } else {
                elf::STT_OBJECT
            },
        );
        entries.push(Sym {
            name: Some(name),
            section: Some(section),
            st_info: (bind << 4) | kind,
            st_other: elf::STV_DEFAULT,
            st_shndx: 0,
            st_value: s.offset,
            st_size: s.size,
        });
    }
    let first_global = 1 + ordered.iter().filter(|s| !s.global).count() as u32;
    w.reserve_symtab_section_index();
    w.reserve_strtab_section_index();
    w.reserve_shstrtab_section_index();
    let offsets: Vec<usize> = sections
        .iter()
        .map(|s| s.contents.map_or(0, |c| w.reserve(c.len(), 8)))
        .collect();
    w.reserve_symtab();
    w.reserve_strtab();
    w.reserve_shstrtab();
    w.reserve_section_headers();

    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_REL,
        e_machine: arch.elf_machine(),
        e_entry: 0,
        e_flags: 0,
    })
    .ok()?;
    for s in sections {
        if let Some(contents) = s.contents {
            w.write_align(8);
            w.write(contents);
        }
    }
    w.write_null_symbol();
    for entry in &entries {
        w.write_symbol(entry);
    }
    w.write_strtab();
    w.write_shstrtab();
    w.write_null_section_header();
    for ((s, name), offset) in sections.iter().zip(names).zip(offsets) {
        let flags = u64::from(elf::SHF_ALLOC)
            | if s.write {
                u64::from(elf::SHF_WRITE)
            } else {
                0
            }
            | if s.execute {
                u64::from(elf::SHF_EXECINSTR)
            } else {
                0
            };
        w.write_section_header(&SectionHeader {
            name: Some(name),
            sh_type: if s.contents.is_some() {
                elf::SHT_PROGBITS
            } else {
                elf::SHT_NOBITS
            },
            sh_flags: flags,
            sh_addr: s.address,
            sh_offset: offset as u64,
            sh_size: s.size,
            sh_link: 0,
            sh_info: 0,
            sh_addralign: s.align,
            sh_entsize: 0,
        });
    }
    w.write_symtab_section_header(first_global);
    w.write_strtab_section_header();
    w.write_shstrtab_section_header();
    Some(out)
}

/// A shared object holding a static TLS block (see `static_tls.rs`), the
/// file offset (= virtual address) of the word its one dynamic relocation
/// sets to the block's offset from the thread pointer, and that of its
/// `PT_TLS` image.
pub(crate) struct TlsLibrary {
    pub bytes: Vec<u8>,
    pub word: u64,
    pub image: u64,
}

/// The library for a block of `size` bytes aligned to `align` whose first
/// bytes are `image`: program headers `PT_LOAD` (the whole file, read/write, so
/// no text relocation), `PT_DYNAMIC`, `PT_TLS` (the image) and `PT_GNU_STACK`
/// (without it glibc would make every thread's stack executable); a dynamic
/// section with a one-bucket `DT_HASH`, a symbol table holding only the null
/// symbol, `DT_RELA` with the one relocation (the architecture's TP-offset
/// type against symbol 0: the library's own block), and
/// `DT_FLAGS = DF_STATIC_TLS`. File offsets equal virtual addresses.
pub(crate) fn tls_library(arch: Arch, image: &[u8], size: u64, align: u64) -> Option<TlsLibrary> {
    const DYNAMIC: usize = 10;
    let mut out = Vec::new();
    let mut w = Writer::new(Endianness::Little, true, &mut out);
    w.reserve_file_header();
    w.reserve_program_headers(4);
    let dynamic = w.reserve_dynamic(DYNAMIC) as u64;
    let hash = w.reserve_hash(1, 1) as u64;
    w.reserve_null_dynamic_symbol_index();
    let dynsym = w.reserve_dynsym() as u64;
    w.require_dynstr();
    let dynstr = w.reserve_dynstr() as u64;
    let rela = w.reserve_relocations(1, true) as u64;
    let word = w.reserve(8, 8);
    let block = w.reserve(image.len(), usize::try_from(align.max(1)).ok()?);
    let end = w.reserved_len() as u64;

    write_shared_object_header(&mut w, arch)?;
    let (r, rw) = (elf::PF_R, elf::PF_R | elf::PF_W);
    let dynamic_size = (DYNAMIC * size_of::<elf::Dyn64<LE>>()) as u64;
    let image_size = image.len() as u64;
    for (p_type, p_flags, at, file, memory, align) in [
        (elf::PT_LOAD, rw, 0, end, end, 0x1000),
        (elf::PT_DYNAMIC, rw, dynamic, dynamic_size, dynamic_size, 8),
        (elf::PT_TLS, r, block as u64, image_size, size, align.max(1)),
        (elf::PT_GNU_STACK, rw, 0, 0, 0, 16),
    ] {
        w.write_program_header(&ProgramHeader {
            p_type,
            p_flags,
            p_offset: at,
            p_vaddr: at,
            p_paddr: at,
            p_filesz: file,
            p_memsz: memory,
            p_align: align,
        });
    }
    let tables = Tables { hash, dynstr, dynsym, rela };
    write_dynamic(&mut w, &tables, 1, Some(u64::from(elf::DF_STATIC_TLS)));
    w.write_hash(1, 1, |_| None);
    w.write_null_dynamic_symbol();
    w.write_dynstr();
    w.write_align_relocation();
    w.write_relocation(
        true,
        &Rel {
            r_offset: word as u64,
            r_sym: 0,
            r_type: arch.elf_tprel64(),
            r_addend: 0,
        },
    );
    w.pad_until(word);
    w.write(&[0; 8]);
    w.pad_until(block);
    w.write(image);
    Some(TlsLibrary {
        bytes: out,
        word: word as u64,
        image: block as u64,
    })
}

/// A shared object that asks the C library about thread-local variable `name`
/// of the process (see `runtime/process_tls.rs`): no `PT_TLS` of its own, one
/// undefined `STT_TLS` dynamic symbol `name`, and one dynamic relocation of
/// each type in `types` against it, the `i`-th filling the word at `words +
/// 8 * i` — what the dynamic linker writes there is what it would give code of
/// a library that refers to `name`. Otherwise laid out like [`tls_library`].
/// The ELF header of a small shared object for `arch`, and the alignment
/// before its program headers.
fn write_shared_object_header(w: &mut Writer, arch: Arch) -> Option<()> {
    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_DYN,
        e_machine: arch.elf_machine(),
        e_entry: 0,
        e_flags: 0,
    })
    .ok()?;
    w.write_align_program_headers();
    Some(())
}

/// Where a small shared object's dynamic tables are (file offsets = addresses).
struct Tables {
    hash: u64,
    dynstr: u64,
    dynsym: u64,
    rela: u64,
}

/// Writes the `PT_DYNAMIC` entries of a small shared object: its tables,
/// `relocations` RELA entries, and `DT_FLAGS` if given.
fn write_dynamic(w: &mut Writer, t: &Tables, relocations: usize, flags: Option<u64>) {
    let rela_size = size_of::<elf::Rela64<LE>>() as u64;
    w.write_align_dynamic();
    let entries = [
        (elf::DT_HASH, t.hash),
        (elf::DT_STRTAB, t.dynstr),
        (elf::DT_SYMTAB, t.dynsym),
        (elf::DT_STRSZ, w.dynstr_len() as u64),
        (elf::DT_SYMENT, size_of::<elf::Sym64<LE>>() as u64),
        (elf::DT_RELA, t.rela),
        (elf::DT_RELASZ, rela_size * relocations as u64),
        (elf::DT_RELAENT, rela_size),
    ];
    for (tag, value) in entries.into_iter().chain(flags.map(|f| (elf::DT_FLAGS, f))) {
        w.write_dynamic(tag, value);
    }
    w.write_dynamic(elf::DT_NULL, 0);
}

pub(crate) struct TlsProbe {
    pub bytes: Vec<u8>,
    pub words: u64,
}

/// See [`TlsProbe`].
pub(crate) fn tls_probe(arch: Arch, name: &[u8], types: &[u32]) -> Option<TlsProbe> {
    const DYNAMIC: usize = 9;
    let mut out = Vec::new();
    let mut w = Writer::new(Endianness::Little, true, &mut out);
    w.reserve_file_header();
    w.reserve_program_headers(3);
    let dynamic = w.reserve_dynamic(DYNAMIC) as u64;
    let hash = w.reserve_hash(1, 2) as u64;
    let symbol_name = w.add_dynamic_string(name);
    w.reserve_null_dynamic_symbol_index();
    let symbol = w.reserve_dynamic_symbol_index();
    let dynsym = w.reserve_dynsym() as u64;
    let dynstr = w.reserve_dynstr() as u64;
    let rela = w.reserve_relocations(types.len(), true) as u64;
    let words = w.reserve(8 * types.len(), 8);
    let end = w.reserved_len() as u64;

    write_shared_object_header(&mut w, arch)?;
    let rw = elf::PF_R | elf::PF_W;
    let dynamic_size = (DYNAMIC * size_of::<elf::Dyn64<LE>>()) as u64;
    for (p_type, at, size, align) in [
        (elf::PT_LOAD, 0, end, 0x1000),
        (elf::PT_DYNAMIC, dynamic, dynamic_size, 8),
        (elf::PT_GNU_STACK, 0, 0, 16),
    ] {
        w.write_program_header(&ProgramHeader {
            p_type,
            p_flags: rw,
            p_offset: at,
            p_vaddr: at,
            p_paddr: at,
            p_filesz: size,
            p_memsz: size,
            p_align: align,
        });
    }
    let tables = Tables { hash, dynstr, dynsym, rela };
    write_dynamic(&mut w, &tables, types.len(), None);
    // The symbol is undefined: no bucket leads to it.
    w.write_hash(1, 2, |_| None);
    w.write_null_dynamic_symbol();
    w.write_dynamic_symbol(&Sym {
        name: Some(symbol_name),
        section: None,
        st_info: (elf::STB_GLOBAL << 4) | elf::STT_TLS,
        st_other: elf::STV_DEFAULT,
        st_shndx: elf::SHN_UNDEF,
        st_value: 0,
        st_size: 0,
    });
    w.write_dynstr();
    w.write_align_relocation();
    for (i, &r_type) in types.iter().enumerate() {
        w.write_relocation(
            true,
            &Rel {
                r_offset: (words + 8 * i) as u64,
                r_sym: symbol.0,
                r_type,
                r_addend: 0,
            },
        );
    }
    w.pad_until(words);
    w.write(&vec![0; 8 * types.len()]);
    Some(TlsProbe {
        bytes: out,
        words: words as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::read::elf::{Dyn as _, ProgramHeader as _, Rela as _};
    use object::{Object, ObjectSection, ObjectSymbol};

    #[test]
    fn a_relocatable_image_holds_its_sections_and_symbols() {
        let eh = [1u8, 2, 3, 4];
        let sections = [
            Section {
                name: b"__text",
                address: 0x7000_1000,
                size: 0x40,
                align: 16,
                write: false,
                execute: true,
                contents: None,
            },
            Section {
                name: b".eh_frame",
                address: 0x7000_2000,
                size: 4,
                align: 8,
                write: false,
                execute: false,
                contents: Some(&eh),
            },
        ];
        let symbol = |name: &'static [u8], global, offset| Symbol {
            name,
            section: 0,
            offset,
            size: 8,
            global,
            function: true,
        };
        let symbols = [symbol(b"f", true, 0), symbol(b"local", false, 8)];
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let bytes = relocatable(arch, &sections, &symbols).unwrap();
            let file = object::File::parse(&*bytes).unwrap();
            assert_eq!(file.kind(), object::ObjectKind::Relocatable);
            let text = file.section_by_name("__text").unwrap();
            assert_eq!((text.address(), text.size()), (0x7000_1000, 0x40));
            let eh_frame = file.section_by_name(".eh_frame").unwrap();
            assert_eq!(eh_frame.data().unwrap(), eh);
            let found: Vec<(String, u64, bool)> = file
                .symbols()
                .map(|s| (s.name().unwrap().to_string(), s.address(), s.is_global()))
                .collect();
            // Locals first; values are section offsets (ET_REL).
            assert_eq!(found, [("local".into(), 8, false), ("f".into(), 0, true)]);
            let elf::FileHeader64 { e_machine, .. } =
                *elf::FileHeader64::<LE>::parse(&*bytes).unwrap();
            assert_eq!(e_machine.get(LE), arch.elf_machine());
        }
    }

    #[test]
    fn the_tls_probe_has_one_undefined_thread_local_and_its_relocations() {
        let types = Arch::X86_64.elf_dtpmod_dtpoff64();
        let probe = tls_probe(Arch::X86_64, b"errno", &types).unwrap();
        let bytes = &probe.bytes[..];
        let header = elf::FileHeader64::<LE>::parse(bytes).unwrap();
        let phdrs = header.program_headers(LE, bytes).unwrap();
        assert!(phdrs.iter().all(|p| p.p_type(LE) != elf::PT_TLS));
        let dynamic = phdrs[1].dynamic(LE, bytes).unwrap().unwrap();
        let value = |tag: u32| {
            let d = dynamic.iter().find(|d| d.d_tag(LE) == u64::from(tag));
            d.unwrap().d_val(LE) as usize
        };
        // Symbol 1: `errno`, undefined, STT_TLS.
        let symbols = object::pod::slice_from_bytes::<elf::Sym64<LE>>(&bytes[value(elf::DT_SYMTAB)..], 2)
            .unwrap()
            .0;
        let sym = &symbols[1];
        let name_at = value(elf::DT_STRTAB) + sym.st_name.get(LE) as usize;
        assert_eq!(&bytes[name_at..name_at + 6], b"errno\0");
        assert_eq!(sym.st_info & 0xf, elf::STT_TLS);
        assert_eq!(sym.st_shndx.get(LE), elf::SHN_UNDEF);
        // One relocation per word, against symbol 1.
        assert_eq!(value(elf::DT_RELASZ), 2 * size_of::<elf::Rela64<LE>>());
        let relas = object::pod::slice_from_bytes::<elf::Rela64<LE>>(&bytes[value(elf::DT_RELA)..], 2)
            .unwrap()
            .0;
        let found: Vec<(u64, u32, u32)> = relas
            .iter()
            .map(|r| (r.r_offset(LE), r.r_type(LE, false), r.r_sym(LE, false)))
            .collect();
        let words = probe.words;
        assert_eq!(found, [(words, types[0], 1), (words + 8, types[1], 1)]);
        assert!(words + 16 <= phdrs[0].p_filesz(LE));
    }

    #[test]
    fn the_tls_library_has_its_block_and_one_relocation() {
        let library = tls_library(Arch::Aarch64, &[7; 12], 40, 32).unwrap();
        let bytes = &library.bytes;
        let header = elf::FileHeader64::<LE>::parse(&bytes[..]).unwrap();
        assert_eq!(header.e_type(LE), elf::ET_DYN);
        let phdrs = header.program_headers(LE, &bytes[..]).unwrap();
        let kinds: Vec<u32> = phdrs.iter().map(|p| p.p_type(LE)).collect();
        let want = [
            elf::PT_LOAD,
            elf::PT_DYNAMIC,
            elf::PT_TLS,
            elf::PT_GNU_STACK,
        ];
        assert_eq!(kinds, want);
        let tls = &phdrs[2];
        let at = tls.p_offset(LE) as usize;
        assert_eq!(at % 32, 0);
        assert_eq!(&bytes[at..at + 12], [7; 12]);
        assert_eq!(
            (tls.p_filesz(LE), tls.p_memsz(LE), tls.p_align(LE)),
            (12, 40, 32)
        );
        assert_eq!(phdrs[0].p_filesz(LE), bytes.len() as u64);
        let dynamic = phdrs[1].dynamic(LE, &bytes[..]).unwrap().unwrap();
        let rela = dynamic
            .iter()
            .find(|d| d.d_tag(LE) == u64::from(elf::DT_RELA))
            .unwrap();
        let rela = object::pod::from_bytes::<elf::Rela64<LE>>(&bytes[rela.d_val(LE) as usize..])
            .unwrap()
            .0;
        assert_eq!(rela.r_offset(LE), library.word);
        assert_eq!(rela.r_type(LE, false), object::elf::R_AARCH64_TLS_TPREL);
        assert_eq!(rela.r_sym(LE, false), 0);
    }
}
