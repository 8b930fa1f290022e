//! What touches the process beyond memory: constructors and destructors, and
//! `__cxa_finalize` on each object's own `__dso_handle` (here); unwind tables
//! (`unwind.rs`), the GDB JIT interface (`gdb.rs`) and perf map files (`perf.rs`).
//!
//! Order is what `ld`'s default script gives an executable: `.init_array.N` entries
//! of *all* objects of a batch sorted by priority, then the unprioritised ones in
//! load order, then `.ctors` (each section backwards). Destructors run the exact
//! reverse of that list, after the `__cxa_atexit` handlers each object registered
//! (`exit` runs those before `_dl_fini`).

pub(crate) mod elf_image;
pub mod gdb;
pub mod perf;
pub mod static_tls;
pub mod tls;
pub(crate) mod unwind;

use crate::error::Result;
use crate::input::{Class, Definition, Object, Role, SectionId, SymbolKind};
use crate::linker::{Linker, Loaded, ObjectId};
use crate::load::Layout;

extern "C" {
    fn __cxa_finalize(dso_handle: *mut libc::c_void);
}

/// Runs the constructors of `ids` (one batch) in link order.
pub(crate) fn run_constructors(linker: &Linker, ids: &[ObjectId]) {
    let objects: Vec<&Loaded> = ids.iter().filter_map(|id| linker.objects.get(id)).collect();
    for f in ordered(linker, &objects, true) {
        call(f);
    }
}

/// Runs the destructors of `ids`: first each object's `__cxa_atexit` handlers
/// (newest object first), then `.fini_array`/`.dtors` in reverse link order.
/// Called once per object, at unload or when the linker is dropped.
pub(crate) fn run_destructors(linker: &Linker, ids: &[ObjectId]) {
    let objects: Vec<&Loaded> = ids.iter().filter_map(|id| linker.objects.get(id)).collect();
    run_destructors_of(linker, &objects);
}

/// As [`run_destructors`], for object records (also a replaced, retired version).
pub(crate) fn run_destructors_of(linker: &Linker, objects: &[&Loaded]) {
    for o in objects.iter().rev() {
        // The exit handlers of older versions whose state this one kept follow.
        let handles =
            std::iter::once(o.dso_handle).chain(o.older.iter().rev().map(|v| v.dso_handle));
        for handle in handles {
            // SAFETY: glibc's __cxa_finalize runs and forgets the handlers
            // registered with this handle; their code is still mapped.
            unsafe { __cxa_finalize(handle as *mut libc::c_void) };
        }
    }
    let mut list = ordered(linker, objects, false);
    list.reverse();
    for f in list {
        call(f);
    }
}

/// The function pointers of the objects' constructor (or destructor) tables, in
/// the order ld would lay them out in one executable.
fn ordered(linker: &Linker, objects: &[&Loaded], init: bool) -> Vec<u64> {
    let mut arrays: Vec<(u16, Vec<u64>)> = Vec::new();
    let mut olds: Vec<u64> = Vec::new();
    for object in objects {
        for s in &object.sections {
            match (s.role, init) {
                (Role::InitArray { priority }, true) | (Role::FiniArray { priority }, false) => {
                    arrays.push((priority, read_pointers(linker, s.offset, s.size, s.class)))
                }
                (Role::Ctors, true) | (Role::Dtors, false) => {
                    let mut v = read_pointers(linker, s.offset, s.size, s.class);
                    v.reverse();
                    olds.extend(v);
                }
                _ => {}
            }
        }
    }
    // Stable: equal priorities keep load order.
    arrays.sort_by_key(|(p, _)| *p);
    let mut out: Vec<u64> = arrays.into_iter().flat_map(|(_, v)| v).collect();
    out.extend(olds);
    out
}

fn read_pointers(linker: &Linker, offset: u64, size: u64, class: Class) -> Vec<u64> {
    let Some(space) = linker.space.as_ref() else {
        return Vec::new();
    };
    if size == 0 || class == Class::Zero {
        return Vec::new();
    }
    space
        .region
        .bytes(offset, size)
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .filter(|f| *f != 0 && *f != u64::MAX)
        .collect()
}

/// glibc's `__ifunc_arg_t` (AArch64): what resolvers get as their second argument.
#[repr(C)]
struct IfuncArg {
    size: u64,
    hwcap: u64,
    hwcap2: u64,
}

/// `_IFUNC_ARG_HWCAP`: tells an AArch64 resolver that its second argument is valid.
const IFUNC_ARG_HWCAP: u64 = 1 << 62;

/// Calls an `STT_GNU_IFUNC` resolver as glibc's dynamic linker does, and returns
/// the implementation's address. On AArch64 it gets `(hwcap | _IFUNC_ARG_HWCAP,
/// &__ifunc_arg_t)`; x86-64 resolvers take no arguments (the extra ones are
/// ignored by the C calling convention).
pub(crate) fn call_resolver(resolver: u64) -> u64 {
    // SAFETY: getauxval only reads the process's auxiliary vector.
    let (hwcap, hwcap2) = unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(libc::AT_HWCAP2),
        )
    };
    let arg = IfuncArg {
        size: std::mem::size_of::<IfuncArg>() as u64,
        hwcap,
        hwcap2,
    };
    // SAFETY: `resolver` is the value of an STT_GNU_IFUNC symbol of a loaded,
    // relocated object whose code is executable and coherent: the compiler made it
    // a function returning a code address, taking at most these arguments.
    let f: extern "C" fn(u64, *const IfuncArg) -> u64 =
        unsafe { std::mem::transmute(resolver as usize) };
    f(hwcap | IFUNC_ARG_HWCAP, &arg)
}

fn call(f: u64) {
    // SAFETY: `f` came from a relocated constructor/destructor table of a loaded
    // object: the compiler put a `void (*)(void)` there and relink relocated it.
    let f: extern "C" fn() = unsafe { std::mem::transmute(f as usize) };
    f();
}

impl Linker {
    /// Validates the unwind sections of a linked (not yet committed) object.
    pub(crate) fn unwind_frames(
        &mut self,
        object: &Object,
        layout: &Layout,
    ) -> Result<Vec<unwind::Frames>> {
        let Some(space) = self.space.as_mut() else {
            return Ok(Vec::new());
        };
        let base = space.region.target_base();
        let at = |i: usize| layout.sections[i].map(|o| base + o);
        let ranges = |code: bool| -> Vec<(u64, u64)> {
            object
                .sections
                .iter()
                .enumerate()
                .filter(|(_, s)| !code || s.class == Class::Code)
                .filter_map(|(i, s)| at(i).map(|a| (a, a + s.size)))
                .collect()
        };
        let (code, all) = (ranges(true), ranges(false));
        let bounds = unwind::Bounds {
            code: &code,
            object: &all,
            region: (base, base + space.region.size()),
        };
        let mut frames = Vec::new();
        for (i, s) in object.sections.iter().enumerate() {
            let (Some(offset), Role::EhFrame) = (layout.sections[i], s.role) else {
                continue;
            };
            let bytes = space.region.bytes_mut(offset, s.size);
            let section = SectionId(i as u32);
            frames.push(unwind::validate(
                object,
                section,
                bytes,
                base + offset,
                &bounds,
            )?);
        }
        Ok(frames)
    }

    /// Registers a committed object with the unwinder, the debugger and perf.
    pub(crate) fn register(
        &mut self,
        object: &Object,
        id: ObjectId,
        placed: &[Option<u64>],
        frames: Vec<unwind::Frames>,
    ) {
        let debugger = self.space.as_ref().is_some_and(|s| s.debugger);
        let debug = debugger
            .then(|| {
                let region = &self.space.as_ref()?.region;
                let base = region.target_base();
                let unwind = |i: usize| {
                    let at = placed[i]?;
                    Some(region.bytes(at - base, object.sections[i].size).to_vec())
                };
                gdb::image(object, placed, &unwind)
            })
            .flatten()
            .map(gdb::register);
        let functions = Functions::place(object.named_code(), placed);
        if self.options.perf_map {
            perf::add_functions(functions.iter());
            if let (Some(space), Some(loaded)) = (self.space.as_ref(), self.objects.get(&id)) {
                let stubs = &space.stubs;
                let size = self.arch.stub_size() as u64;
                perf::add_stubs(loaded.defines.iter().chain(&loaded.refers).filter_map(|n| {
                    let slot = self.symbols.entry(*n).slot?;
                    Some((self.symbols.name(*n), stubs.stub_addr(slot), size))
                }));
            }
        }
        if let Some(loaded) = self.objects.get_mut(&id) {
            loaded.unwind = frames.into_iter().filter_map(unwind::register).collect();
            loaded.debug = debug;
            loaded.functions = functions;
        }
    }

    /// Names the loaded code at `address` (a return address from a backtrace, a
    /// sampled PC): the object, the function and the offset into it. Works for
    /// every loaded object, with or without debug information; `None` for
    /// addresses outside loaded functions (stubs, veneers, the host).
    pub fn symbolize(&self, address: u64) -> Option<Symbolized> {
        self.objects.values().find_map(|o| {
            let (name, start) = o.functions.find(address)?;
            Some(Symbolized {
                object: o.name.clone(),
                function: name.to_string(),
                offset: address - start,
            })
        })
    }

    /// Makes a shared library's symbols available to loaded objects (`dlopen` with
    /// `RTLD_GLOBAL`; the library stays loaded for the life of the process).
    ///
    /// `name` is passed to `dlopen` as given when it contains `/` or `.so`;
    /// otherwise it is a short name as for `-l`: `lib{name}.so`, then
    /// `lib{name}.so.N` for N = 0..9 (so `stdc++` finds `libstdc++.so.6` without
    /// the development symlink). C++ objects need `stdc++`.
    pub fn load_library(&mut self, name: &str) -> Result<()> {
        let candidates: Vec<String> = if name.contains('/') || name.contains(".so") {
            vec![name.to_string()]
        } else {
            std::iter::once(format!("lib{name}.so"))
                .chain((0..10).map(|n| format!("lib{name}.so.{n}")))
                .collect()
        };
        let mut reason = String::from("not found");
        for candidate in &candidates {
            let Ok(c) = std::ffi::CString::new(candidate.as_str()) else {
                break;
            };
            // SAFETY: dlopen with a NUL-terminated name; the handle is kept
            // forever (never dlclose'd), so symbols bound to it stay valid.
            let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
            if !handle.is_null() {
                return Ok(());
            }
            // SAFETY: dlerror returns a thread-local C string or null.
            let e = unsafe { libc::dlerror() };
            if !e.is_null() && candidates.len() == 1 {
                // SAFETY: non-null dlerror results are NUL-terminated.
                reason = unsafe { std::ffi::CStr::from_ptr(e) }
                    .to_string_lossy()
                    .into_owned();
            }
        }
        Err(crate::Error::Library {
            name: name.to_string(),
            reason,
        })
    }

    /// What this linker has registered with the process right now.
    pub fn registrations(&self) -> Registrations {
        let objects = self.objects.values();
        Registrations {
            unwind: objects
                .clone()
                .flat_map(|o| std::iter::once(o).chain(&o.older))
                .map(|o| o.unwind.len())
                .sum::<usize>()
                + self.retired_frames.len(),
            debugger: objects.filter(|o| o.debug.is_some()).count(),
        }
    }
}

/// An object's named code as its symbol table gives it, worked out from the
/// object alone (`Object::named_code`: on a batch's reading thread). Sizes
/// come from the symbol table; where it has none (Mach-O), from the next
/// symbol in the section.
#[derive(Debug, Default)]
pub struct NamedCode {
    names: String,
    /// `(section, offset, size, end of the name in `names`)`, sorted by section
    /// and offset; a name starts where the previous one ends.
    list: Vec<(SectionId, u64, u64, usize)>,
}

impl NamedCode {
    pub(crate) fn of(object: &Object) -> NamedCode {
        let mut starts: Vec<(SectionId, u64, &str, u64)> = object
            .symbols
            .iter()
            .filter(|s| !s.name.is_empty() && s.kind != SymbolKind::Section)
            .filter_map(|s| match s.definition {
                Definition::Section { section, offset }
                    if object.section(section).class == Class::Code =>
                {
                    Some((section, offset, s.name, s.size))
                }
                _ => None,
            })
            .collect();
        starts.sort_by_key(|(s, o, _, _)| (*s, *o));
        let mut names = String::with_capacity(starts.iter().map(|f| f.2.len()).sum());
        let mut list = Vec::with_capacity(starts.len());
        for (i, &(section, offset, name, size)) in starts.iter().enumerate() {
            let end = starts
                .get(i + 1)
                .filter(|n| n.0 == section && n.1 > offset)
                .map_or(object.section(section).size, |n| n.1);
            let size = if size > 0 {
                size
            } else {
                end.saturating_sub(offset)
            };
            if size > 0 {
                names.push_str(name);
                list.push((section, offset, size, names.len()));
            }
        }
        NamedCode { names, list }
    }
}

/// An object's named code for [`Linker::symbolize`] and perf maps: `(target
/// address, size, name)` sorted by address, the names in one string (a
/// `Box<str>` per function was a thousand objects' most frequent allocation).
#[derive(Debug, Default)]
pub struct Functions {
    names: String,
    /// `(address, size, start and end of the name in `names`)`.
    list: Vec<(u64, u64, usize, usize)>,
}

impl Functions {
    /// `code`, at the addresses its sections were `placed` at.
    fn place(code: &NamedCode, placed: &[Option<u64>]) -> Functions {
        let mut list = Vec::with_capacity(code.list.len());
        let mut start = 0;
        for &(section, offset, size, end) in &code.list {
            if let Some(base) = placed.get(section.0 as usize).copied().flatten() {
                list.push((base + offset, size, start, end));
            }
            start = end;
        }
        // Sections placed in order leave it sorted already.
        list.sort_by_key(|f| f.0);
        Functions {
            names: code.names.clone(),
            list,
        }
    }

    /// `(name, address, size)` of each function.
    fn iter(&self) -> impl Iterator<Item = (&str, u64, u64)> {
        (self.list.iter())
            .map(|&(address, size, start, end)| (&self.names[start..end], address, size))
    }

    /// The function containing `address`: its name and start.
    fn find(&self, address: u64) -> Option<(&str, u64)> {
        let i = self
            .list
            .partition_point(|f| f.0 <= address)
            .checked_sub(1)?;
        let (start, size, begin, end) = self.list[i];
        (address < start + size).then(|| (&self.names[begin..end], start))
    }
}

/// Where an address lies in loaded code ([`Linker::symbolize`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbolized {
    pub object: String,
    pub function: String,
    pub offset: u64,
}

/// Counts of a linker's live registrations ([`Linker::registrations`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registrations {
    /// Unwind sections registered with the unwinder (loaded objects', and those of
    /// replaced or unloaded versions not yet reclaimed).
    pub unwind: usize,
    /// Entries in the GDB JIT list.
    pub debugger: usize,
}
