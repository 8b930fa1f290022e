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

use super::elf_image;
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
    /// `None`: registered in an executor's process instead (`remote`).
    entry: Option<Box<JitCodeEntry>>,
    _image: Box<[u8]>,
    remote: Option<(std::sync::Arc<crate::memory::remote::Remote>, u64)>,
}

/// Registers `image` with the debugger of the process where code runs.
pub(crate) fn register_in(
    remote: Option<&std::sync::Arc<crate::memory::remote::Remote>>,
    image: Vec<u8>,
) -> Registration {
    match remote {
        None => register(image),
        Some(r) => Registration {
            entry: None,
            _image: Box::new([]),
            remote: Some((r.clone(), r.gdb_register(&image))),
        },
    }
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
        entry: Some(entry),
        _image: image,
        remote: None,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some((remote, handle)) = &self.remote {
            remote.gdb_deregister(*handle);
        }
        let Some(entry) = &mut self.entry else {
            return;
        };
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: as in `register`: the entry is in the list, LOCK is held.
        unsafe {
            let d = std::ptr::addr_of_mut!(__jit_debug_descriptor);
            let e: *mut JitCodeEntry = &mut **entry;
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
        Format::MachO => synthesized(object, placed, unwind),
    }
}

/// A copy of an ELF object with its loaded sections' `sh_addr` set.
fn elf_copy(object: &Object, placed: &[Option<u64>]) -> Option<Vec<u8>> {
    let placed = object.sections.iter().zip(placed);
    let placed = placed.filter_map(|(s, at)| Some((s.file_index as usize, (*at)?)));
    elf_image::with_addresses(object.file, placed)
}

/// A minimal ELF: one `SHT_NOBITS` section per placed section (at its load
/// address; the unwind section with its relocated bytes, as `.eh_frame`) and
/// the object's named symbols.
fn synthesized(
    object: &Object,
    placed: &[Option<u64>],
    unwind: &dyn Fn(usize) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let mut index_of = vec![None; object.sections.len()];
    let mut contents = Vec::new();
    let mut placed_sections = Vec::new();
    for (i, (s, at)) in object.sections.iter().zip(placed).enumerate() {
        let Some(address) = *at else { continue };
        index_of[i] = Some(placed_sections.len());
        let bytes = (s.role == Role::EhFrame).then(|| unwind(i)).flatten();
        let name: &[u8] = if bytes.is_some() {
            b".eh_frame"
        } else {
            s.name.as_bytes()
        };
        contents.push(bytes);
        placed_sections.push((s, name, address));
    }
    let sections: Vec<elf_image::Section> = placed_sections
        .iter()
        .zip(&contents)
        .map(|(&(s, name, address), bytes)| elf_image::Section {
            name,
            address,
            size: s.size,
            align: s.align,
            write: matches!(s.class, Class::Data | Class::Zero),
            execute: s.class == Class::Code,
            contents: bytes.as_deref(),
        })
        .collect();
    let symbols: Vec<elf_image::Symbol> = object
        .symbols
        .iter()
        .filter_map(|sym| {
            let Definition::Section { section, offset } = sym.definition else {
                return None;
            };
            let index = index_of[section.0 as usize]?;
            if sym.name.is_empty() || sym.kind == SymbolKind::Section {
                return None;
            }
            Some(elf_image::Symbol {
                name: sym.name.as_bytes(),
                section: index,
                offset,
                size: sym.size,
                global: sym.binding != Binding::Local,
                function: object.section(section).class == Class::Code,
            })
        })
        .collect();
    elf_image::relocatable(object.arch, &sections, &symbols)
}
