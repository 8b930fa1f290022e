//! Thread-local variables of the process (`runtime/process_tls.rs`): loaded code
//! reads and writes the thread-locals of shared libraries — `libptls.so`, built
//! here and opened by relink (`-l`, `Linker::load_library`: dynamic TLS, or
//! static once initial-exec code needs it), libstdc++'s `std::__once_callable`
//! and `std::__once_call` and glibc's `errno` — in every model gcc emits:
//! general dynamic (`-fPIC`; AArch64 `-mtls-dialect=trad`), TLS descriptors
//! (x86-64 `-mtls-dialect=gnu2`, AArch64's default) and initial exec (`-fPIE`).
//! `testdata/tls/process/user.c` does so from four threads; its output and exit
//! status under `relink run` are compared with the same source linked natively
//! against the same libraries. Objects are compiled at test time (with
//! `aarch64-linux-gnu-gcc` when cross-built; programs then run under the runner).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{build, relink_command, run_with_timeout, testdata_dir, toolchain};

/// A fresh directory holding `libptls.so` (its own path: a library of its
/// own in this process) and `<source>` compiled with `flags` to `<out>.o`.
fn workdir(test: &str, objects: &[(&str, &str, &[&str])]) -> PathBuf {
    let cc = toolchain().cc;
    let dir = std::env::temp_dir().join(format!("relink-ptls-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = testdata_dir().join("tls").join("process");
    let mut lib = Command::new(cc);
    lib.args(["-O2", "-fPIC", "-shared"])
        // AArch64's default, TLS descriptors, lets glibc put a library it
        // opens into static TLS at once when there is room; the traditional
        // dialect keeps it in dynamic TLS until initial-exec code asks, as on
        // x86-64.
        .args(cfg!(target_arch = "aarch64").then_some("-mtls-dialect=trad"))
        .arg("-o")
        .arg(dir.join("libptls.so"))
        .arg(src.join("ptls.c"));
    build(lib);
    for (source, out, flags) in objects {
        let mut cmd = Command::new(cc);
        cmd.arg("-O2")
            .args(*flags)
            .arg("-c")
            .arg(src.join(source))
            .arg("-o")
            .arg(dir.join(format!("{out}.o")));
        build(cmd);
    }
    dir
}

/// `user.c` compiled with `flags` and run by `relink run -l libptls.so -l
/// stdc++` prints what it prints and exits as it does when linked natively.
fn user_matches_native(test: &str, flags: &[&str]) {
    let dir = workdir(test, &[("user.c", "user", flags)]);
    let cc = toolchain().cc;
    let native = dir.join("native");
    let mut link = Command::new(cc);
    link.arg("-O2")
        .arg(testdata_dir().join("tls/process/user.c"))
        .arg("-o")
        .arg(&native)
        .arg(format!("-L{}", dir.display()))
        .args(["-lptls", "-lstdc++", "-lpthread"])
        .arg(format!("-Wl,-rpath,{}", dir.display()));
    build(link);
    let expected = run_with_timeout(toolchain().command(&native), Duration::from_secs(120));
    assert!(
        expected.status.code().is_some(),
        "native: {}",
        expected.describe_status()
    );
    let mut cmd = relink_command();
    cmd.arg("run")
        .arg("-l")
        .arg(dir.join("libptls.so"))
        .args(["-l", "stdc++"])
        .arg(dir.join("user.o"));
    let got = run_with_timeout(cmd, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&got.stdout);
    assert_eq!(
        got.status.code(),
        expected.status.code(),
        "{test}: status {}; stderr: {}",
        got.describe_status(),
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(stdout, String::from_utf8_lossy(&expected.stdout), "{test}");
    // Four threads, each with its own instances, the library's view equal.
    assert_eq!(stdout.matches(" same 1 ").count(), 4, "{stdout}");
    assert_eq!(stdout.matches(" errno 1\n").count(), 4, "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn general_dynamic_matches_native() {
    if cfg!(target_arch = "aarch64") {
        user_matches_native("gd", &["-fPIC", "-mtls-dialect=trad"]);
    } else {
        user_matches_native("gd", &["-fPIC"]);
    }
}

#[test]
fn tls_descriptors_match_native() {
    if cfg!(target_arch = "aarch64") {
        user_matches_native("desc", &["-fPIC"]);
    } else {
        user_matches_native("desc", &["-fPIC", "-mtls-dialect=gnu2"]);
    }
}

/// libstdc++ and libptls.so are `dlopen`ed by relink and untouched: the C
/// library moves them into static TLS for the initial-exec references, as it
/// does for a library with such code; libc is there from the start.
#[test]
fn initial_exec_matches_native() {
    user_matches_native("ie", &["-fPIE"]);
}

type Read = extern "C" fn() -> i32;

/// Runs `body` in a fresh process (this test binary again, only `test`): a
/// library opened with `RTLD_GLOBAL` stays in the process's global scope, so
/// tests that each open a `libptls.so` must not share a process (the first
/// one's `ptls_counter` would be found).
fn in_own_process(test: &str, body: impl FnOnce()) {
    if std::env::var_os("RELINK_CHILD").is_some() {
        body();
        return;
    }
    let out = common::run_child(test);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test}: {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Initial-exec code loaded first moves libptls.so into static TLS: every
/// thread reads its own instance, the one the library's own `ptls_addr` and
/// `ptls_bump` use.
#[test]
fn initial_exec_reads_the_librarys_instance_in_every_thread() {
    in_own_process(
        "initial_exec_reads_the_librarys_instance_in_every_thread",
        || static_tls_reads_the_librarys_instance("ie-threads", &["-fPIE"]),
    );
}

/// The same with local-exec code (`-ftls-model=local-exec`: x86-64
/// `TPOFF32`, AArch64 `TLSLE_ADD_TPREL_HI12`/`LO12_NC`), which a static linker
/// refuses against a library's variable: once the library is in static TLS
/// the offset is one constant for every thread, which relink writes into the
/// instructions. (No native build to compare with: the library's own accessors
/// are the reference.)
#[test]
fn local_exec_reads_the_librarys_instance_in_every_thread() {
    in_own_process(
        "local_exec_reads_the_librarys_instance_in_every_thread",
        || {
            static_tls_reads_the_librarys_instance(
                "le-threads",
                &["-fPIE", "-ftls-model=local-exec"],
            )
        },
    );
}

/// `reader.c` compiled with `flags` reads libptls.so's `ptls_counter` in
/// three threads and the main one, as the library's own code sees it.
fn static_tls_reads_the_librarys_instance(test: &str, flags: &[&str]) {
    let dir = workdir(test, &[("reader.c", "reader", flags)]);
    let mut linker = relink::Linker::new().unwrap();
    linker
        .load_library(dir.join("libptls.so").to_str().unwrap())
        .unwrap();
    linker.load_file(dir.join("reader.o")).unwrap();
    // SAFETY: `int ptls_read(void)`, `void ptls_bump(int)`, `int *ptls_addr(void)`.
    let read: Read = unsafe { linker.function("ptls_read") }.unwrap();
    let bump: extern "C" fn(i32) = unsafe { linker.function("ptls_bump") }.unwrap();
    let addr: extern "C" fn() -> *mut i32 = unsafe { linker.function("ptls_addr") }.unwrap();
    let check = move |k: i32| {
        assert_eq!(read(), 100, "initial value in thread {k}");
        bump(k);
        // SAFETY: this thread's instance, from the library's own code.
        unsafe { *addr() += 1000 };
        (read(), k + 1100)
    };
    let results: Vec<(i32, i32)> = (1..=3)
        .map(|k| std::thread::spawn(move || check(k)))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .chain([check(7)])
        .collect();
    for (got, want) in results {
        assert_eq!(got, want);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Once a thread used libptls.so's variables as dynamic TLS, initial-exec code
/// cannot reach them: refused by name, variable and library.
#[test]
fn initial_exec_after_dynamic_use_is_refused_by_name() {
    in_own_process("initial_exec_after_dynamic_use_is_refused_by_name", || {
        let gd = if cfg!(target_arch = "aarch64") {
            &["-fPIC", "-mtls-dialect=trad"][..]
        } else {
            &["-fPIC"][..]
        };
        let dir = workdir(
            "refused",
            &[("reader.c", "gd", gd), ("reader.c", "ie", &["-fPIE"])],
        );
        let library = dir.join("libptls.so").to_str().unwrap().to_string();
        let mut first = relink::Linker::new().unwrap();
        first.load_library(&library).unwrap();
        first.load_file(dir.join("gd.o")).unwrap();
        // SAFETY: `int ptls_read(void)`.
        let read: Read = unsafe { first.function("ptls_read") }.unwrap();
        assert_eq!(read(), 100);
        let mut second = relink::Linker::new().unwrap();
        second.load_library(&library).unwrap();
        let e = second.load_file(dir.join("ie.o")).unwrap_err().to_string();
        for part in ["ptls_counter", "libptls.so", "dynamic TLS", "ie.o", "-fPIC"] {
            assert!(e.contains(part), "{part} missing from: {e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// A thread-local that neither a loaded object nor a library defines.
#[test]
fn an_undefined_thread_local_is_a_clear_error() {
    let dir = workdir("undefined", &[]);
    let source = dir.join("missing.c");
    std::fs::write(
        &source,
        "extern __thread int relink_missing_tls;\nint f(void) { return relink_missing_tls; }\n",
    )
    .unwrap();
    let cc = toolchain().cc;
    let mut cmd = Command::new(cc);
    cmd.args(["-O2", "-fPIC", "-c"])
        .arg(&source)
        .arg("-o")
        .arg(dir.join("missing.o"));
    build(cmd);
    let mut linker = relink::Linker::new().unwrap();
    let e = linker
        .load_file(dir.join("missing.o"))
        .unwrap_err()
        .to_string();
    for part in ["relink_missing_tls", "missing.o", "thread-local"] {
        assert!(e.contains(part), "{part} missing from: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A declaration without `__thread` of a library's thread-local (glibc's
/// `errno`) is refused by name and place, as a static linker refuses it,
/// through the CLI (a batch) and the API; a GOT load and a PC-relative one.
#[test]
fn a_non_thread_local_reference_to_a_process_thread_local_is_refused() {
    let dir = workdir("non-tls", &[]);
    let source = dir.join("plain.c");
    std::fs::write(
        &source,
        "extern int errno;\nint main(void) { return errno == 0 ? 0 : 1; }\n",
    )
    .unwrap();
    let cc = toolchain().cc;
    for (out, flags) in [("got", "-fPIC"), ("pcrel", "-fPIE")] {
        let object = dir.join(format!("{out}.o"));
        let mut cmd = Command::new(cc);
        cmd.args(["-O2", flags, "-c"])
            .arg(&source)
            .arg("-o")
            .arg(&object);
        build(cmd);
        let mut run = relink_command();
        run.arg("run").arg(&object);
        let got = run_with_timeout(run, Duration::from_secs(120));
        let stderr = String::from_utf8_lossy(&got.stderr);
        assert_eq!(got.status.code(), Some(1), "{out}: {stderr}");
        let mut linker = relink::Linker::new().unwrap();
        let api = linker.load_file(&object).unwrap_err().to_string();
        for e in [&*stderr, &*api] {
            for part in [
                "thread-local `errno`",
                "only thread-local relocations",
                &format!("{out}.o"),
            ] {
                assert!(e.contains(part), "{out}: {part} missing from: {e}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A loaded object's plain variable named as a library's thread-local (glibc's
/// `errno`): another object's plain reference binds to it, as in the native
/// link of the same two objects, once the definition is loaded. A reference
/// linked before any object defines the name is still refused: at that point
/// the process's thread-local is what it would bind to.
#[test]
fn a_name_a_loaded_object_defines_is_no_process_thread_local() {
    let dir = workdir("own-errno", &[]);
    let (own, user) = (dir.join("own.c"), dir.join("user.c"));
    std::fs::write(&own, "int errno = 5;\n").unwrap();
    std::fs::write(
        &user,
        "extern int errno;\nint main(void) { return errno + 37; }\n",
    )
    .unwrap();
    let cc = toolchain().cc;
    for source in [&own, &user] {
        let mut cmd = Command::new(cc);
        cmd.args(["-O2", "-fPIC", "-c"])
            .arg(source)
            .arg("-o")
            .arg(source.with_extension("o"));
        build(cmd);
    }
    let (own, user) = (own.with_extension("o"), user.with_extension("o"));
    let native = dir.join("native");
    let mut link = Command::new(cc);
    link.arg(&own).arg(&user).arg("-o").arg(&native);
    build(link);
    let expected = toolchain().command(&native).status().unwrap().code();
    assert_eq!(expected, Some(42));
    // The definition first: the CLI (a batch) and the API.
    let mut run = relink_command();
    run.arg("run").arg(&own).arg(&user);
    let got = run_with_timeout(run, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), expected, "{stderr}");
    let mut linker = relink::Linker::new().unwrap();
    linker.load_file(&own).unwrap();
    linker.load_file(&user).unwrap();
    let main: extern "C" fn() -> i32 = unsafe { linker.function("main").unwrap() };
    assert_eq!(Some(main()), expected);
    // The reference first: refused by name, as before the definition existed.
    let mut linker = relink::Linker::new().unwrap();
    let e = linker.load_file(&user).unwrap_err().to_string();
    assert!(e.contains("thread-local `errno`"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
