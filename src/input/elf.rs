//! ELF64 relocatable objects (x86-64 and AArch64), read with `object`'s low-level
//! ELF API. Raw relocation types are mapped onto arch kinds here, and only here.
//!
//! What is loaded: every `SHF_ALLOC` section except notes and `SHF_EXCLUDE`;
//! `SHF_TLS` sections (`.tdata`, `.tbss`) become [`Role::Tls`] sections, the
//! image of the object's thread-local storage module (`link/tls.rs`). Symbols keep
//! their ELF indices, so a relocation's symbol index is its [`SymbolId`].
//! `STT_GNU_IFUNC` symbols become [`SymbolKind::Ifunc`] (their resolver must lie
//! in this object's code).

use object::elf;
use object::read::elf::{FileHeader, Rela as _, SectionHeader, SectionTable, Sym as _};
use object::LittleEndian as LE;

use super::{
    priority, Binding, Class, Definition, Group, Object, Reloc, Role, Section, SectionId, Symbol,
    SymbolId, SymbolKind,
};
use crate::arch::{aarch64, x86_64, Arch, RelocKind};
use crate::error::{Error, Location, Result};

type Header = elf::FileHeader64<LE>;
type Sections<'a> = SectionTable<'a, Header, &'a [u8]>;

pub use super::MAX_ALIGN;

/// Parses an ELF64 little-endian relocatable object.
pub fn parse<'a>(name: &str, bytes: &'a [u8]) -> Result<Object<'a>> {
    let bad = |reason: &str| Error::malformed(Location::object(name), reason);
    let header = Header::parse(bytes).map_err(|e| bad(&format!("ELF header: {e}")))?;
    let endian = LE;
    if header.e_type(endian) != elf::ET_REL {
        return Err(bad("not a relocatable object (e_type is not ET_REL)"));
    }
    let arch = match header.e_machine(endian) {
        elf::EM_X86_64 => Arch::X86_64,
        elf::EM_AARCH64 => Arch::Aarch64,
        m => return Err(bad(&format!("unsupported machine {m}"))),
    };
    let table = header
        .sections(endian, bytes)
        .map_err(|e| bad(&format!("section headers: {e}")))?;
    let mut reader = Reader {
        name,
        bytes,
        arch,
        table,
        map: vec![None; table.len()],
    };
    let mut sections = reader.sections()?;
    let symbols = reader.symbols(&sections)?;
    reader.relocations(&mut sections, &symbols)?;
    let groups = reader.groups(&mut sections)?;
    Ok(Object {
        name: name.to_string(),
        arch,
        sections,
        symbols,
        groups,
        format: super::Format::Elf,
        file: bytes,
        named_code: Default::default(),
        facts: Default::default(),
        name_numbers: Default::default(),
    })
}

struct Reader<'a, 'n> {
    name: &'n str,
    bytes: &'a [u8],
    arch: Arch,
    table: Sections<'a>,
    /// ELF section index → relink section, for loaded sections.
    map: Vec<Option<SectionId>>,
}

impl<'a> Reader<'a, '_> {
    fn at(&self, section: Option<&str>, offset: Option<u64>) -> Location {
        Location {
            object: self.name.to_string(),
            section: section.map(str::to_string),
            offset,
        }
    }

    fn section_name(&self, index: usize, h: &'a elf::SectionHeader64<LE>) -> Result<&'a str> {
        let raw = self.table.section_name(LE, h).map_err(|e| {
            Error::malformed(self.at(None, None), format!("section {index} name: {e}"))
        })?;
        std::str::from_utf8(raw).map_err(|_| {
            Error::malformed(
                self.at(None, None),
                format!("section {index} name is not UTF-8"),
            )
        })
    }

    fn sections(&mut self) -> Result<Vec<Section<'a>>> {
        let mut out = Vec::new();
        let mut total = 0u64;
        for (index, h) in self.table.iter().enumerate() {
            let flags = h.sh_flags(LE);
            let kind = h.sh_type(LE);
            let skip = flags & u64::from(elf::SHF_ALLOC) == 0
                || flags & (elf::SHF_EXCLUDE as u64) != 0
                || kind == elf::SHT_NOTE
                || kind == elf::SHT_GROUP;
            if skip {
                continue;
            }
            let name = self.section_name(index, h)?;
            let mut section = self.section(name, h)?;
            section.file_index = index as u32;
            super::within_budget(&mut total, &section, || self.at(Some(name), None))?;
            self.map[index] = Some(SectionId(out.len() as u32));
            out.push(section);
        }
        Ok(out)
    }

    fn section(&self, name: &'a str, h: &'a elf::SectionHeader64<LE>) -> Result<Section<'a>> {
        let flags = h.sh_flags(LE);
        let nobits = h.sh_type(LE) == elf::SHT_NOBITS;
        let align = h.sh_addralign(LE).max(1);
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return Err(Error::malformed(
                self.at(Some(name), None),
                format!("alignment {align} is not a power of two up to {MAX_ALIGN}"),
            ));
        }
        let data = if nobits {
            &[][..]
        } else {
            h.data(LE, self.bytes).map_err(|_| {
                Error::malformed(
                    self.at(Some(name), None),
                    "section data lies outside the file",
                )
            })?
        };
        let tls = flags & u64::from(elf::SHF_TLS) != 0;
        let role = if tls { Role::Tls } else { role(name) };
        // A TLS section is part of its module's image: copied into each thread's
        // block, never written in place (`tls.rs`).
        let class = if tls {
            Class::ReadOnly
        } else if flags & u64::from(elf::SHF_EXECINSTR) != 0 {
            Class::Code
        } else if nobits {
            Class::Zero
        } else if flags & u64::from(elf::SHF_WRITE) != 0
            && role == Role::Plain
            && !name.starts_with(".data.rel.ro")
        {
            Class::Data
        } else {
            Class::ReadOnly
        };
        Ok(Section {
            name,
            class,
            role,
            data: data.into(),
            size: if nobits {
                h.sh_size(LE)
            } else {
                data.len() as u64
            },
            align,
            relocs: Vec::new(),
            group: None,
            file_index: 0,
        })
    }

    fn symbols(&self, sections: &[Section<'a>]) -> Result<Vec<Symbol<'a>>> {
        let table = self
            .table
            .symbols(LE, self.bytes, elf::SHT_SYMTAB)
            .map_err(|e| Error::malformed(self.at(Some(".symtab"), None), e.to_string()))?;
        let strings = self
            .table
            .section(table.string_section())
            .and_then(|h| h.data(LE, self.bytes))
            .unwrap_or(&[]);
        // One UTF-8 check of the whole table, not one per name.
        let text = std::str::from_utf8(strings).ok();
        let mut out = Vec::with_capacity(table.len());
        for (index, sym) in table.iter().enumerate() {
            let mut name = c_str(strings, text, sym.st_name(LE)).map_err(|why| {
                Error::malformed(
                    self.at(Some(".symtab"), None),
                    format!("symbol {index}: {why}"),
                )
            })?;
            let shndx = match sym.st_shndx(LE) {
                elf::SHN_XINDEX => table
                    .shndx(LE, object::SymbolIndex(index))
                    .unwrap_or(u32::from(elf::SHN_UNDEF)),
                n => u32::from(n),
            };
            let definition = self.definition(sym, shndx, sections, index)?;
            let kind = match sym.st_type() {
                elf::STT_FUNC => SymbolKind::Function,
                elf::STT_GNU_IFUNC => self.ifunc(name, &definition, sections)?,
                elf::STT_OBJECT | elf::STT_COMMON => SymbolKind::Data,
                elf::STT_SECTION => SymbolKind::Section,
                elf::STT_TLS => SymbolKind::Tls,
                _ => SymbolKind::Unknown,
            };
            if kind == SymbolKind::Section {
                if let Definition::Section { section, .. } = definition {
                    name = sections[section.0 as usize].name;
                }
            }
            out.push(Symbol {
                name,
                binding: match sym.st_bind() {
                    elf::STB_LOCAL => Binding::Local,
                    elf::STB_WEAK => Binding::Weak,
                    _ => Binding::Global,
                },
                kind,
                definition,
                size: sym.st_size(LE),
                hidden: matches!(sym.st_other() & 3, elf::STV_HIDDEN | elf::STV_INTERNAL),
            });
        }
        Ok(out)
    }

    /// An `STT_GNU_IFUNC` symbol: its value is the resolver, which must be code of
    /// this object.
    fn ifunc(&self, name: &str, def: &Definition, sections: &[Section<'a>]) -> Result<SymbolKind> {
        match def {
            Definition::Section { section, .. }
                if sections[section.0 as usize].class == Class::Code =>
            {
                Ok(SymbolKind::Ifunc)
            }
            _ => Err(Error::Unsupported {
                at: self.at(Some(".symtab"), None),
                what: format!(
                    "`{name}` is an STT_GNU_IFUNC symbol whose resolver is not code of this object"
                ),
            }),
        }
    }

    fn definition(
        &self,
        sym: &elf::Sym64<LE>,
        shndx: u32,
        sections: &[Section<'a>],
        index: usize,
    ) -> Result<Definition> {
        let value = sym.st_value(LE);
        Ok(match shndx {
            0 => Definition::Undefined,
            n if n == u32::from(elf::SHN_ABS) => Definition::Absolute(value),
            n if n == u32::from(elf::SHN_COMMON) => {
                let align = value.max(1);
                if !align.is_power_of_two() || align > MAX_ALIGN {
                    return Err(Error::malformed(
                        self.at(Some(".symtab"), None),
                        format!("symbol {index}: COMMON alignment {align} is not a power of two up to {MAX_ALIGN}"),
                    ));
                }
                Definition::Common {
                    size: sym.st_size(LE),
                    align,
                }
            }
            n => match self.map.get(n as usize).copied().flatten() {
                Some(section) => {
                    let size = sections[section.0 as usize].size;
                    if value > size {
                        return Err(Error::malformed(
                            self.at(Some(sections[section.0 as usize].name), Some(value)),
                            format!("symbol {index} lies past the end of its section"),
                        ));
                    }
                    Definition::Section {
                        section,
                        offset: value,
                    }
                }
                None if (n as usize) < self.map.len() => Definition::Undefined,
                None => {
                    return Err(Error::malformed(
                        self.at(Some(".symtab"), None),
                        format!("symbol {index} names section {n}, which does not exist"),
                    ))
                }
            },
        })
    }

    fn relocations(&self, sections: &mut [Section<'a>], symbols: &[Symbol<'a>]) -> Result<()> {
        for (index, h) in self.table.iter().enumerate() {
            let target = h.sh_info(LE) as usize;
            let Some(Some(id)) = self.map.get(target).copied() else {
                continue;
            };
            if h.sh_type(LE) == elf::SHT_REL {
                let name = self.section_name(index, h)?;
                return Err(Error::malformed(
                    self.at(Some(name), None),
                    "SHT_REL relocations (implicit addends) are not used on this architecture",
                ));
            }
            let Some((relas, _)) = h.rela(LE, self.bytes).map_err(|e| {
                Error::malformed(
                    self.at(None, None),
                    format!("relocation section {index}: {e}"),
                )
            })?
            else {
                continue;
            };
            let section = &mut sections[id.0 as usize];
            match self.arch {
                Arch::X86_64 => self.section_relocs(section, symbols, relas, x86_64_kind_fast)?,
                Arch::Aarch64 => self.section_relocs(section, symbols, relas, aarch64_kind)?,
            }
        }
        Ok(())
    }

    /// `relas` into `section`'s relocations, their types mapped by `map` (the
    /// architecture's). A relocation that passes every check of [`Reader::reloc`]
    /// is made here, with the section's facts read once; any other goes through
    /// `reloc`, which skips it or makes the error. A third of parsing was this
    /// loop, with the architecture, the section and a `Result` per relocation.
    fn section_relocs(
        &self,
        section: &mut Section<'a>,
        symbols: &[Symbol<'a>],
        relas: &[elf::Rela64<LE>],
        map: impl Fn(u32) -> Mapped,
    ) -> Result<()> {
        let (zero, size) = (zero_fill(section), section.size);
        let mut out = std::mem::take(&mut section.relocs);
        out.reserve(relas.len());
        for rela in relas {
            let offset = rela.r_offset(LE);
            let (sym, r_type) = (rela.r_sym(LE, false), rela.r_type(LE, false));
            match map(r_type) {
                Mapped::Kind(kind)
                    if (sym as usize) < symbols.len() && !zero && fits(offset, kind, size) =>
                {
                    out.push(Reloc {
                        offset,
                        kind,
                        symbol: SymbolId(sym),
                        addend: rela.r_addend(LE),
                        minus: None,
                    })
                }
                _ => {
                    if let Some(reloc) = self.reloc(section, symbols, rela)? {
                        out.push(reloc);
                    }
                }
            }
        }
        section.relocs = out;
        Ok(())
    }

    fn reloc(
        &self,
        section: &Section<'a>,
        symbols: &[Symbol<'a>],
        rela: &elf::Rela64<LE>,
    ) -> Result<Option<Reloc>> {
        let offset = rela.r_offset(LE);
        let r_type = rela.r_type(LE, false);
        let sym = rela.r_sym(LE, false) as usize;
        let at = || self.at(Some(section.name), Some(offset));
        let symbol = symbols
            .get(sym)
            .ok_or_else(|| Error::malformed(at(), format!("symbol index {sym} out of range")))?;
        let kind = match self.arch {
            Arch::X86_64 => x86_64_kind(r_type),
            Arch::Aarch64 => aarch64_kind(r_type),
        };
        let kind = match kind {
            Mapped::Kind(k) => k,
            Mapped::None => return Ok(None),
            Mapped::Unsupported(hint) => {
                return Err(Error::UnsupportedRelocation {
                    at: at(),
                    r_type: type_name(self.arch, r_type),
                    symbol: symbol.name.to_string(),
                    hint,
                })
            }
        };
        if zero_fill(section) {
            return Err(Error::malformed(at(), "relocation in a zero-fill section"));
        }
        if !fits(offset, kind, section.size) {
            let width = kind.info().width;
            return Err(Error::malformed(
                at(),
                format!("relocation of {width} bytes runs past the end of the section"),
            ));
        }
        Ok(Some(Reloc {
            offset,
            kind,
            symbol: SymbolId(sym as u32),
            addend: rela.r_addend(LE),
            minus: None,
        }))
    }

    fn groups(&self, sections: &mut [Section<'a>]) -> Result<Vec<Group<'a>>> {
        let mut groups = Vec::new();
        for (index, h) in self.table.iter().enumerate() {
            let bad = |e: String| {
                Error::malformed(self.at(None, None), format!("group section {index}: {e}"))
            };
            let Some((flags, members)) = h.group(LE, self.bytes).map_err(|e| bad(e.to_string()))?
            else {
                continue;
            };
            if flags & elf::GRP_COMDAT == 0 {
                continue;
            }
            let table = self
                .table
                .symbols(LE, self.bytes, elf::SHT_SYMTAB)
                .map_err(|e| bad(e.to_string()))?;
            let sym = table
                .symbol(object::SymbolIndex(h.sh_info(LE) as usize))
                .map_err(|e| bad(e.to_string()))?;
            let raw = table.symbol_name(LE, sym).map_err(|e| bad(e.to_string()))?;
            let signature =
                std::str::from_utf8(raw).map_err(|_| bad("signature is not UTF-8".into()))?;
            let mut ids = Vec::new();
            for member in members {
                if let Some(Some(id)) = self.map.get(member.get(LE) as usize).copied() {
                    sections[id.0 as usize].group = Some(groups.len());
                    ids.push(id);
                }
            }
            groups.push(Group {
                signature,
                sections: ids,
            });
        }
        Ok(groups)
    }
}

/// The NUL-terminated UTF-8 string at `offset` of a string table (`text`: the
/// table, if all of it is UTF-8; then a name only needs to start and end on
/// character boundaries). Symbol names are short: a plain scan for the NUL
/// beats `memchr`'s setup.
fn c_str<'s>(
    strings: &'s [u8],
    text: Option<&'s str>,
    offset: u32,
) -> std::result::Result<&'s str, &'static str> {
    let rest = strings
        .get(offset as usize..)
        .ok_or("name offset lies outside the string table")?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or("name is not NUL-terminated")?;
    let name = match text {
        Some(text) => text.get(offset as usize..offset as usize + len),
        None => std::str::from_utf8(&rest[..len]).ok(),
    };
    name.ok_or("name is not UTF-8")
}

fn role(name: &str) -> Role {
    if name.starts_with(".init_array") {
        Role::InitArray {
            priority: priority(name, ".init_array"),
        }
    } else if name.starts_with(".fini_array") {
        Role::FiniArray {
            priority: priority(name, ".fini_array"),
        }
    } else if name == ".ctors" || name.starts_with(".ctors.") {
        Role::Ctors
    } else if name == ".dtors" || name.starts_with(".dtors.") {
        Role::Dtors
    } else if name == ".eh_frame" {
        Role::EhFrame
    } else {
        Role::Plain
    }
}

/// Whether `section` has no bytes a relocation could patch: zero-fill, or a
/// `.tbss`.
fn zero_fill(section: &Section) -> bool {
    section.class == Class::Zero || (section.role == Role::Tls && section.data.is_empty())
}

/// Whether a `kind` relocation at `offset` lies within a section of `size` bytes.
fn fits(offset: u64, kind: RelocKind, size: u64) -> bool {
    (offset.checked_add(kind.info().width as u64)).is_some_and(|end| end <= size)
}

/// What a raw relocation type becomes.
#[derive(Clone, Copy)]
enum Mapped {
    Kind(RelocKind),
    /// `R_*_NONE`: nothing to do.
    None,
    Unsupported(Option<&'static str>),
}

const TLSDESC_HINT: &str = "TLS descriptors in data (R_X86_64_TLSDESC) are dynamic \
     relocations, not for relocatable objects";

const TLS_HINT: &str = "this thread-local storage relocation is not supported: compile with \
     -fPIC (general dynamic) or -femulated-tls";

/// [`x86_64_kind`] of every type below 64, worked out at compile time: a
/// relocation's type is then one indexed load, not a jump through the match's
/// table, which mispredicted on the mix of types in a section.
const X86_64_KINDS: [Mapped; 64] = {
    let mut kinds = [Mapped::Unsupported(None); 64];
    let mut t = 0;
    while t < kinds.len() {
        kinds[t] = x86_64_kind(t as u32);
        t += 1;
    }
    kinds
};

/// [`x86_64_kind`], from [`X86_64_KINDS`].
fn x86_64_kind_fast(r_type: u32) -> Mapped {
    match X86_64_KINDS.get(r_type as usize) {
        Some(&kind) => kind,
        None => x86_64_kind(r_type),
    }
}

const fn x86_64_kind(r_type: u32) -> Mapped {
    use x86_64::Kind::*;
    let kind = match r_type {
        elf::R_X86_64_NONE => return Mapped::None,
        elf::R_X86_64_64 => Pointer64,
        elf::R_X86_64_32 => Pointer32,
        elf::R_X86_64_32S => Pointer32Signed,
        elf::R_X86_64_16 => Pointer16,
        elf::R_X86_64_8 => Pointer8,
        elf::R_X86_64_PC64 => Delta64,
        elf::R_X86_64_PC32 => Delta32,
        elf::R_X86_64_PC16 => Delta16,
        elf::R_X86_64_PC8 => Delta8,
        elf::R_X86_64_PLT32 => Branch32,
        elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX => {
            GotDelta32
        }
        elf::R_X86_64_GOTPCREL64 => GotDelta64,
        elf::R_X86_64_GOT64 => GotOffset64,
        elf::R_X86_64_GOTOFF64 => GotBaseOffset64,
        elf::R_X86_64_GOTPC32 => GotBaseDelta32,
        elf::R_X86_64_GOTPC64 => GotBaseDelta64,
        elf::R_X86_64_PLTOFF64 => StubBaseOffset64,
        elf::R_X86_64_SIZE32 => Size32,
        elf::R_X86_64_SIZE64 => Size64,
        elf::R_X86_64_TLSGD => TlsIndexDelta32,
        elf::R_X86_64_TLSLD => TlsModuleDelta32,
        elf::R_X86_64_DTPOFF32 => DtpOffset32,
        elf::R_X86_64_DTPOFF64 => DtpOffset64,
        elf::R_X86_64_DTPMOD64 => DtpModule64,
        elf::R_X86_64_GOTTPOFF => TpCellDelta32,
        elf::R_X86_64_TPOFF32 => TpOffset32,
        elf::R_X86_64_TPOFF64 => TpOffset64,
        elf::R_X86_64_GOTPC32_TLSDESC => TlsDescDelta32,
        // A marker for linkers that relax the sequence; relink does not.
        elf::R_X86_64_TLSDESC_CALL => return Mapped::None,
        elf::R_X86_64_TLSDESC => return Mapped::Unsupported(Some(TLSDESC_HINT)),
        _ => return Mapped::Unsupported(None),
    };
    Mapped::Kind(RelocKind::X86_64(kind))
}

fn aarch64_kind(r_type: u32) -> Mapped {
    use aarch64::Kind::*;
    let mw = |group, checked, signed, pcrel| MoveWide16 {
        group,
        checked,
        signed,
        pcrel,
    };
    let tpmw = |group, checked| TpOffsetMoveWide16 { group, checked };
    let tpls = |shift, checked| TpOffsetLoadStore12 { shift, checked };
    let kind = match r_type {
        // 256: withdrawn, once `R_AARCH64_NONE` (AAELF64 says to treat it so).
        elf::R_AARCH64_NONE | 256 => return Mapped::None,
        elf::R_AARCH64_ABS64 => Pointer64,
        elf::R_AARCH64_ABS32 => Pointer32,
        elf::R_AARCH64_ABS16 => Pointer16,
        elf::R_AARCH64_PREL64 => Delta64,
        elf::R_AARCH64_PREL32 => Delta32,
        elf::R_AARCH64_PREL16 => Delta16,
        raw::R_AARCH64_PLT32 => Branch32,
        elf::R_AARCH64_CALL26 | elf::R_AARCH64_JUMP26 => Branch26,
        elf::R_AARCH64_CONDBR19 => CondBranch19,
        elf::R_AARCH64_TSTBR14 => TestBranch14,
        elf::R_AARCH64_LD_PREL_LO19 => LoadLiteral19,
        elf::R_AARCH64_ADR_PREL_LO21 => Adr21,
        elf::R_AARCH64_ADR_PREL_PG_HI21 => Page21 { checked: true },
        elf::R_AARCH64_ADR_PREL_PG_HI21_NC => Page21 { checked: false },
        elf::R_AARCH64_ADD_ABS_LO12_NC | elf::R_AARCH64_LDST8_ABS_LO12_NC => {
            PageOffset12 { shift: 0 }
        }
        elf::R_AARCH64_LDST16_ABS_LO12_NC => PageOffset12 { shift: 1 },
        elf::R_AARCH64_LDST32_ABS_LO12_NC => PageOffset12 { shift: 2 },
        elf::R_AARCH64_LDST64_ABS_LO12_NC => PageOffset12 { shift: 3 },
        elf::R_AARCH64_LDST128_ABS_LO12_NC => PageOffset12 { shift: 4 },
        elf::R_AARCH64_MOVW_UABS_G0 => mw(0, true, false, false),
        elf::R_AARCH64_MOVW_UABS_G0_NC => mw(0, false, false, false),
        elf::R_AARCH64_MOVW_UABS_G1 => mw(1, true, false, false),
        elf::R_AARCH64_MOVW_UABS_G1_NC => mw(1, false, false, false),
        elf::R_AARCH64_MOVW_UABS_G2 => mw(2, true, false, false),
        elf::R_AARCH64_MOVW_UABS_G2_NC => mw(2, false, false, false),
        elf::R_AARCH64_MOVW_UABS_G3 => mw(3, false, false, false),
        elf::R_AARCH64_MOVW_SABS_G0 => mw(0, true, true, false),
        elf::R_AARCH64_MOVW_SABS_G1 => mw(1, true, true, false),
        elf::R_AARCH64_MOVW_SABS_G2 => mw(2, true, true, false),
        elf::R_AARCH64_MOVW_PREL_G0 => mw(0, true, true, true),
        elf::R_AARCH64_MOVW_PREL_G0_NC => mw(0, false, true, true),
        elf::R_AARCH64_MOVW_PREL_G1 => mw(1, true, true, true),
        elf::R_AARCH64_MOVW_PREL_G1_NC => mw(1, false, true, true),
        elf::R_AARCH64_MOVW_PREL_G2 => mw(2, true, true, true),
        elf::R_AARCH64_MOVW_PREL_G2_NC => mw(2, false, true, true),
        elf::R_AARCH64_MOVW_PREL_G3 => mw(3, false, true, true),
        elf::R_AARCH64_ADR_GOT_PAGE => GotPage21,
        elf::R_AARCH64_LD64_GOT_LO12_NC => GotPageOffset12,
        elf::R_AARCH64_LD64_GOTPAGE_LO15 => GotPageOffset15,
        elf::R_AARCH64_TLSDESC_ADR_PAGE21 => TlsDescPage21,
        elf::R_AARCH64_TLSDESC_LD64_LO12 => TlsDescLoad12,
        elf::R_AARCH64_TLSDESC_ADD_LO12 => TlsDescAdd12,
        // A marker for linkers that relax the sequence; relink does not.
        elf::R_AARCH64_TLSDESC_CALL => return Mapped::None,
        elf::R_AARCH64_TLSGD_ADR_PAGE21 => TlsIndexPage21 { module: false },
        elf::R_AARCH64_TLSGD_ADD_LO12_NC => TlsIndexAdd12 { module: false },
        elf::R_AARCH64_TLSLD_ADR_PAGE21 => TlsIndexPage21 { module: true },
        elf::R_AARCH64_TLSLD_ADD_LO12_NC => TlsIndexAdd12 { module: true },
        elf::R_AARCH64_TLSLD_ADD_DTPREL_HI12 => DtpOffsetAdd12 {
            hi: true,
            checked: true,
        },
        elf::R_AARCH64_TLSLD_ADD_DTPREL_LO12 => DtpOffsetAdd12 {
            hi: false,
            checked: true,
        },
        elf::R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC => DtpOffsetAdd12 {
            hi: false,
            checked: false,
        },
        elf::R_AARCH64_TLS_DTPREL => DtpOffset64,
        elf::R_AARCH64_TLS_DTPMOD => DtpModule64,
        elf::R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21 => TpCellPage21,
        elf::R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC => TpCellLoad12,
        elf::R_AARCH64_TLSIE_LD_GOTTPREL_PREL19 => TpCellLiteral19,
        elf::R_AARCH64_TLSLE_MOVW_TPREL_G2 => tpmw(2, true),
        elf::R_AARCH64_TLSLE_MOVW_TPREL_G1 => tpmw(1, true),
        elf::R_AARCH64_TLSLE_MOVW_TPREL_G1_NC => tpmw(1, false),
        elf::R_AARCH64_TLSLE_MOVW_TPREL_G0 => tpmw(0, true),
        elf::R_AARCH64_TLSLE_MOVW_TPREL_G0_NC => tpmw(0, false),
        elf::R_AARCH64_TLSLE_ADD_TPREL_HI12 => TpOffsetAdd12 {
            hi: true,
            checked: true,
        },
        elf::R_AARCH64_TLSLE_ADD_TPREL_LO12 => TpOffsetAdd12 {
            hi: false,
            checked: true,
        },
        elf::R_AARCH64_TLSLE_ADD_TPREL_LO12_NC => TpOffsetAdd12 {
            hi: false,
            checked: false,
        },
        elf::R_AARCH64_TLSLE_LDST8_TPREL_LO12 => tpls(0, true),
        elf::R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC => tpls(0, false),
        elf::R_AARCH64_TLSLE_LDST16_TPREL_LO12 => tpls(1, true),
        elf::R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC => tpls(1, false),
        elf::R_AARCH64_TLSLE_LDST32_TPREL_LO12 => tpls(2, true),
        elf::R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC => tpls(2, false),
        elf::R_AARCH64_TLSLE_LDST64_TPREL_LO12 => tpls(3, true),
        elf::R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC => tpls(3, false),
        elf::R_AARCH64_TLSLE_LDST128_TPREL_LO12 => tpls(4, true),
        elf::R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC => tpls(4, false),
        512..=573 => return Mapped::Unsupported(Some(TLS_HINT)),
        _ => return Mapped::Unsupported(None),
    };
    Mapped::Kind(RelocKind::Aarch64(kind))
}

/// `R_AARCH64_ADR_GOT_PAGE (311)`-style names for messages; `unknown type N` for a
/// number neither psABI names.
fn type_name(arch: Arch, r_type: u32) -> String {
    let names = match arch {
        Arch::X86_64 => X86_64_NAMES,
        Arch::Aarch64 => AARCH64_NAMES,
    };
    match names.iter().find(|(t, _)| *t == r_type) {
        Some((_, n)) => format!("{n} ({r_type})"),
        None => format!("unknown type {r_type}"),
    }
}

/// Raw relocation types: `object`'s, and the ones it does not name.
mod raw {
    pub use object::elf::*;
    /// AAELF64: `S + A - P` through a stub, in data.
    pub const R_AARCH64_PLT32: u32 = 314;
    /// AAELF64: `G(GDAT(S + A)) - P`, in data.
    pub const R_AARCH64_GOTPCREL32: u32 = 315;
    /// x86-64 psABI, MPX (withdrawn).
    pub const R_X86_64_PC32_BND: u32 = 39;
    pub const R_X86_64_PLT32_BND: u32 = 40;
    /// x86-64 psABI, APX: the `GOTPCRELX`, `GOTTPOFF` and `GOTPC32_TLSDESC` of
    /// instructions with a REX2 (`CODE_4`), EVEX (`CODE_6`) or other prefix.
    pub const R_X86_64_CODE_4_GOTPCRELX: u32 = 43;
    pub const R_X86_64_CODE_4_GOTTPOFF: u32 = 44;
    pub const R_X86_64_CODE_4_GOTPC32_TLSDESC: u32 = 45;
    pub const R_X86_64_CODE_5_GOTPCRELX: u32 = 46;
    pub const R_X86_64_CODE_5_GOTTPOFF: u32 = 47;
    pub const R_X86_64_CODE_5_GOTPC32_TLSDESC: u32 = 48;
    pub const R_X86_64_CODE_6_GOTPCRELX: u32 = 49;
    pub const R_X86_64_CODE_6_GOTTPOFF: u32 = 50;
    pub const R_X86_64_CODE_6_GOTPC32_TLSDESC: u32 = 51;
    pub const R_X86_64_GNU_VTINHERIT: u32 = 250;
    pub const R_X86_64_GNU_VTENTRY: u32 = 251;
}

/// `(raw::NAME, "NAME")` for each name.
macro_rules! names {
    ($($name:ident),* $(,)?) => {
        &[$((raw::$name, stringify!($name))),*]
    };
}

/// Every x86-64 relocation type the psABI names.
const X86_64_NAMES: &[(u32, &str)] = names![
    R_X86_64_NONE,
    R_X86_64_64,
    R_X86_64_PC32,
    R_X86_64_GOT32,
    R_X86_64_PLT32,
    R_X86_64_COPY,
    R_X86_64_GLOB_DAT,
    R_X86_64_JUMP_SLOT,
    R_X86_64_RELATIVE,
    R_X86_64_GOTPCREL,
    R_X86_64_32,
    R_X86_64_32S,
    R_X86_64_16,
    R_X86_64_PC16,
    R_X86_64_8,
    R_X86_64_PC8,
    R_X86_64_DTPMOD64,
    R_X86_64_DTPOFF64,
    R_X86_64_TPOFF64,
    R_X86_64_TLSGD,
    R_X86_64_TLSLD,
    R_X86_64_DTPOFF32,
    R_X86_64_GOTTPOFF,
    R_X86_64_TPOFF32,
    R_X86_64_PC64,
    R_X86_64_GOTOFF64,
    R_X86_64_GOTPC32,
    R_X86_64_GOT64,
    R_X86_64_GOTPCREL64,
    R_X86_64_GOTPC64,
    R_X86_64_GOTPLT64,
    R_X86_64_PLTOFF64,
    R_X86_64_SIZE32,
    R_X86_64_SIZE64,
    R_X86_64_GOTPC32_TLSDESC,
    R_X86_64_TLSDESC_CALL,
    R_X86_64_TLSDESC,
    R_X86_64_IRELATIVE,
    R_X86_64_RELATIVE64,
    R_X86_64_PC32_BND,
    R_X86_64_PLT32_BND,
    R_X86_64_GOTPCRELX,
    R_X86_64_REX_GOTPCRELX,
    R_X86_64_CODE_4_GOTPCRELX,
    R_X86_64_CODE_4_GOTTPOFF,
    R_X86_64_CODE_4_GOTPC32_TLSDESC,
    R_X86_64_CODE_5_GOTPCRELX,
    R_X86_64_CODE_5_GOTTPOFF,
    R_X86_64_CODE_5_GOTPC32_TLSDESC,
    R_X86_64_CODE_6_GOTPCRELX,
    R_X86_64_CODE_6_GOTTPOFF,
    R_X86_64_CODE_6_GOTPC32_TLSDESC,
    R_X86_64_GNU_VTINHERIT,
    R_X86_64_GNU_VTENTRY,
];

/// Every AArch64 (LP64) relocation type AAELF64 names, and the ILP32 ones.
const AARCH64_NAMES: &[(u32, &str)] = names![
    R_AARCH64_NONE,
    R_AARCH64_P32_ABS32,
    R_AARCH64_P32_COPY,
    R_AARCH64_P32_GLOB_DAT,
    R_AARCH64_P32_JUMP_SLOT,
    R_AARCH64_P32_RELATIVE,
    R_AARCH64_P32_TLS_DTPMOD,
    R_AARCH64_P32_TLS_DTPREL,
    R_AARCH64_P32_TLS_TPREL,
    R_AARCH64_P32_TLSDESC,
    R_AARCH64_P32_IRELATIVE,
    R_AARCH64_ABS64,
    R_AARCH64_ABS32,
    R_AARCH64_ABS16,
    R_AARCH64_PREL64,
    R_AARCH64_PREL32,
    R_AARCH64_PREL16,
    R_AARCH64_MOVW_UABS_G0,
    R_AARCH64_MOVW_UABS_G0_NC,
    R_AARCH64_MOVW_UABS_G1,
    R_AARCH64_MOVW_UABS_G1_NC,
    R_AARCH64_MOVW_UABS_G2,
    R_AARCH64_MOVW_UABS_G2_NC,
    R_AARCH64_MOVW_UABS_G3,
    R_AARCH64_MOVW_SABS_G0,
    R_AARCH64_MOVW_SABS_G1,
    R_AARCH64_MOVW_SABS_G2,
    R_AARCH64_LD_PREL_LO19,
    R_AARCH64_ADR_PREL_LO21,
    R_AARCH64_ADR_PREL_PG_HI21,
    R_AARCH64_ADR_PREL_PG_HI21_NC,
    R_AARCH64_ADD_ABS_LO12_NC,
    R_AARCH64_LDST8_ABS_LO12_NC,
    R_AARCH64_TSTBR14,
    R_AARCH64_CONDBR19,
    R_AARCH64_JUMP26,
    R_AARCH64_CALL26,
    R_AARCH64_LDST16_ABS_LO12_NC,
    R_AARCH64_LDST32_ABS_LO12_NC,
    R_AARCH64_LDST64_ABS_LO12_NC,
    R_AARCH64_MOVW_PREL_G0,
    R_AARCH64_MOVW_PREL_G0_NC,
    R_AARCH64_MOVW_PREL_G1,
    R_AARCH64_MOVW_PREL_G1_NC,
    R_AARCH64_MOVW_PREL_G2,
    R_AARCH64_MOVW_PREL_G2_NC,
    R_AARCH64_MOVW_PREL_G3,
    R_AARCH64_LDST128_ABS_LO12_NC,
    R_AARCH64_MOVW_GOTOFF_G0,
    R_AARCH64_MOVW_GOTOFF_G0_NC,
    R_AARCH64_MOVW_GOTOFF_G1,
    R_AARCH64_MOVW_GOTOFF_G1_NC,
    R_AARCH64_MOVW_GOTOFF_G2,
    R_AARCH64_MOVW_GOTOFF_G2_NC,
    R_AARCH64_MOVW_GOTOFF_G3,
    R_AARCH64_GOTREL64,
    R_AARCH64_GOTREL32,
    R_AARCH64_GOT_LD_PREL19,
    R_AARCH64_LD64_GOTOFF_LO15,
    R_AARCH64_ADR_GOT_PAGE,
    R_AARCH64_LD64_GOT_LO12_NC,
    R_AARCH64_LD64_GOTPAGE_LO15,
    R_AARCH64_PLT32,
    R_AARCH64_GOTPCREL32,
    R_AARCH64_TLSGD_ADR_PREL21,
    R_AARCH64_TLSGD_ADR_PAGE21,
    R_AARCH64_TLSGD_ADD_LO12_NC,
    R_AARCH64_TLSGD_MOVW_G1,
    R_AARCH64_TLSGD_MOVW_G0_NC,
    R_AARCH64_TLSLD_ADR_PREL21,
    R_AARCH64_TLSLD_ADR_PAGE21,
    R_AARCH64_TLSLD_ADD_LO12_NC,
    R_AARCH64_TLSLD_MOVW_G1,
    R_AARCH64_TLSLD_MOVW_G0_NC,
    R_AARCH64_TLSLD_LD_PREL19,
    R_AARCH64_TLSLD_MOVW_DTPREL_G2,
    R_AARCH64_TLSLD_MOVW_DTPREL_G1,
    R_AARCH64_TLSLD_MOVW_DTPREL_G1_NC,
    R_AARCH64_TLSLD_MOVW_DTPREL_G0,
    R_AARCH64_TLSLD_MOVW_DTPREL_G0_NC,
    R_AARCH64_TLSLD_ADD_DTPREL_HI12,
    R_AARCH64_TLSLD_ADD_DTPREL_LO12,
    R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC,
    R_AARCH64_TLSLD_LDST8_DTPREL_LO12,
    R_AARCH64_TLSLD_LDST8_DTPREL_LO12_NC,
    R_AARCH64_TLSLD_LDST16_DTPREL_LO12,
    R_AARCH64_TLSLD_LDST16_DTPREL_LO12_NC,
    R_AARCH64_TLSLD_LDST32_DTPREL_LO12,
    R_AARCH64_TLSLD_LDST32_DTPREL_LO12_NC,
    R_AARCH64_TLSLD_LDST64_DTPREL_LO12,
    R_AARCH64_TLSLD_LDST64_DTPREL_LO12_NC,
    R_AARCH64_TLSIE_MOVW_GOTTPREL_G1,
    R_AARCH64_TLSIE_MOVW_GOTTPREL_G0_NC,
    R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21,
    R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC,
    R_AARCH64_TLSIE_LD_GOTTPREL_PREL19,
    R_AARCH64_TLSLE_MOVW_TPREL_G2,
    R_AARCH64_TLSLE_MOVW_TPREL_G1,
    R_AARCH64_TLSLE_MOVW_TPREL_G1_NC,
    R_AARCH64_TLSLE_MOVW_TPREL_G0,
    R_AARCH64_TLSLE_MOVW_TPREL_G0_NC,
    R_AARCH64_TLSLE_ADD_TPREL_HI12,
    R_AARCH64_TLSLE_ADD_TPREL_LO12,
    R_AARCH64_TLSLE_ADD_TPREL_LO12_NC,
    R_AARCH64_TLSLE_LDST8_TPREL_LO12,
    R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC,
    R_AARCH64_TLSLE_LDST16_TPREL_LO12,
    R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC,
    R_AARCH64_TLSLE_LDST32_TPREL_LO12,
    R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC,
    R_AARCH64_TLSLE_LDST64_TPREL_LO12,
    R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC,
    R_AARCH64_TLSDESC_LD_PREL19,
    R_AARCH64_TLSDESC_ADR_PREL21,
    R_AARCH64_TLSDESC_ADR_PAGE21,
    R_AARCH64_TLSDESC_LD64_LO12,
    R_AARCH64_TLSDESC_ADD_LO12,
    R_AARCH64_TLSDESC_OFF_G1,
    R_AARCH64_TLSDESC_OFF_G0_NC,
    R_AARCH64_TLSDESC_LDR,
    R_AARCH64_TLSDESC_ADD,
    R_AARCH64_TLSDESC_CALL,
    R_AARCH64_TLSLE_LDST128_TPREL_LO12,
    R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC,
    R_AARCH64_TLSLD_LDST128_DTPREL_LO12,
    R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC,
    R_AARCH64_COPY,
    R_AARCH64_GLOB_DAT,
    R_AARCH64_JUMP_SLOT,
    R_AARCH64_RELATIVE,
    R_AARCH64_TLS_DTPMOD,
    R_AARCH64_TLS_DTPREL,
    R_AARCH64_TLS_TPREL,
    R_AARCH64_TLSDESC,
    R_AARCH64_IRELATIVE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::aarch64::Kind as A;
    use crate::arch::x86_64::Kind as X;

    /// Every raw x86-64 type the reader accepts, and its kind (`None`: a marker
    /// with nothing to do).
    #[rustfmt::skip]
    const X86_64_ACCEPTED: &[(u32, Option<X>)] = &[
        (elf::R_X86_64_NONE, None),
        (elf::R_X86_64_64, Some(X::Pointer64)),
        (elf::R_X86_64_PC32, Some(X::Delta32)),
        (elf::R_X86_64_PLT32, Some(X::Branch32)),
        (elf::R_X86_64_GOTPCREL, Some(X::GotDelta32)),
        (elf::R_X86_64_32, Some(X::Pointer32)),
        (elf::R_X86_64_32S, Some(X::Pointer32Signed)),
        (elf::R_X86_64_16, Some(X::Pointer16)),
        (elf::R_X86_64_PC16, Some(X::Delta16)),
        (elf::R_X86_64_8, Some(X::Pointer8)),
        (elf::R_X86_64_PC8, Some(X::Delta8)),
        (elf::R_X86_64_DTPMOD64, Some(X::DtpModule64)),
        (elf::R_X86_64_DTPOFF64, Some(X::DtpOffset64)),
        (elf::R_X86_64_TPOFF64, Some(X::TpOffset64)),
        (elf::R_X86_64_TLSGD, Some(X::TlsIndexDelta32)),
        (elf::R_X86_64_TLSLD, Some(X::TlsModuleDelta32)),
        (elf::R_X86_64_DTPOFF32, Some(X::DtpOffset32)),
        (elf::R_X86_64_GOTTPOFF, Some(X::TpCellDelta32)),
        (elf::R_X86_64_TPOFF32, Some(X::TpOffset32)),
        (elf::R_X86_64_PC64, Some(X::Delta64)),
        (elf::R_X86_64_GOTOFF64, Some(X::GotBaseOffset64)),
        (elf::R_X86_64_GOTPC32, Some(X::GotBaseDelta32)),
        (elf::R_X86_64_GOT64, Some(X::GotOffset64)),
        (elf::R_X86_64_GOTPCREL64, Some(X::GotDelta64)),
        (elf::R_X86_64_GOTPC64, Some(X::GotBaseDelta64)),
        (elf::R_X86_64_PLTOFF64, Some(X::StubBaseOffset64)),
        (elf::R_X86_64_SIZE32, Some(X::Size32)),
        (elf::R_X86_64_SIZE64, Some(X::Size64)),
        (elf::R_X86_64_GOTPC32_TLSDESC, Some(X::TlsDescDelta32)),
        (elf::R_X86_64_TLSDESC_CALL, None),
        (elf::R_X86_64_GOTPCRELX, Some(X::GotDelta32)),
        (elf::R_X86_64_REX_GOTPCRELX, Some(X::GotDelta32)),
    ];

    /// Every raw AArch64 type the reader accepts, and its kind (`None`: nothing
    /// to do).
    #[rustfmt::skip]
    const AARCH64_ACCEPTED: &[(u32, Option<A>)] = &[
        (elf::R_AARCH64_NONE, None),
        (256, None),
        (elf::R_AARCH64_ABS64, Some(A::Pointer64)),
        (elf::R_AARCH64_ABS32, Some(A::Pointer32)),
        (elf::R_AARCH64_ABS16, Some(A::Pointer16)),
        (elf::R_AARCH64_PREL64, Some(A::Delta64)),
        (elf::R_AARCH64_PREL32, Some(A::Delta32)),
        (elf::R_AARCH64_PREL16, Some(A::Delta16)),
        (elf::R_AARCH64_MOVW_UABS_G0, Some(mw(0, true, false, false))),
        (elf::R_AARCH64_MOVW_UABS_G0_NC, Some(mw(0, false, false, false))),
        (elf::R_AARCH64_MOVW_UABS_G1, Some(mw(1, true, false, false))),
        (elf::R_AARCH64_MOVW_UABS_G1_NC, Some(mw(1, false, false, false))),
        (elf::R_AARCH64_MOVW_UABS_G2, Some(mw(2, true, false, false))),
        (elf::R_AARCH64_MOVW_UABS_G2_NC, Some(mw(2, false, false, false))),
        (elf::R_AARCH64_MOVW_UABS_G3, Some(mw(3, false, false, false))),
        (elf::R_AARCH64_MOVW_SABS_G0, Some(mw(0, true, true, false))),
        (elf::R_AARCH64_MOVW_SABS_G1, Some(mw(1, true, true, false))),
        (elf::R_AARCH64_MOVW_SABS_G2, Some(mw(2, true, true, false))),
        (elf::R_AARCH64_LD_PREL_LO19, Some(A::LoadLiteral19)),
        (elf::R_AARCH64_ADR_PREL_LO21, Some(A::Adr21)),
        (elf::R_AARCH64_ADR_PREL_PG_HI21, Some(A::Page21 { checked: true })),
        (elf::R_AARCH64_ADR_PREL_PG_HI21_NC, Some(A::Page21 { checked: false })),
        (elf::R_AARCH64_ADD_ABS_LO12_NC, Some(A::PageOffset12 { shift: 0 })),
        (elf::R_AARCH64_LDST8_ABS_LO12_NC, Some(A::PageOffset12 { shift: 0 })),
        (elf::R_AARCH64_TSTBR14, Some(A::TestBranch14)),
        (elf::R_AARCH64_CONDBR19, Some(A::CondBranch19)),
        (elf::R_AARCH64_JUMP26, Some(A::Branch26)),
        (elf::R_AARCH64_CALL26, Some(A::Branch26)),
        (elf::R_AARCH64_LDST16_ABS_LO12_NC, Some(A::PageOffset12 { shift: 1 })),
        (elf::R_AARCH64_LDST32_ABS_LO12_NC, Some(A::PageOffset12 { shift: 2 })),
        (elf::R_AARCH64_LDST64_ABS_LO12_NC, Some(A::PageOffset12 { shift: 3 })),
        (elf::R_AARCH64_MOVW_PREL_G0, Some(mw(0, true, true, true))),
        (elf::R_AARCH64_MOVW_PREL_G0_NC, Some(mw(0, false, true, true))),
        (elf::R_AARCH64_MOVW_PREL_G1, Some(mw(1, true, true, true))),
        (elf::R_AARCH64_MOVW_PREL_G1_NC, Some(mw(1, false, true, true))),
        (elf::R_AARCH64_MOVW_PREL_G2, Some(mw(2, true, true, true))),
        (elf::R_AARCH64_MOVW_PREL_G2_NC, Some(mw(2, false, true, true))),
        (elf::R_AARCH64_MOVW_PREL_G3, Some(mw(3, false, true, true))),
        (elf::R_AARCH64_LDST128_ABS_LO12_NC, Some(A::PageOffset12 { shift: 4 })),
        (elf::R_AARCH64_ADR_GOT_PAGE, Some(A::GotPage21)),
        (elf::R_AARCH64_LD64_GOT_LO12_NC, Some(A::GotPageOffset12)),
        (elf::R_AARCH64_LD64_GOTPAGE_LO15, Some(A::GotPageOffset15)),
        (314, Some(A::Branch32)), // R_AARCH64_PLT32
        (elf::R_AARCH64_TLSGD_ADR_PAGE21, Some(A::TlsIndexPage21 { module: false })),
        (elf::R_AARCH64_TLSGD_ADD_LO12_NC, Some(A::TlsIndexAdd12 { module: false })),
        (elf::R_AARCH64_TLSLD_ADR_PAGE21, Some(A::TlsIndexPage21 { module: true })),
        (elf::R_AARCH64_TLSLD_ADD_LO12_NC, Some(A::TlsIndexAdd12 { module: true })),
        (elf::R_AARCH64_TLSLD_ADD_DTPREL_HI12, Some(A::DtpOffsetAdd12 { hi: true, checked: true })),
        (elf::R_AARCH64_TLSLD_ADD_DTPREL_LO12, Some(A::DtpOffsetAdd12 { hi: false, checked: true })),
        (elf::R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC, Some(A::DtpOffsetAdd12 { hi: false, checked: false })),
        (elf::R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, Some(A::TpCellPage21)),
        (elf::R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC, Some(A::TpCellLoad12)),
        (elf::R_AARCH64_TLSIE_LD_GOTTPREL_PREL19, Some(A::TpCellLiteral19)),
        (elf::R_AARCH64_TLSLE_MOVW_TPREL_G2, Some(A::TpOffsetMoveWide16 { group: 2, checked: true })),
        (elf::R_AARCH64_TLSLE_MOVW_TPREL_G1, Some(A::TpOffsetMoveWide16 { group: 1, checked: true })),
        (elf::R_AARCH64_TLSLE_MOVW_TPREL_G1_NC, Some(A::TpOffsetMoveWide16 { group: 1, checked: false })),
        (elf::R_AARCH64_TLSLE_MOVW_TPREL_G0, Some(A::TpOffsetMoveWide16 { group: 0, checked: true })),
        (elf::R_AARCH64_TLSLE_MOVW_TPREL_G0_NC, Some(A::TpOffsetMoveWide16 { group: 0, checked: false })),
        (elf::R_AARCH64_TLSLE_ADD_TPREL_HI12, Some(A::TpOffsetAdd12 { hi: true, checked: true })),
        (elf::R_AARCH64_TLSLE_ADD_TPREL_LO12, Some(A::TpOffsetAdd12 { hi: false, checked: true })),
        (elf::R_AARCH64_TLSLE_ADD_TPREL_LO12_NC, Some(A::TpOffsetAdd12 { hi: false, checked: false })),
        (elf::R_AARCH64_TLSLE_LDST8_TPREL_LO12, Some(tpls(0, true))),
        (elf::R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC, Some(tpls(0, false))),
        (elf::R_AARCH64_TLSLE_LDST16_TPREL_LO12, Some(tpls(1, true))),
        (elf::R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC, Some(tpls(1, false))),
        (elf::R_AARCH64_TLSLE_LDST32_TPREL_LO12, Some(tpls(2, true))),
        (elf::R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC, Some(tpls(2, false))),
        (elf::R_AARCH64_TLSLE_LDST64_TPREL_LO12, Some(tpls(3, true))),
        (elf::R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC, Some(tpls(3, false))),
        (elf::R_AARCH64_TLSDESC_ADR_PAGE21, Some(A::TlsDescPage21)),
        (elf::R_AARCH64_TLSDESC_LD64_LO12, Some(A::TlsDescLoad12)),
        (elf::R_AARCH64_TLSDESC_ADD_LO12, Some(A::TlsDescAdd12)),
        (elf::R_AARCH64_TLSDESC_CALL, None),
        (elf::R_AARCH64_TLSLE_LDST128_TPREL_LO12, Some(tpls(4, true))),
        (elf::R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC, Some(tpls(4, false))),
        (elf::R_AARCH64_TLS_DTPMOD, Some(A::DtpModule64)),
        (elf::R_AARCH64_TLS_DTPREL, Some(A::DtpOffset64)),
    ];

    const fn mw(group: u8, checked: bool, signed: bool, pcrel: bool) -> A {
        A::MoveWide16 {
            group,
            checked,
            signed,
            pcrel,
        }
    }

    const fn tpls(shift: u8, checked: bool) -> A {
        A::TpOffsetLoadStore12 { shift, checked }
    }

    /// Raw types tried: every 16-bit number (no psABI type is larger), and a few
    /// beyond.
    fn raw_types() -> impl Iterator<Item = u32> {
        (0..=0xffff).chain([0x1_0000, 0x8000_0000, u32::MAX])
    }

    /// What a refused type must say: its psABI name, or that it is unknown.
    fn check_refused(arch: Arch, names: &[(u32, &str)], r_type: u32) {
        let name = type_name(arch, r_type);
        match names.iter().find(|(t, _)| *t == r_type) {
            Some((_, n)) => assert_eq!(name, format!("{n} ({r_type})")),
            None => assert_eq!(name, format!("unknown type {r_type}")),
        }
        assert!(!name.starts_with("type "), "{name}");
    }

    #[test]
    fn x86_64_raw_types_map_to_kinds() {
        let mut produced = Vec::new();
        for r_type in raw_types() {
            let want = X86_64_ACCEPTED.iter().find(|(t, _)| *t == r_type);
            match (x86_64_kind(r_type), want) {
                (Mapped::Kind(RelocKind::X86_64(k)), Some(&(_, Some(w)))) => {
                    assert_eq!(k, w, "type {r_type}");
                    produced.push(k);
                }
                (Mapped::None, Some((_, None))) => {}
                (Mapped::Unsupported(hint), None) => {
                    let tlsdesc = r_type == elf::R_X86_64_TLSDESC;
                    assert_eq!(hint, tlsdesc.then_some(TLSDESC_HINT), "type {r_type}");
                    check_refused(Arch::X86_64, X86_64_NAMES, r_type);
                }
                (_, want) => panic!("type {r_type}: reader and table disagree ({want:?})"),
            }
        }
        // The fuzzer and the encoder tests draw from `Kind::ALL`.
        for k in produced {
            assert!(X::ALL.contains(&k), "{k:?} is not in Kind::ALL");
        }
    }

    #[test]
    fn aarch64_raw_types_map_to_kinds() {
        let mut produced = Vec::new();
        for r_type in raw_types() {
            let want = AARCH64_ACCEPTED.iter().find(|(t, _)| *t == r_type);
            match (aarch64_kind(r_type), want) {
                (Mapped::Kind(RelocKind::Aarch64(k)), Some(&(_, Some(w)))) => {
                    assert_eq!(k, w, "type {r_type}");
                    produced.push(k);
                }
                (Mapped::None, Some((_, None))) => {}
                (Mapped::Unsupported(hint), None) => {
                    let tls = (512..=573).contains(&r_type);
                    assert_eq!(hint, tls.then_some(TLS_HINT), "type {r_type}");
                    check_refused(Arch::Aarch64, AARCH64_NAMES, r_type);
                }
                (_, want) => panic!("type {r_type}: reader and table disagree ({want:?})"),
            }
        }
        for k in produced {
            assert!(A::ALL.contains(&k), "{k:?} is not in Kind::ALL");
        }
    }

    #[test]
    fn relocation_names() {
        let cases = [
            (Arch::Aarch64, 311, "R_AARCH64_ADR_GOT_PAGE (311)"),
            (Arch::Aarch64, 309, "R_AARCH64_GOT_LD_PREL19 (309)"),
            (Arch::Aarch64, 1026, "R_AARCH64_JUMP_SLOT (1026)"),
            (Arch::Aarch64, 2000, "unknown type 2000"),
            (Arch::X86_64, 3, "R_X86_64_GOT32 (3)"),
            (Arch::X86_64, 43, "R_X86_64_CODE_4_GOTPCRELX (43)"),
            (Arch::X86_64, 60, "unknown type 60"),
        ];
        for (arch, r_type, want) in cases {
            assert_eq!(type_name(arch, r_type), want);
        }
        // One name per number, one number per name.
        for names in [X86_64_NAMES, AARCH64_NAMES] {
            for (i, (t, n)) in names.iter().enumerate() {
                for (t2, n2) in &names[i + 1..] {
                    assert!(t != t2 && n != n2, "{n} ({t}) and {n2} ({t2})");
                }
            }
        }
    }

    /// `testdata/obj/<arch>/llc-pic/calls/main.o` with the type of its first
    /// `.rela.text` entry (a call to `is_even`) replaced by `r_type`, and that
    /// entry's offset.
    fn with_first_type(arch: &str, r_type: u32) -> (Vec<u8>, u64) {
        let path = format!(
            "{}/testdata/obj/{arch}/llc-pic/calls/main.o",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut bytes = std::fs::read(&path).unwrap();
        let header = Header::parse(&bytes[..]).unwrap();
        let table = header.sections(LE, &bytes[..]).unwrap();
        let rela = table
            .iter()
            .find(|h| table.section_name(LE, h) == Ok(&b".rela.text"[..]))
            .unwrap();
        let at = rela.sh_offset(LE) as usize;
        let offset = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        bytes[at + 8..at + 12].copy_from_slice(&r_type.to_le_bytes());
        (bytes, offset)
    }

    /// Every refused type the psABIs name, and unknown ones, is an error naming
    /// the object, section, offset, relocation and symbol.
    #[test]
    fn refused_types_are_clear_errors() {
        let arches = [
            (
                "x86_64",
                X86_64_NAMES,
                X86_64_ACCEPTED.iter().map(|a| a.0).collect::<Vec<_>>(),
            ),
            (
                "aarch64",
                AARCH64_NAMES,
                AARCH64_ACCEPTED.iter().map(|a| a.0).collect(),
            ),
        ];
        for (arch, names, accepted) in arches {
            let named = names.iter().map(|&(t, n)| (t, format!("{n} ({t})")));
            let unknown = [700, 0xffff].map(|t| (t, format!("unknown type {t}")));
            let mut refused = 0;
            for (r_type, name) in named.chain(unknown) {
                if accepted.contains(&r_type) {
                    continue;
                }
                refused += 1;
                let (bytes, offset) = with_first_type(arch, r_type);
                let err = match parse("main.o", &bytes) {
                    Err(e @ Error::UnsupportedRelocation { .. }) => e.to_string(),
                    other => panic!("{arch} {name}: {:?}", other.map(|_| ())),
                };
                let want = format!("main.o: .text+{offset:#x}: unsupported relocation {name}");
                assert!(err.starts_with(&want), "{err}");
                assert!(err.contains("against `is_even`"), "{err}");
            }
            assert!(refused > 20, "{arch}: {refused}");
        }
    }
}
