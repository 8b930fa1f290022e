//! Default libraries and when constructors run.
//!
//! - `relink run` of a g++ program (std::cout, an exception, <cmath>) and of a C
//!   program calling `sin`/`pow`, with no `-l` flags: stdout and exit status
//!   compared with the same objects linked natively by g++/gcc (run under
//!   `RELINK_TEST_RUNNER`, qemu, when cross-testing AArch64).
//! - `--no-default-libs`: refused before any constructor ran, with a hint that
//!   names the library; `-l stdc++` still works.
//! - The library: an object's constructors wait until every name its code can
//!   reach is defined (a later load, `define`, `load_library`), run in load
//!   order, never into a trap; pending ones run no destructors at unload, and a
//!   replace does not run an old version's pending ones.
//!
//! Sources are compiled at test time into a temporary directory with gcc/g++
//! (`aarch64-linux-gnu-gcc`/`g++` for the AArch64 build).

mod common;

use common::{build, toolchain};

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use relink::{Error, Linker, LinkerOptions, ReplaceOptions};

/// A fresh directory for one test's files.
fn workdir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relink-deflibs-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles `source` (C, or C++ when `name` ends in `.cpp`) to `dir/<stem>.o`.
fn compile(dir: &Path, name: &str, source: &str) -> PathBuf {
    compile_with(dir, name, source, &[])
}

fn compile_with(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let tc = toolchain();
    let src = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let cpp = name.ends_with(".cpp");
    let object = src.with_extension("o");
    let mut cmd = Command::new(if cpp { tc.cxx } else { tc.cc });
    cmd.args(["-O2", "-c"])
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&object);
    build(cmd);
    object
}

/// Links `objects` natively as the compiler driver does (no `-l` flags beyond
/// what it adds itself, plus `-lm` for C, which gcc does not add).
fn link_native(dir: &Path, objects: &[PathBuf], cpp: bool) -> PathBuf {
    link_native_with(dir, objects, cpp, &[])
}

fn link_native_with(dir: &Path, objects: &[PathBuf], cpp: bool, flags: &[&str]) -> PathBuf {
    let tc = toolchain();
    let exe = dir.join("native");
    let mut cmd = Command::new(if cpp { tc.cxx } else { tc.cc });
    cmd.args(flags).args(objects).arg("-o").arg(&exe);
    if !cpp {
        cmd.arg("-lm");
    }
    build(cmd);
    exe
}

fn run_native(exe: &Path) -> common::Outcome {
    let mut cmd = toolchain().command(exe);
    cmd.arg("x");
    common::run_with_timeout(cmd, Duration::from_secs(60))
}

fn run_relink(flags: &[&str], objects: &[PathBuf]) -> common::Outcome {
    let mut cmd = common::relink_command();
    cmd.arg("run").args(flags).args(objects).args(["--", "x"]);
    common::run_with_timeout(cmd, Duration::from_secs(60))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Same stdout and exit status as the native build.
fn assert_same(native: &common::Outcome, relinked: &common::Outcome) {
    assert_eq!(
        (text(&relinked.stdout), relinked.describe_status()),
        (text(&native.stdout), native.describe_status()),
        "relink's stderr:\n{}",
        text(&relinked.stderr)
    );
}

/// A C++ program: a static object whose constructor prints through std::cout,
/// an exception thrown in one object and caught in another, <cmath> on values
/// the compiler cannot fold. Exit status 7.
const CXX_MAIN: &str = r#"
#include <iostream>
#include <cmath>
#include <stdexcept>
#include <string>
double scale(double x);
struct Greeter { Greeter() { std::cout << "constructed" << std::endl; } };
static Greeter greeter;
int main(int argc, char **argv) {
  double x = argc + 0.5;
  try {
    scale(-x);
  } catch (const std::exception &e) {
    std::cout << "caught " << e.what() << std::endl;
  }
  std::cout << "sqrt " << std::sqrt(x) << " pow " << std::pow(x, 1.5)
            << " sin " << std::sin(x) << " " << std::string(argv[1]) << std::endl;
  std::cout << "scaled " << scale(x) << std::endl;
  return 7;
}
"#;

const CXX_SCALE: &str = r#"
#include <cmath>
#include <stdexcept>
double scale(double x) {
  if (x < 0) throw std::domain_error("negative " + std::to_string(static_cast<int>(x)));
  return std::log(x) * std::cbrt(x);
}
"#;

/// A C program calling libm, with a constructor that prints. Exit status 5.
const C_MATH: &str = r#"
#include <math.h>
#include <stdio.h>
__attribute__((constructor)) static void hello(void) { puts("constructor ran"); }
int main(int argc, char **argv) {
  volatile double x = argc + 0.25;
  printf("sin %.6f pow %.6f %s\n", sin(x), pow(x, 2.5), argv[1]);
  return 5;
}
"#;

/// A C program calling the C++ runtime's `__cxa_demangle`, with a constructor
/// that prints. Exit status 6. (relink itself links libm, so a C program's
/// `sin` is found in the process whatever the flags; libstdc++ is not.)
const C_DEMANGLE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
char *__cxa_demangle(const char *, char *, size_t *, int *);
__attribute__((constructor)) static void hello(void) { puts("constructor ran"); }
int main(int argc, char **argv) {
  int status = 1;
  char *s = __cxa_demangle("_ZN1a1bEv", 0, 0, &status);
  printf("%s %d %s %d\n", s, status, argv[1], argc);
  free(s);
  return 6;
}
"#;

#[test]
fn cxx_program_runs_without_flags_as_natively() {
    let dir = workdir("cxx");
    let objects = [
        compile(&dir, "main.cpp", CXX_MAIN),
        compile(&dir, "scale.cpp", CXX_SCALE),
    ];
    let native = run_native(&link_native(&dir, &objects, true));
    assert!(text(&native.stdout).contains("caught negative -2"));
    let relinked = run_relink(&[], &objects);
    assert_same(&native, &relinked);
    // The flags that were needed before keep working, and give the same run.
    let with_flags = run_relink(&["-l", "stdc++", "-l", "m"], &objects);
    assert_same(&native, &with_flags);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-fno-pic` code reads `std::cout` and typeinfo through 32-bit fields: the
/// C++ runtime must be in the process before it is placed and linked.
#[test]
fn cxx_no_pic_program_runs_without_flags_as_natively() {
    let dir = workdir("cxx-nopic");
    let flags = ["-fno-pic", "-fno-pie"];
    let objects = [
        compile_with(&dir, "main.cpp", CXX_MAIN, &flags),
        compile_with(&dir, "scale.cpp", CXX_SCALE, &flags),
    ];
    let native = run_native(&link_native_with(&dir, &objects, true, &["-no-pie"]));
    assert!(text(&native.stdout).contains("caught negative -2"));
    assert_same(&native, &run_relink(&[], &objects));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn c_program_with_libm_runs_without_flags_as_natively() {
    let dir = workdir("libm");
    let objects = [compile(&dir, "math.c", C_MATH)];
    let native = run_native(&link_native(&dir, &objects, false));
    assert!(text(&native.stdout).starts_with("constructor ran\nsin "));
    assert_same(&native, &run_relink(&[], &objects));
    let mut check = common::relink_command();
    check.arg("check").args(&objects);
    let checked = common::run_with_timeout(check, Duration::from_secs(60));
    assert_eq!(checked.describe_status(), "0", "{}", text(&checked.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_default_libs_refuses_before_any_constructor_runs() {
    let dir = workdir("refuse");
    let cxx = [compile(&dir, "main.cpp", CXX_MAIN)];
    let out = run_relink(&["--no-default-libs"], &cxx);
    let stderr = text(&out.stderr);
    assert_eq!(out.describe_status(), "1", "{stderr}");
    // Greeter's constructor prints; nothing of the program ran.
    assert_eq!(text(&out.stdout), "", "{stderr}");
    assert!(stderr.contains("`_ZSt4cout`, needed by"), "{stderr}");
    assert!(stderr.contains("`_ZNSt8ios_base4InitC1Ev`"), "{stderr}");
    assert!(
        stderr.contains("in libstdc++.so.6: add `-l stdc++`, or drop --no-default-libs"),
        "{stderr}"
    );

    // A C program needing the C++ runtime: refused the same way, and the hint's
    // `-l stdc++` is what makes it run as natively (`gcc ... -lstdc++`).
    let c = [compile(&dir, "demangle.c", C_DEMANGLE)];
    let out = run_relink(&["--no-default-libs"], &c);
    let stderr = text(&out.stderr);
    assert_eq!(out.describe_status(), "1", "{stderr}");
    assert_eq!(text(&out.stdout), "", "{stderr}");
    assert!(
        stderr.contains(
            "`__cxa_demangle` is in libstdc++.so.6: add `-l stdc++`, or drop --no-default-libs"
        ),
        "{stderr}"
    );
    let mut check = common::relink_command();
    check.args(["check", "--no-default-libs"]).args(&c);
    let checked = common::run_with_timeout(check, Duration::from_secs(60));
    assert_eq!(checked.describe_status(), "1");
    assert!(text(&checked.stderr).contains("in libstdc++.so.6: add `-l stdc++`"));
    let exe = dir.join("demangle");
    let mut link = Command::new(toolchain().cc);
    link.args(&c).arg("-o").arg(&exe).arg("-lstdc++");
    build(link);
    let native = run_native(&exe);
    assert!(text(&native.stdout).contains("a::b() 0 x 2"));
    assert_same(
        &native,
        &run_relink(&["--no-default-libs", "-l", "stdc++"], &c),
    );
    assert_same(&native, &run_relink(&[], &c));
    let _ = std::fs::remove_dir_all(&dir);
}

// The library API. Constructors and destructors of the test objects call
// `record(c)`, defined by the test: each test's linker runs them on its own
// thread, so the log is per thread.

thread_local! {
    static LOG: RefCell<String> = const { RefCell::new(String::new()) };
}

extern "C" fn record(c: i32) {
    LOG.with(|l| l.borrow_mut().push(char::from(c as u8)));
}

fn log() -> String {
    LOG.with(|l| l.borrow().clone())
}

/// Object A: its constructor records `A` and calls into B; destructor `a`.
const A: &str = r#"
void record(int);
int b_value(void);
__attribute__((constructor)) static void init_a(void) { record('A'); record('0' + b_value()); }
__attribute__((destructor)) static void fini_a(void) { record('a'); }
int a_fn(void) { return b_value() + 1; }
"#;

/// A's second version: records `X` instead.
const A2: &str = r#"
void record(int);
int b_value(void);
__attribute__((constructor)) static void init_a(void) { record('X'); record('0' + b_value()); }
__attribute__((destructor)) static void fini_a(void) { record('x'); }
int a_fn(void) { return b_value() + 2; }
"#;

/// Object B: defines `b_value`; its constructor records `B`.
const B: &str = r#"
void record(int);
__attribute__((constructor)) static void init_b(void) { record('B'); }
int b_value(void) { return 4; }
"#;

fn linker_with_record() -> Linker {
    let mut linker = Linker::new().unwrap();
    linker.define("record", record as *const u8).unwrap();
    linker
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn constructors_wait_for_the_object_that_completes_them() {
    let dir = workdir("order");
    let (a, b) = (compile(&dir, "a.c", A), compile(&dir, "b.c", B));
    let mut linker = linker_with_record();
    linker.load_file(&a).unwrap();
    assert_eq!(log(), "", "A's constructor ran before b_value was defined");
    // An incomplete set: `function` refuses, naming the name, and runs nothing.
    let err = unsafe { linker.function::<extern "C" fn() -> i32>("a_fn") }.unwrap_err();
    let Error::Undefined { symbols } = &err else {
        panic!("{err}")
    };
    assert_eq!(symbols.len(), 1);
    assert_eq!(symbols[0].symbol, "b_value");
    assert!(linker.address("a_fn").is_ok());
    assert_eq!(log(), "");
    // B completes A: A's constructors, then B's, in load order.
    linker.load_file(&b).unwrap();
    assert_eq!(log(), "A4B");
    let f = unsafe { linker.function::<extern "C" fn() -> i32>("a_fn") }.unwrap();
    assert_eq!(f(), 5);
    assert_eq!(log(), "A4B", "constructors ran twice");
    drop(linker);
    assert_eq!(log(), "A4Ba");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_pending_object_unloaded_or_replaced_runs_no_destructor() {
    let dir = workdir("pending");
    let (a, a2, b) = (
        compile(&dir, "a.c", A),
        compile(&dir, "a2.c", A2),
        compile(&dir, "b.c", B),
    );
    let mut linker = linker_with_record();
    let id = linker.load_file(&a).unwrap();
    linker.unload(id).unwrap();
    assert_eq!(
        log(),
        "",
        "a destructor ran for constructors that never ran"
    );

    // Replaced while pending: the old version's constructors never run; the
    // new version's run once B completes it.
    let id = linker.load_file(&a).unwrap();
    linker.replace(id, &bytes(&a2)).unwrap();
    assert_eq!(log(), "");
    linker.load_file(&b).unwrap();
    assert_eq!(log(), "X4B");
    // Constructed now: replacing runs the destructor and the new constructor.
    linker.replace(id, &bytes(&a)).unwrap();
    assert_eq!(log(), "X4BxA4");
    linker.unload(id).unwrap();
    assert_eq!(log(), "X4BxA4a");
    drop(linker);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn define_completes_pending_constructors_and_weak_references_do_not_block() {
    let dir = workdir("define");
    let late = compile(
        &dir,
        "late.c",
        r#"
void record(int);
void host_late(int);
__attribute__((constructor)) static void init(void) { record('L'); host_late('l'); }
"#,
    );
    let weak = compile(
        &dir,
        "weak.c",
        r#"
void record(int);
extern void maybe(int) __attribute__((weak));
__attribute__((constructor)) static void init(void) { record('W'); if (maybe) maybe('m'); }
"#,
    );
    let mut linker = linker_with_record();
    linker.load_file(&weak).unwrap();
    assert_eq!(
        log(),
        "W",
        "a weak undefined reference held the constructor"
    );
    linker.load_file(&late).unwrap();
    assert_eq!(log(), "W");
    linker.define("host_late", record as *const u8).unwrap();
    assert_eq!(log(), "WLl");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An object whose constructor calls the C++ runtime's `__cxa_demangle`, for
/// the child tests below (relink links libm itself, so libm cannot serve).
const DEMANGLE: &str = r#"
#include <stdlib.h>
#include <string.h>
char *__cxa_demangle(const char *, char *, size_t *, int *);
void record(int);
__attribute__((constructor)) static void init(void) {
  int status = 1;
  char *s = __cxa_demangle("_Z1fv", 0, 0, &status);
  record('C');
  record('0' + (s ? (int)strlen(s) : 9));
  free(s);
}
"#;

/// The child tests start without the C++ runtime in the process (asserted).
fn cxx_runtime_loaded() -> bool {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .contains("/libstdc++.so.6")
}

fn in_child(test: &str) -> bool {
    if std::env::var_os("RELINK_CHILD").is_some() {
        return true;
    }
    let out = common::run_child(test);
    assert!(
        out.status.success() && text(&out.stdout).contains("child done"),
        "child {test}:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    false
}

#[test]
fn load_library_completes_pending_constructors() {
    if !in_child("load_library_completes_pending_constructors") {
        return;
    }
    assert!(!cxx_runtime_loaded());
    let dir = workdir("library");
    let demangle = compile(&dir, "demangle.c", DEMANGLE);
    let mut linker = linker_with_record();
    linker.load_file(&demangle).unwrap();
    assert_eq!(log(), "");
    let err = linker.check_resolved().unwrap_err().to_string();
    assert!(
        err.contains("`__cxa_demangle` is in libstdc++.so.6: add `-l stdc++`"),
        "{err}"
    );
    linker.load_library("stdc++").unwrap();
    assert_eq!(log(), "C3");
    linker.check_resolved().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    println!("child done");
}

#[test]
fn default_libraries_option_loads_only_the_library_that_is_needed() {
    if !in_child("default_libraries_option_loads_only_the_library_that_is_needed") {
        return;
    }
    assert!(!cxx_runtime_loaded());
    let dir = workdir("option");
    let demangle = compile(&dir, "demangle.c", DEMANGLE);
    let options = LinkerOptions::new().default_libraries(true);
    let mut linker = Linker::with_options(options).unwrap();
    linker.define("record", record as *const u8).unwrap();
    let plain = compile(
        &dir,
        "plain.c",
        "void record(int);\n__attribute__((constructor)) static void init(void) { record('P'); }\n",
    );
    linker.load_file(&plain).unwrap();
    assert_eq!(log(), "P");
    assert!(
        !cxx_runtime_loaded(),
        "an object that needs nothing of it got the C++ runtime"
    );
    linker.load_file(&demangle).unwrap();
    assert_eq!(log(), "PC3");
    assert!(cxx_runtime_loaded());
    let _ = std::fs::remove_dir_all(&dir);
    println!("child done");
}

#[test]
fn replace_with_default_libraries_links_a_new_version_that_needs_one() {
    if !in_child("replace_with_default_libraries_links_a_new_version_that_needs_one") {
        return;
    }
    assert!(!cxx_runtime_loaded());
    let dir = workdir("replace");
    let plain = compile(
        &dir,
        "plain.c",
        "void record(int);\n__attribute__((constructor)) static void init(void) { record('P'); }\n",
    );
    let demangle = compile(&dir, "demangle.c", DEMANGLE);
    let options = LinkerOptions::new().default_libraries(true);
    let mut linker = Linker::with_options(options).unwrap();
    linker.define("record", record as *const u8).unwrap();
    let id = linker.load_file(&plain).unwrap();
    assert_eq!(log(), "P");
    assert!(!cxx_runtime_loaded());
    let report = linker.replace_with(id, &bytes(&demangle), ReplaceOptions::new());
    report.unwrap();
    assert_eq!(log(), "PC3");
    let _ = std::fs::remove_dir_all(&dir);
    println!("child done");
}
