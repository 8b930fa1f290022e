//! Thread-local storage: loaded `__thread` variables used from several threads,
//! including threads started before the objects were loaded; cross-object TLS;
//! emulated TLS; static TLS (initial and local exec); TLS descriptors; unload,
//! reclaim and replace; Mach-O
//! thread-local variables (`__thread_vars` descriptors and relink's thunk).
//!
//! Objects and the native output come from `testdata/build-tls.sh`; the Mach-O ones
//! from `testdata/macho/build.sh` (program `tlv`).

mod common;

use std::ffi::CStr;
use std::os::raw::c_char;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use common::{arch, relink_command, run_with_timeout, testdata_dir};
use relink::{Linker, LinkerOptions, Placement};

fn obj(variant: &str, name: &str) -> PathBuf {
    common::object(&format!("tls/{variant}"), name)
}

/// `relink run vars.o threads.o` prints what the natively linked program printed.
fn program_matches_native(variant: &str) {
    program_matches_native_in_order(variant, ["vars", "threads"]);
}

/// The same with the objects in `order`.
fn program_matches_native_in_order(variant: &str, order: [&str; 2]) {
    let expected = std::fs::read_to_string(
        testdata_dir()
            .join("expected")
            .join(arch())
            .join("tls.stdout"),
    )
    .unwrap();
    let mut cmd = relink_command();
    cmd.arg("run")
        .arg(obj(variant, order[0]))
        .arg(obj(variant, order[1]));
    let out = run_with_timeout(cmd, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{variant}: status {}; stderr: {}",
        out.describe_status(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, expected, "{variant}");
}

#[test]
fn gcc_pic_program_matches_native() {
    program_matches_native("gcc");
}

#[test]
fn clang_pic_program_matches_native() {
    program_matches_native("clang");
}

#[test]
fn emulated_tls_program_matches_native() {
    program_matches_native("emutls");
}

#[cfg(target_arch = "aarch64")]
#[test]
fn gcc_trad_dialect_program_matches_native() {
    program_matches_native("gcc-trad");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn gcc_tls_descriptor_program_matches_native() {
    program_matches_native("gcc-gnu2");
}

/// In one batch (`relink run`, `load_files`) a thread-local variable may be
/// defined by an object after its user: the user's cells are written when the
/// batch ends.
#[test]
fn a_batch_may_define_thread_locals_after_their_users() {
    for variant in ["gcc", "clang", "gcc-nopic", "emutls"] {
        program_matches_native_in_order(variant, ["threads", "vars"]);
    }
    let mut l = Linker::new().unwrap();
    l.load_files(&[obj("gcc", "threads"), obj("gcc", "vars")])
        .unwrap();
    // SAFETY: the signature matches threads.c.
    let work: Work = unsafe { l.function("work").unwrap() };
    let out = call(work, 1);
    assert!(out.contains(FRESH), "{out}");
    // Defined by nobody in the batch: an error naming the user and the variable.
    let mut l = Linker::new().unwrap();
    let err = l
        .load_files(&[obj("gcc", "threads")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("threads.o") && err.contains("`shared_counter`"),
        "{err}"
    );
    assert_eq!(l.objects().count(), 0, "the object that failed is gone");
    assert_eq!(l.memory().live, 0);
    // Not defined by the rest of the batch either (emutls' vars.o defines
    // `__emutls_v.shared_counter`): the user is taken out, the rest stays.
    let mut l = Linker::new().unwrap();
    let err = l
        .load_files(&[obj("gcc", "threads"), obj("emutls", "vars")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("threads.o") && err.contains("`shared_counter`"),
        "{err}"
    );
    let names: Vec<String> = l.objects().map(|(_, n)| n.to_string()).collect();
    assert!(
        names.len() == 1 && names[0].ends_with("emutls/vars.o"),
        "{names:?}"
    );
}

#[test]
fn gcc_no_pic_static_tls_program_matches_native() {
    program_matches_native("gcc-nopic");
}

#[test]
fn gcc_pie_static_tls_program_matches_native() {
    program_matches_native("gcc-pie");
}

#[test]
fn clang_no_pic_static_tls_program_matches_native() {
    program_matches_native("clang-nopic");
}

type Work = extern "C" fn(i32, *mut c_char, i32) -> i32;
type Addr = extern "C" fn() -> *mut i32;

/// Calls `work(k)` and returns its summary line.
fn call(work: Work, k: i32) -> String {
    let mut buf = [0 as c_char; 200];
    work(k, buf.as_mut_ptr(), buf.len() as i32);
    // SAFETY: snprintf wrote a NUL-terminated string into `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

const FRESH: &str = "first=7033 fresh=1 shared0=100";

fn load(variant: &str) -> (Linker, Work, Addr) {
    // -fno-pic code has 32-bit absolute addresses (x86-64): place it low.
    let mut l = Linker::with_options(LinkerOptions::new().placement(
        if variant.contains("nopic") {
            Placement::Low
        } else {
            Placement::default()
        },
    ))
    .unwrap();
    l.load_file(obj(variant, "vars")).unwrap();
    l.load_file(obj(variant, "threads")).unwrap();
    // SAFETY: the signatures match threads.c.
    let work: Work = unsafe { l.function("work").unwrap() };
    let addr: Addr = unsafe { l.function("counter_address").unwrap() };
    (l, work, addr)
}

/// Each thread has its own initialised copy: the main thread, a thread started
/// before the objects were loaded, and threads started after.
fn every_thread_sees_its_own_initialised_copy(variant: &str) {
    let (go_tx, go_rx) = mpsc::channel::<(usize, usize)>();
    let (done_tx, done_rx) = mpsc::channel::<(String, String, usize)>();
    // The early thread stays alive until the others have their copies: a block
    // freed at its exit could otherwise be reused at the same address.
    let (finish_tx, finish_rx) = mpsc::channel::<()>();
    let early = std::thread::spawn(move || {
        let (work, addr) = go_rx.recv().unwrap();
        // SAFETY: the addresses are the loaded functions, sent as integers.
        let (work, addr): (Work, Addr) = unsafe {
            (
                std::mem::transmute::<usize, Work>(work),
                std::mem::transmute::<usize, Addr>(addr),
            )
        };
        let first = call(work, 2);
        let second = call(work, 1);
        done_tx.send((first, second, addr() as usize)).unwrap();
        finish_rx.recv().unwrap();
    });
    let (l, work, addr) = load(variant);
    let main_first = call(work, 5);
    assert!(main_first.contains(FRESH), "{variant} main: {main_first}");
    assert!(
        main_first.contains("counter=32 ") && main_first.contains("shared=105"),
        "{main_first}"
    );
    go_tx.send((work as usize, addr as usize)).unwrap();
    let (first, second, early_addr) = done_rx.recv().unwrap();
    assert!(first.contains(FRESH), "{variant} early thread: {first}");
    assert!(first.contains("counter=11 "), "{first}");
    assert!(second.contains("first=11"), "its own copy kept: {second}");
    let late = std::thread::spawn(move || (call(work, 3), addr() as usize))
        .join()
        .unwrap();
    assert!(late.0.contains(FRESH), "{variant} late thread: {}", late.0);
    let mine = addr() as usize;
    assert!(mine != early_addr && mine != late.1 && early_addr != late.1);
    finish_tx.send(()).unwrap();
    early.join().unwrap();
    // The main thread's copy was not disturbed by the others.
    let again = call(work, 1);
    assert!(again.contains("first=32633"), "{again}");
    drop(l);
}

#[test]
fn gcc_pic_every_thread_sees_its_own_initialised_copy() {
    every_thread_sees_its_own_initialised_copy("gcc");
}

#[test]
fn clang_pic_every_thread_sees_its_own_initialised_copy() {
    every_thread_sees_its_own_initialised_copy("clang");
}

#[test]
fn emulated_tls_every_thread_sees_its_own_initialised_copy() {
    every_thread_sees_its_own_initialised_copy("emutls");
}

/// Static TLS (initial and local exec): the C library initialised the block of
/// the thread that was running before the load too. The only in-process static
/// TLS test of this binary: the C library's surplus is small (tests/static_tls.rs
/// has the rest, one at a time).
#[test]
fn gcc_no_pic_every_thread_sees_its_own_initialised_copy() {
    every_thread_sees_its_own_initialised_copy("gcc-nopic");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn gcc_tls_descriptor_every_thread_sees_its_own_initialised_copy() {
    every_thread_sees_its_own_initialised_copy("gcc-gnu2");
}

#[test]
fn replace_gives_fresh_thread_locals_and_unload_reclaim_frees_them() {
    let (mut l, work, _) = load("gcc");
    let before = call(work, 4);
    assert!(before.contains(FRESH), "{before}");
    // Replacing threads.o gives it a new module: this thread's new copy starts
    // from the initial values; vars.o's `shared_counter` keeps this thread's value.
    let id = l
        .objects()
        .find(|(_, n)| n.ends_with("threads.o"))
        .map(|(id, _)| id)
        .unwrap();
    let bytes = std::fs::read(obj("gcc", "threads")).unwrap();
    l.replace(id, &bytes).unwrap();
    let work: Work = unsafe { l.function("work").unwrap() };
    let after = call(work, 1);
    assert!(after.contains("first=7033 fresh=1 shared0=104"), "{after}");
    unsafe { l.reclaim() };
    // Threads keep working after the old module was freed.
    let t = std::thread::spawn(move || call(work, 1)).join().unwrap();
    assert!(t.contains(FRESH), "{t}");
    l.unload(id).unwrap();
    unsafe { l.reclaim() };
    // A new load (reusing the freed module index) starts from the initial values.
    l.load_bytes("threads.o", &bytes).unwrap();
    let work: Work = unsafe { l.function("work").unwrap() };
    let again = call(work, 1);
    assert!(again.contains("first=7033 fresh=1 shared0=105"), "{again}");
}

/// More static TLS than the C library's surplus: a clear error naming the
/// variable and the remedy, which works.
#[test]
fn static_tls_beyond_the_surplus_is_an_error_with_a_remedy_that_works() {
    let huge = obj("huge", "huge");
    let out = run_with_timeout(
        {
            let mut c = relink_command();
            c.arg("run").arg(&huge);
            c
        },
        Duration::from_secs(300),
    );
    let msg = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains("huge.o")
            && msg.contains("`huge`")
            && msg.contains("static TLS")
            && msg.contains("GLIBC_TUNABLES=glibc.rtld.optional_static_tls"),
        "{msg}"
    );
    // The remedy the message gives: a larger surplus, set at process start.
    let mut cmd = relink_command();
    cmd.env("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=2000000")
        .arg("run")
        .arg(&huge);
    let out = run_with_timeout(cmd, Duration::from_secs(300));
    assert_eq!(
        out.status.code(),
        Some(42),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_thread_local_variable_nobody_defines_is_an_error() {
    let mut l = Linker::new().unwrap();
    let err = l.load_file(obj("gcc", "threads")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("threads.o") && msg.contains("`shared_counter`"),
        "{msg}"
    );
    // The failed load left nothing behind: loading in order works.
    l.load_file(obj("gcc", "vars")).unwrap();
    l.load_file(obj("gcc", "threads")).unwrap();
}

fn macho_tlv(name: &str) -> PathBuf {
    testdata_dir()
        .join("macho")
        .join("obj")
        .join(arch())
        .join("tlv")
        .join(format!("{name}.o"))
}

/// `relink run` of Mach-O objects with `__thread` variables (x86_64 natively, arm64
/// under qemu) prints what the same C built natively for Linux printed.
#[test]
fn macho_thread_local_program_matches_native() {
    let expected = std::fs::read_to_string(
        testdata_dir()
            .join("macho")
            .join("expected")
            .join(arch())
            .join("tlv.stdout"),
    )
    .unwrap();
    let mut cmd = relink_command();
    cmd.arg("run");
    for name in ["main", "out", "vars"] {
        cmd.arg(macho_tlv(name));
    }
    let out = run_with_timeout(cmd, Duration::from_secs(300));
    assert_eq!(
        out.status.code(),
        Some(0),
        "status {}; stderr: {}",
        out.describe_status(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}

type Bump = extern "C" fn(i32) -> i32;

/// A Mach-O `__thread` variable through relink's TLV thunk: a thread started before
/// the load, the main thread and a later thread each get their own initialised
/// copy; replacing the object gives everyone the new module's initial value.
#[test]
fn macho_thread_locals_are_per_thread_and_fresh_after_replace() {
    let (go_tx, go_rx) = mpsc::channel::<usize>();
    let (done_tx, done_rx) = mpsc::channel::<(i32, i32)>();
    let early = std::thread::spawn(move || {
        // SAFETY: the address of the loaded `shared_bump`, sent as an integer.
        let bump = unsafe { std::mem::transmute::<usize, Bump>(go_rx.recv().unwrap()) };
        done_tx.send((bump(1), bump(1))).unwrap();
    });
    let mut l = Linker::new().unwrap();
    let id = l.load_file(macho_tlv("vars")).unwrap();
    // SAFETY: `int shared_bump(int)`.
    let bump: Bump = unsafe { l.function("shared_bump").unwrap() };
    assert_eq!(bump(5), 105);
    go_tx.send(bump as usize).unwrap();
    assert_eq!(done_rx.recv().unwrap(), (101, 102));
    early.join().unwrap();
    assert_eq!(std::thread::spawn(move || bump(2)).join().unwrap(), 102);
    assert_eq!(bump(0), 105, "the main thread's copy was not disturbed");
    let bytes = std::fs::read(macho_tlv("vars")).unwrap();
    l.replace(id, &bytes).unwrap();
    unsafe { l.reclaim() };
    // SAFETY: as above.
    let bump: Bump = unsafe { l.function("shared_bump").unwrap() };
    assert_eq!(
        bump(0),
        100,
        "a replaced object starts from the initial value"
    );
    assert_eq!(std::thread::spawn(move || bump(3)).join().unwrap(), 103);
}
