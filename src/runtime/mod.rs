//! What touches the process beyond memory: constructors and destructors, and
//! `__cxa_finalize` on each object's own `__dso_handle`.
//! (Unwind registration, the GDB JIT interface and perf maps come later.)

use crate::input::{Class, Role};
use crate::linker::{Linker, ObjectId};

extern "C" {
    fn __cxa_finalize(dso_handle: *mut libc::c_void);
}

/// Runs an object's constructors: `.init_array` by priority, then in order; then
/// `.ctors` in reverse (the order ld gives them).
pub(crate) fn run_constructors(linker: &mut Linker, id: ObjectId) {
    for f in function_table(linker, id, true) {
        call(f);
    }
}

/// Runs an object's destructors (`.fini_array` in reverse priority order, then
/// `.dtors`), then `__cxa_finalize(__dso_handle)` for the `atexit`-style ones it
/// registered. Called once, at unload or when the linker is dropped.
pub(crate) fn run_destructors(linker: &mut Linker, id: ObjectId) {
    for f in function_table(linker, id, false) {
        call(f);
    }
    if let Some(o) = linker.objects.get(&id) {
        // SAFETY: glibc's __cxa_finalize runs and forgets the handlers registered
        // with this handle; the object's code is still mapped while they run.
        unsafe { __cxa_finalize(o.dso_handle as *mut libc::c_void) };
    }
}

/// The function pointers of an object's constructor (or destructor) tables, in the
/// order to call them.
fn function_table(linker: &mut Linker, id: ObjectId, init: bool) -> Vec<u64> {
    let Some(object) = linker.objects.get(&id) else {
        return Vec::new();
    };
    let mut arrays: Vec<(u16, usize)> = Vec::new();
    let mut olds: Vec<usize> = Vec::new();
    for (i, s) in object.sections.iter().enumerate() {
        match (s.role, init) {
            (Role::InitArray { priority }, true) | (Role::FiniArray { priority }, false) => {
                arrays.push((priority, i))
            }
            (Role::Ctors, true) | (Role::Dtors, false) => olds.push(i),
            _ => {}
        }
    }
    arrays.sort_by_key(|(p, _)| *p);
    let Some(space) = linker.space.as_ref() else {
        return Vec::new();
    };
    let read = |i: usize| -> Vec<u64> {
        let s = &object.sections[i];
        if s.size == 0 || s.class == Class::Zero {
            return Vec::new();
        }
        space
            .region
            .bytes(s.offset, s.size)
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .filter(|f| *f != 0 && *f != u64::MAX)
            .collect()
    };
    let mut out: Vec<u64> = arrays.iter().flat_map(|(_, i)| read(*i)).collect();
    if !init {
        out.reverse();
    }
    let mut old: Vec<u64> = olds.iter().flat_map(|i| read(*i)).collect();
    if init {
        old.reverse();
    }
    out.extend(old);
    out
}

fn call(f: u64) {
    // SAFETY: `f` came from a relocated constructor/destructor table of a loaded
    // object: the compiler put a `void (*)(void)` there and relink relocated it.
    let f: extern "C" fn() = unsafe { std::mem::transmute(f as usize) };
    f();
}
