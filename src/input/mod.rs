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

pub mod elf;
pub mod macho;

use crate::arch::{Arch, RelocKind};
use crate::error::{Error, Location, Result};

/// The most bytes relink will allocate for one object's sections (checked before
/// any allocation, so a `.bss` of 2^40 bytes is an error, not an out-of-memory).
pub const MAX_OBJECT_MEMORY: u64 = 512 << 20;

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
    /// Unwind tables, registered with the unwinder (later).
    EhFrame,
}

#[derive(Debug)]
pub struct Section<'a> {
    pub name: &'a str,
    pub class: Class,
    pub role: Role,
    /// Contents; empty for [`Class::Zero`].
    pub data: &'a [u8],
    pub size: u64,
    pub align: u64,
    pub relocs: Vec<Reloc>,
    /// The COMDAT group the section belongs to, if any.
    pub group: Option<usize>,
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

/// Parses an object in any supported format.
pub fn parse<'a>(name: &str, bytes: &'a [u8]) -> Result<Object<'a>> {
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
}

/// Parses `.init_array.N`-style priorities; no suffix means 65535 (runs last).
pub(crate) fn priority(name: &str, base: &str) -> u16 {
    name.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u16::MAX)
}
