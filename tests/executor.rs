//! Linking here, running in an executor (`relink executor`, src/executor.rs):
//! the program corpus through `relink run --executor` (natively, and on x86-64
//! also AArch64 objects in an AArch64 executor under qemu-user), crashes
//! reported by symbol, hot replacement and trap stubs through the API, and a
//! generated corpus giving the same result as in process.
//!
//! The executor is always named explicitly (`executor_command`): from a test
//! binary, `Executor::spawn("self")` would start the test binary, not relink.
//!
//! Every program must do exactly what it does natively: thread-locals (in the
//! executor's TLS registry and static TLS) and -fno-pic code's copies of libc
//! variables (made in the executor) included.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{relink_command, run_with_timeout, testdata_dir, Outcome};
use relink::{Error, Executor, Exit, Linker, LinkerOptions, ReplaceOptions};

/// Generous: under qemu relink, the executor and the program are all emulated.
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// The command line that starts the `relink executor` built with these tests:
/// `<relink> executor`, or `<runner words> <relink> executor` when
/// `RELINK_TEST_RUNNER` is set (the aarch64 build under qemu-user).
fn executor_command() -> String {
    let relink = env!("CARGO_BIN_EXE_relink");
    let runner = std::env::var("RELINK_TEST_RUNNER").unwrap_or_default();
    let runner = runner.split_whitespace().collect::<Vec<_>>().join(" ");
    if runner.is_empty() {
        format!("{relink} executor")
    } else {
        format!("{runner} {relink} executor")
    }
}

/// A linker whose code runs in a new executor.
fn executor_linker() -> Linker {
    let command = executor_command();
    let executor =
        Executor::spawn(&command).unwrap_or_else(|e| panic!("spawn executor {command:?}: {e}"));
    Linker::with_executor(LinkerOptions::new(), executor).unwrap()
}

/// `testdata/obj/<arch under test>/api/<name>.o`.
fn api_object(name: &str) -> PathBuf {
    common::object("api", name)
}

// ---------------------------------------------------------------------------
// 1. The program corpus through `relink run --executor`.

macro_rules! variant_tests {
    ($($name:ident: $variant:literal;)*) => {
        $(
            #[test]
            fn $name() {
                check_variant(common::arch(), $variant, &executor_command());
            }
        )*

        /// The variants that have a test on this architecture.
        const VARIANTS: &[&str] = &[$($variant),*];
    };
}

#[cfg(target_arch = "x86_64")]
variant_tests! {
    programs_through_executor_clang_llc: "clang-llc";
    programs_through_executor_gcc_nopic: "gcc-nopic";
    programs_through_executor_gcc_pie: "gcc-pie";
    programs_through_executor_gxx: "gxx";
    programs_through_executor_llc_large: "llc-large";
    programs_through_executor_llc_pic: "llc-pic";
    programs_through_executor_llc_static: "llc-static";
}

#[cfg(target_arch = "aarch64")]
variant_tests! {
    programs_through_executor_clang_llc: "clang-llc";
    programs_through_executor_gcc: "gcc";
    programs_through_executor_gxx: "gxx";
    programs_through_executor_llc_large: "llc-large";
    programs_through_executor_llc_pic: "llc-pic";
    programs_through_executor_llc_static: "llc-static";
}

/// A variant directory with programs that no test above runs would be skipped silently.
#[test]
fn every_variant_with_programs_has_a_test() {
    let mut found = variants_with_programs(common::arch());
    found.sort();
    let mut listed: Vec<String> = VARIANTS.iter().map(|v| v.to_string()).collect();
    listed.sort();
    assert_eq!(
        found,
        listed,
        "variants of testdata/obj/{}/ with programs vs. the tests in tests/executor.rs",
        common::arch()
    );
}

/// Runs every program of `arch/variant` with `relink run --executor <executor>`
/// and fails with the list of those that did not do what was expected.
fn check_variant(arch: &str, variant: &str, executor: &str) {
    let start = Instant::now();
    let programs = programs(arch, variant);
    assert!(
        !programs.is_empty(),
        "no programs in testdata/obj/{arch}/{variant}"
    );
    let mut failures = Vec::new();
    for prog in &programs {
        if let Err(report) = check_program(arch, variant, prog, executor) {
            failures.push(report);
        }
    }
    eprintln!(
        "{arch}/{variant}: {} programs in {:.1?}",
        programs.len(),
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} programs of {arch}/{variant} failed through the executor {executor:?}:\n\n{}",
        failures.len(),
        programs.len(),
        failures.join("\n\n")
    );
}

/// Variants (subdirectories of `testdata/obj/<arch>/`) that have at least one
/// program with expected output.
fn variants_with_programs(arch: &str) -> Vec<String> {
    let dir = testdata_dir().join("obj").join(arch);
    let mut out = Vec::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let variant = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && !programs(arch, &variant).is_empty() {
            out.push(variant);
        }
    }
    out
}

/// The programs of a variant: subdirectories with `expected/<arch>/<prog>.stdout`
/// and `.status`, sorted.
fn programs(arch: &str, variant: &str) -> Vec<String> {
    let testdata = testdata_dir();
    let dir = testdata.join("obj").join(arch).join(variant);
    let expected = testdata.join("expected").join(arch);
    let mut out: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|prog| {
            expected.join(format!("{prog}.stdout")).exists()
                && expected.join(format!("{prog}.status")).exists()
        })
        .collect();
    out.sort();
    out
}

/// Runs one program as tests/programs.rs does, but with `--executor`.
fn check_program(arch: &str, variant: &str, prog: &str, executor: &str) -> Result<(), String> {
    let testdata = testdata_dir();
    let dir = testdata.join("obj").join(arch).join(variant).join(prog);
    let mut objects: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    objects.sort();
    if objects.is_empty() {
        return Err(format!(
            "{variant}/{prog}: no .o files in {}",
            dir.display()
        ));
    }

    let mut cmd = relink_command();
    cmd.arg("run").arg("--executor").arg(executor);
    for lib in common::program_libs(&testdata, prog) {
        cmd.arg("-l").arg(lib);
    }
    cmd.args(&objects)
        .arg("--")
        .args(common::program_args(&testdata, prog));
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let got = run_with_timeout(cmd, TIME_LIMIT);
    let took = started.elapsed();

    let exp_dir = testdata.join("expected").join(arch);
    let want_stdout = read(&exp_dir.join(format!("{prog}.stdout")));
    let status_text = String::from_utf8_lossy(&read(&exp_dir.join(format!("{prog}.status"))))
        .trim()
        .to_string();
    let want_status: i32 = status_text
        .parse()
        .unwrap_or_else(|e| panic!("bad {prog}.status {status_text:?}: {e}"));

    if !got.timed_out && got.stdout == want_stdout && got.status.code() == Some(want_status) {
        return Ok(());
    }
    Err(report(
        &format!("{arch}/{variant}/{prog} (after {took:.1?})"),
        &shown,
        &got,
        &want_stdout,
        want_status,
    ))
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn report(
    what: &str,
    command: &str,
    got: &Outcome,
    want_stdout: &[u8],
    want_status: i32,
) -> String {
    let want = String::from_utf8_lossy(want_stdout);
    let have = String::from_utf8_lossy(&got.stdout);
    let stdout = if want == have {
        "as expected\n".to_string()
    } else {
        format!("- expected, + got\n{}", common::line_diff(&want, &have))
    };
    format!(
        "== {what}\ncommand: {command}\nexit status: expected {want_status}, got {}\n\
         stdout: {stdout}stderr:\n{}",
        got.describe_status(),
        String::from_utf8_lossy(&got.stderr),
    )
}

// ---------------------------------------------------------------------------
// 2. AArch64 objects, linked by the x86-64 relink, run in an AArch64 executor.

/// Every AArch64 program of the corpus, linked here (x86-64) and run in an
/// AArch64 `relink executor` under qemu-user, against `expected/aarch64/`.
#[cfg(target_arch = "x86_64")]
#[test]
fn cross_arch_programs() {
    let relink = cross_relink();
    let executor = format!(
        "qemu-aarch64 -L /usr/aarch64-linux-gnu {} executor",
        relink.display()
    );
    let mut variants = variants_with_programs("aarch64");
    variants.sort();
    assert!(
        !variants.is_empty(),
        "no AArch64 programs in testdata/obj/aarch64"
    );
    // Two at a time: each program is emulated, most of the time goes to qemu.
    let (first, second) = variants.split_at(variants.len() / 2);
    let run = |variants: &[String]| {
        let mut failures = Vec::new();
        for variant in variants {
            let executor = executor.clone();
            let variant = variant.clone();
            // check_variant panics with the list of failures of its variant.
            let result = std::panic::catch_unwind(move || {
                check_variant("aarch64", &variant, &executor);
            });
            if let Err(e) = result {
                failures.push(panic_text(e));
            }
        }
        failures
    };
    let failures: Vec<String> = std::thread::scope(|s| {
        let a = s.spawn(|| run(first));
        let b = s.spawn(|| run(second));
        let mut all = a.join().unwrap();
        all.extend(b.join().unwrap());
        all
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[cfg(target_arch = "x86_64")]
fn panic_text(e: Box<dyn std::any::Any + Send>) -> String {
    match e.downcast::<String>() {
        Ok(s) => *s,
        Err(e) => match e.downcast::<&str>() {
            Ok(s) => s.to_string(),
            Err(_) => "(a panic without a message)".to_string(),
        },
    }
}

/// The AArch64 relink binary: `RELINK_CROSS_RELINK` (scripts/test.sh builds
/// it), or built here with `cargo build --target aarch64-unknown-linux-gnu`.
#[cfg(target_arch = "x86_64")]
fn cross_relink() -> PathBuf {
    if let Some(path) = std::env::var_os("RELINK_CROSS_RELINK").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "RELINK_CROSS_RELINK={} is not a file",
            path.display()
        );
        return path;
    }
    let manifest_dir = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "--target",
        "aarch64-unknown-linux-gnu",
        "--bin",
        "relink",
    ])
    .current_dir(manifest_dir);
    common::build(cmd);
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(manifest_dir).join(d))
        .unwrap_or_else(|| PathBuf::from(manifest_dir).join("target"));
    let path = target_dir.join("aarch64-unknown-linux-gnu/debug/relink");
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

// ---------------------------------------------------------------------------
// 3. A crash in loaded code.

/// A scratch directory for objects compiled by one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relink-executor-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles `source` (C) with the toolchain under test, `-c -O1 -fPIC`, to `dir/<name>.o`.
fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}.o"));
    fs::write(&c, source).unwrap();
    let mut cmd = Command::new(common::toolchain().cc);
    cmd.args(["-c", "-O1", "-fPIC", "-o"]).arg(&o).arg(&c);
    common::build(cmd);
    o
}

const CRASH_C: &str = r#"
#include <stdio.h>
__attribute__((noinline)) int poke(int i) {
    int *volatile nowhere = (int *)16;
    return nowhere[i];
}
int main(void) {
    printf("before the crash\n");
    fflush(stdout);
    return poke(0);
}
"#;

/// A crash in loaded code ends the executor: `relink run --executor` names the
/// function and exits with 128 + SIGSEGV, keeping what the program printed
/// before; through the API `run_main` reports it, named, and a new executor
/// runs the next code (a REPL survives its user's bug).
#[test]
fn crash_is_reported_by_symbol_and_the_next_executor_runs() {
    let dir = scratch("crash");
    let crash = compile_c(&dir, "crash", CRASH_C);

    // The CLI.
    let mut cmd = relink_command();
    cmd.arg("run")
        .arg("--executor")
        .arg(executor_command())
        .arg(&crash);
    let got = run_with_timeout(cmd, TIME_LIMIT);
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert_eq!(
        got.status.code(),
        Some(128 + libc::SIGSEGV),
        "status {}; stderr: {stderr}",
        got.describe_status()
    );
    assert!(
        stderr.contains("poke") && stderr.contains("SIGSEGV") && stderr.contains("crash.o"),
        "the crash is not named: {stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        "before the crash\n",
        "stderr: {stderr}"
    );

    // The API.
    let mut linker = executor_linker();
    linker.load_file(&crash).unwrap();
    let argv = vec![crash.display().to_string()];
    match linker.run_main("main", &argv).unwrap() {
        Exit::Crashed(e) => {
            assert_eq!(e.signal, Some(libc::SIGSEGV), "{e:?}");
            let described = e.described.clone().unwrap_or_default();
            assert!(described.contains("poke"), "{e:?}");
            assert!(described.contains("SIGSEGV"), "{e:?}");
            let (signal, address, _pc) = e.fault.expect("a fault report");
            assert_eq!((signal, address), (libc::SIGSEGV, 16), "{e:?}");
        }
        other => panic!("expected a crash, got {other:?}"),
    }
    // That executor is gone: later requests say how it ended.
    match unsafe { linker.call("poke", &[0]) } {
        Err(Error::ExecutorEnded(e)) => assert_eq!(e.signal, Some(libc::SIGSEGV), "{e}"),
        other => panic!("a call after the crash: {other:?}"),
    }
    drop(linker);

    // The next executor runs the next code.
    let mut linker = executor_linker();
    linker.load_file(api_object("math")).unwrap();
    unsafe {
        assert_eq!(linker.call("add", &[40, 2]).unwrap() as i32, 42);
        assert_eq!(linker.call("fib", &[50]).unwrap(), 12_586_269_025);
        assert_eq!(linker.call("bump", &[]).unwrap() as i32, 41);
        assert_eq!(linker.call("apply", &[1, 50, 8]).unwrap() as i32, 42);
    }
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// 4. Hot replacement in an executor.

/// testdata/api/lib_v1.c, lib_v2.c and user.c: `version` returns the version,
/// `bump` adds 1 (v1) or 10 (v2) to `counter`; user.c calls `version` directly
/// and through a pointer stored in its data, and reads `counter` directly.
#[test]
fn hot_replace_in_executor() {
    let mut l = executor_linker();
    let lib = l.load_file(api_object("lib_v1")).unwrap();
    l.load_file(api_object("user")).unwrap();
    let call = |l: &mut Linker, name: &str| unsafe { l.call(name, &[]).unwrap() } as i32;
    let versions = |l: &mut Linker| {
        [
            call(l, "version"),
            call(l, "user_version"),
            call(l, "user_via_pointer"),
        ]
    };

    let version_at = l.address("version").unwrap() as u64;
    let counter_at = l.address("counter").unwrap() as u64;
    let user_sees_counter_at = unsafe { l.call("user_counter_address", &[]).unwrap() };
    assert_eq!(user_sees_counter_at, counter_at);
    assert_eq!(versions(&mut l), [1, 1, 1]);
    assert_eq!([call(&mut l, "bump"), call(&mut l, "bump")], [2, 3]);

    // keep_state: new code, the counter keeps its value and address.
    l.replace_with(
        lib,
        &fs::read(api_object("lib_v2")).unwrap(),
        ReplaceOptions::new().keep_state(true),
    )
    .unwrap();
    assert_eq!(versions(&mut l), [2, 2, 2], "every caller sees version 2");
    assert_eq!(l.address("version").unwrap() as u64, version_at);
    assert_eq!(l.address("counter").unwrap() as u64, counter_at);
    assert_eq!(call(&mut l, "user_counter"), 3, "kept");
    assert_eq!(call(&mut l, "bump"), 13, "v2's bump on the kept counter");
    assert_eq!(call(&mut l, "user_counter"), 13);

    // Default: the new version's initial values, at the same address.
    l.replace(lib, &fs::read(api_object("lib_v1")).unwrap())
        .unwrap();
    assert_eq!(versions(&mut l), [1, 1, 1]);
    assert_eq!(l.address("version").unwrap() as u64, version_at);
    assert_eq!(
        unsafe { l.call("user_counter_address", &[]).unwrap() },
        counter_at
    );
    assert_eq!(call(&mut l, "user_counter"), 1, "re-initialised");
    assert_eq!(call(&mut l, "bump"), 2);
    assert_eq!(l.objects().count(), 2);
}

// ---------------------------------------------------------------------------
// 5. A call through the trap stub of an unloaded function.

const HELPER_C: &str = "int helper(void) { return 7; }\n";

/// Keeps a function pointer in its data and calls through it: no reference to
/// `helper` by name, so the linker lets it be called after `helper` is gone.
const KEEPER_C: &str = r#"
static int (*kept)(void);
void keep(int (*f)(void)) { kept = f; }
int use(void) { return kept(); }
"#;

const DIRECT_C: &str = "int helper(void);\nint use_direct(void) { return helper(); }\n";

/// An unloaded function's slot traps. `Linker::call` refuses to call anything
/// while a loaded object still refers to a name nobody defines, so the call
/// reaches the trap stub through a pointer kept in data (the stub's address,
/// `address("helper")`): the executor ends, and the error names `helper`.
#[test]
fn trap_through_unloaded_symbol_is_named() {
    let dir = scratch("trap");
    let helper = compile_c(&dir, "helper", HELPER_C);
    let keeper = compile_c(&dir, "keeper", KEEPER_C);
    let direct = compile_c(&dir, "direct", DIRECT_C);

    let mut l = executor_linker();
    let a = l.load_file(&helper).unwrap();
    l.load_file(&keeper).unwrap();
    let b = l.load_file(&direct).unwrap();
    let helper_at = l.address("helper").unwrap() as u64;
    unsafe {
        assert_eq!(l.call("use_direct", &[]).unwrap() as i32, 7);
        l.call("keep", &[helper_at]).unwrap();
        assert_eq!(l.call("use", &[]).unwrap() as i32, 7);
    }

    l.unload(a).unwrap();
    // direct.o still refers to `helper` by name: nothing is called.
    match unsafe { l.call("use", &[]) } {
        Err(Error::Undefined { symbols }) => {
            assert!(symbols.iter().any(|u| u.symbol == "helper"), "{symbols:?}")
        }
        other => panic!("a call while `helper` is undefined: {other:?}"),
    }
    l.unload(b).unwrap();
    // Now only the pointer kept in keeper.o's data leads to helper's stub.
    match unsafe { l.call("use", &[]) } {
        Err(Error::ExecutorEnded(e)) => {
            assert!(e.trap.is_some(), "not reported as a trap: {e:?}");
            let described = e.described.clone().unwrap_or_default();
            assert!(
                described.contains("`helper`") && described.contains("unloaded"),
                "{e:?}"
            );
            let text = e.to_string();
            assert!(text.contains("`helper`"), "{text}");
        }
        other => panic!("a call through an unloaded function: {other:?}"),
    }
    let _ = fs::remove_dir_all(&dir);
}

// 6. C++ exceptions across objects: gxx/exceptions and clang-llc/exceptions
// (thrown in one object, caught in another) run through the executor in the
// corpus tests above, which is the same path as the API (`run_in_executor` in
// src/main.rs is `Linker::with_executor` + `load_library` + `load_files` +
// `run_main`); not repeated here.

// ---------------------------------------------------------------------------
// 7. A generated corpus: same result in process and in an executor.

/// 50 generated objects (benches/gen_corpus.py, llc): `relink run` in process
/// and with `--executor` exit with the same status — the checksum the
/// generator computed — and print the same.
#[test]
fn generated_corpus_equals_in_process() {
    let dir = scratch("corpus");
    let (objects, want) = common::generated_corpus(&dir, 50, 5);
    let want = want as i32;

    let run = |executor: Option<String>| {
        let mut cmd = relink_command();
        cmd.arg("run");
        if let Some(executor) = executor {
            cmd.arg("--executor").arg(executor);
        }
        cmd.args(&objects);
        run_with_timeout(cmd, TIME_LIMIT)
    };
    let here = run(None);
    let there = run(Some(executor_command()));
    let show = |o: &Outcome| {
        format!(
            "status {}, stdout {:?}, stderr {:?}",
            o.describe_status(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert_eq!(
        here.status.code(),
        Some(want),
        "in process: {}",
        show(&here)
    );
    assert_eq!(
        (there.status.code(), &there.stdout),
        (here.status.code(), &here.stdout),
        "in an executor: {}\nin process: {}",
        show(&there),
        show(&here)
    );
    let _ = fs::remove_dir_all(&dir);
}

/// The program in the executor reads the linker's standard input (the socket
/// on the executor's is replaced by it) and prints to the linker's stdout.
#[test]
fn the_program_reads_the_linkers_stdin() {
    let dir = scratch("stdin");
    let obj = compile_c(
        &dir,
        "rd",
        "#include <stdio.h>\nint main(void) { char b[64]; int n = 0;\n\
         while (fgets(b, sizeof b, stdin)) { n++; printf(\"got %s\", b); }\n\
         return n; }\n",
    );
    let input = dir.join("input.txt");
    fs::write(&input, "one\ntwo\n").unwrap();
    let mut cmd = relink_command();
    cmd.arg("run")
        .arg("--executor")
        .arg(executor_command())
        .arg(&obj);
    let stdin = std::process::Stdio::from(fs::File::open(&input).unwrap());
    let got = common::run_with_stdin(cmd, stdin, TIME_LIMIT);
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        "got one\ngot two\n",
        "stderr: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(got.status.code(), Some(2));
    fs::remove_dir_all(&dir).ok();
}
