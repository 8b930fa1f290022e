//! The `relink` command line: check, info, --stats, and errors that a user can act
//! on (`relink: error: ...`, non-zero exit, never a panic or backtrace).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{arch, relink_command, run_with_timeout, testdata_dir, Outcome};

fn api(name: &str) -> PathBuf {
    testdata_dir()
        .join("obj")
        .join(arch())
        .join("api")
        .join(format!("{name}.o"))
}

fn relink(args: &[&str]) -> Outcome {
    let mut cmd = relink_command();
    cmd.args(args).env("RUST_BACKTRACE", "1");
    run_with_timeout(cmd, Duration::from_secs(120))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn no_panic(out: &Outcome) {
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{stderr}"
    );
}

#[test]
fn check_passes_a_program_that_links() {
    let (ping, pong) = (api("ping"), api("pong"));
    let out = relink(&["check", ping.to_str().unwrap(), pong.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 object(s) link cleanly"));
}

#[test]
fn check_reports_every_problem_and_exits_1() {
    let files = [api("needs"), api("dup_a"), api("dup_b"), api("tls")];
    let args: Vec<&str> = std::iter::once("check")
        .chain(files.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let out = relink(&args);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for part in [
        "relink: error: duplicate symbol `dup`: defined in",
        "no loaded object defines as a thread-local variable",
        "undefined symbol(s)",
        "`missing_one`, needed by",
        "`host_add`, needed by",
        "relink: 3 problem(s)",
    ] {
        assert!(stderr.contains(part), "`{part}` missing from:\n{stderr}");
    }
}

#[test]
fn info_prints_sections_symbols_and_normalized_relocations() {
    let math = api("math");
    let out = relink(&["info", math.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let (arch_name, pointer) = if cfg!(target_arch = "x86_64") {
        ("x86-64 object", "Pointer64")
    } else {
        ("aarch64 object", "Pointer64")
    };
    for part in [
        arch_name,
        "sections:",
        ".text",
        "Code",
        "symbols:",
        "fib",
        "Function",
        "relocations in .data.rel",
        pointer,
        " add ",
    ] {
        assert!(stdout.contains(part), "`{part}` missing from:\n{stdout}");
    }
}

#[test]
fn stats_breaks_down_the_stages() {
    let dir = testdata_dir()
        .join("obj")
        .join(arch())
        .join("llc-pic")
        .join("calls");
    let mut objects: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    objects.sort();
    let mut args = vec!["run", "--stats"];
    args.extend(objects.iter().map(String::as_str));
    let out = relink(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for stage in ["parse", "layout", "resolve", "fixup", "finalize", "total"] {
        let line = stderr
            .lines()
            .find(|l| {
                l.trim_start_matches("relink:")
                    .trim_start()
                    .starts_with(stage)
            })
            .unwrap_or_else(|| panic!("no `{stage}` line in:\n{stderr}"));
        assert!(line.trim_end().ends_with("ms"), "{line}");
    }
    assert!(
        stderr.contains(&format!("relink: {} objects", objects.len())),
        "{stderr}"
    );
    // Counts: stubs, and bytes per permission class.
    assert!(stderr.contains(" stubs, "), "{stderr}");
    for class in ["code ", "read-only ", "data ", "zero-fill "] {
        assert!(
            stderr.contains(class),
            "no `{class}` bytes in:
{stderr}"
        );
    }
}

#[test]
fn errors_are_one_line_messages_with_a_nonzero_exit() {
    let garbage = std::env::temp_dir().join(format!("relink-cli-garbage-{}.o", std::process::id()));
    std::fs::write(&garbage, b"\x7fELF but not really an object").unwrap();
    for (args, part) in [
        (
            vec!["run", "/nonexistent/relink-test.o"],
            "/nonexistent/relink-test.o:",
        ),
        (vec!["run", garbage.to_str().unwrap()], "malformed object"),
        (vec!["info", garbage.to_str().unwrap()], "malformed object"),
    ] {
        let out = relink(&args);
        no_panic(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("relink: error: ") && stderr.contains(part),
            "{args:?}: {stderr}"
        );
    }
    std::fs::remove_file(&garbage).ok();
    // A program with undefined symbols is refused before it runs, listing them all.
    let needs = api("needs");
    let out = relink(&["run", "--entry", "uses_host", needs.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("3 undefined symbol(s)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_passes_arguments_and_an_entry_point() {
    let ping = api("ping");
    let pong = api("pong");
    // `ping(argc)` with argc = 4 (argv[0] plus three arguments):
    // ping(4) = 1 + pong(3) = 1 + 2 + ping(2) = 1 + 2 + 1 + pong(1) = 1 + 2 + 1 + 2 + ping(0) = 6.
    let out = relink(&[
        "run",
        "--entry",
        "ping",
        ping.to_str().unwrap(),
        pong.to_str().unwrap(),
        "--",
        "a",
        "b",
        "c",
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
}

/// Lines of a child's stream, as they come.
fn lines(stream: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `want`; returns every line seen up to it.
fn wait_for(rx: &std::sync::mpsc::Receiver<String>, want: &str, seen: &mut Vec<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(want) {
                    return;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with `{want}`; saw:\n{}", seen.join("\n"));
}

/// Replaces `path` the way build tools do: write aside, then rename over it.
fn replace_file(path: &std::path::Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn watch_hot_replaces_a_changed_object_and_survives_a_broken_one() {
    let dir = std::env::temp_dir().join(format!("relink-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tick = dir.join("tick.o");
    std::fs::copy(api("tick_v1"), &tick).unwrap();
    let mut cmd = relink_command();
    cmd.args([
        "watch",
        "--interval",
        "20",
        "--count",
        "100000",
        "--entry",
        "tick",
    ])
    .arg(&tick)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let out = lines(child.stdout.take().unwrap());
    let err = lines(child.stderr.take().unwrap());
    let (mut so, mut se) = (Vec::new(), Vec::new());
    wait_for(&out, "tick v1 2", &mut so);

    replace_file(&tick, &std::fs::read(api("tick_v2")).unwrap());
    wait_for(&err, "relink: reloaded", &mut se);
    assert!(se.last().unwrap().contains("tick.o in "), "{se:?}");
    wait_for(&out, "tick v2", &mut so);

    replace_file(&tick, b"\x7fELF truncated nonsense");
    wait_for(&err, "keeping the running version", &mut se);
    assert!(se.last().unwrap().starts_with("relink: watch:"), "{se:?}");
    so.clear();
    wait_for(&out, "tick v2", &mut so);

    // Ctrl-C ends it cleanly.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    wait_for(&err, "relink: watch: stopped after", &mut se);
    assert_eq!(status.code(), Some(0), "{se:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// AArch64 gcc's outline atomics live in the static libgcc.a: relink says so, and
/// runs the program with that archive as an input.
#[cfg(target_arch = "aarch64")]
#[test]
fn outline_atomics_need_libgcc_a_and_the_error_says_so() {
    let atomics = api("atomics");
    let out = relink(&["run", atomics.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`__aarch64_ldadd4_acq_rel`") && stderr.contains("libgcc.a"),
        "{stderr}"
    );
    // The cross toolchain's libgcc.a (scripts/setup.sh installs gcc-aarch64-linux-gnu),
    // or the native one on an AArch64 host.
    let libgcc = [
        "/usr/lib/gcc-cross/aarch64-linux-gnu",
        "/usr/lib/gcc/aarch64-linux-gnu",
    ]
    .iter()
    .filter_map(|dir| std::fs::read_dir(dir).ok())
    .flatten()
    .filter_map(|e| Some(e.ok()?.path().join("libgcc.a")))
    .find(|p| p.exists())
    .expect("libgcc.a of an AArch64 gcc");
    let out = relink(&["run", atomics.to_str().unwrap(), libgcc.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(30), "{}", text(&out.stderr));
}
