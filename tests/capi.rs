//! The C API (`include/relink.h`, `src/capi.rs`): the header is compared with the
//! Rust side; a C test program (testdata/capi/api_test.c), the example host
//! (examples/c_host/host.c) and a C++17 program are compiled with `cc`/`c++`
//! against the `librelink.a` and `librelink.so` built with these tests, run on
//! objects compiled from testdata/capi, and their output compared with the
//! expected files. Cross-built for AArch64 (`RELINK_TEST_RUNNER` set), they are
//! compiled with `aarch64-linux-gnu-gcc` and run under the runner (qemu).

mod common;

use common::{build, toolchain, Toolchain};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const OBJECTS: &[&str] = &[
    "counter_v1",
    "counter_v2",
    "reader",
    "uses_host",
    "probe",
    "square",
    "cube",
    "sum_squares",
    "spin_v1",
    "spin_v2",
];

/// `-l` flags a program linking `librelink.a` needs (`--print native-static-libs`).
const NATIVE_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl"];

/// Strict flags: the header and the programs must compile cleanly with them.
const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"];
const CXX_FLAGS: &[&str] = &["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where cargo put the `librelink.{a,so}` built with this test binary: beside
/// it, in `target/[<triple>/]<profile>/deps/` (`cargo test` does not copy them
/// up to `<profile>/`, as `cargo build` does).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().expect("target/<profile>/deps/<test>");
    for lib in ["librelink.a", "librelink.so"] {
        assert!(
            dir.join(lib).exists(),
            "{} is missing (Cargo.toml [lib] crate-type builds it)",
            dir.join(lib).display()
        );
    }
    dir.to_path_buf()
}

/// A fresh directory with the test objects and `libmath_capi.a` built in it.
fn workdir(name: &str, tc: &Toolchain) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relink-capi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = common::testdata_dir().join("capi");
    for n in OBJECTS {
        let mut cmd = Command::new(tc.cc);
        cmd.args(["-O2", "-fPIC", "-fno-asynchronous-unwind-tables", "-c"])
            .arg(src.join(format!("{n}.c")))
            .arg("-o")
            .arg(dir.join(format!("{n}.o")));
        build(cmd);
    }
    let mut ar = Command::new(tc.ar);
    ar.current_dir(&dir)
        .args(["rcs", "libmath_capi.a", "square.o", "cube.o"]);
    build(ar);
    std::fs::copy(src.join("host_script.txt"), dir.join("host_script.txt")).unwrap();
    dir
}

#[derive(Clone, Copy, Debug)]
enum Link {
    Static,
    Shared,
}

/// Compiles `source` into `dir/<out>` against the built library.
fn compile(
    compiler: &str,
    flags: &[&str],
    source: &Path,
    dir: &Path,
    out: &str,
    link: Link,
) -> PathBuf {
    let libs = lib_dir();
    let exe = dir.join(out);
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(source)
        .arg("-o")
        .arg(&exe);
    match link {
        Link::Static => {
            cmd.arg(libs.join("librelink.a")).args(NATIVE_LIBS);
        }
        Link::Shared => {
            cmd.arg("-L")
                .arg(&libs)
                .arg("-lrelink")
                .arg(format!("-Wl,-rpath,{}", libs.display()));
        }
    }
    build(cmd);
    exe
}

/// Runs `exe` (under the runner when cross-testing) in `dir`; its stdout.
fn run(tc: &Toolchain, exe: &Path, args: &[&str], dir: &Path) -> String {
    let mut cmd = tc.command(exe);
    cmd.args(args).current_dir(dir);
    let out = common::run_with_timeout(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} exited with {}\nstdout:\n{stdout}\nstderr:\n{}",
        exe.display(),
        out.describe_status(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Replaces every hexadecimal number `0x...` with `0xADDR` (addresses vary).
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at]);
        let digits = rest[at + 2..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len() - at - 2);
        out.push_str(if digits > 0 { "0xADDR" } else { "0x" });
        rest = &rest[at + 2 + digits..];
    }
    out.push_str(rest);
    out
}

/// Compares with `testdata/capi/<name>`, line by line for a readable failure.
fn assert_expected(actual: &str, name: &str) {
    let path = common::testdata_dir().join("capi").join(name);
    let expected = std::fs::read_to_string(&path).unwrap();
    let actual = normalize(actual);
    if actual != expected {
        let first = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
        panic!(
            "output differs from {} at line {}:\n  got:      {:?}\n  expected: {:?}\n\
             whole output:\n{actual}",
            path.display(),
            first + 1,
            actual.lines().nth(first),
            expected.lines().nth(first)
        );
    }
}

#[test]
fn the_c_test_program_exercises_every_function_static_and_shared() {
    let tc = toolchain();
    let dir = workdir("api", &tc);
    let source = common::testdata_dir().join("capi/api_test.c");
    for link in [Link::Static, Link::Shared] {
        let exe = compile(
            tc.cc,
            C_FLAGS,
            &source,
            &dir,
            &format!("api_test_{link:?}"),
            link,
        );
        assert_expected(&run(&tc, &exe, &[], &dir), "api_test.expected");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `pkg-config ARGS` for a prefix that scripts/c-install.sh installed.
fn pkg_config(prefix: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .args(args)
        .output()
        .expect("pkg-config");
    assert!(out.status.success(), "pkg-config {args:?}: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_example_host_built_with_pkg_config_loads_calls_watches_and_replaces() {
    let tc = toolchain();
    let dir = workdir("host", &tc);
    let prefix = dir.join("prefix");
    let mut install = Command::new("bash");
    install
        .arg(crate_dir().join("scripts/c-install.sh"))
        .arg(&prefix)
        .arg(lib_dir());
    build(install);
    let source = crate_dir().join("examples/c_host/host.c");
    let rpath = format!("-Wl,-rpath,{}", prefix.join("lib").display());
    for (package, extra) in [("relink", Some(rpath.as_str())), ("relink-static", None)] {
        let exe = dir.join(format!("host-{package}"));
        let mut cmd = Command::new(tc.cc);
        cmd.args(C_FLAGS)
            .arg(&source)
            .arg("-o")
            .arg(&exe)
            .args(pkg_config(&prefix, &["--cflags", "--libs", package]))
            .args(extra);
        build(cmd);
        let out = run(&tc, &exe, &["host_script.txt"], &dir);
        assert_expected(&out, "host_script.expected");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_header_compiles_as_cxx17_and_links_from_cxx() {
    let tc = toolchain();
    let dir = workdir("cxx", &tc);
    let source = common::testdata_dir().join("capi/cxx_host.cpp");
    let exe = compile(tc.cxx, CXX_FLAGS, &source, &dir, "cxx_host", Link::Static);
    assert_eq!(
        run(&tc, &exe, &[], &dir),
        "counter v1: constructor\n\
         counter v1: step(5) -> 105\n\
         C++: object 1, step(5) = 105\n\
         C++: relink_options is 40 bytes\n\
         counter v1: destructor, counter 105\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- The header against the Rust side --------------------------------------

/// A declaration's shape: its C types, comparable between the two sides.
#[derive(Debug, PartialEq, Eq)]
struct Function {
    ret: String,
    params: Vec<String>,
}

/// `relink.h` without comments, preprocessor lines or the C++ guard.
fn header_code() -> String {
    let text = std::fs::read_to_string(crate_dir().join("include/relink.h")).unwrap();
    let mut code = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment") + start + 2;
        rest = &rest[end..];
    }
    code.push_str(rest);
    code.lines()
        .filter(|l| {
            !l.trim_start().starts_with('#') && !l.contains("extern \"C\"") && l.trim() != "}"
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `const char *path` → `const char *`: the type of a declaration, spaced one way.
fn c_type(decl: &str, named: bool) -> String {
    let spaced = decl.replace('*', " * ");
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    if named {
        words.pop();
    }
    words.join(" ")
}

fn header_functions() -> BTreeMap<String, Function> {
    let code = header_code();
    let mut out = BTreeMap::new();
    for stmt in code.split(';').map(str::trim) {
        let prototype = stmt.contains('(') && stmt.contains("relink_");
        if stmt.starts_with("typedef") || stmt.contains('{') || !prototype {
            continue;
        }
        let open = stmt.find('(').expect("a prototype");
        let head = stmt[..open].replace('*', " * ");
        let name = head.split_whitespace().last().unwrap().to_string();
        let ret = c_type(&head, true);
        let inner = &stmt[open + 1..stmt.rfind(')').unwrap()];
        let params = match inner.trim() {
            "void" => Vec::new(),
            p => p.split(',').map(|p| c_type(p, true)).collect(),
        };
        out.insert(name, Function { ret, params });
    }
    out
}

/// `typedef struct NAME { fields } NAME;` → NAME → [(field, type)].
fn header_structs() -> BTreeMap<String, Vec<(String, String)>> {
    let code = header_code();
    let mut out = BTreeMap::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("typedef struct ") {
        rest = &rest[at + "typedef struct ".len()..];
        let Some(open) = rest.find('{').filter(|&o| o < rest.find(';').unwrap_or(0)) else {
            continue; // the opaque `relink_linker`
        };
        let name = rest[..open].trim().to_string();
        let close = rest.find('}').unwrap();
        let fields = rest[open + 1..close]
            .split(';')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| {
                let spaced = f.replace('*', " * ");
                let field = spaced.split_whitespace().last().unwrap().to_string();
                (field, c_type(f, true))
            })
            .collect();
        out.insert(name, fields);
        rest = &rest[close..];
    }
    out
}

fn header_constants() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(crate_dir().join("include/relink.h")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("#define RELINK_"))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((
                format!("RELINK_{}", words.next()?),
                words.next()?.to_string(),
            ))
        })
        .collect()
}

/// The C spelling of a Rust type used in src/capi.rs's signatures and structs.
fn rust_to_c(ty: &str) -> String {
    let c = match ty {
        "" => "void",
        "*mut Handle" => "relink_linker *",
        "*const Handle" => "const relink_linker *",
        "*const c_char" => "const char *",
        "*const c_void" => "const void *",
        "*mut c_void" => "void *",
        "c_int" => "int",
        "usize" => "size_t",
        "*mut usize" => "size_t *",
        "i32" => "int32_t",
        "u32" => "uint32_t",
        "u64" => "uint64_t",
        "RelinkObjectId" => "relink_object_id",
        "*mut RelinkObjectId" => "relink_object_id *",
        "RelinkFn" => "relink_fn",
        "*mut RelinkOptions" => "relink_options *",
        "*const RelinkOptions" => "const relink_options *",
        "*mut RelinkUndefinedSymbol" => "relink_undefined_symbol *",
        "*mut RelinkSymbolized" => "relink_symbolized *",
        "*const RelinkReplacement" => "const relink_replacement *",
        other => panic!("tests/capi.rs: no C spelling for the Rust type `{other}`"),
    };
    c.to_string()
}

fn rust_source() -> String {
    std::fs::read_to_string(crate_dir().join("src/capi.rs")).unwrap()
}

fn rust_functions() -> BTreeMap<String, Function> {
    let src = rust_source();
    let mut out = BTreeMap::new();
    for piece in src.split("#[no_mangle]").skip(1) {
        let at = piece.find("fn relink_").expect("an exported function") + 3;
        let sig = &piece[at..piece.find('{').unwrap()];
        let open = sig.find('(').unwrap();
        let close = sig.rfind(')').unwrap();
        let params = sig[open + 1..close]
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| rust_to_c(p.split_once(':').unwrap().1.trim()))
            .collect();
        let ret = sig[close + 1..].trim().trim_start_matches("->").trim();
        let function = Function {
            ret: rust_to_c(ret),
            params,
        };
        out.insert(sig[..open].trim().to_string(), function);
    }
    out
}

fn rust_structs() -> BTreeMap<String, Vec<(String, String)>> {
    let src = rust_source();
    let c_name = |rust: &str| match rust {
        "RelinkOptions" => "relink_options",
        "RelinkUndefinedSymbol" => "relink_undefined_symbol",
        "RelinkSymbolized" => "relink_symbolized",
        "RelinkReplacement" => "relink_replacement",
        other => panic!("tests/capi.rs: no C name for the struct `{other}`"),
    };
    let mut out = BTreeMap::new();
    for piece in src.split("#[repr(C)]\npub struct ").skip(1) {
        let open = piece.find('{').unwrap();
        let fields = piece[open + 1..piece.find('}').unwrap()]
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| {
                let (name, ty) = f.trim_start_matches("pub ").split_once(':').unwrap();
                (name.trim().to_string(), rust_to_c(ty.trim()))
            })
            .collect();
        out.insert(c_name(piece[..open].trim()).to_string(), fields);
    }
    out
}

fn rust_constants() -> BTreeMap<String, String> {
    rust_source()
        .lines()
        .filter_map(|l| l.strip_prefix("pub const RELINK_"))
        .map(|l| {
            let (name, rest) = l.split_once(':').unwrap();
            let value = rest.split_once('=').unwrap().1.trim().trim_end_matches(';');
            (format!("RELINK_{name}"), value.to_string())
        })
        .collect()
}

#[test]
fn the_header_declares_exactly_what_the_library_exports() {
    let (header, rust) = (header_functions(), rust_functions());
    assert!(header.len() >= 13, "parsed only {header:?}");
    assert_eq!(
        header.keys().collect::<Vec<_>>(),
        rust.keys().collect::<Vec<_>>(),
        "functions in include/relink.h vs src/capi.rs"
    );
    for (name, f) in &header {
        assert_eq!(Some(f), rust.get(name), "the signature of {name}");
    }
    assert_eq!(header_structs(), rust_structs(), "struct fields");
    assert_eq!(header_constants(), rust_constants(), "constants");
}

#[test]
fn the_issue_requires_these_prototypes() {
    let header = header_functions();
    let f = |ret: &str, params: &[&str]| Function {
        ret: ret.to_string(),
        params: params.iter().map(|p| p.to_string()).collect(),
    };
    let lk = "relink_linker *";
    let s = "const char *";
    let required = [
        ("relink_new", f(lk, &[])),
        ("relink_free", f("void", &[lk])),
        ("relink_load_file", f("int", &[lk, s, "relink_object_id *"])),
        (
            "relink_load_bytes",
            f(
                "int",
                &[lk, s, "const void *", "size_t", "relink_object_id *"],
            ),
        ),
        ("relink_load_archive", f("int", &[lk, s])),
        ("relink_define", f("int", &[lk, s, "const void *"])),
        ("relink_lookup", f("void *", &[lk, s])),
        (
            "relink_replace",
            f(
                "int",
                &[lk, "relink_object_id", "const void *", "size_t", "int"],
            ),
        ),
        (
            "relink_replace_many",
            f("int", &[lk, "const relink_replacement *", "size_t", "int"]),
        ),
        ("relink_unload", f("int", &[lk, "relink_object_id"])),
        ("relink_reclaim", f("int", &[lk])),
        ("relink_last_error", f(s, &["const relink_linker *"])),
    ];
    for (name, want) in required {
        assert_eq!(header.get(name), Some(&want), "{name}");
    }
    let code = header_code();
    assert!(code.contains("typedef struct relink_linker relink_linker;"));
    assert!(code.contains("typedef uint64_t relink_object_id;"));
}
