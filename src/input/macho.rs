//! Mach-O 64-bit relocatable objects (`MH_OBJECT`, x86_64 and arm64), read with
//! `object`'s low-level Mach-O API. Raw relocation types are mapped onto arch kinds
//! here, and only here; implicit addends are read out of the instructions and data.
//!
//! What is loaded: the sections of every segment, except debug sections
//! (`S_ATTR_DEBUG`) and `__LD`. Unwinding uses `__eh_frame`: for x86_64, llc 14
//! emits it for every function (and `__compact_unwind` as well when the triple names
//! macOS 10.6 or later), which is then ignored. For arm64 it emits compact unwind only
//! (plus `__eh_frame` FDEs for entries in the `DWARF` mode), so arm64's
//! `__LD,__compact_unwind` is read — its relocations like any section's — and then
//! replaced, in place, by the `.eh_frame` records `compact_unwind.rs` makes of it: a
//! `ReadOnly` `EhFrame` section that keeps the name `__compact_unwind` (errors in it
//! name offsets in the converted records). Sections are placed whole, so the layout
//! `MH_SUBSECTIONS_VIA_SYMBOLS` allows a linker to change (splitting sections into
//! atoms) is simply kept. Section names are the `sectname` alone (`__const` names
//! both `__TEXT,__const` and `__DATA,__const`).
//!
//! | Mach-O section | class | role |
//! |---|---|---|
//! | `S_ATTR_PURE_INSTRUCTIONS` / `S_ATTR_SOME_INSTRUCTIONS` | `Code` | |
//! | `S_ZEROFILL`, `S_GB_ZEROFILL` | `Zero` | |
//! | `S_THREAD_LOCAL_REGULAR` (`__thread_data`), `S_THREAD_LOCAL_ZEROFILL` (`__thread_bss`) | `ReadOnly` | `Tls` |
//! | `S_THREAD_LOCAL_VARIABLES` (`__thread_vars`) | `ReadOnly` | (descriptors, below) |
//! | `S_MOD_INIT_FUNC_POINTERS` | `ReadOnly` | `InitArray { priority: 65535 }` |
//! | `S_MOD_TERM_FUNC_POINTERS` | `ReadOnly` | `FiniArray { priority: 65535 }` |
//! | `__TEXT,__eh_frame` | `ReadOnly` | `EhFrame` |
//! | other `__TEXT`, `__DATA,__const`, `__DATA_CONST` | `ReadOnly` | |
//! | anything else (`__DATA,__data`, ...) | `Data` | |
//!
//! Symbols: symbol 0 is a null symbol, as in ELF; nlist entry `i` is symbol `i + 1`
//! (debug `N_STAB` entries become unnamed undefined locals, so indices never shift);
//! then one section symbol per Mach-O section, for relocations with `r_extern = 0`.
//! Every name loses one leading `_` (`_puts` is `puts`, `___dso_handle` is
//! `__dso_handle`); private labels (`l_...`, `ltmp0`) stay local. `N_PEXT` is a
//! hidden global, `N_WEAK_DEF` a weak definition, `N_WEAK_REF` a weak reference, an
//! external undefined symbol with a value is COMMON (aligned to
//! `2^GET_COMM_ALIGN(n_desc)`, or, when that is 0 as llc writes it, to its size
//! rounded up to a power of two, at most 4096, as ld64 does). Mach-O has no symbol sizes: a
//! symbol extends to the next symbol of its section, or to the section's end.
//!
//! Addends (the value written is the arch kind's expression with `A`):
//! - Data (`UNSIGNED`, `SUBTRACTOR` pairs) holds its addend: `A` is the value in
//!   the data. With `r_extern = 0` that value is an address in the object's own
//!   address space, so `A` is the value minus the target section's address.
//! - x86_64 `SIGNED*`, `BRANCH`, `GOT_LOAD`, `GOT` hold a displacement `disp`
//!   relative to the end of the instruction: `A = disp - 4` against a symbol,
//!   `A = disp + P_obj - section_addr` against a section (`x86_64_pc_addend`
//!   derives both).
//! - arm64 instructions hold no addend: it comes from a preceding
//!   `ARM64_RELOC_ADDEND` (a signed 24-bit value), or is zero.
//! - `SUBTRACTOR` + `UNSIGNED` is one [`Reloc`] with `minus`: `S - minus + A`.
//!
//! Thread-local variables: code reaches a variable `x` through its *descriptor*
//! `_x` in `__thread_vars`, `{thunk, key, offset}`: x86_64 `movq _x@TLVP(%rip), %rdi;
//! callq *(%rdi)` (`X86_64_RELOC_TLV`), arm64 `adrp`/`ldr` of `_x@TLVPPAGE` /
//! `@TLVPPAGEOFF` (`ARM64_RELOC_TLVP_LOAD_PAGE21`/`PAGEOFF12`) then `blr` through
//! the descriptor's first word. The code loads the descriptor's address from a slot,
//! so those map onto the GOT kinds (`GotDelta32`, `GotPage21`, `GotPageOffset12`):
//! ld64 makes the same slot (or relaxes the load into an address computation). In
//! each descriptor the reader keeps the thunk word's relocation (`__tlv_bootstrap`,
//! which relink binds to its own thunk), turns the offset word's `UNSIGNED`, which
//! names the variable's initial value `_x$tlv$init` in `__thread_data` or
//! `__thread_bss`, into `DtpOffset64` (its offset in the object's TLS block) and
//! adds a `DtpModule64` for the key word (the object's TLS module). A descriptor's
//! tail `{module, offset}` is then the `TlsIndex` relink's `__tls_get_addr` takes
//! (see `runtime/tls.rs`). `S_THREAD_LOCAL_VARIABLE_POINTERS` and
//! `S_THREAD_LOCAL_INIT_FUNCTION_POINTERS` (C++ `thread_local` with dynamic
//! initialisation) are refused.
//!
//! The assembler leaves `__eh_frame`'s pointers to code without relocations when it
//! can compute them (x86_64): the field holds the distance to the function in the
//! object's address space. The reader adds the relocations it left out (as JITLink's
//! eh-frame edge fixer does), so `__eh_frame` is relocated like ELF's `.eh_frame`.

use object::macho;
use object::read::macho::{MachHeader, Nlist as _, Section as _, Segment as _};
use object::LittleEndian as LE;

use super::compact_unwind;
use super::eh_frame::{self, Stop};
use super::MAX_ALIGN;
use super::{
    Binding, Class, Definition, Object, Reloc, Role, Section, SectionId, Symbol, SymbolId,
    SymbolKind, MAX_OBJECT_MEMORY,
};
use crate::arch::{aarch64, x86_64, Arch, RelocKind};
use crate::error::{Error, Location, Result};

type Header = macho::MachHeader64<LE>;
type MachSection = macho::Section64<LE>;
type Nlist = macho::Nlist64<LE>;
type RawReloc = macho::Relocation<LE>;

/// The largest alignment ld64 gives a COMMON symbol that states none.
const COMMON_MAX_ALIGN: u64 = 4096;
/// Bytes of a thread-local variable descriptor `{thunk, key, offset}`.
const TLV_DESCRIPTOR_SIZE: u64 = 24;
const EXTERN_HINT: &str =
    "only its symbol-relative (r_extern = 1) form, the one assemblers emit, is supported";

/// Parses a Mach-O 64-bit little-endian relocatable object.
pub fn parse<'a>(name: &str, bytes: &'a [u8]) -> Result<Object<'a>> {
    let bad = |reason: &str| Error::malformed(Location::object(name), reason);
    let header = Header::parse(bytes, 0).map_err(|e| bad(&format!("Mach-O header: {e}")))?;
    if !header.is_little_endian() {
        return Err(bad("not a little-endian 64-bit Mach-O file"));
    }
    if header.filetype(LE) != macho::MH_OBJECT {
        return Err(bad("not a relocatable object (filetype is not MH_OBJECT)"));
    }
    let arch = match header.cputype(LE) {
        macho::CPU_TYPE_X86_64 => Arch::X86_64,
        macho::CPU_TYPE_ARM64 => Arch::Aarch64,
        t => return Err(bad(&format!("unsupported CPU type {t:#x}"))),
    };
    let mut reader = Reader::new(name, bytes, arch, header)?;
    let mut sections = reader.sections()?;
    let symbols = reader.symbols(&sections)?;
    reader.relocations(&mut sections, &symbols)?;
    reader.eh_frame_pointers(&mut sections)?;
    reader.tlv_descriptors(&mut sections)?;
    reader.compact_unwind(&mut sections)?;
    Ok(Object {
        name: name.to_string(),
        arch,
        sections,
        symbols,
        groups: Vec::new(),
        format: super::Format::MachO,
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
    /// Every section header, in file order: Mach-O numbers them from 1 in this order.
    headers: Vec<&'a MachSection>,
    /// Mach-O section index (0-based) → relink section, for loaded sections.
    map: Vec<Option<SectionId>>,
    nlists: &'a [Nlist],
    strings: object::read::StringTable<'a>,
}

impl<'a, 'n> Reader<'a, 'n> {
    fn new(name: &'n str, bytes: &'a [u8], arch: Arch, header: &'a Header) -> Result<Self> {
        let bad = |reason: String| Error::malformed(Location::object(name), reason);
        let mut commands = header
            .load_commands(LE, bytes, 0)
            .map_err(|e| bad(format!("load commands: {e}")))?;
        let mut headers = Vec::new();
        let mut symtab = None;
        while let Some(command) = commands
            .next()
            .map_err(|e| bad(format!("load commands: {e}")))?
        {
            if command.cmd() == macho::LC_SEGMENT {
                return Err(bad("a 32-bit segment in a 64-bit object".into()));
            }
            if let Some((segment, data)) = command
                .segment_64()
                .map_err(|e| bad(format!("segment: {e}")))?
            {
                let sections = segment
                    .sections(LE, data)
                    .map_err(|e| bad(format!("segment: {e}")))?;
                headers.extend(sections.iter());
            } else if let Some(command) = command
                .symtab()
                .map_err(|e| bad(format!("LC_SYMTAB: {e}")))?
            {
                if symtab.is_some() {
                    return Err(bad("more than one LC_SYMTAB".into()));
                }
                symtab = Some(
                    command
                        .symbols::<Header, _>(LE, bytes)
                        .map_err(|e| bad(format!("LC_SYMTAB: {e}")))?,
                );
            }
        }
        let symtab = symtab.unwrap_or_default();
        Ok(Reader {
            name,
            bytes,
            arch,
            map: vec![None; headers.len()],
            headers,
            nlists: symtab.iter().as_slice(),
            strings: symtab.strings(),
        })
    }

    fn at(&self, section: Option<&str>, offset: Option<u64>) -> Location {
        Location {
            object: self.name.to_string(),
            section: section.map(str::to_string),
            offset,
        }
    }

    fn malformed(&self, section: &str, offset: u64, reason: impl Into<String>) -> Error {
        Error::malformed(self.at(Some(section), Some(offset)), reason)
    }

    fn section_name(&self, index: usize) -> Result<&'a str> {
        let h: &'a MachSection = self.headers[index];
        std::str::from_utf8(h.name()).map_err(|_| {
            Error::malformed(
                self.at(None, None),
                format!("section {} name is not UTF-8", index + 1),
            )
        })
    }

    fn sections(&mut self) -> Result<Vec<Section<'a>>> {
        let mut out = Vec::new();
        let mut total = 0u64;
        for index in 0..self.headers.len() {
            let h = self.headers[index];
            let name = self.section_name(index)?;
            if !loaded(h, self.arch) {
                continue;
            }
            let mut section = self.section(name, h)?;
            section.file_index = index as u32 + 1;
            super::within_budget(&mut total, &section, || self.at(Some(name), None))?;
            self.map[index] = Some(SectionId(out.len() as u32));
            out.push(section);
        }
        Ok(out)
    }

    fn section(&self, name: &'a str, h: &'a MachSection) -> Result<Section<'a>> {
        let bad = |reason: String| Error::malformed(self.at(Some(name), None), reason);
        let kind = h.flags(LE) & macho::SECTION_TYPE;
        let log2 = h.align(LE);
        if log2 > MAX_ALIGN.trailing_zeros() {
            return Err(bad(format!(
                "alignment 2^{log2} is more than {MAX_ALIGN} bytes"
            )));
        }
        if let Some(what) = unsupported_type(kind) {
            return Err(Error::Unsupported {
                at: self.at(Some(name), None),
                what: what.into(),
            });
        }
        let zero = matches!(
            kind,
            macho::S_ZEROFILL | macho::S_GB_ZEROFILL | macho::S_THREAD_LOCAL_ZEROFILL
        );
        let data = match zero {
            true => &[][..],
            false => h
                .data(LE, self.bytes)
                .map_err(|()| bad("section data lies outside the file".into()))?,
        };
        let size = h.size(LE);
        let (class, role) = class_and_role(h, zero);
        Ok(Section {
            name,
            class,
            role,
            data: data.into(),
            size,
            align: 1 << log2,
            relocs: Vec::new(),
            group: None,
            file_index: 0,
        })
    }

    /// The symbol table: a null symbol, the nlist entries, then the section symbols.
    fn symbols(&self, sections: &[Section<'a>]) -> Result<Vec<Symbol<'a>>> {
        let mut out = Vec::with_capacity(1 + self.nlists.len() + self.headers.len());
        out.push(null_symbol());
        for (index, n) in self.nlists.iter().enumerate() {
            out.push(self.symbol(index, n, sections)?);
        }
        for index in 0..self.headers.len() {
            let definition = match self.map[index] {
                Some(section) => Definition::Section { section, offset: 0 },
                None => Definition::Undefined,
            };
            out.push(Symbol {
                name: self.section_name(index)?,
                binding: Binding::Local,
                kind: SymbolKind::Section,
                definition,
                size: 0,
                hidden: false,
            });
        }
        set_sizes(&mut out[1..=self.nlists.len()], sections);
        Ok(out)
    }

    fn symbol(&self, index: usize, n: &Nlist, sections: &[Section<'a>]) -> Result<Symbol<'a>> {
        let n_type = n.n_type();
        if n_type & macho::N_STAB != 0 {
            return Ok(null_symbol());
        }
        let raw = match n.n_strx(LE) {
            0 => &[][..],
            _ => n
                .name(LE, self.strings)
                .map_err(|e| self.bad_symbol(index, e.to_string()))?,
        };
        let raw =
            std::str::from_utf8(raw).map_err(|_| self.bad_symbol(index, "name is not UTF-8"))?;
        let name = raw.strip_prefix('_').unwrap_or(raw);
        let (definition, kind) = self.definition(index, n, sections)?;
        let desc = n.n_desc(LE);
        let external = n_type & macho::N_EXT != 0;
        let weak = match definition {
            Definition::Undefined => desc & macho::N_WEAK_REF != 0,
            _ => desc & macho::N_WEAK_DEF != 0,
        };
        let binding = match (external, weak) {
            (false, _) => Binding::Local,
            (true, true) => Binding::Weak,
            (true, false) => Binding::Global,
        };
        Ok(Symbol {
            name,
            binding,
            kind,
            definition,
            size: 0,
            hidden: external && n_type & macho::N_PEXT != 0,
        })
    }

    fn bad_symbol(&self, index: usize, reason: impl std::fmt::Display) -> Error {
        Error::malformed(
            self.at(Some("LC_SYMTAB"), None),
            format!("symbol {index}: {reason}"),
        )
    }

    /// Where nlist entry `index` is defined, and what kind of symbol that makes it.
    fn definition(
        &self,
        index: usize,
        n: &Nlist,
        sections: &[Section<'a>],
    ) -> Result<(Definition, SymbolKind)> {
        let value = n.n_value(LE);
        let n_type = n.n_type();
        match n_type & macho::N_TYPE {
            macho::N_UNDF if n_type & macho::N_EXT != 0 && value != 0 => {
                if value > MAX_OBJECT_MEMORY {
                    return Err(self.bad_symbol(
                        index,
                        format!("COMMON of {value} bytes (more than {MAX_OBJECT_MEMORY})"),
                    ));
                }
                // GET_COMM_ALIGN: log2 of the alignment in bits 8..12 of n_desc. llc
                // leaves it 0; ld64 then aligns to the size's next power of two, at
                // most a page.
                let align = match (n.n_desc(LE) >> 8) & 0x0f {
                    0 => value.next_power_of_two().min(COMMON_MAX_ALIGN),
                    log2 => 1 << log2,
                };
                let common = Definition::Common { size: value, align };
                Ok((common, SymbolKind::Data))
            }
            macho::N_UNDF => Ok((Definition::Undefined, SymbolKind::Unknown)),
            macho::N_ABS => Ok((Definition::Absolute(value), SymbolKind::Unknown)),
            macho::N_SECT => self.section_definition(index, n, sections),
            macho::N_INDR => Err(Error::Unsupported {
                at: self.at(Some("LC_SYMTAB"), None),
                what: format!("symbol {index} is an indirect (N_INDR) symbol"),
            }),
            t => Err(self.bad_symbol(index, format!("type {t:#x} is not valid in an object"))),
        }
    }

    fn section_definition(
        &self,
        index: usize,
        n: &Nlist,
        sections: &[Section<'a>],
    ) -> Result<(Definition, SymbolKind)> {
        let (number, value) = (n.n_sect(), n.n_value(LE));
        let Some(i) = (number as usize).checked_sub(1) else {
            return Err(self.bad_symbol(index, "N_SECT symbol with no section"));
        };
        let Some(h) = self.headers.get(i) else {
            return Err(self.bad_symbol(
                index,
                format!("names section {number}, which does not exist"),
            ));
        };
        let offset = value.wrapping_sub(h.addr(LE));
        if value < h.addr(LE) || offset > h.size(LE) {
            return Err(self.bad_symbol(
                index,
                format!("address {value:#x} lies outside its section {number}"),
            ));
        }
        let Some(section) = self.map[i] else {
            let tls = is_thread_local(h.flags(LE) & macho::SECTION_TYPE);
            let kind = if tls {
                SymbolKind::Tls
            } else {
                SymbolKind::Unknown
            };
            return Ok((Definition::Undefined, kind));
        };
        let section_of = &sections[section.0 as usize];
        let kind = match section_of.class {
            _ if section_of.role == Role::Tls => SymbolKind::Tls,
            Class::Code => SymbolKind::Function,
            _ => SymbolKind::Data,
        };
        Ok((Definition::Section { section, offset }, kind))
    }

    fn relocations(&self, sections: &mut [Section<'a>], symbols: &[Symbol<'a>]) -> Result<()> {
        for (index, h) in self.headers.iter().enumerate() {
            let Some(id) = self.map[index] else {
                continue;
            };
            let section = &sections[id.0 as usize];
            let raw = h.relocations(LE, self.bytes).map_err(|e| {
                Error::malformed(
                    self.at(Some(section.name), None),
                    format!("relocations: {e}"),
                )
            })?;
            let place = PlaceSection {
                section,
                addr: h.addr(LE),
            };
            let mut relocs = Vec::with_capacity(raw.len());
            let mut next = 0;
            while next < raw.len() {
                let (reloc, used) = self.reloc(&place, &raw[next..], symbols)?;
                relocs.push(reloc);
                next += used;
            }
            sections[id.0 as usize].relocs = relocs;
        }
        Ok(())
    }

    /// Maps the relocation at `raw[0]` (and its pair, if it has one); returns it and
    /// how many raw entries it used.
    fn reloc(
        &self,
        place: &PlaceSection<'_, 'a>,
        raw: &[RawReloc],
        symbols: &[Symbol<'a>],
    ) -> Result<(Reloc, usize)> {
        let r = self.info(place, &raw[0])?;
        let offset = u64::from(r.r_address);
        let section = place.section;
        if section.class == Class::Zero || (section.role == Role::Tls && section.data.is_empty()) {
            return Err(self.malformed(
                place.section.name,
                offset,
                "relocation in a zero-fill section",
            ));
        }
        let (reloc, used) = match self.arch {
            Arch::X86_64 => self.x86_64(place, raw, r, symbols)?,
            Arch::Aarch64 => self.aarch64(place, raw, r, symbols)?,
        };
        self.check_width(place, reloc.offset, reloc.kind.info().width as u64)?;
        Ok((reloc, used))
    }

    /// The fields of a plain relocation; scattered ones do not exist in 64-bit objects.
    fn info(&self, place: &PlaceSection, raw: &RawReloc) -> Result<macho::RelocationInfo> {
        if raw.r_word0.get(LE) & macho::R_SCATTERED != 0 {
            return Err(self.malformed(
                place.section.name,
                u64::from(raw.r_word0.get(LE) & 0x00ff_ffff),
                "scattered relocation (not used in 64-bit objects)",
            ));
        }
        Ok(raw.info(LE))
    }

    fn check_width(&self, place: &PlaceSection, offset: u64, width: u64) -> Result<()> {
        if offset
            .checked_add(width)
            .is_none_or(|end| end > place.section.size)
        {
            return Err(self.malformed(
                place.section.name,
                offset,
                format!("relocation of {width} bytes runs past the end of the section"),
            ));
        }
        Ok(())
    }

    /// The `width` bytes at `offset` of the place's section, bounds-checked.
    fn bytes_at<'p>(
        &self,
        place: &PlaceSection<'p, 'a>,
        offset: u64,
        width: u64,
    ) -> Result<&'p [u8]> {
        self.check_width(place, offset, width)?;
        let range = usize::try_from(offset)
            .ok()
            .and_then(|at| Some(at..at.checked_add(usize::try_from(width).ok()?)?));
        range
            .and_then(|r| place.section.data.get(r))
            .ok_or_else(|| {
                self.malformed(
                    place.section.name,
                    offset,
                    format!("{width} bytes here lie outside the section's data"),
                )
            })
    }

    /// The implicit addend stored at the place: 4 bytes (sign-extended) or 8.
    fn implicit(&self, place: &PlaceSection<'_, 'a>, r: &macho::RelocationInfo) -> Result<i64> {
        let offset = u64::from(r.r_address);
        let b = self.bytes_at(place, offset, 1 << r.r_length)?;
        match *b {
            [b0, b1, b2, b3] => Ok(i64::from(i32::from_le_bytes([b0, b1, b2, b3]))),
            [b0, b1, b2, b3, b4, b5, b6, b7] => {
                Ok(i64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]))
            }
            _ => Err(self.malformed(
                place.section.name,
                offset,
                format!("no implicit addend of {} bytes", b.len()),
            )),
        }
    }

    /// What a relocation names: an nlist symbol (`r_extern = 1`), or a section's
    /// symbol and the section's address in the object (`r_extern = 0`).
    fn target(
        &self,
        place: &PlaceSection,
        r: &macho::RelocationInfo,
    ) -> Result<(SymbolId, Option<u64>)> {
        let offset = u64::from(r.r_address);
        let n = r.r_symbolnum as usize;
        if r.r_extern {
            if n >= self.nlists.len() {
                return Err(self.malformed(
                    place.section.name,
                    offset,
                    format!("symbol index {n} out of range"),
                ));
            }
            if self.nlists[n].n_type() & macho::N_STAB != 0 {
                return Err(self.malformed(
                    place.section.name,
                    offset,
                    format!("symbol {n} is a debugging (stab) entry"),
                ));
            }
            return Ok((SymbolId(n as u32 + 1), None));
        }
        match n.checked_sub(1).and_then(|i| self.headers.get(i)) {
            Some(h) => Ok((self.section_symbol(n - 1), Some(h.addr(LE)))),
            None => Err(self.malformed(
                place.section.name,
                offset,
                format!("section ordinal {n} out of range"),
            )),
        }
    }

    fn symbol_name(
        &self,
        place: &PlaceSection,
        r: &macho::RelocationInfo,
        symbols: &[Symbol],
    ) -> String {
        match self.target(place, r) {
            Ok((id, None)) => symbols[id.0 as usize].name.to_string(),
            Ok((id, Some(_))) => format!("section {}", symbols[id.0 as usize].name),
            Err(_) => format!("symbol {}", r.r_symbolnum),
        }
    }

    fn unsupported(
        &self,
        place: &PlaceSection,
        r: &macho::RelocationInfo,
        symbols: &[Symbol],
        hint: Option<&'static str>,
    ) -> Error {
        Error::UnsupportedRelocation {
            at: self.at(Some(place.section.name), Some(u64::from(r.r_address))),
            r_type: type_name(self.arch, r.r_type),
            symbol: self.symbol_name(place, r, symbols),
            hint,
        }
    }

    /// Checks `r_pcrel`, `r_length` (one of `lengths`) and, when `needs_extern`,
    /// `r_extern` against what the type requires.
    fn shape(
        &self,
        place: &PlaceSection,
        r: &macho::RelocationInfo,
        symbols: &[Symbol],
        (pcrel, lengths, needs_extern): (bool, &[u8], bool),
    ) -> Result<()> {
        if r.r_pcrel != pcrel || !lengths.contains(&r.r_length) {
            return Err(self.malformed(
                place.section.name,
                u64::from(r.r_address),
                format!(
                    "{} with r_pcrel {} and r_length {}",
                    type_name(self.arch, r.r_type),
                    u8::from(r.r_pcrel),
                    r.r_length
                ),
            ));
        }
        if needs_extern && !r.r_extern {
            return Err(self.unsupported(place, r, symbols, Some(EXTERN_HINT)));
        }
        Ok(())
    }

    fn x86_64(
        &self,
        place: &PlaceSection,
        raw: &[RawReloc],
        r: macho::RelocationInfo,
        symbols: &[Symbol<'a>],
    ) -> Result<(Reloc, usize)> {
        use x86_64::Kind::*;
        let k = RelocKind::X86_64;
        let offset = u64::from(r.r_address);
        let (kind, extern_only) = match r.r_type {
            macho::X86_64_RELOC_UNSIGNED => {
                self.shape(place, &r, symbols, (false, &[2, 3], false))?;
                let kind = if r.r_length == 3 {
                    Pointer64
                } else {
                    Pointer32
                };
                return Ok((self.data_reloc(place, &r, k(kind))?, 1));
            }
            macho::X86_64_RELOC_SUBTRACTOR => {
                let kinds = (k(Pointer32Signed), k(Pointer64));
                return self.pair(place, raw, kinds, symbols);
            }
            macho::X86_64_RELOC_SIGNED
            | macho::X86_64_RELOC_SIGNED_1
            | macho::X86_64_RELOC_SIGNED_2
            | macho::X86_64_RELOC_SIGNED_4 => (Delta32, false),
            macho::X86_64_RELOC_BRANCH => (Branch32, false),
            // The TLV load reads the descriptor's address from a slot.
            macho::X86_64_RELOC_GOT_LOAD | macho::X86_64_RELOC_GOT | macho::X86_64_RELOC_TLV => {
                (GotDelta32, true)
            }
            _ => return Err(self.unsupported(place, &r, symbols, None)),
        };
        self.shape(place, &r, symbols, (true, &[2], extern_only))?;
        let disp = self.implicit(place, &r)?;
        let (symbol, section_addr) = self.target(place, &r)?;
        let addend = x86_64_pc_addend(disp, place.addr.wrapping_add(offset), section_addr);
        let reloc = Reloc {
            offset,
            kind: k(kind),
            symbol,
            addend,
            minus: None,
        };
        Ok((reloc, 1))
    }

    fn aarch64(
        &self,
        place: &PlaceSection,
        raw: &[RawReloc],
        r: macho::RelocationInfo,
        symbols: &[Symbol<'a>],
    ) -> Result<(Reloc, usize)> {
        let k = RelocKind::Aarch64;
        match r.r_type {
            macho::ARM64_RELOC_SUBTRACTOR => {
                let kinds = (k(aarch64::Kind::Pointer32), k(aarch64::Kind::Pointer64));
                self.pair(place, raw, kinds, symbols)
            }
            macho::ARM64_RELOC_ADDEND => {
                self.shape(place, &r, symbols, (false, &[2], false))?;
                if r.r_extern {
                    return Err(self.malformed(
                        place.section.name,
                        u64::from(r.r_address),
                        "ARM64_RELOC_ADDEND with r_extern set",
                    ));
                }
                // r_symbolnum holds a signed 24-bit addend.
                let addend = i64::from(((r.r_symbolnum << 8) as i32) >> 8);
                let next = self.addend_pair(place, raw, &r)?;
                Ok((self.aarch64_one(place, next, addend, symbols)?, 2))
            }
            _ => Ok((self.aarch64_one(place, r, 0, symbols)?, 1)),
        }
    }

    /// The relocation an `ARM64_RELOC_ADDEND` applies to: the next one, at the same
    /// place, a `BRANCH26`, `PAGE21` or `PAGEOFF12`.
    fn addend_pair(
        &self,
        place: &PlaceSection,
        raw: &[RawReloc],
        r: &macho::RelocationInfo,
    ) -> Result<macho::RelocationInfo> {
        let offset = u64::from(r.r_address);
        let Some(next) = raw.get(1) else {
            return Err(self.malformed(
                place.section.name,
                offset,
                "ARM64_RELOC_ADDEND is the last relocation",
            ));
        };
        let next = self.info(place, next)?;
        let pairs = [
            macho::ARM64_RELOC_BRANCH26,
            macho::ARM64_RELOC_PAGE21,
            macho::ARM64_RELOC_PAGEOFF12,
        ];
        if !pairs.contains(&next.r_type) || next.r_address != r.r_address {
            return Err(self.malformed(
                place.section.name,
                offset,
                format!(
                    "ARM64_RELOC_ADDEND followed by {} at {:#x}, not by BRANCH26, PAGE21 or PAGEOFF12 at the same place",
                    type_name(self.arch, next.r_type),
                    next.r_address
                ),
            ));
        }
        Ok(next)
    }

    /// One arm64 relocation that is not a pair, with the addend of a preceding
    /// `ARM64_RELOC_ADDEND` (or 0).
    fn aarch64_one(
        &self,
        place: &PlaceSection,
        r: macho::RelocationInfo,
        addend: i64,
        symbols: &[Symbol<'a>],
    ) -> Result<Reloc> {
        use aarch64::Kind::*;
        let k = RelocKind::Aarch64;
        let offset = u64::from(r.r_address);
        const PCREL: (bool, &[u8], bool) = (true, &[2], true);
        const ABS: (bool, &[u8], bool) = (false, &[2], true);
        let kind = match r.r_type {
            macho::ARM64_RELOC_UNSIGNED => {
                self.shape(place, &r, symbols, (false, &[2, 3], false))?;
                let kind = if r.r_length == 3 {
                    Pointer64
                } else {
                    Pointer32
                };
                return self.data_reloc(place, &r, k(kind));
            }
            macho::ARM64_RELOC_BRANCH26 => (Branch26, PCREL),
            macho::ARM64_RELOC_PAGE21 => (Page21 { checked: true }, PCREL),
            macho::ARM64_RELOC_PAGEOFF12 => {
                self.shape(place, &r, symbols, ABS)?;
                (self.page_offset12(place, offset)?, ABS)
            }
            // A TLV load reads the descriptor's address from a slot, like a GOT load.
            macho::ARM64_RELOC_GOT_LOAD_PAGE21 | macho::ARM64_RELOC_TLVP_LOAD_PAGE21 => {
                (GotPage21, PCREL)
            }
            macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12 | macho::ARM64_RELOC_TLVP_LOAD_PAGEOFF12 => {
                (GotPageOffset12, ABS)
            }
            // `.long _sym@GOT - .`: the data holds no addend (JITLink ignores it too).
            macho::ARM64_RELOC_POINTER_TO_GOT => (GotDelta32, PCREL),
            _ => return Err(self.unsupported(place, &r, symbols, None)),
        };
        let (kind, shape) = kind;
        self.shape(place, &r, symbols, shape)?;
        let (symbol, _) = self.target(place, &r)?;
        Ok(Reloc {
            offset,
            kind: k(kind),
            symbol,
            addend,
            minus: None,
        })
    }

    /// `PageOffset12` with the access size of the instruction at `offset`.
    fn page_offset12(&self, place: &PlaceSection<'_, 'a>, offset: u64) -> Result<aarch64::Kind> {
        let b = self.bytes_at(place, offset, 4)?;
        let insn = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        match aarch64::page_offset12_shift(insn) {
            Some(shift) => Ok(aarch64::Kind::PageOffset12 { shift }),
            None => Err(self.malformed(
                place.section.name,
                offset,
                format!(
                    "ARM64_RELOC_PAGEOFF12 on instruction {insn:#010x}, which is neither an ADD (immediate) nor a load/store (unsigned offset)"
                ),
            )),
        }
    }

    /// An `UNSIGNED` relocation: the addend is in the data.
    fn data_reloc(
        &self,
        place: &PlaceSection,
        r: &macho::RelocationInfo,
        kind: RelocKind,
    ) -> Result<Reloc> {
        let value = self.implicit(place, r)?;
        let (symbol, section_addr) = self.target(place, r)?;
        Ok(Reloc {
            offset: u64::from(r.r_address),
            kind,
            symbol,
            addend: value.wrapping_sub(section_addr.unwrap_or(0) as i64),
            minus: None,
        })
    }

    /// A `SUBTRACTOR` and the `UNSIGNED` that must follow it at the same place: one
    /// relocation `S - minus + A`, `S` the `UNSIGNED`'s target, `minus` the
    /// `SUBTRACTOR`'s symbol, `A` the value in the data. `kinds`: (4 bytes, 8 bytes).
    fn pair(
        &self,
        place: &PlaceSection,
        raw: &[RawReloc],
        kinds: (RelocKind, RelocKind),
        symbols: &[Symbol<'a>],
    ) -> Result<(Reloc, usize)> {
        let sub = self.info(place, &raw[0])?;
        let offset = u64::from(sub.r_address);
        self.shape(place, &sub, symbols, (false, &[2, 3], true))?;
        let unsigned = match raw.get(1) {
            Some(next) => Some(self.info(place, next)?),
            None => None,
        };
        let Some(unsigned) = unsigned.filter(|u| {
            u.r_type == 0 // X86_64_RELOC_UNSIGNED, ARM64_RELOC_UNSIGNED
                && !u.r_pcrel
                && u.r_address == sub.r_address
                && u.r_length == sub.r_length
        }) else {
            return Err(self.malformed(
                place.section.name,
                offset,
                "SUBTRACTOR not followed by an UNSIGNED relocation of the same size at the same place",
            ));
        };
        let (minus, _) = self.target(place, &sub)?;
        let kind = if sub.r_length == 3 { kinds.1 } else { kinds.0 };
        let mut reloc = self.data_reloc(place, &unsigned, kind)?;
        reloc.minus = Some(minus);
        Ok((reloc, 2))
    }

    /// Adds the relocations the assembler left out of `__eh_frame`: FDE pointers to
    /// code (and LSDAs) that it stored as distances in the object's address space.
    fn eh_frame_pointers(&self, sections: &mut [Section<'a>]) -> Result<()> {
        for (index, h) in self.headers.iter().enumerate() {
            let Some(id) = self.map[index] else {
                continue;
            };
            let section = &sections[id.0 as usize];
            if section.role != Role::EhFrame {
                continue;
            }
            let mut added = Vec::new();
            let frame = EhFrame {
                reader: self,
                section,
                addr: h.addr(LE),
            };
            frame.walk(&mut added)?;
            sections[id.0 as usize].relocs.extend(added);
        }
        Ok(())
    }

    /// Rewrites the relocations of `S_THREAD_LOCAL_VARIABLES` sections: each
    /// descriptor `{thunk, key, offset}` keeps its thunk pointer, its offset word
    /// becomes `DtpOffset64` and its key word gets a `DtpModule64` of the same
    /// variable (see the module doc).
    fn tlv_descriptors(&self, sections: &mut [Section<'a>]) -> Result<()> {
        for (index, h) in self.headers.iter().enumerate() {
            let Some(id) = self.map[index] else {
                continue;
            };
            if h.flags(LE) & macho::SECTION_TYPE != macho::S_THREAD_LOCAL_VARIABLES {
                continue;
            }
            let section = &mut sections[id.0 as usize];
            if !section.size.is_multiple_of(TLV_DESCRIPTOR_SIZE) {
                return Err(self.malformed(
                    section.name,
                    0,
                    format!(
                        "thread-local variable descriptors of {} bytes, not a multiple of {TLV_DESCRIPTOR_SIZE}",
                        section.size
                    ),
                ));
            }
            let relocs = std::mem::take(&mut section.relocs);
            let mut out = Vec::with_capacity(relocs.len() * 3 / 2);
            for r in relocs {
                out.extend(self.tlv_descriptor_reloc(section.name, r)?);
            }
            section.relocs = out;
        }
        Ok(())
    }

    /// One relocation of a descriptor section, as described on `tlv_descriptors`.
    fn tlv_descriptor_reloc(&self, section: &str, r: Reloc) -> Result<Vec<Reloc>> {
        let (offset64, module64) = match self.arch {
            Arch::X86_64 => (
                RelocKind::X86_64(x86_64::Kind::DtpOffset64),
                RelocKind::X86_64(x86_64::Kind::DtpModule64),
            ),
            Arch::Aarch64 => (
                RelocKind::Aarch64(aarch64::Kind::DtpOffset64),
                RelocKind::Aarch64(aarch64::Kind::DtpModule64),
            ),
        };
        let pointer64 = matches!(
            r.kind,
            RelocKind::X86_64(x86_64::Kind::Pointer64)
                | RelocKind::Aarch64(aarch64::Kind::Pointer64)
        );
        let word = r.offset % TLV_DESCRIPTOR_SIZE;
        if !pointer64 || r.minus.is_some() || !(word == 0 || word == 16) {
            return Err(self.malformed(
                section,
                r.offset,
                "a thread-local variable descriptor needs one 8-byte UNSIGNED relocation \
                 in its thunk word and one in its offset word, and none in its key word",
            ));
        }
        if word == 0 {
            return Ok(vec![r]);
        }
        let key = Reloc {
            offset: r.offset - 8,
            kind: module64,
            addend: 0,
            ..r
        };
        Ok(vec![
            key,
            Reloc {
                kind: offset64,
                ..r
            },
        ])
    }

    /// Turns arm64 `__compact_unwind` into `.eh_frame` records, in place: the
    /// section keeps its name and index, and becomes an unwind section
    /// (`compact_unwind.rs`).
    fn compact_unwind(&self, sections: &mut [Section<'a>]) -> Result<()> {
        for (index, h) in self.headers.iter().enumerate() {
            let Some(id) = self.map[index] else {
                continue;
            };
            if !is_compact_unwind(h) {
                continue;
            }
            let section = &mut sections[id.0 as usize];
            let frame = self.compact_unwind_frame(section)?;
            section.size = frame.bytes.len() as u64;
            section.data = frame.bytes.into();
            section.relocs = frame.relocs;
            section.class = Class::ReadOnly;
            section.role = Role::EhFrame;
            section.align = 8;
        }
        Ok(())
    }

    fn compact_unwind_frame(&self, section: &Section<'a>) -> Result<compact_unwind::EhFrame> {
        use compact_unwind::{Entry, Target, ENTRY_SIZE};
        let name = section.name;
        if !section.size.is_multiple_of(ENTRY_SIZE) || section.data.len() as u64 != section.size {
            return Err(self.malformed(name, 0, "not an array of 32-byte compact unwind entries"));
        }
        let target_at = |at: u64| -> Result<Option<Target>> {
            let mut found = section.relocs.iter().filter(|r| r.offset == at);
            let target = found.next().map(|r| Target {
                symbol: r.symbol,
                addend: r.addend,
            });
            let plain = |r: &Reloc| r.minus.is_none() && r.kind.info().width == 8;
            if found.next().is_some() || section.relocs.iter().any(|r| r.offset == at && !plain(r))
            {
                return Err(self.malformed(name, at, "a compact unwind pointer needs one 8-byte UNSIGNED relocation"));
            }
            Ok(target)
        };
        let mut frame = compact_unwind::EhFrame::default();
        let pointer = RelocKind::Aarch64(aarch64::Kind::Pointer64);
        for at in (0..section.size).step_by(ENTRY_SIZE as usize) {
            let word = |o: u64| {
                let i = (at + o) as usize;
                u32::from_le_bytes([section.data[i], section.data[i + 1], section.data[i + 2], section.data[i + 3]])
            };
            let encoding = word(12);
            let ins = compact_unwind::arm64_instructions(encoding)
                .map_err(|why| self.malformed(name, at + 12, why))?;
            let Some(ins) = ins else { continue };
            let function = target_at(at)?
                .ok_or_else(|| self.malformed(name, at, "compact unwind entry without a relocation for its function"))?;
            let entry = Entry {
                function,
                length: word(8),
                encoding,
                personality: target_at(at + 16)?,
                lsda: target_at(at + 24)?,
            };
            frame.push(&entry, &ins, pointer);
        }
        Ok(frame)
    }

    /// The symbol of Mach-O section `index` (0-based).
    fn section_symbol(&self, index: usize) -> SymbolId {
        SymbolId((1 + self.nlists.len() + index) as u32)
    }

    /// The symbol and address of the section holding object address `addr`.
    fn section_at(&self, addr: u64) -> Option<(SymbolId, u64)> {
        self.headers.iter().enumerate().find_map(|(i, h)| {
            let start = h.addr(LE);
            let inside = addr >= start && addr - start < h.size(LE);
            inside.then(|| (self.section_symbol(i), start))
        })
    }
}

/// The section a relocation patches, and its address in the object.
struct PlaceSection<'s, 'a> {
    section: &'s Section<'a>,
    addr: u64,
}

/// The ELF-style addend of an x86_64 PC-relative relocation (`SIGNED*`, `BRANCH`,
/// `GOT_LOAD`, `GOT`), from the displacement `disp` stored in the instruction.
///
/// The CPU adds `disp` to the address of the next instruction, `P + 4 + n`, where
/// `P` is the place and `n` the bytes of immediate after it (`SIGNED_n`; 0 for
/// the others). relink's kinds compute `S + A - P`.
/// - Against a symbol, the assembler stored `disp = c - n` for a reference to
///   `sym + c`, so that `sym + c = P + 4 + n + (S + A - P)` gives `A = disp - 4`,
///   whatever `n` is.
/// - Against a section (`section_addr` is its address in the object), `disp` is
///   the true displacement in the object's address space: the target is
///   `T = P_obj + 4 + n + disp`, `P_obj = place_addr` (the place's section address
///   plus the offset), and at run time `S` is the loaded section, so
///   `S + (T - section_addr) = P + 4 + n + (S + A - P)` gives
///   `A = T - section_addr - 4 - n = disp + P_obj - section_addr`; `n` cancels.
///
/// Both agree with lld's and JITLink's readings. testdata/macho/src/x86asm runs
/// every form, and tests/macho.rs checks the addends against gas's ELF build of the
/// same assembly.
pub(crate) fn x86_64_pc_addend(disp: i64, place_addr: u64, section_addr: Option<u64>) -> i64 {
    match section_addr {
        None => disp.wrapping_sub(4),
        Some(base) => disp.wrapping_add(place_addr.wrapping_sub(base) as i64),
    }
}

fn null_symbol<'a>() -> Symbol<'a> {
    Symbol {
        name: "",
        binding: Binding::Local,
        kind: SymbolKind::Unknown,
        definition: Definition::Undefined,
        size: 0,
        hidden: false,
    }
}

/// Mach-O has no symbol sizes: each defined symbol extends to the next symbol of
/// its section (at a higher address), or to the section's end.
fn set_sizes(symbols: &mut [Symbol], sections: &[Section]) {
    let mut starts: Vec<(u32, u64)> = symbols
        .iter()
        .filter_map(|s| match s.definition {
            Definition::Section { section, offset } => Some((section.0, offset)),
            _ => None,
        })
        .collect();
    starts.sort_unstable();
    starts.dedup();
    for s in symbols.iter_mut() {
        let Definition::Section { section, offset } = s.definition else {
            continue;
        };
        let i = starts.partition_point(|&p| p <= (section.0, offset));
        s.size = match starts.get(i) {
            Some(&(sec, next)) if sec == section.0 => next - offset,
            _ => sections[section.0 as usize].size.saturating_sub(offset),
        };
    }
}

/// Whether relink reads a section: not debug info, and of `__LD` only arm64's
/// `__compact_unwind` (converted to `.eh_frame` records; x86_64 has `__eh_frame`).
fn loaded(h: &MachSection, arch: Arch) -> bool {
    if is_compact_unwind(h) {
        // Marked S_ATTR_DEBUG by the assembler, but read for arm64.
        return arch == Arch::Aarch64;
    }
    let flags = h.flags(LE);
    let skip = flags & macho::S_ATTR_DEBUG != 0
        || h.segment_name() == b"__LD"
        || h.segment_name() == b"__DWARF";
    !skip
}

fn is_compact_unwind(h: &MachSection) -> bool {
    h.segment_name() == b"__LD" && h.name() == b"__compact_unwind"
}

fn is_thread_local(kind: u32) -> bool {
    matches!(
        kind,
        macho::S_THREAD_LOCAL_REGULAR
            | macho::S_THREAD_LOCAL_ZEROFILL
            | macho::S_THREAD_LOCAL_VARIABLES
            | macho::S_THREAD_LOCAL_VARIABLE_POINTERS
            | macho::S_THREAD_LOCAL_INIT_FUNCTION_POINTERS
    )
}

/// Section types that need what an object does not carry for relink (an indirect
/// symbol table, an image base): refused rather than loaded wrongly.
fn unsupported_type(kind: u32) -> Option<&'static str> {
    match kind {
        macho::S_NON_LAZY_SYMBOL_POINTERS
        | macho::S_LAZY_SYMBOL_POINTERS
        | macho::S_LAZY_DYLIB_SYMBOL_POINTERS
        | macho::S_SYMBOL_STUBS => {
            Some("a symbol-pointer or stub section (it needs the indirect symbol table)")
        }
        macho::S_INIT_FUNC_OFFSETS => Some("an S_INIT_FUNC_OFFSETS section"),
        macho::S_THREAD_LOCAL_VARIABLE_POINTERS => {
            Some("an S_THREAD_LOCAL_VARIABLE_POINTERS section (made by ld64, not by compilers)")
        }
        macho::S_THREAD_LOCAL_INIT_FUNCTION_POINTERS => Some(
            "an S_THREAD_LOCAL_INIT_FUNCTION_POINTERS section (thread-local variables with \
             dynamic initialisation)",
        ),
        macho::S_INTERPOSING => Some("an S_INTERPOSING section"),
        _ => None,
    }
}

fn class_and_role(h: &MachSection, zero: bool) -> (Class, Role) {
    let flags = h.flags(LE);
    let (segment, name) = (h.segment_name(), h.name());
    let code = macho::S_ATTR_PURE_INSTRUCTIONS | macho::S_ATTR_SOME_INSTRUCTIONS;
    match flags & macho::SECTION_TYPE {
        // The template of the object's TLS block, copied into each thread's block.
        macho::S_THREAD_LOCAL_REGULAR | macho::S_THREAD_LOCAL_ZEROFILL => {
            return (Class::ReadOnly, Role::Tls)
        }
        // Descriptors: written at link time, only read afterwards.
        macho::S_THREAD_LOCAL_VARIABLES => return (Class::ReadOnly, Role::Plain),
        macho::S_MOD_INIT_FUNC_POINTERS => {
            return (Class::ReadOnly, Role::InitArray { priority: u16::MAX })
        }
        macho::S_MOD_TERM_FUNC_POINTERS => {
            return (Class::ReadOnly, Role::FiniArray { priority: u16::MAX })
        }
        _ => {}
    }
    let class = if zero {
        Class::Zero
    } else if flags & code != 0 {
        Class::Code
    } else if segment == b"__TEXT"
        || segment == b"__DATA_CONST"
        || (segment == b"__DATA" && name == b"__const")
    {
        Class::ReadOnly
    } else {
        Class::Data
    };
    let role = if name == b"__eh_frame" && class == Class::ReadOnly {
        Role::EhFrame
    } else {
        Role::Plain
    };
    (class, role)
}

/// `X86_64_RELOC_TLV (9)`-style names for messages; `unknown type N` for a
/// number Mach-O does not name.
fn type_name(arch: Arch, r_type: u8) -> String {
    let names: &[&str] = match arch {
        Arch::X86_64 => &[
            "X86_64_RELOC_UNSIGNED",
            "X86_64_RELOC_SIGNED",
            "X86_64_RELOC_BRANCH",
            "X86_64_RELOC_GOT_LOAD",
            "X86_64_RELOC_GOT",
            "X86_64_RELOC_SUBTRACTOR",
            "X86_64_RELOC_SIGNED_1",
            "X86_64_RELOC_SIGNED_2",
            "X86_64_RELOC_SIGNED_4",
            "X86_64_RELOC_TLV",
        ],
        Arch::Aarch64 => &[
            "ARM64_RELOC_UNSIGNED",
            "ARM64_RELOC_SUBTRACTOR",
            "ARM64_RELOC_BRANCH26",
            "ARM64_RELOC_PAGE21",
            "ARM64_RELOC_PAGEOFF12",
            "ARM64_RELOC_GOT_LOAD_PAGE21",
            "ARM64_RELOC_GOT_LOAD_PAGEOFF12",
            "ARM64_RELOC_POINTER_TO_GOT",
            "ARM64_RELOC_TLVP_LOAD_PAGE21",
            "ARM64_RELOC_TLVP_LOAD_PAGEOFF12",
            "ARM64_RELOC_ADDEND",
            "ARM64_RELOC_AUTHENTICATED_POINTER",
        ],
    };
    match names.get(r_type as usize) {
        Some(n) => format!("{n} ({r_type})"),
        None => format!("unknown type {r_type}"),
    }
}

// ---- __eh_frame ------------------------------------------------------------------

const DW_EH_PE_OMIT: u8 = 0xff;
const DW_EH_PE_PCREL: u8 = 0x10;
const DW_EH_PE_INDIRECT: u8 = 0x80;

/// One `__eh_frame` section being walked for pointers without relocations.
struct EhFrame<'r, 'a, 'n> {
    reader: &'r Reader<'a, 'n>,
    section: &'r Section<'a>,
    /// The section's address in the object.
    addr: u64,
}

/// What an FDE needs from its CIE.
#[derive(Clone, Copy)]
struct Cie {
    /// Encoding of the FDE's initial location (`R`), absolute 8 bytes by default.
    fde: u8,
    /// Encoding of the LSDA pointer (`L`), if any.
    lsda: u8,
    /// The augmentation starts with `z` (FDEs carry augmentation data).
    z: bool,
}

impl EhFrame<'_, '_, '_> {
    fn bad(&self, offset: u64, reason: impl Into<String>) -> Error {
        self.reader.malformed(self.section.name, offset, reason)
    }

    fn walk(&self, added: &mut Vec<Reloc>) -> Result<()> {
        // Offsets in the section: a record's body starts 8 bytes in.
        let span =
            |offset: usize, body: &[u8]| (offset as u64 + 8, (offset + 8 + body.len()) as u64);
        eh_frame::walk(
            &self.section.data,
            |offset, body| {
                let (at, end) = span(offset, body);
                self.cie(at, end)
            },
            |offset, body, cie| {
                let (at, end) = span(offset, body);
                self.fde(at, end, *cie, added)
            },
        )
        .map_err(|stop| match stop {
            Stop::Callback(e) => e,
            Stop::Record(bad) if bad.why == eh_frame::Bad::Dwarf64 => Error::Unsupported {
                at: self
                    .reader
                    .at(Some(self.section.name), Some(bad.offset as u64)),
                what: bad.reason().into(),
            },
            Stop::Record(bad) => self.bad(bad.offset as u64, bad.reason()),
        })
    }

    /// Reads the augmentation of the CIE whose version byte is at `at`.
    fn cie(&self, mut at: u64, end: u64) -> Result<Cie> {
        let mut cie = Cie {
            fde: 0,
            lsda: DW_EH_PE_OMIT,
            z: false,
        };
        let version = self.u8_at(at, end)?;
        at += 1;
        let aug_start = at;
        while self.u8_at(at, end)? != 0 {
            at += 1;
        }
        let aug = &self.section.data[aug_start as usize..at as usize];
        at += 1;
        if aug.first() != Some(&b'z') {
            return Ok(cie);
        }
        cie.z = true;
        at = self.uleb_end(at, end)?; // code alignment factor
        at = self.uleb_end(at, end)?; // data alignment factor (sleb: same length)
        at = if version == 1 {
            at + 1
        } else {
            self.uleb_end(at, end)?
        };
        at = self.uleb_end(at, end)?; // augmentation data length
        for c in &aug[1..] {
            match c {
                b'R' => cie.fde = self.u8_at(at, end)?,
                b'L' => cie.lsda = self.u8_at(at, end)?,
                b'P' => {
                    let encoding = self.u8_at(at, end)?;
                    at += pointer_size(encoding).unwrap_or(0);
                }
                b'S' | b'B' => continue,
                _ => break, // unknown: nothing further can be read
            }
            at += 1;
        }
        Ok(cie)
    }

    /// The FDE whose initial location is at `at`.
    fn fde(&self, at: u64, end: u64, cie: Cie, added: &mut Vec<Reloc>) -> Result<()> {
        self.pointer(at, end, cie.fde, added)?;
        let Some(size) = pointer_size(cie.fde) else {
            return Ok(());
        };
        if !cie.z || cie.lsda == DW_EH_PE_OMIT {
            return Ok(());
        }
        // Initial location, address range, augmentation data length, LSDA.
        let lsda = self.uleb_end(at + 2 * size, end)?;
        self.pointer(lsda, end, cie.lsda, added)
    }

    /// Adds a relocation for the encoded pointer at `at`, unless it has one.
    fn pointer(&self, at: u64, end: u64, encoding: u8, added: &mut Vec<Reloc>) -> Result<()> {
        let Some(size) = pointer_size(encoding) else {
            return Ok(());
        };
        if encoding & DW_EH_PE_INDIRECT != 0
            || encoding & 0x70 & !DW_EH_PE_PCREL != 0
            || self.section.relocs.iter().any(|r| r.offset == at)
        {
            return Ok(());
        }
        if at + size > end {
            return Err(self.bad(at, "__eh_frame pointer runs past its record"));
        }
        let low = self.u32_at(at)?;
        let value = match size {
            4 if encoding & 0x08 != 0 => i64::from(low as i32), // sdata4
            4 => i64::from(low),
            _ => (u64::from(low) | u64::from(self.u32_at(at + 4)?) << 32) as i64,
        };
        let pcrel = encoding & 0x70 == DW_EH_PE_PCREL;
        if !pcrel && value == 0 {
            return Ok(()); // a null pointer (no LSDA)
        }
        let target = if pcrel {
            self.addr.wrapping_add(at).wrapping_add(value as u64)
        } else {
            value as u64
        };
        let Some((symbol, base)) = self.reader.section_at(target) else {
            return Err(self.bad(
                at,
                format!("__eh_frame pointer to {target:#x}, which lies in no section"),
            ));
        };
        added.push(Reloc {
            offset: at,
            kind: self.kind(size, pcrel),
            symbol,
            addend: target.wrapping_sub(base) as i64,
            minus: None,
        });
        Ok(())
    }

    fn kind(&self, size: u64, pcrel: bool) -> RelocKind {
        match (self.reader.arch, size, pcrel) {
            (Arch::X86_64, 4, true) => RelocKind::X86_64(x86_64::Kind::Delta32),
            (Arch::X86_64, 4, false) => RelocKind::X86_64(x86_64::Kind::Pointer32),
            (Arch::X86_64, _, true) => RelocKind::X86_64(x86_64::Kind::Delta64),
            (Arch::X86_64, _, false) => RelocKind::X86_64(x86_64::Kind::Pointer64),
            (Arch::Aarch64, 4, true) => RelocKind::Aarch64(aarch64::Kind::Delta32),
            (Arch::Aarch64, 4, false) => RelocKind::Aarch64(aarch64::Kind::Pointer32),
            (Arch::Aarch64, _, true) => RelocKind::Aarch64(aarch64::Kind::Delta64),
            (Arch::Aarch64, _, false) => RelocKind::Aarch64(aarch64::Kind::Pointer64),
        }
    }

    fn u8_at(&self, at: u64, end: u64) -> Result<u8> {
        if at >= end {
            return Err(self.bad(at, "__eh_frame record is truncated"));
        }
        Ok(self.section.data[at as usize])
    }

    fn u32_at(&self, at: u64) -> Result<u32> {
        let b = usize::try_from(at)
            .ok()
            .and_then(|at| self.section.data.get(at..at.checked_add(4)?))
            .ok_or_else(|| self.bad(at, "__eh_frame record is truncated"))?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The offset just past the LEB128 number at `at`.
    fn uleb_end(&self, mut at: u64, end: u64) -> Result<u64> {
        while self.u8_at(at, end)? & 0x80 != 0 {
            at += 1;
        }
        Ok(at + 1)
    }
}

/// Bytes of a `DW_EH_PE_*` encoded pointer: the fixed-size formats only.
fn pointer_size(encoding: u8) -> Option<u64> {
    if encoding == DW_EH_PE_OMIT {
        return None;
    }
    match encoding & 0x0f {
        0x00 | 0x04 | 0x0c => Some(8), // absptr (64-bit), udata8, sdata8
        0x03 | 0x0b => Some(4),        // udata4, sdata4
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_pc_addends() {
        // (disp, place address, section address, addend): from llvm-mc output of
        // `movb $1, _x(%rip)` (SIGNED_1 extern, disp -1), `movl _x+8(%rip), %eax`
        // (SIGNED extern, disp 8), `movb $1, Lloc(%rip)` at 0x1c with Lloc at
        // __data (0x3c) + 8 (SIGNED_1 local, disp 0x23: 0x21 + 0x23 = 0x44).
        let cases: [(i64, u64, Option<u64>, i64); 5] = [
            (-1, 0x2, None, -5),
            (8, 0x1c, None, 4),
            (0x23, 0x1c, Some(0x3c), 3),
            (0x10, 0x2c, Some(0x3c), 0),
            (-0x100, 0x200, Some(0x10), 0xf0),
        ];
        for (disp, place, section, want) in cases {
            assert_eq!(
                x86_64_pc_addend(disp, place, section),
                want,
                "{disp:#x} at {place:#x}"
            );
        }
        // Target = P_obj + 4 + n + disp must equal section + (A + 4 + n) for every n.
        for n in [0u64, 1, 2, 4] {
            let (disp, place, section) = (0x30i64, 0x20u64, 0x40u64);
            let target = place + 4 + n + disp as u64;
            let a = x86_64_pc_addend(disp, place, Some(section));
            assert_eq!(section as i64 + a + 4 + n as i64, target as i64);
        }
    }

    #[test]
    fn relocation_type_names() {
        let cases = [
            (Arch::X86_64, 9, "X86_64_RELOC_TLV (9)"),
            (Arch::X86_64, 6, "X86_64_RELOC_SIGNED_1 (6)"),
            (Arch::X86_64, 15, "unknown type 15"),
            (Arch::Aarch64, 10, "ARM64_RELOC_ADDEND (10)"),
            (Arch::Aarch64, 11, "ARM64_RELOC_AUTHENTICATED_POINTER (11)"),
            (Arch::Aarch64, 12, "unknown type 12"),
        ];
        for (arch, t, want) in cases {
            assert_eq!(type_name(arch, t), want);
        }
    }

    #[test]
    fn eh_pointer_sizes() {
        let cases = [
            (0x00, Some(8)), // absptr
            (0x10, Some(8)), // pcrel | absptr (what llc writes for Mach-O x86_64)
            (0x1b, Some(4)), // pcrel | sdata4
            (0x03, Some(4)), // udata4
            (0x9b, Some(4)), // indirect | pcrel | sdata4 (a personality)
            (0x01, None),    // uleb128
            (0x02, None),    // udata2
            (0xff, None),    // omit
        ];
        for (encoding, want) in cases {
            assert_eq!(pointer_size(encoding), want, "{encoding:#x}");
        }
    }
}
