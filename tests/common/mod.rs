//! Helpers shared by the integration tests: where the test corpus lives, how to
//! start the `relink` binary (directly, or under `RELINK_TEST_RUNNER` when the
//! tests are cross-built and run under qemu), and running it with a time limit.
#![allow(dead_code)]

pub mod backtrace;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A linker for C++ objects that counts its debugger registrations: registered
/// with debuggers (`debugger: Some(true)`) and with libstdc++ loaded by name (the
/// test binaries link it through relink-cxxhost, so this checks `load_library`).
pub fn cxx_linker() -> relink::Linker {
    let mut linker =
        relink::Linker::with_options(relink::LinkerOptions::new().debugger(Some(true))).unwrap();
    linker.load_library("stdc++").unwrap();
    linker
}

/// `testdata/obj/<arch>/<group>/<name>.o`, for the architecture under test.
pub fn object(group: &str, name: &str) -> PathBuf {
    testdata_dir()
        .join("obj")
        .join(arch())
        .join(group)
        .join(format!("{name}.o"))
}

/// A small deterministic generator (xorshift), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// `<crate>/testdata`.
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The architecture directory name used under `testdata/obj` and
/// `testdata/expected` for the architecture this test binary is built for.
pub fn arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else {
        panic!("relink's tests support only x86_64 and aarch64")
    }
}

/// An LLVM tool (`llvm-ar`, `llvm-mc`) by its plain name, or with the `-14`
/// suffix Debian's llvm-14 package may give it.
pub fn llvm_tool(name: &str) -> String {
    let works = |p: &str| Command::new(p).arg("--version").output().is_ok();
    if works(name) {
        name.to_string()
    } else {
        format!("{name}-14")
    }
}

/// A `Command` that runs the `relink` binary built with these tests.
///
/// If `RELINK_TEST_RUNNER` is set (for example to
/// `qemu-aarch64 -L /usr/aarch64-linux-gnu` when the tests are built for
/// aarch64 and run under qemu), it is split on whitespace and used as the
/// command prefix, since the binary cannot be spawned directly then.
pub fn relink_command() -> Command {
    let relink = env!("CARGO_BIN_EXE_relink");
    let runner = std::env::var("RELINK_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words);
            cmd.arg(relink);
            cmd
        }
        None => Command::new(relink),
    }
}

/// What a finished (or killed) child process produced.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
}

impl Outcome {
    /// The exit status as text: the exit code, or how the process died.
    pub fn describe_status(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        let mut s = match (self.status.code(), self.status.signal()) {
            (Some(code), _) => code.to_string(),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => format!("{:?}", self.status),
        };
        if self.timed_out {
            s.push_str(" (timed out, killed)");
        }
        s
    }
}

/// Runs `cmd` with stdin closed, capturing stdout and stderr, and kills it if
/// it runs longer than `limit`.
pub fn run_with_timeout(cmd: Command, limit: Duration) -> Outcome {
    run_with_stdin(cmd, Stdio::null(), limit)
}

/// As [`run_with_timeout`], with `stdin` as the child's standard input.
pub fn run_with_stdin(mut cmd: Command, stdin: Stdio, limit: Duration) -> Outcome {
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    // Drain both pipes while waiting, so a chatty child cannot block on a full pipe.
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                timed_out = true;
                // What it was stuck on, for the test's output: a hang seen
                // twice in CI under qemu-user could not be reproduced by hand.
                eprintln!("{}", hang_report(child.id()));
                let _ = child.kill();
                break child.wait().expect("wait for killed child");
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    Outcome {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
        timed_out,
    }
}

/// A timed-out process's threads (state, kernel wait channel, system call), then
/// each thread's backtrace from gdb (within a minute, if gdb is installed).
fn hang_report(pid: u32) -> String {
    let mut out =
        format!("timed out: process {pid}; per thread: id, name, state | wchan | syscall\n");
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"));
    for task in tasks.into_iter().flatten().flatten() {
        let read = |f: &str| std::fs::read_to_string(task.path().join(f)).unwrap_or_default();
        let (stat, wchan, syscall) = (read("stat"), read("wchan"), read("syscall"));
        // "pid (name) state ...": up to the state.
        let state = stat
            .rfind(')')
            .map_or(&stat[..], |end| &stat[..(end + 3).min(stat.len())]);
        out += &format!("  {} | {} | {}\n", state, wchan.trim(), syscall.trim());
    }
    let gdb = Command::new("timeout")
        .args(["60", "gdb", "-batch", "-p", &pid.to_string()])
        .args(["-ex", "thread apply all bt"])
        .output();
    if let Ok(gdb) = gdb {
        out += &String::from_utf8_lossy(&gdb.stdout);
    }
    out
}

/// Every `.o` file below `testdata/obj` (ELF), sorted.
pub fn all_objects() -> Vec<PathBuf> {
    objects_below(&testdata_dir().join("obj"))
}

/// Every `.o` file below `testdata/macho/obj` (Mach-O), sorted.
pub fn all_macho_objects() -> Vec<PathBuf> {
    objects_below(&testdata_dir().join("macho").join("obj"))
}

fn objects_below(dir: &std::path::Path) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "o") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Runs this test binary again with only `test` selected and `RELINK_CHILD` set
/// (under `RELINK_TEST_RUNNER` when cross-testing): for tests whose child aborts.
pub fn run_child(test: &str) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match std::env::var("RELINK_TEST_RUNNER") {
        Ok(r) if !r.trim().is_empty() => {
            let mut parts = r.split_whitespace();
            let mut c = Command::new(parts.next().unwrap());
            c.args(parts).arg(exe);
            c
        }
        _ => Command::new(exe),
    };
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("RELINK_CHILD", "1")
        .output()
        .unwrap()
}

/// Resident set size of this process, in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Static TLS libraries relink holds in this process (distinct memfd inodes
/// in the maps).
pub fn static_tls_libraries() -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut inodes: Vec<&str> = maps
        .lines()
        .filter(|l| l.contains("relink-static-tls"))
        .filter_map(|l| l.split_whitespace().nth(4))
        .collect();
    inodes.sort_unstable();
    inodes.dedup();
    inodes.len()
}

/// Runs a build step (a compiler, `ar`), failing the test with its output if it
/// fails.
pub fn build(mut cmd: Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The C toolchain for the architecture under test, and what runs its programs
/// (`RELINK_TEST_RUNNER`, split on whitespace; empty natively).
pub struct Toolchain {
    pub cc: &'static str,
    pub cxx: &'static str,
    pub ar: &'static str,
    pub runner: Vec<String>,
}

impl Toolchain {
    /// A command that runs `program`, a native build of the architecture under
    /// test: under the runner (qemu-user) when there is one.
    pub fn command(&self, program: &std::path::Path) -> Command {
        match self.runner.split_first() {
            Some((runner, args)) => {
                let mut cmd = Command::new(runner);
                cmd.args(args).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }
}

/// The host's gcc natively; the AArch64 cross tools when the tests are an
/// aarch64 build run under a runner (qemu-user).
pub fn toolchain() -> Toolchain {
    let runner: Vec<String> = std::env::var("RELINK_TEST_RUNNER")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if cfg!(target_arch = "aarch64") && !runner.is_empty() {
        Toolchain {
            cc: "aarch64-linux-gnu-gcc",
            cxx: "aarch64-linux-gnu-g++",
            ar: "aarch64-linux-gnu-ar",
            runner,
        }
    } else {
        Toolchain {
            cc: "gcc",
            cxx: "g++",
            ar: "ar",
            runner,
        }
    }
}

/// A line diff of `want` against `have` (longest common subsequence): common
/// lines prefixed with two spaces, missing ones with `- `, extra ones with `+ `.
pub fn line_diff(want: &str, have: &str) -> String {
    let a: Vec<&str> = want.lines().collect();
    let b: Vec<&str> = have.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        }
    }
    if a == b && want.ends_with('\n') != have.ends_with('\n') {
        out.push_str("(the outputs differ in their final newline)\n");
    }
    out
}

/// `modules` generated modules of `functions` functions each, plus main
/// (benches/gen_corpus.py, rich shape, llc pic for the architecture under
/// test), in `dir`: the objects, sorted, and the exit status the generator
/// computed for the linked program.
pub fn generated_corpus(
    dir: &std::path::Path,
    modules: usize,
    functions: usize,
) -> (Vec<PathBuf>, u64) {
    let triple = match arch() {
        "x86_64" => "x86_64-unknown-linux-gnu",
        _ => "aarch64-unknown-linux-gnu",
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/gen_corpus.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .arg(modules.to_string())
        .arg(functions.to_string())
        .args(["--triple", triple, "--jobs", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gen_corpus.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let mut objects: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    objects.sort();
    assert_eq!(objects.len(), modules + 1, "{modules} modules and main");
    (objects, want)
}

/// `testdata/src/<prog>/args`: one argument per line (an empty line is an
/// empty argument). No file: no arguments.
pub fn program_args(testdata: &std::path::Path, prog: &str) -> Vec<String> {
    let path = testdata.join("src").join(prog).join("args");
    match std::fs::read_to_string(&path) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// Shared libraries a program needs (`relink run -l`), one per line in
/// `src/<prog>/libs` or `cxx/<prog>/libs` (C++ programs need `stdc++`).
pub fn program_libs(testdata: &std::path::Path, prog: &str) -> Vec<String> {
    ["src", "cxx"]
        .iter()
        .map(|d| testdata.join(d).join(prog).join("libs"))
        .find(|p| p.exists())
        .map(|p| {
            std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Assembles `source` (assembly for the architecture under test) into
/// `dir/name` with `llvm-mc`; the source is left beside it as `name.s`.
pub fn assemble(dir: &std::path::Path, name: &str, source: &str) -> PathBuf {
    let triple = format!("{}-linux-gnu", arch());
    let (src, out) = (dir.join(format!("{name}.s")), dir.join(name));
    std::fs::write(&src, source).unwrap();
    let status = Command::new(llvm_tool("llvm-mc"))
        .args(["-filetype=obj", &format!("-triple={triple}"), "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("llvm-mc (scripts/setup.sh installs llvm-14)");
    assert!(status.success(), "llvm-mc failed on {name}");
    out
}
