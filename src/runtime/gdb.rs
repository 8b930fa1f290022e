//! The GDB JIT interface (`gdb/jit.c`, "JIT Compilation Interface" in GDB's
//! manual; LLDB reads it too).
//!
//! The process exports `__jit_debug_descriptor`, a doubly linked list of
//! in-memory object files, and `__jit_debug_register_code`, an empty function
//! the debugger puts a breakpoint on. To tell it about a change, relink links
//! or unlinks an entry, sets `action_flag` and `relevant_entry`, and calls the
//! function. The list is process-wide: one lock serialises every linker.
//!
//! What relink hands the debugger, per loaded object, is an ELF image:
//! - for an ELF object, a copy of the file whose allocated sections' `sh_addr`
//!   are their load (target) addresses. GDB takes those as the sections'
//!   addresses, reads the symbol table against them and applies the debug
//!   sections' relocations itself, so `-g` objects get source lines (this is
//!   what LLVM's RuntimeDyld hands it, too);
//! - for a Mach-O object, a small synthesized ELF with one `SHT_NOBITS` section
//!   per placed section at its load address and the object's symbols: names and
//!   frames, no source lines (GDB on Linux has no Mach-O reader).
//!
//! An entry is unregistered when its object is unloaded, or replaced (the new
//! version registers its own), and when the linker is dropped.

use std::sync::Mutex;

use crate::arch::Arch;
use crate::input::{Binding, Class, Definition, Format, Object, Role, SymbolKind};

#[repr(C)]
struct JitCodeEntry {
    next: *mut JitCodeEntry,
    prev: *mut JitCodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// GDB's `struct jit_descriptor`, version 1.
#[repr(C)]
pub struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut JitCodeEntry,
    first_entry: *mut JitCodeEntry,
}

const JIT_REGISTER: u32 = 1;
const JIT_UNREGISTER: u32 = 2;

/// The list the debugger reads. Written only with `LOCK` held.
#[no_mangle]
#[used]
pub static mut __jit_debug_descriptor: JitDescriptor = JitDescriptor {
    version: 1,
    action_flag: 0,
    relevant_entry: std::ptr::null_mut(),
    first_entry: std::ptr::null_mut(),
};

/// The debugger's breakpoint. It must stay a real, separate function.
#[no_mangle]
#[inline(never)]
pub extern "C" fn __jit_debug_register_code() {
    // Keeps the body from being merged with another empty function or removed.
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    std::hint::black_box(());
}

static LOCK: Mutex<()> = Mutex::new(());

/// One object's entry in the debugger's list; unregistered when dropped.
pub(crate) struct Registration {
    entry: Box<JitCodeEntry>,
    _image: Box<[u8]>,
}

// SAFETY: the raw pointers in `entry` are only touched with `LOCK` held.
unsafe impl Send for Registration {}
unsafe impl Sync for Registration {}

/// Registers `image` with the debugger.
pub(crate) fn register(image: Vec<u8>) -> Registration {
    let image = image.into_boxed_slice();
    let mut entry = Box::new(JitCodeEntry {
        next: std::ptr::null_mut(),
        prev: std::ptr::null_mut(),
        symfile_addr: image.as_ptr(),
        symfile_size: image.len() as u64,
    });
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the descriptor and the list are only changed with LOCK held; the
    // entry is boxed, so its address is stable until it is unlinked in drop.
    unsafe {
        let d = std::ptr::addr_of_mut!(__jit_debug_descriptor);
        let e: *mut JitCodeEntry = &mut *entry;
        (*e).next = (*d).first_entry;
        if !(*d).first_entry.is_null() {
            (*(*d).first_entry).prev = e;
        }
        (*d).first_entry = e;
        (*d).relevant_entry = e;
        (*d).action_flag = JIT_REGISTER;
        __jit_debug_register_code();
    }
    Registration {
        entry,
        _image: image,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: as in `register`: the entry is in the list, LOCK is held.
        unsafe {
            let d = std::ptr::addr_of_mut!(__jit_debug_descriptor);
            let e: *mut JitCodeEntry = &mut *self.entry;
            if !(*e).prev.is_null() {
                (*(*e).prev).next = (*e).next;
            } else {
                (*d).first_entry = (*e).next;
            }
            if !(*e).next.is_null() {
                (*(*e).next).prev = (*e).prev;
            }
            (*d).relevant_entry = e;
            (*d).action_flag = JIT_UNREGISTER;
            __jit_debug_register_code();
            (*d).relevant_entry = std::ptr::null_mut();
        }
    }
}

#[cfg(any(test, feature = "testing"))]
/// Entries currently in the debugger's list (every linker's).
pub fn registered_entries() -> usize {
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut n = 0;
    // SAFETY: the list is consistent while LOCK is held.
    unsafe {
        let mut e = (*std::ptr::addr_of!(__jit_debug_descriptor)).first_entry;
        while !e.is_null() {
            n += 1;
            e = (*e).next;
        }
    }
    n
}

/// The image to register for `object`, whose sections were placed at `placed`
/// (target address per section, `None` where not loaded).
/// `unwind` gives the relocated contents of an unwind section (for Mach-O,
/// whose image carries them as `.eh_frame` so the debugger can unwind).
pub(crate) fn image(
    object: &Object,
    placed: &[Option<u64>],
    unwind: &dyn Fn(usize) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    match object.format {
        Format::Elf => elf_copy(object, placed),
        Format::MachO => Some(synthesized(object, placed, unwind)),
    }
}

/// A copy of an ELF object with its loaded sections' `sh_addr` set.
fn elf_copy(object: &Object, placed: &[Option<u64>]) -> Option<Vec<u8>> {
    let mut image = object.file.to_vec();
    let read = |b: &[u8], at: usize, n: usize| -> Option<u64> {
        let s = b.get(at..at + n)?;
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(s);
        Some(u64::from_le_bytes(v))
    };
    let shoff = read(&image, 0x28, 8)? as usize;
    let shentsize = read(&image, 0x3a, 2)? as usize;
    if shentsize < 64 {
        return None;
    }
    for (section, address) in object.sections.iter().zip(placed) {
        let (Some(address), i) = (address, section.file_index as usize) else {
            continue;
        };
        let at = shoff
            .checked_add(i.checked_mul(shentsize)?)?
            .checked_add(0x10)?;
        image
            .get_mut(at..at + 8)?
            .copy_from_slice(&address.to_le_bytes());
    }
    Some(image)
}

/// One ELF64 section header.
#[derive(Default)]
struct Shdr {
    name: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;

/// Appends `name` to a string table, returning its offset.
fn intern(table: &mut Vec<u8>, name: &str) -> u32 {
    let at = table.len() as u32;
    table.extend_from_slice(name.as_bytes());
    table.push(0);
    at
}

/// Appends `data` to `file` at an 8-byte boundary, returning its offset.
fn append(file: &mut Vec<u8>, data: &[u8]) -> u64 {
    file.resize(file.len().next_multiple_of(8), 0);
    let at = file.len() as u64;
    file.extend_from_slice(data);
    at
}

/// A minimal ELF: one `SHT_NOBITS` section per placed section (at its load
/// address), `.symtab`, `.strtab`, `.shstrtab`.
fn synthesized(
    object: &Object,
    placed: &[Option<u64>],
    unwind: &dyn Fn(usize) -> Option<Vec<u8>>,
) -> Vec<u8> {
    let mut file = vec![0u8; 64];
    let mut shstr = vec![0u8];
    let mut strtab = vec![0u8];
    let mut headers = vec![Shdr::default()];
    let mut index_of = vec![0u16; object.sections.len()];
    for (i, (s, at)) in object.sections.iter().zip(placed).enumerate() {
        let Some(at) = at else { continue };
        index_of[i] = headers.len() as u16;
        let flags = match s.class {
            Class::Code => SHF_ALLOC | SHF_EXECINSTR,
            Class::ReadOnly => SHF_ALLOC,
            Class::Data | Class::Zero => SHF_ALLOC | SHF_WRITE,
        };
        let contents = (s.role == Role::EhFrame).then(|| unwind(i)).flatten();
        let (name, kind, offset) = match &contents {
            Some(bytes) => (".eh_frame", SHT_PROGBITS, append(&mut file, bytes)),
            None => (s.name, SHT_NOBITS, 0),
        };
        headers.push(Shdr {
            name: intern(&mut shstr, name),
            kind,
            flags,
            addr: *at,
            offset,
            size: s.size,
            align: s.align,
            ..Shdr::default()
        });
    }
    // Locals first, as ELF requires; `info` is the index of the first global.
    let mut symbols: Vec<(bool, [u8; 24])> = Vec::new();
    for sym in &object.symbols {
        let Definition::Section { section, offset } = sym.definition else {
            continue;
        };
        let shndx = index_of[section.0 as usize];
        if shndx == 0 || sym.name.is_empty() || sym.kind == SymbolKind::Section {
            continue;
        }
        let kind = if object.section(section).class == Class::Code {
            2 // STT_FUNC
        } else {
            1 // STT_OBJECT
        };
        let global = sym.binding != Binding::Local;
        let mut e = [0u8; 24];
        e[0..4].copy_from_slice(&intern(&mut strtab, sym.name).to_le_bytes());
        e[4] = (u8::from(global) << 4) | kind;
        e[6..8].copy_from_slice(&shndx.to_le_bytes());
        e[8..16].copy_from_slice(&offset.to_le_bytes());
        e[16..24].copy_from_slice(&sym.size.to_le_bytes());
        symbols.push((global, e));
    }
    symbols.sort_by_key(|(global, _)| *global);
    let first_global = 1 + symbols.iter().filter(|(g, _)| !g).count() as u32;
    let mut symtab = vec![0u8; 24];
    for (_, e) in &symbols {
        symtab.extend_from_slice(e);
    }

    let strtab_index = headers.len() as u32 + 1;
    headers.push(Shdr {
        name: intern(&mut shstr, ".symtab"),
        kind: SHT_SYMTAB,
        offset: append(&mut file, &symtab),
        size: symtab.len() as u64,
        link: strtab_index,
        info: first_global,
        align: 8,
        entsize: 24,
        ..Shdr::default()
    });
    headers.push(Shdr {
        name: intern(&mut shstr, ".strtab"),
        kind: SHT_STRTAB,
        offset: append(&mut file, &strtab),
        size: strtab.len() as u64,
        align: 1,
        ..Shdr::default()
    });
    let shstrndx = headers.len() as u16;
    let name = intern(&mut shstr, ".shstrtab");
    headers.push(Shdr {
        name,
        kind: SHT_STRTAB,
        offset: append(&mut file, &shstr),
        size: shstr.len() as u64,
        align: 1,
        ..Shdr::default()
    });
    let shoff = append(&mut file, &[]);
    for h in &headers {
        file.extend_from_slice(&h.name.to_le_bytes());
        file.extend_from_slice(&h.kind.to_le_bytes());
        for v in [h.flags, h.addr, h.offset, h.size] {
            file.extend_from_slice(&v.to_le_bytes());
        }
        file.extend_from_slice(&h.link.to_le_bytes());
        file.extend_from_slice(&h.info.to_le_bytes());
        file.extend_from_slice(&h.align.to_le_bytes());
        file.extend_from_slice(&h.entsize.to_le_bytes());
    }
    let machine: u16 = match object.arch {
        Arch::X86_64 => 62,   // EM_X86_64
        Arch::Aarch64 => 183, // EM_AARCH64
    };
    let h = &mut file[..64];
    h[0..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // ELFDATA2LSB
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h[60..62].copy_from_slice(&(headers.len() as u16).to_le_bytes());
    h[62..64].copy_from_slice(&shstrndx.to_le_bytes());
    file
}
