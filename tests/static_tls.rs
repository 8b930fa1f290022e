//! Static TLS (initial and local exec) in the process: a module made static when
//! another object's initial-exec code needs it, refused once threads hold its
//! dynamic blocks; a failed load, replace, reclaim and dropping the linker give
//! their static TLS blocks back to relink's pool, and the next module takes a
//! block from there before asking the C library for one (the library holding
//! each block is counted in `/proc/self/maps`, the pool by relink).
//!
//! One test in this binary, so the count and the C library's small static TLS
//! surplus are this test's alone. Objects from `testdata/build-tls.sh`.

mod common;

use std::ffi::CStr;
use std::os::raw::c_char;
use std::path::PathBuf;

use relink::{Linker, LinkerOptions, Placement, Stage};

fn obj(variant: &str, name: &str) -> PathBuf {
    common::object(&format!("tls/{variant}"), name)
}

type Work = extern "C" fn(i32, *mut c_char, i32) -> i32;

fn call(l: &mut Linker, k: i32) -> String {
    // SAFETY: the signature matches threads.c.
    let work: Work = unsafe { l.function("work").unwrap() };
    let mut buf = [0 as c_char; 200];
    work(k, buf.as_mut_ptr(), buf.len() as i32);
    // SAFETY: snprintf wrote a NUL-terminated string into `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// A linker placed low: -fno-pic code has 32-bit absolute addresses.
fn low_linker() -> Linker {
    Linker::with_options(LinkerOptions::new().placement(Placement::Low)).unwrap()
}

/// Static TLS blocks in use: the libraries less the pooled ones.
fn held() -> usize {
    common::static_tls_libraries() - relink::runtime::static_tls::pooled()
}

#[test]
fn static_tls_is_taken_on_demand_and_given_back() {
    let base = held();
    let mapped = common::static_tls_libraries();

    // vars.o (-fPIC) has a dynamic module of its own; threads.o (-fno-pic) reads
    // its `shared_counter` with initial-exec code, so that module becomes static
    // (no thread has a block of it yet), and threads.o's own module is static.
    let mut l = low_linker();
    l.load_file(obj("gcc", "vars")).unwrap();
    assert_eq!(held(), base);
    let threads = l.load_file(obj("gcc-nopic", "threads")).unwrap();
    assert_eq!(held(), base + 2);
    // x86-64: `movq shared_counter@gottpoff(%rip), %r8` became `movq $offset, %r8`.
    if cfg!(target_arch = "x86_64") {
        assert_eq!(l.stats().relaxed, 1);
    }
    let first = call(&mut l, 2);
    assert!(first.contains("first=7033 fresh=1 shared0=100"), "{first}");
    // shared_now (general dynamic code in vars.o) sees the static block too.
    // SAFETY: `int shared_now(void)`.
    let shared_now: extern "C" fn() -> i32 = unsafe { l.function("shared_now").unwrap() };
    assert_eq!(shared_now(), 102);
    let t = std::thread::spawn(move || shared_now()).join().unwrap();
    assert_eq!(t, 100, "a new thread starts from the initial value");

    // A replace that fails after its fixups gives its static block back.
    let bytes = std::fs::read(obj("gcc-nopic", "threads")).unwrap();
    l.set_fail_at(Some(Stage::Fixup));
    assert!(l.replace(threads, &bytes).is_err());
    l.set_fail_at(None);
    assert_eq!(held(), base + 2);
    let old = call(&mut l, 1);
    assert!(
        old.contains("first=11273 "),
        "the old version still runs: {old}"
    );

    // Replace: a static block with fresh values (the failed replace's, from the
    // pool: no new library); the old one goes back to the pool at reclaim.
    let before = common::static_tls_libraries();
    l.replace(threads, &bytes).unwrap();
    assert_eq!(held(), base + 3);
    assert_eq!(
        common::static_tls_libraries(),
        before,
        "the pooled block was reused"
    );
    let fresh = call(&mut l, 1);
    assert!(fresh.contains("first=7033 fresh=1 shared0=103"), "{fresh}");
    unsafe { l.reclaim() };
    assert_eq!(held(), base + 2);

    // A module whose dynamic blocks threads already hold cannot become static.
    let mut other = low_linker();
    other.load_file(obj("gcc", "vars")).unwrap();
    // SAFETY: as above.
    let touch: extern "C" fn() -> i32 = unsafe { other.function("shared_now").unwrap() };
    assert_eq!(touch(), 100);
    let err = other
        .load_file(obj("gcc-nopic", "threads"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("threads.o")
            && err.contains("`shared_counter`")
            && err.contains("dynamic TLS"),
        "{err}"
    );
    assert_eq!(held(), base + 2, "the failed load took nothing");

    drop(other);
    l.unload(threads).unwrap();
    unsafe { l.reclaim() };
    assert_eq!(held(), base + 1);
    drop(l);
    assert_eq!(held(), base);
    assert!(
        common::static_tls_libraries() <= mapped + 3,
        "at most as many libraries as blocks were in use at once"
    );
}
