//! Debugging and profiling loaded code: gdb (through the GDB JIT interface)
//! breaks in a loaded function, names the loaded frames and their source lines;
//! `--perf-map` writes perf's map file; debuggable code keeps working after a
//! debugger writes into it. The gdb tests run on x86-64 (TESTING.md: gdb here is
//! an x86-64 gdb, and the AArch64 suite runs under qemu-user).

mod common;

#[cfg(target_arch = "x86_64")]
use std::path::PathBuf;
use std::time::Duration;

use common::{arch, relink_command, run_with_timeout, testdata_dir};

#[cfg(target_arch = "x86_64")]
fn debug_objects(dir: &str) -> Vec<PathBuf> {
    ["counter", "step", "main"]
        .iter()
        .map(|n| testdata_dir().join(dir).join(format!("{n}.o")))
        .collect()
}

/// Runs `relink run OBJECTS` under `gdb -batch` with these commands.
#[cfg(target_arch = "x86_64")]
fn gdb(objects: &[PathBuf], commands: &[&str]) -> String {
    gdb_with(&[], objects, commands)
}

/// As [`gdb`], with options for `relink run` before the objects.
#[cfg(target_arch = "x86_64")]
fn gdb_with(options: &[&str], objects: &[PathBuf], commands: &[&str]) -> String {
    let mut cmd = std::process::Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set breakpoint pending on"]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    cmd.arg("--args")
        .arg(env!("CARGO_BIN_EXE_relink"))
        .arg("run")
        .args(options);
    cmd.args(objects);
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(!out.timed_out, "gdb timed out");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `relink run OPTIONS` of the counter objects under gdb (after `setup`):
/// break in `counter_step`, show the backtrace, the source line and `x`,
/// continue to the next hit and show `x` again.
#[cfg(target_arch = "x86_64")]
fn counter_session(options: &[&str], setup: &[&str]) -> String {
    let mut commands = setup.to_vec();
    commands.extend([
        "break counter_step",
        "run",
        "bt",
        "info line *$pc",
        "print x",
        "continue",
        "print x",
    ]);
    gdb_with(options, &debug_objects("debug/x86_64"), &commands)
}

/// What [`counter_session`] must show: the first hit `hit`, a backtrace from
/// it with `frames`, the source line, `x` = 0, then `second` with `x` = 1
/// (the breakpoint stays inserted).
#[cfg(target_arch = "x86_64")]
fn check_counter_session(out: &str, hit: &str, frames: &[&str], second: &str) {
    assert!(
        out.contains(hit),
        "the pending breakpoint was not hit:\n{out}"
    );
    let bt = &out[out.find(hit).unwrap()..];
    for frame in frames {
        assert!(
            bt.contains(frame),
            "missing `{frame}` in the backtrace:\n{out}"
        );
    }
    assert!(
        out.contains("Line 2 of \"step.c\" starts at address"),
        "`info line` does not show the source line:\n{out}"
    );
    assert!(out.contains("$1 = 0"), "{out}");
    assert!(out.contains(second), "{out}");
    assert!(out.contains("$2 = 1"), "{out}");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn gdb_breaks_in_loaded_code_and_shows_frames_and_source_lines() {
    let out = counter_session(&[], &[]);
    // The backtrace names the loaded frames, with files and lines, and goes on
    // into relink itself.
    check_counter_session(
        &out,
        "Breakpoint 1, counter_step (x=0) at step.c:2",
        &[
            "#0  counter_step (x=0) at step.c:2",
            "counter_run (n=4) at counter.c:10",
            "main () at main.c:3",
            "relink::run",
        ],
        "Breakpoint 1, counter_step (x=1)",
    );
}

/// In an executor (`relink run --executor self --debugger`), gdb following
/// the child breaks in loaded code there, registered through the executor's
/// GDB JIT interface, with frames and source lines, and the breakpoint holds
/// in its debuggable code.
#[cfg(target_arch = "x86_64")]
#[test]
fn gdb_breaks_in_code_loaded_into_an_executor() {
    let executor = format!("{} executor", env!("CARGO_BIN_EXE_relink"));
    let out = counter_session(
        &["--executor", &executor, "--debugger"],
        &["set follow-fork-mode child"],
    );
    check_counter_session(
        &out,
        "counter_step (x=0) at step.c:2",
        &[
            "counter_run (n=4) at counter.c:10",
            "main () at main.c:3",
            "relink::executor::run_main",
        ],
        "counter_step (x=1) at step.c:2",
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn gdb_names_frames_of_mach_o_objects() {
    let out = gdb(
        &debug_objects("debug/x86_64/macho"),
        &["break counter_step", "run", "bt"],
    );
    assert!(
        out.contains("Breakpoint 1, 0x") && out.contains(" in counter_step ()"),
        "the breakpoint in Mach-O code was not hit:\n{out}"
    );
    let bt = &out[out.find("Breakpoint 1,").unwrap()..];
    let inner = bt.find(" in counter_run ()");
    let outer = bt.find(" in main ()");
    assert!(
        inner.is_some() && outer.is_some() && inner < outer && bt.contains("relink::run"),
        "the Mach-O frames are not unwound in order:\n{out}"
    );
}

#[test]
fn perf_map_lists_loaded_functions_and_stubs() {
    // A loaded program that prints its own pid, so the test finds its map file.
    let mut cmd = relink_command();
    cmd.args(["run", "--perf-map", "--entry", "print_pid"]);
    cmd.arg(testdata_dir().join("unwind").join(arch()).join("gxx-pid.o"));
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pid: u32 = stdout
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("no pid printed ({e}): {stdout:?} {:?}", out.stderr));
    let path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let _ = std::fs::remove_file(&path);
    let line = |name: &str| {
        map.lines()
            .find(|l| l.split(' ').nth(2) == Some(name))
            .unwrap_or_else(|| panic!("no `{name}` line in {path}:\n{map}"))
            .to_string()
    };
    for name in ["print_pid", "helper", "stub:getpid", "stub:helper"] {
        let l = line(name);
        let mut fields = l.split(' ');
        let start = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
        let size = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
        assert!(start > 0 && size > 0 && size < 4096, "{l}");
    }
}

/// What a debugger does to insert a breakpoint: a ptrace-style (`FOLL_FORCE`)
/// write into the code through /proc/self/mem. Here it writes back the byte that
/// is there, which makes the page a private copy without changing the code.
#[cfg(target_arch = "x86_64")]
fn debugger_touches(address: u64) {
    use std::os::unix::fs::FileExt;
    let mem = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/self/mem")
        .unwrap();
    let mut byte = [0u8];
    mem.read_exact_at(&mut byte, address).unwrap();
    mem.write_all_at(&byte, address)
        .expect("a debugger could not write debuggable code");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn debuggable_code_takes_breakpoints_and_later_writes() {
    use relink::{Linker, LinkerOptions};
    let obj = |n: &str| testdata_dir().join("unwind").join(arch()).join(n);
    let mut linker = Linker::with_options(LinkerOptions::new().debugger(Some(true))).unwrap();
    let chain = linker.load_file(obj("gxx-chain.o")).unwrap();
    let inner = linker.definition_address("chain_inner").unwrap() as u64;
    debugger_touches(inner);
    // The next object's code lands on the page the debugger copied; relink's
    // writes must reach that copy.
    linker.load_file(obj("gxx-pid.o")).unwrap();
    let helper = linker.definition_address("helper").unwrap() as u64;
    assert_eq!(
        helper / 4096,
        inner / 4096,
        "test premise: one shared code page"
    );
    let f: extern "C" fn(i32) -> i32 = unsafe { linker.function("helper").unwrap() };
    assert_eq!(f(5), 5 + std::process::id() as i32);
    extern "C" fn twice(x: i32) -> i32 {
        x * 2
    }
    let outer: extern "C" fn(extern "C" fn(i32) -> i32, i32) -> i32 =
        unsafe { linker.function("chain_outer").unwrap() };
    assert_eq!(outer(twice, 1), (2 * 2 * 2 + 1) * 3);
    // A replaced version is linked into fresh code; the old page keeps working.
    let bytes = std::fs::read(obj("clang-llc-chain.o")).unwrap();
    linker.replace(chain, &bytes).unwrap();
    assert_eq!(outer(twice, 2), (2 * 3 * 2 + 1) * 3);
    assert_eq!(f(7), 7 + std::process::id() as i32);
}

/// Without debuggable code, the kernel refuses such writes to shared code
/// mappings (which is why debuggable code exists).
#[cfg(target_arch = "x86_64")]
#[test]
fn plain_code_refuses_debugger_writes() {
    use relink::{Linker, LinkerOptions};
    use std::os::unix::fs::FileExt;
    let mut linker = Linker::with_options(LinkerOptions::new().debugger(Some(false))).unwrap();
    linker
        .load_file(testdata_dir().join("unwind").join(arch()).join("gxx-pid.o"))
        .unwrap();
    let helper = linker.definition_address("helper").unwrap() as u64;
    let mem = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/mem")
        .unwrap();
    let before = unsafe { *(helper as *const u8) };
    assert!(mem.write_all_at(&[before], helper).is_err());
}
