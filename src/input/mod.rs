//! Readers: they turn a file's bytes into a format-neutral [`Object`].
//!
//! An `Object` borrows the file's bytes. It holds sections (name, permission class,
//! role, bytes, alignment), symbols (name, binding, kind, definition, size) and
//! relocations already mapped onto the architecture's [`RelocKind`]s with explicit
//! addends. Nothing after this stage knows whether the object was ELF or Mach-O.
//!
//! ```no_run
//! let bytes = std::fs::read("a.o")?;
//! let object = relink::input::parse("a.o", &bytes)?;
//! for section in &object.sections {
//!     println!("{} {:?} {} bytes", section.name, section.class, section.size);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod compact_unwind;
pub(crate) mod eh_frame;
pub mod elf;
pub mod macho;
mod named;

pub use named::NamedCode;

use crate::arch::{Arch, RelocKind};
use crate::error::{Error, Location, Result};

/// The most bytes relink will allocate for one object's sections (checked before
/// any allocation, so a `.bss` of 2^40 bytes is an error, not an out-of-memory).
pub const MAX_OBJECT_MEMORY: u64 = 512 << 20;

/// Largest section alignment relink honours (larger is refused as malformed).
pub const MAX_ALIGN: u64 = 1 << 20;

/// Index of a section in [`Object::sections`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SectionId(pub u32);

/// Index of a symbol in [`Object::symbols`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolId(pub u32);

/// A parsed relocatable object.
#[derive(Debug)]
pub struct Object<'a> {
    pub name: String,
    pub arch: Arch,
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol<'a>>,
    /// COMDAT groups: a signature and the sections that stand or fall together.
    pub groups: Vec<Group<'a>>,
    /// The file's container format.
    pub format: Format,
    /// The whole file, as read (the GDB JIT interface hands debuggers a copy).
    pub file: &'a [u8],
    /// Its named code, worked out when first asked ([`Object::named_code`]).
    pub(crate) named_code: std::cell::OnceCell<NamedCode>,
    /// What its relocations say, worked out when first asked (`link::prepare::facts`).
    pub(crate) facts: std::cell::OnceCell<Facts>,
    /// Per symbol: its name's number in the batch's dictionary, where the
    /// object was read ahead (`symbols::dictionary`; `u32::MAX`: none).
    pub(crate) name_numbers: std::cell::OnceCell<Vec<u32>>,
}

/// What linking works out from an object's relocations alone, each a scan of
/// all of them (`link::prepare::facts`, which fills [`Object::facts`]).
#[derive(Debug)]
pub(crate) struct Facts {
    /// Its code reaches its own sections of another class through a narrow
    /// PC-relative form (`load::needs_compact_layout`).
    pub compact: bool,
    /// At most this many TLS cells (`tls::cell_count`).
    pub tls_cells: u64,
    /// `(section, relocation)` indices of those placement looks at
    /// (`placement::narrow`).
    pub narrow: Vec<(usize, usize)>,
    /// Unwind sections whose call-frame instructions relocation leaves well
    /// formed (`unwind::instructions_hold`).
    pub unwind_checked: Vec<SectionId>,
    /// Per symbol: the symbol table's hash of its name if it is global and
    /// named (0 otherwise), so the linking thread does not hash names.
    pub name_hashes: Vec<u64>,
    /// Per symbol: whether a relocation refers to it.
    pub referenced: Vec<bool>,
    /// No two of its global named symbols share a name (their hashes differ), so
    /// binding its names needs no deduplication (`Binder::names`).
    pub distinct_names: bool,
    /// It has thread-local symbols (`open_default_libraries_for_data` looks at them).
    pub tls_symbols: bool,
    /// No symbol of it is thread-local or lies in a thread-local section, so
    /// resolve need not ask, per relocation, whether its symbol is one
    /// (`tls::is_tls_symbol`).
    pub no_tls: bool,
    /// It defines a global IFUNC (`ifunc::global_ifuncs` looks for them).
    pub global_ifuncs: bool,
    /// Indices of its local variables in writable memory (`replace::statics`).
    pub statics: Vec<u32>,
    /// Indices of its common symbols (`layout::Plan::of` places them).
    pub commons: Vec<u32>,
    /// It leaves `atexit` undefined, and gets a thunk for it (`Plan::of`).
    pub calls_atexit: bool,
    /// It refers to `__dso_handle` (which relink defines per object): with the
    /// `atexit` thunk, the only way exit handlers get registered for it
    /// (`__cxa_atexit(f, arg, &__dso_handle)`, as C++ static destructors are).
    pub uses_dso_handle: bool,
    /// Distinct targets of its branches that may need a veneer
    /// (`layout::count_branches`).
    pub branch_targets: u64,
}

/// The container format an [`Object`] was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Elf,
    MachO,
}

/// Memory permissions a loaded section needs. Sections of one class share pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Read and execute.
    Code,
    /// Read only (constants, and data that is read-only once relocated).
    ReadOnly,
    /// Read and write, initialised from the file.
    Data,
    /// Read and write, zero-filled.
    Zero,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Code, Class::ReadOnly, Class::Data, Class::Zero];
}

/// What the linker does with a section besides placing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Plain,
    /// Pointers to constructors, run in order after linking; `priority` from the
    /// section name (`.init_array.N`), 65535 when absent.
    InitArray {
        priority: u16,
    },
    /// Pointers to destructors, run in reverse order at unload.
    FiniArray {
        priority: u16,
    },
    /// Old-style constructors (`.ctors`), run in reverse order.
    Ctors,
    /// Old-style destructors (`.dtors`), run in order.
    Dtors,
    /// Unwind tables (`.eh_frame`, `__eh_frame`), validated and registered with
    /// the process's unwinder (`runtime/unwind.rs`).
    EhFrame,
    /// Thread-local storage (`SHF_TLS`: `.tdata`, `.tbss`): part of the object's
    /// TLS image, copied into each thread's block (`link/tls.rs`). Zero-fill TLS
    /// sections have no data but still occupy the image.
    Tls,
}

#[derive(Debug)]
pub struct Section<'a> {
    pub name: &'a str,
    pub class: Class,
    pub role: Role,
    /// Contents; empty for [`Class::Zero`].
    pub data: std::borrow::Cow<'a, [u8]>,
    pub size: u64,
    pub align: u64,
    pub relocs: Vec<Reloc>,
    /// The COMDAT group the section belongs to, if any.
    pub group: Option<usize>,
    /// Its index in the file's section table (ELF section header index, Mach-O
    /// section number).
    pub file_index: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Offset of the place within its section.
    pub offset: u64,
    pub kind: RelocKind,
    pub symbol: SymbolId,
    pub addend: i64,
    /// A symbol whose address is subtracted (Mach-O `SUBTRACTOR` pairs: the value
    /// is `S - minus + A`). It must be defined by the same object.
    pub minus: Option<SymbolId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Local,
    Global,
    Weak,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Function,
    Data,
    Section,
    Tls,
    /// `STT_GNU_IFUNC`: the symbol's address is a resolver, run once at link; the
    /// name binds to the address it returns (`ifunc.rs`).
    Ifunc,
    /// `STT_NOTYPE` and the like.
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Definition {
    Undefined,
    /// At `offset` in a section of this object.
    Section {
        section: SectionId,
        offset: u64,
    },
    /// An absolute value (`SHN_ABS`).
    Absolute(u64),
    /// A tentative definition (`SHN_COMMON`): the linker allocates zeroed memory.
    Common {
        size: u64,
        align: u64,
    },
}

#[derive(Debug)]
pub struct Symbol<'a> {
    pub name: &'a str,
    pub binding: Binding,
    pub kind: SymbolKind,
    pub definition: Definition,
    pub size: u64,
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    /// `STV_HIDDEN`/`STV_INTERNAL`: visible to other loaded objects, but relink never
    /// looks it up for the host by name.
    pub hidden: bool,
}

impl Symbol<'_> {
    pub fn is_defined(&self) -> bool {
        self.definition != Definition::Undefined
    }
}

#[derive(Debug)]
pub struct Group<'a> {
    pub signature: &'a str,
    pub sections: Vec<SectionId>,
}

/// Bytes copied into 8-byte-aligned storage: the readers read headers in place,
/// which `object` allows only at their natural alignment.
pub struct Aligned {
    words: Vec<u64>,
    len: usize,
}

impl Aligned {
    pub fn new(bytes: &[u8]) -> Aligned {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_ne_bytes(b);
        }
        Aligned {
            words,
            len: bytes.len(),
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialised bytes; u8 has no
        // alignment requirement and every bit pattern is valid.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

impl Aligned {
    /// An aligned copy of `bytes`, or `None` if they are aligned already:
    /// `let bytes = copy.as_ref().map_or(bytes, Aligned::as_slice);`
    pub fn if_needed(bytes: &[u8]) -> Option<Aligned> {
        (!(bytes.as_ptr() as usize).is_multiple_of(8)).then(|| Aligned::new(bytes))
    }
}

/// The hash of a symbol's name: the symbol table's (`symbols`), worked out where
/// an object is read (`link/prepare.rs`), and that of every set of names asked
/// with it (`memory::process::ThreadLocalNames`).
#[inline]
pub fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(name)
}

/// Parses an object in any supported format. `bytes` must be 8-byte aligned (as
/// `Vec`s, mmaps and [`Aligned`] are); the `Linker` copies misaligned input itself.
pub fn parse<'a>(name: &str, bytes: &'a [u8]) -> Result<Object<'a>> {
    if !(bytes.as_ptr() as usize).is_multiple_of(8) && !bytes.is_empty() {
        return Err(Error::malformed(
            Location::object(name),
            "the bytes are not 8-byte aligned (relink reads headers in place; copy them \
             into an input::Aligned)",
        ));
    }
    if bytes.starts_with(b"\x7fELF") {
        elf::parse(name, bytes)
    } else if bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe]) {
        macho::parse(name, bytes)
    } else {
        Err(Error::malformed(
            Location::object(name),
            "not a relocatable object (unknown magic number)",
        ))
    }
}

impl<'a> Object<'a> {
    pub fn section(&self, id: SectionId) -> &Section<'a> {
        &self.sections[id.0 as usize]
    }

    pub fn symbol(&self, id: SymbolId) -> &Symbol<'a> {
        &self.symbols[id.0 as usize]
    }

    /// A location inside one of this object's sections, for error messages.
    pub fn location(&self, section: SectionId, offset: u64) -> Location {
        Location::at(&self.name, self.section(section).name, offset)
    }

    /// Its functions, for symbolizing and perf maps: worked out once, from the
    /// object alone, so that a batch's reading thread does it
    /// (`batch::read_and_parse`) rather than the linking thread.
    pub(crate) fn named_code(&self) -> &NamedCode {
        self.named_code.get_or_init(|| NamedCode::of(self))
    }
}

/// Adds a section to an object's memory budget; more than [`MAX_OBJECT_MEMORY`]
/// is malformed (checked before anything is allocated).
pub(crate) fn within_budget(
    total: &mut u64,
    section: &Section,
    at: impl FnOnce() -> Location,
) -> Result<()> {
    *total = total.saturating_add(section.size.saturating_add(section.align));
    if *total > MAX_OBJECT_MEMORY {
        return Err(Error::malformed(
            at(),
            format!("sections need more than {MAX_OBJECT_MEMORY} bytes of memory"),
        ));
    }
    Ok(())
}

/// Parses `.init_array.N`-style priorities; no suffix means 65535 (runs last).
pub(crate) fn priority(name: &str, base: &str) -> u16 {
    name.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{aarch64, x86_64};

    // include_bytes! data is only byte-aligned: the readers need an aligned copy.
    const X86_BYTES: &[u8] = include_bytes!("../../testdata/obj/x86_64/api/math.o");
    const A64_BYTES: &[u8] = include_bytes!("../../testdata/obj/aarch64/api/math.o");

    #[test]
    fn misaligned_bytes_are_refused_clearly() {
        let copy = Aligned::new(X86_BYTES);
        let mut shifted = vec![0u64; copy.as_slice().len() / 8 + 2];
        let raw = shifted.as_mut_ptr().cast::<u8>();
        // SAFETY: in bounds of `shifted`, which outlives the slice.
        let misaligned =
            unsafe { std::slice::from_raw_parts_mut(raw.add(1), copy.as_slice().len()) };
        misaligned.copy_from_slice(copy.as_slice());
        let err = parse("odd.o", misaligned).unwrap_err();
        assert!(err.to_string().contains("not 8-byte aligned"), "{err}");
        let fixed = Aligned::if_needed(misaligned).unwrap();
        assert!(parse("odd.o", fixed.as_slice()).is_ok());
        assert!(Aligned::if_needed(copy.as_slice()).is_none());
    }

    #[test]
    fn reads_both_architectures_into_the_same_model() {
        let (x86, a64) = (Aligned::new(X86_BYTES), Aligned::new(A64_BYTES));
        for (bytes, arch) in [
            (x86.as_slice(), Arch::X86_64),
            (a64.as_slice(), Arch::Aarch64),
        ] {
            let o = parse("math.o", bytes).unwrap();
            assert_eq!(o.arch, arch);
            let text = o.sections.iter().find(|s| s.name == ".text").unwrap();
            assert_eq!(text.class, Class::Code);
            let fib = o.symbols.iter().find(|s| s.name == "fib").unwrap();
            assert_eq!(
                (fib.binding, fib.kind),
                (Binding::Global, SymbolKind::Function)
            );
            let ops = o.sections.iter().find(|s| s.name == ".data.rel").unwrap();
            assert_eq!(ops.relocs.len(), 2);
            let pointer = match arch {
                Arch::X86_64 => RelocKind::X86_64(x86_64::Kind::Pointer64),
                Arch::Aarch64 => RelocKind::Aarch64(aarch64::Kind::Pointer64),
            };
            assert!(ops.relocs.iter().all(|r| r.kind == pointer));
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let (x86, a64) = (Aligned::new(X86_BYTES), Aligned::new(A64_BYTES));
        for bytes in [x86.as_slice(), a64.as_slice()] {
            for len in (0..bytes.len()).step_by(37) {
                if let Ok(o) = parse("cut.o", &bytes[..len]) {
                    assert!(o.sections.iter().all(|s| s.data.len() as u64 <= s.size));
                }
            }
        }
    }

    #[test]
    fn priorities_parse_from_section_names() {
        assert_eq!(priority(".init_array.00101", ".init_array"), 101);
        assert_eq!(priority(".init_array.65535", ".init_array"), 65535);
        assert_eq!(priority(".init_array", ".init_array"), u16::MAX);
        assert_eq!(priority(".init_array.x", ".init_array"), u16::MAX);
    }
}
