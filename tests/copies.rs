//! `-fno-pic` code that reads the process's variables with 32-bit fields:
//! `stdin`, `stdout`, `stderr`, `std::cout` and the rest get copies within reach
//! that become the variables (src/memory/copies.rs), as `ld`'s copy relocations
//! make them.
//!
//! Programs from `testdata/copies` (built by `testdata/build-copies.sh`, gcc and
//! clang-14 on x86-64, gcc on AArch64) run under `relink run`, fed `input.txt`,
//! and must print on stdout and stderr what their native `-no-pie` builds printed
//! and exit with the same status. On x86-64 their absolute references place the
//! region low, which makes the copies; on AArch64 (ADRP reaches ±4 GiB) the
//! region is forced low to make them, and the programs also run as placed by
//! default. Through the library: the loaded code, libc and the host see one
//! `optind`; a variable its library reads directly is refused, with nothing
//! changed.

mod common;

use std::fs::File;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{arch, relink_command, run_with_stdin, testdata_dir};
use relink::{Linker, LinkerOptions, Placement};

/// Generous: under qemu both relink and the program are emulated.
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// `testdata/obj/<arch>/copies/<file>`.
fn obj(file: &str) -> PathBuf {
    testdata_dir()
        .join("obj")
        .join(arch())
        .join("copies")
        .join(file)
}

fn expected(name: &str, what: &str) -> String {
    let path = testdata_dir()
        .join("expected")
        .join(arch())
        .join(format!("copies-{name}.{what}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `relink run [--placement WHERE] --stats <name>.o -- a b < input.txt` prints
/// and exits as the native build did; returns the variables it copied.
fn runs_as_native(name: &str, placement: &str) -> Vec<String> {
    let input = File::open(testdata_dir().join("copies/input.txt")).expect("input.txt");
    let mut cmd = relink_command();
    cmd.args(["run", "--stats", "--placement", placement])
        .arg(obj(&format!("{name}.o")))
        .args(["--", "a", "b"]);
    let out = run_with_stdin(cmd, Stdio::from(input), TIME_LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (relink_lines, program_lines): (Vec<&str>, Vec<&str>) =
        stderr.lines().partition(|l| l.starts_with("relink: "));
    let want_status: i32 = expected(name, "status").trim().parse().expect("status");
    assert_eq!(
        out.status.code(),
        Some(want_status),
        "{name} ({placement}): status {}; stderr: {stderr}",
        out.describe_status()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected(name, "stdout"),
        "{name} ({placement}): stdout"
    );
    let program_stderr: String = program_lines.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(
        program_stderr,
        expected(name, "stderr"),
        "{name} ({placement}): stderr"
    );
    relink_lines
        .iter()
        .filter_map(|l| l.strip_prefix("relink: copied process variable `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

/// The variants built for this architecture (testdata/build-copies.sh).
fn variants() -> &'static [&'static str] {
    if cfg!(target_arch = "x86_64") {
        &["gcc", "clang"]
    } else {
        &["gcc"]
    }
}

#[test]
fn stdio_programs_reading_and_reassigning_the_streams_run_as_native() {
    for v in variants() {
        let name = format!("stdio-{v}");
        let copied = runs_as_native(&name, "low");
        for var in ["stdin", "stdout", "stderr"] {
            assert!(
                copied.iter().any(|c| c == var),
                "{name}: {var} not copied: {copied:?}"
            );
        }
        if cfg!(target_arch = "x86_64") {
            // Absolute references to its own .rodata place it low by themselves.
            runs_as_native(&name, "auto");
        } else {
            // ADRP reaches libc from where the region goes by default: no copies.
            assert_eq!(
                runs_as_native(&name, "auto"),
                Vec::<String>::new(),
                "{name}"
            );
        }
    }
}

#[test]
fn iostream_programs_with_exceptions_and_unsynced_streams_run_as_native() {
    for v in variants() {
        let name = format!("iostream-{v}");
        let copied = runs_as_native(&name, "low");
        for var in ["_ZSt4cout", "_ZSt3cin", "_ZSt4cerr"] {
            assert!(
                copied.iter().any(|c| c == var),
                "{name}: {var} not copied: {copied:?}"
            );
        }
        runs_as_native(&name, "auto");
    }
}

/// Loaded code and libc (getopt) see one `optind` once the loaded code's
/// 32-bit references got a copy of it.
#[test]
fn loaded_code_and_libc_share_one_copied_variable() {
    let mut linker =
        Linker::with_options(LinkerOptions::new().placement(Placement::Low)).expect("linker");
    linker.load_file(obj("onevar.o")).expect("load onevar.o");
    let set: extern "C" fn(i32) -> i32 = unsafe { linker.function("set_optind") }.unwrap();
    let get: extern "C" fn() -> i32 = unsafe { linker.function("get_optind") }.unwrap();
    let address: extern "C" fn() -> *mut i32 =
        unsafe { linker.function("optind_address") }.unwrap();
    let copy = relink::process_copies()
        .into_iter()
        .find(|(n, _)| n == "optind")
        .map(|(_, c)| c)
        .expect("optind was copied");
    assert!(copy.copy < 1 << 31, "{copy:?}");
    assert!(copy.rebound >= 1, "libc's GOT entry: {copy:?}");
    assert_eq!(address() as u64, copy.copy);
    assert_eq!(linker.address("optind").unwrap() as u64, copy.copy);
    assert_eq!(set(2), 2);
    let args: Vec<std::ffi::CString> = ["prog", "-a", "-b"]
        .iter()
        .map(|s| std::ffi::CString::new(*s).unwrap())
        .collect();
    let mut argv: Vec<*mut std::ffi::c_char> = args.iter().map(|a| a.as_ptr() as *mut _).collect();
    argv.push(std::ptr::null_mut());
    // SAFETY: argv is NULL-terminated and outlives the call; only this test of
    // this binary uses getopt.
    let c = unsafe { libc::getopt(3, argv.as_mut_ptr(), c"ab".as_ptr()) };
    assert_eq!(
        c, b'b' as i32,
        "getopt began at the argv[2] loaded code set"
    );
    assert_eq!(get(), 3, "getopt's increment is seen by loaded code");
    set(1);
}

/// A -fPIC object reaching `stdout` through its GOT and a -fno-pic one reaching
/// it with 32-bit fields see one variable, whichever is loaded first (the GOT
/// entry of the one loaded before the copy is rebound to it).
#[test]
fn a_pic_and_a_non_pic_object_share_the_copied_variable_in_either_order() {
    for v in variants() {
        let main = obj(&format!("mixed_main-{v}.o"));
        let pic = obj(&format!("mixed_pic-{v}.o"));
        for (placement, order) in [
            ("low", [&pic, &main]),
            ("low", [&main, &pic]),
            ("auto", [&pic, &main]),
        ] {
            let mut cmd = relink_command();
            cmd.args(["run", "--placement", placement]).args(order);
            let out = common::run_with_timeout(cmd, TIME_LIMIT);
            let what = format!(
                "mixed-{v} ({placement}, {:?})",
                order.map(|p| p.file_name().unwrap())
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                expected(&format!("mixed-{v}"), "stdout"),
                "{what}"
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                expected(&format!("mixed-{v}"), "stderr"),
                "{what}"
            );
        }
    }
}

extern "C" {
    static mut opterr: std::ffi::c_int;
}

/// The host's `opterr`, read through its GOT at the call: not inlined, so the
/// compiler cannot reuse an address it loaded before the copy existed (GOT
/// entries are constant to it).
#[inline(never)]
fn host_opterr() -> *mut std::ffi::c_int {
    std::hint::black_box(&raw mut opterr)
}

/// The host refers to `opterr` too, through its GOT, which the copy rebinds:
/// host, loaded code and libc see one variable.
#[test]
fn the_hosts_own_reference_is_rebound() {
    let mut linker =
        Linker::with_options(LinkerOptions::new().placement(Placement::Low)).expect("linker");
    let before = host_opterr();
    linker.load_file(obj("opterr.o")).expect("load opterr.o");
    let set: extern "C" fn(i32) -> i32 = unsafe { linker.function("set_opterr") }.unwrap();
    let copy = relink::process_copies()
        .into_iter()
        .find(|(n, _)| n == "opterr")
        .map(|(_, c)| c)
        .expect("opterr was copied");
    assert_eq!(before as u64, copy.original);
    assert!(
        copy.rebound >= 2,
        "libc's GOT entry and the host's: {copy:?}"
    );
    let host = host_opterr();
    assert_eq!(host as u64, copy.copy, "the host's opterr");
    // SAFETY: `host` is libc's opterr (the copy); only this test of this binary
    // uses it.
    unsafe {
        assert_eq!(set(0), 0);
        assert_eq!(host.read(), 0);
        host.write(7);
        assert_eq!(set(-1), 7, "loaded code reads what the host wrote");
    }
    // The copy outlives the object and the linker: libc and the host keep using
    // it (the copy area is the process's, not the linker's region).
    let id = linker.objects().next().map(|(id, _)| id).unwrap();
    linker.unload(id).expect("unload opterr.o");
    drop(linker);
    assert_eq!(host_opterr() as u64, copy.copy);
    // SAFETY: as above.
    unsafe {
        assert_eq!(host.read(), 7);
        host.write(1);
        assert_eq!(host.read(), 1);
    }
    assert!(relink::process_copies().iter().any(|(n, _)| n == "opterr"));
}

/// A library that reads its own variable directly (protected visibility, no
/// GOT entry): a copy would split it, so relink refuses, naming the variable
/// and the rebuild, and the linker stays as it was.
#[test]
fn a_variable_its_library_reads_directly_is_refused() {
    let mut linker =
        Linker::with_options(LinkerOptions::new().placement(Placement::Low)).expect("linker");
    linker
        .load_library(obj("libprotected.so").to_str().unwrap())
        .expect("load libprotected.so");
    let before = linker.state_digest();
    let err = linker
        .load_file(obj("reads_libvar.o"))
        .expect_err("no sound copy of libvar exists")
        .to_string();
    assert!(err.contains("`libvar`"), "{err}");
    assert!(err.contains("-fPIC"), "{err}");
    assert!(err.contains("reads_libvar.o"), "{err}");
    assert_eq!(
        linker.state_digest(),
        before,
        "the failed load changed the linker"
    );
    assert!(
        !relink::process_copies().iter().any(|(n, _)| n == "libvar"),
        "libvar was copied"
    );
}
