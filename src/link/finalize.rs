//! Finalize: a linked object's unwind tables checked, then — once it is
//! committed — registered with the process's unwinder, the debugger and perf;
//! and constructors and destructors run, in the order `ld` would give one
//! executable (`.init_array.N` of a batch by priority, then unprioritised ones in
//! load order, then `.ctors`; destructors the exact reverse, after each object's
//! `__cxa_atexit` handlers). Constructors wait until the code they can reach
//! is complete ([`ready`]).

use crate::error::Result;
use crate::input::Class;
use crate::input::Object;
use crate::input::Role;
use crate::input::SectionId;
use crate::link::Layout;
use crate::link::Loaded;
use crate::link::{Objects, Space};
use crate::memory::remote::AtExit;
use crate::runtime::{self, gdb, perf, unwind, Functions};
use crate::symbols::Binding;
use crate::symbols::ObjectId;
use crate::symbols::SymbolTable;

/// Of the `pending` objects, those whose constructors may run: neither they
/// nor a pending object whose code they call (directly or through others)
/// refers strongly to a name nothing defines. Weak references never block;
/// objects whose constructors ran count as complete.
pub(crate) fn ready(
    symbols: &SymbolTable,
    objects: &Objects,
    pending: &[ObjectId],
) -> Vec<ObjectId> {
    let refers = |id: &ObjectId| objects.get(id).map_or(&[][..], |o| &o.refers[..]);
    // One look at each name in the common case, where nothing is undefined.
    let mut blocked: rustc_hash::FxHashSet<ObjectId> = (pending.iter())
        .filter(|id| {
            refers(id).iter().any(|&n| {
                let e = symbols.entry(n);
                e.is_unresolved() && symbols.refers(n, (**id, false))
            })
        })
        .copied()
        .collect();
    if blocked.is_empty() {
        return pending.to_vec();
    }
    // Whatever reaches a blocked object is blocked.
    loop {
        let more: Vec<ObjectId> = (pending.iter())
            .filter(|id| !blocked.contains(id))
            .filter(|id| {
                refers(id)
                    .iter()
                    .any(|&n| match symbols.entry(n).binding(None) {
                        Binding::Object(d) => blocked.contains(&d.object),
                        _ => false,
                    })
            })
            .copied()
            .collect();
        if more.is_empty() {
            break;
        }
        blocked.extend(more);
    }
    (pending.iter())
        .filter(|id| !blocked.contains(id))
        .copied()
        .collect()
}

/// Runs the constructors of `ids` (one batch) in link order.
pub(crate) fn run_constructors(space: &Space, objects: &Objects, ids: &[ObjectId]) {
    let objects: Vec<&Loaded> = ids.iter().filter_map(|id| objects.get(id)).collect();
    let host = runtime::Host(space.region.remote());
    for f in ordered(space, &objects, true) {
        host.call(f);
    }
}

/// Runs the destructors of `ids`: first each object's `__cxa_atexit` handlers
/// (newest object first), then `.fini_array`/`.dtors` in reverse link order.
/// Called once per object, at unload or when the linker is dropped.
pub(crate) fn run_destructors(space: &Space, objects: &Objects, ids: &[ObjectId]) {
    let objects: Vec<&Loaded> = ids.iter().filter_map(|id| objects.get(id)).collect();
    run_destructors_of(space, &objects);
}

/// As [`run_destructors`], for object records (also a replaced, retired version).
pub(crate) fn run_destructors_of(space: &Space, objects: &[&Loaded]) {
    let host = runtime::Host(space.region.remote());
    for step in destructors(space, objects) {
        match step {
            AtExit::Finalize(handle) => host.cxa_finalize(handle),
            AtExit::Call(f) => host.call(f),
        }
    }
}

/// What [`run_destructors`] would do for `ids`, as a list an executor runs at
/// exit, after the program's own exit handlers.
pub(crate) fn exit_list(space: &Space, objects: &Objects, ids: &[ObjectId]) -> Vec<AtExit> {
    let objects: Vec<&Loaded> = ids.iter().filter_map(|id| objects.get(id)).collect();
    destructors(space, &objects)
}

/// The destructor steps of `objects`, in the order they run.
fn destructors(space: &Space, objects: &[&Loaded]) -> Vec<AtExit> {
    let mut out = Vec::new();
    for o in objects.iter().rev() {
        // Only an object that can have registered any: `__cxa_finalize` takes a
        // lock and walks every exit handler and fork handler (5,001 objects
        // took 1 ms at exit).
        if o.exit_handlers {
            out.push(AtExit::Finalize(o.dso_handle));
        }
        // The exit handlers of older versions whose state this one kept follow.
        out.extend(o.older.iter().rev().map(|v| AtExit::Finalize(v.dso_handle)));
    }
    let mut list = ordered(space, objects, false);
    list.reverse();
    out.extend(list.into_iter().map(AtExit::Call));
    out
}

/// The function pointers of the objects' constructor (or destructor) tables, in
/// the order ld would lay them out in one executable.
pub(crate) fn ordered(space: &Space, objects: &[&Loaded], init: bool) -> Vec<u64> {
    let mut arrays: Vec<(u16, Vec<u64>)> = Vec::new();
    let mut olds: Vec<u64> = Vec::new();
    for object in objects.iter().filter(|o| o.tables) {
        for s in &object.sections {
            match (s.role, init) {
                (Role::InitArray { priority }, true) | (Role::FiniArray { priority }, false) => {
                    arrays.push((priority, read_pointers(space, s.offset, s.size, s.class)))
                }
                (Role::Ctors, true) | (Role::Dtors, false) => {
                    let mut v = read_pointers(space, s.offset, s.size, s.class);
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

pub(crate) fn read_pointers(space: &Space, offset: u64, size: u64, class: Class) -> Vec<u64> {
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

/// Validates the unwind sections of a linked (not yet committed) object.
pub(crate) fn unwind_frames(
    space: &mut Space,
    object: &Object,
    layout: &Layout,
) -> Result<Vec<unwind::Frames>> {
    let base = space.region.target_base();
    let at = |i: usize| layout.sections[i].map(|o| base + o);
    let ranges = |code: bool| -> Vec<(u64, u64)> {
        (object.sections.iter().enumerate())
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
        let address = base + offset;
        frames.push(unwind::validate(object, section, bytes, address, &bounds)?);
    }
    Ok(frames)
}

/// Registers a committed object (`loaded`) with the unwinder, the debugger
/// and (as `perf` asks) perf.
pub(crate) fn register(
    space: &Space,
    symbols: &SymbolTable,
    loaded: &mut Loaded,
    object: &Object,
    placed: &[Option<u64>],
    frames: Vec<unwind::Frames>,
    perf: perf::Perf,
) {
    let debug = space.debugger.then(|| {
        let region = &space.region;
        let base = region.target_base();
        let unwind = |i: usize| {
            let at = placed[i]?;
            Some(region.bytes(at - base, object.sections[i].size).to_vec())
        };
        gdb::image(object, placed, &unwind)
    });
    let functions = Functions::place(object.named_code(), placed);
    let size = object.arch.stub_size() as u64;
    let stubs = || {
        let names = loaded.defines.iter().chain(&loaded.refers);
        names.filter_map(|n| {
            let slot = symbols.entry(*n).slot?;
            Some((symbols.name(*n), space.stubs.stub_addr(slot), size))
        })
    };
    if perf.map {
        perf::add_functions(functions.iter());
        perf::add_stubs(stubs());
    }
    if perf.jitdump {
        let base = space.region.target_base();
        let code = |address: u64, size: u64| space.region.bytes(address - base, size);
        perf::dump_functions(functions.iter(), &code);
        perf::dump_stubs(stubs(), &code);
    }
    let remote = space.region.remote();
    loaded.unwind = (frames.into_iter())
        .filter_map(|f| unwind::register_in(remote, f))
        .collect();
    loaded.debug = debug.flatten().map(|image| gdb::register_in(remote, image));
    loaded.functions = functions;
}
