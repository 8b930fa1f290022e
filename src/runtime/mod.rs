//! What touches the process beyond memory: constructors and destructors, and
//! `__cxa_finalize` on each object's own `__dso_handle`.
//! (Unwind registration, the GDB JIT interface and perf maps come later.)
//!
//! Order is what `ld`'s default script gives an executable: `.init_array.N` entries
//! of *all* objects of a batch sorted by priority, then the unprioritised ones in
//! load order, then `.ctors` (each section backwards). Destructors run the exact
//! reverse of that list, after the `__cxa_atexit` handlers each object registered
//! (`exit` runs those before `_dl_fini`).

use crate::input::{Class, Role};
use crate::linker::{Linker, Loaded, ObjectId};

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
        // SAFETY: glibc's __cxa_finalize runs and forgets the handlers registered
        // with this handle; the object's code is still mapped while they run.
        unsafe { __cxa_finalize(o.dso_handle as *mut libc::c_void) };
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

fn call(f: u64) {
    // SAFETY: `f` came from a relocated constructor/destructor table of a loaded
    // object: the compiler put a `void (*)(void)` there and relink relocated it.
    let f: extern "C" fn() = unsafe { std::mem::transmute(f as usize) };
    f();
}
