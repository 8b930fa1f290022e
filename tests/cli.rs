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
    let arch_name = if cfg!(target_arch = "x86_64") {
        "ELF relocatable object, x86-64"
    } else {
        "ELF relocatable object, aarch64"
    };
    for part in [
        arch_name,
        "Sections:",
        ".text",
        "code",
        "Symbols:",
        "fib",
        "func",
        "Relocations in .data.rel",
        "Pointer64",
        " add",
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

/// The table under the line `title` in `info`'s output: its header and rows.
fn table<'t>(stdout: &'t str, title: &str) -> Vec<&'t str> {
    let mut lines = stdout.lines().skip_while(|l| *l != title).skip(1);
    let rows: Vec<&str> = lines.by_ref().take_while(|l| !l.is_empty()).collect();
    assert!(rows.len() > 1, "no table `{title}` in:\n{stdout}");
    rows
}

/// Every row's cell in the left-aligned column `column` starts where its
/// header does (and is not a continuation of the cell before).
fn assert_aligned(rows: &[&str], column: &str) {
    let at = rows[0]
        .find(&format!(" {column}"))
        .unwrap_or_else(|| panic!("no column {column} in `{}`", rows[0]))
        + 1;
    for row in &rows[1..] {
        let bytes = row.as_bytes();
        assert!(
            bytes.len() > at && bytes[at] != b' ' && bytes[at - 1] == b' ',
            "column {column} (at {at}) is not aligned in:\n{}",
            rows.join("\n")
        );
    }
}

/// The row whose cells are `cells`, in order (split on whitespace).
fn has_row(rows: &[&str], cells: &[&str]) -> bool {
    rows.iter()
        .any(|r| r.split_whitespace().collect::<Vec<_>>() == cells)
}

#[test]
fn info_prints_aligned_tables_for_elf_and_macho_objects() {
    // ELF, for the architecture under test: `ops` in .data.rel points at `add`.
    let out = relink(&["info", api("math").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let relocs = table(&stdout, "Relocations in .data.rel (2):");
    assert_eq!(
        relocs[0].split_whitespace().collect::<Vec<_>>(),
        ["Offset", "Kind", "Addend", "Target"]
    );
    assert!(
        has_row(&relocs, &["0x0", "Pointer64", "0x0", "add"]),
        "{relocs:#?}"
    );
    assert_aligned(&relocs, "Target");
    let sections = table(&stdout, "Sections:");
    assert!(
        (sections.iter())
            .any(|r| r.contains(" .text ") && r.contains(" code ") && r.ends_with("r-x")),
        "{sections:#?}"
    );
    for column in ["Name", "Kind", "Flags"] {
        assert_aligned(&sections, column);
    }
    let symbols = table(&stdout, "Symbols:");
    assert!(
        (symbols.iter())
            .any(|r| r.contains(" func ") && r.contains(" global ") && r.ends_with(" add")),
        "{symbols:#?}"
    );
    for column in ["Type", "Bind", "Vis", "Section", "Name"] {
        assert_aligned(&symbols, column);
    }

    // Mach-O, both architectures (reading needs no running): ping.o calls
    // `apply` with a branch and reaches `helper` PC-relatively.
    for (arch, branch) in [("x86_64", "Branch32"), ("aarch64", "Branch26")] {
        let ping = testdata_dir().join(format!("macho/obj/{arch}/calls/ping.o"));
        let out = relink(&["info", ping.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with(&format!("{}: Mach-O relocatable object", ping.display())));
        let relocs = table(
            &stdout,
            &format!(
                "Relocations in __text ({}):",
                if arch == "x86_64" { 7 } else { 6 }
            ),
        );
        let apply = relocs.iter().filter(|r| {
            let cells: Vec<&str> = r.split_whitespace().collect();
            cells.get(1) == Some(&branch) && cells.last() == Some(&"apply")
        });
        assert_eq!(apply.count(), 2, "{arch}: {relocs:#?}");
        assert_aligned(&relocs, "Kind");
        assert_aligned(&relocs, "Target");
        let symbols = table(&stdout, "Symbols:");
        assert!(
            (symbols.iter())
                .any(|r| r.contains(" notype ") && r.contains(" UND ") && r.ends_with(" apply")),
            "{symbols:#?}"
        );
        assert_aligned(&symbols, "Name");
    }
}

#[test]
fn info_lists_an_archives_members_and_shows_one_on_request() {
    let dir = std::env::temp_dir().join(format!("relink-cli-ar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("libpp.a");
    std::fs::remove_file(&lib).ok();
    let (ping, pong) = (api("ping"), api("pong"));
    let ar = std::process::Command::new("ar")
        .arg("rcs")
        .args([&lib, &ping, &pong])
        .status()
        .unwrap();
    assert!(ar.success());
    let lib_name = lib.to_str().unwrap();
    let out = relink(&["info", lib_name]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("{lib_name}: archive, 2 members")),
        "{stdout}"
    );
    let members = table(&stdout, "Members:");
    assert_eq!(members.len(), 3, "{members:#?}");
    assert!(
        members[1].ends_with(" ping.o") && members[2].ends_with(" pong.o"),
        "{members:#?}"
    );
    assert!(members[1].contains(if cfg!(target_arch = "x86_64") {
        " x86-64 "
    } else {
        " aarch64 "
    }));
    assert_aligned(&members, "Name");
    assert!(!stdout.contains("Symbols:"), "a summary only:\n{stdout}");

    // One member's tables, named as the member table lists it, and the same
    // as `info` on the object itself says.
    let out = relink(&["info", "--member", "pong.o", lib_name]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let alone = text(&relink(&["info", pong.to_str().unwrap()]).stdout);
    let (_, pong_tables) = alone.split_once('\n').unwrap();
    assert!(
        stdout.contains(&format!("{lib_name}(pong.o): ELF relocatable object")),
        "{stdout}"
    );
    assert!(stdout.ends_with(pong_tables), "{stdout}\n---\n{alone}");
    assert!(
        !stdout.contains(&format!("{lib_name}(ping.o): ELF")),
        "{stdout}"
    );
    let all = text(&relink(&["info", "--all-members", lib_name]).stdout);
    assert!(
        all.contains("(ping.o): ELF") && all.contains("(pong.o): ELF"),
        "{all}"
    );

    // A member that is no object is a row and a note; the others still show.
    let junk = dir.join("junk.o");
    std::fs::write(&junk, b"garbage!").unwrap();
    let ar = std::process::Command::new("ar")
        .arg("rc")
        .args([&lib, &junk])
        .status()
        .unwrap();
    assert!(ar.success());
    let out = relink(&["info", lib_name]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let members = table(&stdout, "Members:");
    assert!(
        has_row(&members, &["2", "8", "unreadable", "junk.o"]),
        "{members:#?}"
    );
    assert!(
        stdout.contains(&format!("#2 {lib_name}(junk.o): malformed object")),
        "{stdout}"
    );
    let out = relink(&["info", "--member", "junk.o", lib_name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("(junk.o): malformed object"));

    let out = relink(&["info", "--member", "nope.o", lib_name]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no member named `nope.o`"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `check` and `info` look at the magic number before reading a file: a 4 GiB
/// sparse file and `/dev/zero` (which never ends) are refused at once.
#[test]
fn check_and_info_refuse_huge_and_endless_inputs_at_once() {
    let dir = std::env::temp_dir().join(format!("relink-cli-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let huge = dir.join("huge.o");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    for input in [huge.to_str().unwrap(), "/dev/zero"] {
        for command in ["check", "info"] {
            let mut cmd = relink_command();
            cmd.args([command, input]);
            let started = std::time::Instant::now();
            let out = run_with_timeout(cmd, Duration::from_secs(20));
            assert!(
                !out.timed_out,
                "relink {command} {input}: still running after 20 s"
            );
            no_panic(&out);
            assert_eq!(out.status.code(), Some(1), "relink {command} {input}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.starts_with(&format!("relink: error: {input}: "))
                    && stderr.contains("not a relocatable object or archive: it starts with 00 00"),
                "relink {command} {input}: {stderr}"
            );
            eprintln!("relink {command} {input}: {:?}", started.elapsed());
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Every argument of `check` and `info` has a description in `--help`.
#[test]
fn check_and_info_help_describe_every_argument() {
    for (command, arguments) in [
        (
            "check",
            &[
                "<INPUTS>...",
                "--stats",
                "--lib <NAME>",
                "--no-default-libs",
            ][..],
        ),
        ("info", &["<INPUT>", "--member <NAME>", "--all-members"][..]),
    ] {
        let out = relink(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        let help = text(&out.stdout);
        for argument in arguments {
            let line = (help.lines())
                .find(|l| {
                    l.trim_start()
                        .trim_start_matches("-l, ")
                        .starts_with(argument)
                })
                .unwrap_or_else(|| panic!("{command} --help lacks {argument}:\n{help}"));
            let description = line.split_once(argument).unwrap().1.trim();
            assert!(
                description.split_whitespace().count() >= 3,
                "{command} --help: {argument} has no description:\n{help}"
            );
        }
        // Nothing listed without a description either.
        let listed = (help.lines())
            .filter(|l| l.starts_with("  ") && l.trim_start().starts_with(['-', '<']))
            .count();
        assert_eq!(listed, arguments.len() + 1, "{command} --help:\n{help}"); // + --help
    }
}

/// `relink run` exits before the kernel has freed its memory (a helper
/// process that shares it frees it afterwards: `src/teardown.rs`), and that
/// changes nothing the caller sees: the program's status, all its output (its
/// exit handler's too) as the same program linked natively gives, and once
/// relink has exited nothing holds its output open (a reader gets the end at
/// once, not when the helper is gone). Also with `--no-background-teardown`.
#[test]
fn run_exits_with_all_output_and_holds_nothing_open_after() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("relink-cli-teardown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("talk.c");
    std::fs::write(
        &source,
        r#"#include <stdio.h>
#include <stdlib.h>
static void bye(void) { printf("bye\n"); fprintf(stderr, "bye on stderr\n"); }
int main(int argc, char **argv) {
    atexit(bye);
    for (int i = 0; i < 1000; i++) printf("line %d of %s\n", i, argc > 1 ? argv[1] : "-");
    return 42;
}
"#,
    )
    .unwrap();
    let tc = common::toolchain();
    let object = dir.join("talk.o");
    let native = dir.join("talk");
    let mut cc = Command::new(tc.cc);
    cc.args(["-O2", "-c"]).arg(&source).arg("-o").arg(&object);
    common::build(cc);
    let mut ld = Command::new(tc.cc);
    ld.arg(&object).arg("-o").arg(&native);
    common::build(ld);
    // Less output than a pipe holds: the program never waits for the reader,
    // so everything is in the pipe when relink has exited.
    let run = |mut cmd: Command| {
        cmd.arg("x").stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let status = child.wait().unwrap();
        let out = std::os::fd::OwnedFd::from(child.stdout.take().unwrap());
        let err = std::os::fd::OwnedFd::from(child.stderr.take().unwrap());
        let mut streams = [out, err].map(std::fs::File::from);
        let texts = streams.each_mut().map(|s| {
            // SAFETY: a pipe this test owns.
            unsafe { libc::fcntl(s.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
            let mut bytes = Vec::new();
            match s.read_to_end(&mut bytes) {
                Ok(_) => String::from_utf8(bytes).unwrap(),
                Err(e) => panic!("the output is still held open after exit: {e}"),
            }
        });
        (status.code(), texts)
    };
    let want = run(tc.command(&native));
    assert_eq!(want.0, Some(42));
    assert!(want.1[0].ends_with("line 999 of x\nbye\n"), "{}", want.1[0]);
    for flags in [&[][..], &["--no-background-teardown"]] {
        let mut cmd = relink_command();
        cmd.arg("run").args(flags).arg(&object).arg("--");
        let have = run(cmd);
        assert_eq!(have.0, want.0, "{flags:?}: {}", have.1[1]);
        assert_eq!(have.1, want.1, "{flags:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
