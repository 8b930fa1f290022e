//! Runs every test program of the corpus in `testdata/` through `relink run`
//! and compares its stdout and exit status with what the same program printed
//! when built by the system toolchain (`testdata/expected/<arch>/`).
//!
//! One test per (variant, program) pair of the architecture the tests are built
//! for, named `<variant>_<program>`: objects in `testdata/obj/<arch>/<variant>/<program>/`,
//! arguments (one per line) in `testdata/src/<program>/args`. The objects are
//! checked in; `bash testdata/build.sh` regenerates them. See testdata/README.md.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{arch, relink_command, run_with_timeout, testdata_dir, Outcome};

/// Generous: under qemu both relink and the program are emulated.
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// What `relink run` must do with a program's objects.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Print exactly `expected/<arch>/<prog>.stdout` and exit with `<prog>.status`.
    Output,
}

const OUTPUT: Expect = Expect::Output;

macro_rules! program_tests {
    ($($(#[$attr:meta])* $name:ident: $variant:literal, $prog:literal, $expect:expr;)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check_program($variant, $prog, $expect);
            }
        )*

        /// Every (variant, program) pair that has a test on this architecture.
        const LISTED: &[(&str, &str)] = &[$(($variant, $prog)),*];
    };
}

// x86asm (hand-written assembly) exists only for x86-64 and a64asm only for
// AArch64. ifunc is not built for x86-64 llc-large (GNU ld refuses GOT64 against
// an ifunc), threadvars not for AArch64 llc-large (LLVM 14 has only local-exec
// TLS in that code model): testdata/src/<prog>/skip. gcc-nopic/cli needs both
// the low 2 GiB (R_X86_64_32) and libc's neighbourhood (R_X86_64_PC32 to
// stderr, optind, environ, ...): relink places it low and copies those variables
// there (src/memory/copies.rs).
#[cfg(target_arch = "x86_64")]
program_tests! {
    gxx_exceptions: "gxx", "exceptions", OUTPUT;
    clang_llc_exceptions: "clang-llc", "exceptions", OUTPUT;
    gcc_pie_calls: "gcc-pie", "calls", OUTPUT;
    gcc_pie_cli: "gcc-pie", "cli", OUTPUT;
    gcc_pie_ctors: "gcc-pie", "ctors", OUTPUT;
    gcc_pie_globals: "gcc-pie", "globals", OUTPUT;
    gcc_pie_tables: "gcc-pie", "tables", OUTPUT;
    gcc_pie_varargs: "gcc-pie", "varargs", OUTPUT;
    gcc_pie_weak: "gcc-pie", "weak", OUTPUT;
    gcc_pie_x86asm: "gcc-pie", "x86asm", OUTPUT;
    gcc_nopic_calls: "gcc-nopic", "calls", OUTPUT;
    gcc_nopic_cli: "gcc-nopic", "cli", OUTPUT;
    gcc_nopic_ctors: "gcc-nopic", "ctors", OUTPUT;
    gcc_nopic_globals: "gcc-nopic", "globals", OUTPUT;
    gcc_nopic_tables: "gcc-nopic", "tables", OUTPUT;
    gcc_nopic_varargs: "gcc-nopic", "varargs", OUTPUT;
    gcc_nopic_weak: "gcc-nopic", "weak", OUTPUT;
    gcc_nopic_x86asm: "gcc-nopic", "x86asm", OUTPUT;
    llc_static_calls: "llc-static", "calls", OUTPUT;
    llc_static_cli: "llc-static", "cli", OUTPUT;
    llc_static_ctors: "llc-static", "ctors", OUTPUT;
    llc_static_globals: "llc-static", "globals", OUTPUT;
    llc_static_tables: "llc-static", "tables", OUTPUT;
    llc_static_varargs: "llc-static", "varargs", OUTPUT;
    llc_static_weak: "llc-static", "weak", OUTPUT;
    llc_static_x86asm: "llc-static", "x86asm", OUTPUT;
    llc_static_ircomdat: "llc-static", "ircomdat", OUTPUT;
    llc_static_irdso: "llc-static", "irdso", OUTPUT;
    llc_pic_calls: "llc-pic", "calls", OUTPUT;
    llc_pic_cli: "llc-pic", "cli", OUTPUT;
    llc_pic_ctors: "llc-pic", "ctors", OUTPUT;
    llc_pic_globals: "llc-pic", "globals", OUTPUT;
    llc_pic_tables: "llc-pic", "tables", OUTPUT;
    llc_pic_varargs: "llc-pic", "varargs", OUTPUT;
    llc_pic_weak: "llc-pic", "weak", OUTPUT;
    llc_pic_x86asm: "llc-pic", "x86asm", OUTPUT;
    llc_pic_ircomdat: "llc-pic", "ircomdat", OUTPUT;
    llc_pic_irdso: "llc-pic", "irdso", OUTPUT;
    llc_large_calls: "llc-large", "calls", OUTPUT;
    llc_large_cli: "llc-large", "cli", OUTPUT;
    llc_large_ctors: "llc-large", "ctors", OUTPUT;
    llc_large_globals: "llc-large", "globals", OUTPUT;
    llc_large_tables: "llc-large", "tables", OUTPUT;
    llc_large_varargs: "llc-large", "varargs", OUTPUT;
    llc_large_weak: "llc-large", "weak", OUTPUT;
    llc_large_x86asm: "llc-large", "x86asm", OUTPUT;
    llc_large_ircomdat: "llc-large", "ircomdat", OUTPUT;
    llc_large_irdso: "llc-large", "irdso", OUTPUT;
    gxx_emitxx: "gxx", "emitxx", OUTPUT;
    clang_llc_emitxx: "clang-llc", "emitxx", OUTPUT;
    gxx_tlsexit: "gxx", "tlsexit", OUTPUT;
    clang_llc_tlsexit: "clang-llc", "tlsexit", OUTPUT;
    gcc_pie_emit: "gcc-pie", "emit", OUTPUT;
    gcc_pie_ifunc: "gcc-pie", "ifunc", OUTPUT;
    gcc_pie_threadvars: "gcc-pie", "threadvars", OUTPUT;
    gcc_pie_funcalign: "gcc-pie", "funcalign", OUTPUT;
    gcc_nopic_emit: "gcc-nopic", "emit", OUTPUT;
    gcc_nopic_ifunc: "gcc-nopic", "ifunc", OUTPUT;
    gcc_nopic_threadvars: "gcc-nopic", "threadvars", OUTPUT;
    gcc_nopic_funcalign: "gcc-nopic", "funcalign", OUTPUT;
    llc_static_emit: "llc-static", "emit", OUTPUT;
    llc_static_ifunc: "llc-static", "ifunc", OUTPUT;
    llc_static_threadvars: "llc-static", "threadvars", OUTPUT;
    llc_static_funcalign: "llc-static", "funcalign", OUTPUT;
    llc_pic_emit: "llc-pic", "emit", OUTPUT;
    llc_pic_ifunc: "llc-pic", "ifunc", OUTPUT;
    llc_pic_threadvars: "llc-pic", "threadvars", OUTPUT;
    llc_pic_funcalign: "llc-pic", "funcalign", OUTPUT;
    llc_large_emit: "llc-large", "emit", OUTPUT;
    llc_large_threadvars: "llc-large", "threadvars", OUTPUT;
    llc_large_funcalign: "llc-large", "funcalign", OUTPUT;
}

#[cfg(target_arch = "aarch64")]
program_tests! {
    gxx_exceptions: "gxx", "exceptions", OUTPUT;
    clang_llc_exceptions: "clang-llc", "exceptions", OUTPUT;
    gcc_a64asm: "gcc", "a64asm", OUTPUT;
    gcc_calls: "gcc", "calls", OUTPUT;
    gcc_cli: "gcc", "cli", OUTPUT;
    gcc_ctors: "gcc", "ctors", OUTPUT;
    gcc_globals: "gcc", "globals", OUTPUT;
    gcc_tables: "gcc", "tables", OUTPUT;
    gcc_varargs: "gcc", "varargs", OUTPUT;
    gcc_weak: "gcc", "weak", OUTPUT;
    llc_static_a64asm: "llc-static", "a64asm", OUTPUT;
    llc_static_calls: "llc-static", "calls", OUTPUT;
    llc_static_cli: "llc-static", "cli", OUTPUT;
    llc_static_ctors: "llc-static", "ctors", OUTPUT;
    llc_static_globals: "llc-static", "globals", OUTPUT;
    llc_static_tables: "llc-static", "tables", OUTPUT;
    llc_static_varargs: "llc-static", "varargs", OUTPUT;
    llc_static_weak: "llc-static", "weak", OUTPUT;
    llc_static_ircomdat: "llc-static", "ircomdat", OUTPUT;
    llc_static_irdso: "llc-static", "irdso", OUTPUT;
    llc_pic_a64asm: "llc-pic", "a64asm", OUTPUT;
    llc_pic_calls: "llc-pic", "calls", OUTPUT;
    llc_pic_cli: "llc-pic", "cli", OUTPUT;
    llc_pic_ctors: "llc-pic", "ctors", OUTPUT;
    llc_pic_globals: "llc-pic", "globals", OUTPUT;
    llc_pic_tables: "llc-pic", "tables", OUTPUT;
    llc_pic_varargs: "llc-pic", "varargs", OUTPUT;
    llc_pic_weak: "llc-pic", "weak", OUTPUT;
    llc_pic_ircomdat: "llc-pic", "ircomdat", OUTPUT;
    llc_pic_irdso: "llc-pic", "irdso", OUTPUT;
    llc_large_a64asm: "llc-large", "a64asm", OUTPUT;
    llc_large_calls: "llc-large", "calls", OUTPUT;
    llc_large_cli: "llc-large", "cli", OUTPUT;
    llc_large_ctors: "llc-large", "ctors", OUTPUT;
    llc_large_globals: "llc-large", "globals", OUTPUT;
    llc_large_tables: "llc-large", "tables", OUTPUT;
    llc_large_varargs: "llc-large", "varargs", OUTPUT;
    llc_large_weak: "llc-large", "weak", OUTPUT;
    llc_large_ircomdat: "llc-large", "ircomdat", OUTPUT;
    llc_large_irdso: "llc-large", "irdso", OUTPUT;
    gxx_emitxx: "gxx", "emitxx", OUTPUT;
    clang_llc_emitxx: "clang-llc", "emitxx", OUTPUT;
    gxx_tlsexit: "gxx", "tlsexit", OUTPUT;
    clang_llc_tlsexit: "clang-llc", "tlsexit", OUTPUT;
    gcc_emit: "gcc", "emit", OUTPUT;
    gcc_ifunc: "gcc", "ifunc", OUTPUT;
    gcc_threadvars: "gcc", "threadvars", OUTPUT;
    gcc_funcalign: "gcc", "funcalign", OUTPUT;
    llc_static_emit: "llc-static", "emit", OUTPUT;
    llc_static_ifunc: "llc-static", "ifunc", OUTPUT;
    llc_static_threadvars: "llc-static", "threadvars", OUTPUT;
    llc_static_funcalign: "llc-static", "funcalign", OUTPUT;
    llc_pic_emit: "llc-pic", "emit", OUTPUT;
    llc_pic_ifunc: "llc-pic", "ifunc", OUTPUT;
    llc_pic_threadvars: "llc-pic", "threadvars", OUTPUT;
    llc_pic_funcalign: "llc-pic", "funcalign", OUTPUT;
    llc_large_emit: "llc-large", "emit", OUTPUT;
    llc_large_ifunc: "llc-large", "ifunc", OUTPUT;
    llc_large_funcalign: "llc-large", "funcalign", OUTPUT;
}

/// A program directory that build.sh produced but nobody listed above would
/// otherwise never run.
#[test]
fn every_program_directory_has_a_test() {
    let mut variants: Vec<&str> = LISTED.iter().map(|&(v, _)| v).collect();
    variants.sort_unstable();
    variants.dedup();
    let mut unlisted = Vec::new();
    for variant in variants {
        let dir = testdata_dir().join("obj").join(arch()).join(variant);
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let prog = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !LISTED.contains(&(variant, prog.as_str())) {
                unlisted.push(format!("{variant}/{prog}"));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "testdata/obj/{}/ has programs without a test in tests/programs.rs: {unlisted:?}",
        arch()
    );
}

fn check_program(variant: &str, prog: &str, expect: Expect) {
    let testdata = testdata_dir();
    let dir = testdata.join("obj").join(arch()).join(variant).join(prog);
    let objects = object_files(&dir, variant, prog);
    let args = common::program_args(&testdata, prog);

    let mut cmd = relink_command();
    cmd.arg("run");
    for lib in common::program_libs(&testdata, prog) {
        cmd.arg("-l").arg(lib);
    }
    cmd.args(&objects).arg("--").args(&args);
    let shown = format!("{cmd:?}");
    let got = run_with_timeout(cmd, TIME_LIMIT);

    match expect {
        Expect::Output => {
            let exp_dir = testdata.join("expected").join(arch());
            let want_stdout = read(&exp_dir.join(format!("{prog}.stdout")));
            let status_text =
                String::from_utf8_lossy(&read(&exp_dir.join(format!("{prog}.status"))))
                    .trim()
                    .to_string();
            let want_status: i32 = status_text
                .parse()
                .unwrap_or_else(|e| panic!("bad {prog}.status {status_text:?}: {e}"));
            if got.stdout != want_stdout || got.status.code() != Some(want_status) || got.timed_out
            {
                panic!(
                    "{}",
                    report(
                        variant,
                        prog,
                        &shown,
                        &got,
                        &want_stdout,
                        &want_status.to_string()
                    )
                );
            }
        }
    }
}

/// The `.o` files of one program, sorted by name. Missing objects fail the test.
fn object_files(dir: &Path, variant: &str, prog: &str) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nthe objects of {prog} ({}/{variant}) are missing: run `bash testdata/build.sh`",
            dir.display(),
            arch()
        )
    });
    let mut objects: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    objects.sort();
    assert!(!objects.is_empty(), "no .o files in {}", dir.display());
    objects
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nexpected output missing: run `bash testdata/build.sh`",
            path.display()
        )
    })
}

fn report(
    variant: &str,
    prog: &str,
    command: &str,
    got: &Outcome,
    want_stdout: &[u8],
    want_status: &str,
) -> String {
    let want = String::from_utf8_lossy(want_stdout);
    let have = String::from_utf8_lossy(&got.stdout);
    format!(
        "relink run: wrong result for {prog} ({}/{variant})\n\
         command: {command}\n\
         exit status: expected {want_status}, got {}\n\
         stdout ({}):\n{}\
         relink stderr:\n{}",
        arch(),
        got.describe_status(),
        if want == have {
            "as expected"
        } else {
            "- expected, + got"
        },
        if want == have {
            String::new()
        } else {
            common::line_diff(&want, &have)
        },
        String::from_utf8_lossy(&got.stderr),
    )
}
