//! Unwinding through loaded code: exceptions thrown by loaded C++ are caught by
//! C++ in the host (tests/cxxhost), a backtrace taken in a host callback walks
//! through the loaded frames and on into the host, unwind tables are validated
//! before they reach the unwinder, and their registrations follow unload,
//! replace and reclaim. Objects: testdata/unwind/<arch>/ (testdata/build-cxx.sh),
//! g++ (`gxx`) and clang + llc (`clang-llc`) builds of the same sources.

mod common;

use std::ffi::c_void;
use std::path::PathBuf;

use common::backtrace::{call_chain, frames, Chain};
use common::{arch, testdata_dir};
use relink::{Error, Linker};
use relink_cxxhost::{call1, call2, Outcome};

const VARIANTS: [&str; 2] = ["gxx", "clang-llc"];

fn object(variant: &str, name: &str) -> PathBuf {
    testdata_dir()
        .join("unwind")
        .join(arch())
        .join(format!("{variant}-{name}.o"))
}

fn linker() -> Linker {
    common::cxx_linker()
}

#[test]
fn host_catches_exceptions_thrown_by_loaded_code() {
    for variant in VARIANTS {
        let mut linker = linker();
        linker.load_file(object(variant, "thrower")).unwrap();
        let div: extern "C" fn(i32, i32) -> i32 = unsafe { linker.function("loaded_div").unwrap() };
        let deep: extern "C" fn(i32) -> i32 = unsafe { linker.function("loaded_deep").unwrap() };
        assert_eq!(call2(div, 42, 6), Outcome::Returned(7), "{variant}");
        assert_eq!(
            call2(div, 1, 0),
            Outcome::Threw("loaded_div: b is zero".into()),
            "{variant}: std::invalid_argument from loaded code"
        );
        // Ten loaded frames between the throw and the host's catch.
        assert_eq!(
            call1(deep, 10),
            Outcome::Threw("overflow in loaded code".into()),
            "{variant}: exception through ten loaded frames"
        );
        // And again after the first throw (the unwinder's caches are warm).
        assert_eq!(call2(div, 9, 3), Outcome::Returned(3), "{variant}");
        assert_eq!(
            call2(div, 9, 0),
            Outcome::Threw("loaded_div: b is zero".into())
        );
    }
}

/// `Linker::detach`: the linker is gone, its code stays callable and its unwind
/// tables registered — exceptions still cross the loaded frames into the host.
#[test]
fn exceptions_cross_loaded_code_after_the_linker_is_detached() {
    for variant in VARIANTS {
        let mut linker = linker();
        linker.load_file(object(variant, "thrower")).unwrap();
        let div: extern "C" fn(i32, i32) -> i32 = unsafe { linker.function("loaded_div").unwrap() };
        let deep: extern "C" fn(i32) -> i32 = unsafe { linker.function("loaded_deep").unwrap() };
        linker.detach();
        assert_eq!(call2(div, 42, 6), Outcome::Returned(7), "{variant}");
        assert_eq!(
            call2(div, 1, 0),
            Outcome::Threw("loaded_div: b is zero".into()),
            "{variant}: after detach"
        );
        assert_eq!(
            call1(deep, 10),
            Outcome::Threw("overflow in loaded code".into()),
            "{variant}: through ten loaded frames after detach"
        );
    }
}

fn backtrace_through(objects: &[PathBuf], what: &str) {
    let mut linker = Linker::new().unwrap();
    linker.load_files(objects).unwrap();
    let outer: Chain = unsafe { linker.function("chain_outer").unwrap() };
    // chain_outer(x) = (chain_inner(x + 1)) * 3 = ((2(x + 1) + 100) + 1) * 3
    assert_eq!(call_chain(outer, 4), (2 * 5 + 100 + 1) * 3, "{what}");
    let frames = frames();
    let named: Vec<String> = frames
        .iter()
        // A return address points after the call: look up ip - 1.
        .map(
            |ip| match linker.symbolize((*ip as u64).saturating_sub(1)) {
                Some(s) => format!("{ip:#x} {}+{:#x} in {}", s.function, s.offset, s.object),
                None => format!("{ip:#x} {}", host_name(*ip)),
            },
        )
        .collect();
    let shown = named.join("\n  ");
    let inner = named.iter().position(|n| n.contains(" chain_inner+"));
    let outer_at = named.iter().position(|n| n.contains(" chain_outer+"));
    let (Some(inner), Some(outer_at)) = (inner, outer_at) else {
        panic!("{what}: the loaded frames are missing from the backtrace:\n  {shown}");
    };
    assert!(inner < outer_at, "{what}: frames out of order:\n  {shown}");
    // The walk continues past the loaded frames into the host test function.
    let host = named[outer_at + 1..]
        .iter()
        .any(|n| n.contains("call_chain"));
    assert!(
        host,
        "{what}: the backtrace stops at the loaded frames:\n  {shown}"
    );
}

/// The host symbol at `ip`, through dladdr (the test binary exports none, so
/// this also compares against our own function's address range).
fn host_name(ip: usize) -> String {
    let start = call_chain as *const () as usize;
    if ip > start && ip < start + 512 {
        return "call_chain (host)".into();
    }
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the process's link map.
    if unsafe { libc::dladdr(ip as *const c_void, &mut info) } != 0 && !info.dli_sname.is_null() {
        // SAFETY: dladdr's name is a NUL-terminated string.
        return unsafe { std::ffi::CStr::from_ptr(info.dli_sname) }
            .to_string_lossy()
            .into_owned();
    }
    "(host)".into()
}

#[test]
fn host_backtrace_walks_through_loaded_frames() {
    for variant in VARIANTS {
        backtrace_through(&[object(variant, "chain")], variant);
    }
    #[cfg(target_arch = "x86_64")]
    backtrace_through(
        &[testdata_dir().join("unwind/x86_64/macho-chain.o")],
        "x86_64 Mach-O",
    );
}

#[repr(C)]
struct DwarfEhBases {
    tbase: *mut c_void,
    dbase: *mut c_void,
    func: *mut c_void,
}

extern "C" {
    fn _Unwind_Find_FDE(pc: *const c_void, bases: *mut DwarfEhBases) -> *const c_void;
}

/// Whether the process's unwinder has unwind information for `pc`.
fn unwinder_knows(pc: u64) -> bool {
    let mut bases = DwarfEhBases {
        tbase: std::ptr::null_mut(),
        dbase: std::ptr::null_mut(),
        func: std::ptr::null_mut(),
    };
    // SAFETY: a lookup in libgcc's registered objects; `bases` is written.
    !unsafe { _Unwind_Find_FDE(pc as *const c_void, &mut bases) }.is_null()
}

fn implementation(linker: &Linker, name: &str) -> u64 {
    linker.definition_address(name).unwrap() as u64
}

#[test]
fn registrations_follow_replace_unload_and_reclaim() {
    let mut linker = linker();
    let a = linker.load_file(object("gxx", "thrower")).unwrap();
    linker.load_file(object("gxx", "chain")).unwrap();
    assert_eq!(linker.registrations().unwind, 2);
    assert_eq!(linker.registrations().debugger, 2);
    let old = implementation(&linker, "loaded_div");
    assert!(unwinder_knows(old), "loaded code has no registered FDE");

    // Replace: the new version is registered; the old one stays registered
    // (a thread may still unwind through it) until reclaim.
    let bytes = std::fs::read(object("clang-llc", "thrower")).unwrap();
    linker.replace(a, &bytes).unwrap();
    let new = implementation(&linker, "loaded_div");
    assert_ne!(old, new);
    assert!(unwinder_knows(new));
    assert!(unwinder_knows(old));
    assert_eq!(linker.registrations().unwind, 3);
    assert_eq!(linker.registrations().debugger, 2);
    let div: extern "C" fn(i32, i32) -> i32 = unsafe { linker.function("loaded_div").unwrap() };
    assert_eq!(
        call2(div, 5, 0),
        Outcome::Threw("loaded_div: b is zero".into())
    );
    unsafe { linker.reclaim() };
    assert!(!unwinder_knows(old), "reclaimed code is still registered");
    assert!(unwinder_knows(new));
    assert_eq!(linker.registrations().unwind, 2);

    linker.unload(a).unwrap();
    assert_eq!(linker.registrations().debugger, 1);
    assert!(
        unwinder_knows(new),
        "unloaded code is unwindable until reclaim"
    );
    unsafe { linker.reclaim() };
    assert!(!unwinder_knows(new));
    assert_eq!(linker.registrations().unwind, 1);
    drop(linker);
}

/// Patches a relocated unwind section in a copy of an object so that
/// validation must refuse it: returns the error of loading the copy.
fn load_with_eh_frame_patch(patch: impl Fn(&mut [u8])) -> Error {
    use object::{Object, ObjectSection};
    let bytes = std::fs::read(object("gxx", "thrower")).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let eh = file.section_by_name(".eh_frame").unwrap();
    let (offset, size) = eh.file_range().unwrap();
    let mut copy = bytes.clone();
    patch(&mut copy[offset as usize..(offset + size) as usize]);
    let mut linker = linker();
    let before = linker.state_digest();
    let e = linker.load_bytes("patched.o", &copy).unwrap_err();
    assert_eq!(
        linker.state_digest(),
        before,
        "a refused load changed the linker"
    );
    assert_eq!(linker.registrations().unwind, 0);
    e
}

#[test]
fn malformed_unwind_tables_are_refused_before_the_unwinder_sees_them() {
    // A CIE length that runs past the section.
    let e = load_with_eh_frame_patch(|eh| eh[0..4].copy_from_slice(&0x7fff_0000u32.to_le_bytes()));
    let text = e.to_string();
    assert!(
        text.contains("patched.o") && text.contains(".eh_frame"),
        "{text}"
    );
    // A CIE with version 9.
    let e = load_with_eh_frame_patch(|eh| eh[8] = 9);
    assert!(e.to_string().contains(".eh_frame"), "{e}");
    // A 64-bit DWARF record.
    let e = load_with_eh_frame_patch(|eh| eh[0..4].copy_from_slice(&[0xff; 4]));
    assert!(e.to_string().contains("64-bit DWARF"), "{e}");
}

#[test]
fn an_fde_outside_the_objects_code_is_refused() {
    // Move the first FDE's PC range past the object's code: pc_range = 2^30.
    let e = load_with_eh_frame_patch(|eh| {
        let cie_len = u32::from_le_bytes(eh[0..4].try_into().unwrap()) as usize + 4;
        let fde = cie_len;
        eh[fde + 12..fde + 16].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    });
    let text = e.to_string();
    assert!(text.contains("not inside the object's code"), "{text}");
    assert!(text.contains(".eh_frame"), "{text}");
}
