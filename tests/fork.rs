//! `fork()` and loaded code: after a fork the child's loaded code, data and slots
//! are its own (src/memory/fork.rs), as a native program's are.
//!
//! Programs from `testdata/fork` run under `relink run` and print what their native
//! builds printed (`testdata/build-fork.sh`); one runs under a host that replaces
//! its library in the parent and in the child around a fork. Host code forks too,
//! also while another thread loads and replaces. Tests that fork from the host run
//! in a fresh process of this binary (one test thread, so that the child inherits
//! no lock another test holds).

mod common;

use std::ffi::c_int;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{arch, relink_command, run_with_timeout, testdata_dir};
use relink::{Linker, LinkerOptions, ObjectId};

/// Generous: under qemu both relink and the program are emulated.
const TIME_LIMIT: Duration = Duration::from_secs(300);

fn obj(name: &str) -> PathBuf {
    common::object("fork", name)
}

fn api(name: &str) -> PathBuf {
    common::object("api", name)
}

fn expected(name: &str) -> String {
    let path = testdata_dir()
        .join("expected")
        .join(arch())
        .join(format!("fork-{name}.stdout"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `relink run testdata/obj/<arch>/fork/<name>.o` prints what the native build did.
fn relink_run_matches_native(name: &str) {
    let mut cmd = relink_command();
    cmd.arg("run").arg(obj(name));
    let out = run_with_timeout(cmd, TIME_LIMIT);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: status {}; stderr: {}",
        out.describe_status(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected(name),
        "{name}"
    );
}

/// Each child (and grandchild) of a loaded program changes its globals, a static
/// local and a table; the parent and the other children never see it.
#[test]
fn fork_from_loaded_code_gives_each_process_its_own_data() {
    relink_run_matches_native("counters");
}

/// Loaded code forks while another thread keeps writing loaded data, once from the
/// main thread and once from a worker: the child's copy stays still, and the
/// parent never sees the child's write.
#[test]
fn fork_while_other_threads_write_loaded_data() {
    relink_run_matches_native("threads");
}

/// `vfork` + `exec` and `posix_spawn` from loaded code run no fork handlers and
/// need none; the parent's data is intact.
#[test]
fn vfork_and_posix_spawn_from_loaded_code() {
    relink_run_matches_native("spawn");
}

/// In the test process: runs `body` (and returns `None`) when this is the fresh
/// process [`common::run_child`] started; otherwise starts it for `test` and
/// returns what the body printed between the markers, after checking it exited 0.
fn in_fresh_process(test: &str, body: impl FnOnce()) -> Option<String> {
    if std::env::var_os("RELINK_CHILD").is_some() {
        println!("<<output>>");
        body();
        // SAFETY: flushing every C stream; loaded code printed through them.
        unsafe { libc::fflush(std::ptr::null_mut()) };
        println!("<</output>>");
        return None;
    }
    let out = common::run_child(test);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{test}: {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = stdout
        .split_once("<<output>>\n")
        .and_then(|(_, rest)| rest.split_once("<</output>>"))
        .map(|(printed, _)| printed.to_string());
    Some(printed.unwrap_or_else(|| panic!("{test}: no output markers in {stdout}")))
}

/// The linker `host_replace` works on, with the library's id.
static REPLACING: Mutex<Option<(Linker, ObjectId)>> = Mutex::new(None);

/// Called by driver.c: replaces the library with `lib_v<version>` and frees the
/// old code at once (no thread of this process is in it).
extern "C" fn host_replace(version: c_int) {
    let mut held = REPLACING.lock().unwrap();
    let (linker, lib) = held.as_mut().unwrap();
    let bytes = std::fs::read(obj(&format!("lib_v{version}"))).unwrap();
    linker.replace(*lib, &bytes).unwrap();
    unsafe { linker.reclaim() };
}

/// The parent replaces the library and reclaims the old version while the child
/// is blocked inside it; the child returns into its own copy of the old code,
/// then replaces its copy: each process prints what the native build of the
/// version it should run printed.
#[test]
fn replace_and_reclaim_after_fork_stay_in_their_process() {
    let printed = in_fresh_process(
        "replace_and_reclaim_after_fork_stay_in_their_process",
        || {
            let mut linker = Linker::new().unwrap();
            linker
                .define("host_replace", host_replace as *const u8)
                .unwrap();
            let lib = linker.load_file(obj("lib_v1")).unwrap();
            linker.load_file(obj("driver")).unwrap();
            // SAFETY: driver.c's `int main(void)`.
            let main: extern "C" fn() -> c_int = unsafe { linker.function("main").unwrap() };
            *REPLACING.lock().unwrap() = Some((linker, lib));
            assert_eq!(main(), 0);
        },
    );
    if let Some(printed) = printed {
        assert_eq!(printed, expected("replace"));
    }
}

/// Waits for child `pid` and returns its exit status (or 1000 + the signal).
fn wait_for(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let got = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(got, pid);
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        1000 + libc::WTERMSIG(status)
    }
}

/// A pipe: (read end, write end).
fn pipe() -> (c_int, c_int) {
    let mut fds = [0; 2];
    // SAFETY: a two-element array for pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

/// What the child of `host_fork_child_can_load_replace_and_unload` checks; the
/// first failing check's number is its exit status.
fn child_checks(linker: &mut Linker, lib: ObjectId, counter: *mut i32, go: c_int) -> i32 {
    let mut byte = 0u8;
    // SAFETY: reading one byte into a local from our pipe.
    if unsafe { libc::read(go, (&mut byte as *mut u8).cast(), 1) } != 1 {
        return 1;
    }
    // The parent wrote 6 and replaced the library before sending the byte.
    // SAFETY: `counter` is lib_v1's variable, in this process's copy.
    if unsafe { *counter } != 5 {
        return 2;
    }
    // SAFETY: user.c's `int user_version(void)`.
    let user_version: extern "C" fn() -> c_int =
        unsafe { linker.function("user_version").unwrap() };
    if user_version() != 1 {
        return 3;
    }
    let v3 = std::fs::read(api("lib_v3")).unwrap();
    if linker.replace(lib, &v3).is_err() || user_version() != 3 {
        return 4;
    }
    unsafe { linker.reclaim() };
    let Ok(weak) = linker.load_file(api("weak")) else {
        return 5;
    };
    // SAFETY: weak.c's `int which_flavour(void)`.
    let which: extern "C" fn() -> c_int = unsafe { linker.function("which_flavour").unwrap() };
    if which() != 1 || linker.unload(weak).is_err() {
        return 6;
    }
    // A grandchild's writes stay in the grandchild too.
    let counter = linker.address("counter").unwrap() as *mut i32;
    // SAFETY: lib_v3's `counter`; fork from a single-threaded process.
    unsafe {
        *counter = 70;
        let pid = libc::fork();
        if pid == 0 {
            *counter = 700;
            libc::_exit(if user_version() == 3 { 0 } else { 1 });
        }
        if wait_for(pid) != 0 || *counter != 70 {
            return 7;
        }
    }
    0
}

/// The host forks: the child has its own data, code and slots, and its `Linker`
/// replaces, reclaims, loads, unloads and forks again; the parent's later writes
/// and replace do not reach the child, nor the child's the parent.
#[test]
fn host_fork_child_can_load_replace_and_unload() {
    in_fresh_process("host_fork_child_can_load_replace_and_unload", || {
        host_fork(false)
    });
}

/// The same with debuggable code (private code mappings, `/proc/self/mem`; not
/// under qemu, where relink never makes code debuggable).
#[test]
fn host_fork_with_debuggable_code() {
    in_fresh_process("host_fork_with_debuggable_code", || host_fork(true));
}

/// The body of the two host_fork tests.
fn host_fork(debugger: bool) {
    let options = LinkerOptions::new().debugger(Some(debugger));
    // relink never makes code debuggable under qemu-user.
    let qemu = cfg!(target_arch = "aarch64")
        && std::env::var_os("RELINK_QEMU_USER").is_some_and(|v| v == "1");
    let debuggable = debugger && !qemu;
    let mut linker = Linker::with_options(options).unwrap();
    let lib = linker.load_file(api("lib_v1")).unwrap();
    linker.load_file(api("user")).unwrap();
    let counter = linker.address("counter").unwrap() as *mut i32;
    // SAFETY: user.c's `int user_version(void)`.
    let user_version: extern "C" fn() -> c_int =
        unsafe { linker.function("user_version").unwrap() };
    let (go_read, go_write) = pipe();
    // SAFETY: lib_v1's `counter`; this process runs one test thread.
    let pid = unsafe {
        *counter = 5;
        libc::fork()
    };
    if pid == 0 {
        let mut status = child_checks(&mut linker, lib, counter, go_read);
        // Debuggable code is mapped privately from the child's copy too.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let private_code = maps
            .lines()
            .any(|l| l.contains(" r-xp ") && l.contains("memfd:relink"));
        if status == 0 && debuggable && !private_code {
            status = 8;
        }
        // SAFETY: ending the child without running the test harness's exit.
        unsafe { libc::_exit(status) };
    }
    // SAFETY: as above, in the parent's copy.
    unsafe { *counter = 6 };
    linker
        .replace(lib, &std::fs::read(api("lib_v2")).unwrap())
        .unwrap();
    unsafe { linker.reclaim() };
    // SAFETY: writing one byte from a local to our pipe.
    assert_eq!(unsafe { libc::write(go_write, b"x".as_ptr().cast(), 1) }, 1);
    assert_eq!(wait_for(pid), 0, "the child's failed check");
    assert_eq!(user_version(), 2);
    let counter = linker.address("counter").unwrap() as *const i32;
    // SAFETY: lib_v2's `counter` (the same storage, re-initialised to 100).
    assert_eq!(unsafe { *counter }, 100);
}

/// Forks, again and again, while another thread loads, replaces, unloads and
/// reclaims in a linker of its own (its region's protections change all the
/// time): each child finds the first linker's code and data as they were at the
/// fork, and its writes stay in the child.
#[test]
fn fork_while_another_thread_loads_and_replaces() {
    in_fresh_process("fork_while_another_thread_loads_and_replaces", || {
        let mut linker = Linker::new().unwrap();
        linker.load_file(api("math")).unwrap();
        let counter = linker.address("counter").unwrap() as *mut i32;
        // SAFETY: math.c's `int bump(void)`.
        let bump: extern "C" fn() -> c_int = unsafe { linker.function("bump").unwrap() };
        let stop = Arc::new(AtomicBool::new(false));
        let churn = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let v2 = std::fs::read(api("lib_v2")).unwrap();
                let mut rounds = 0;
                while !stop.load(Ordering::Relaxed) || rounds < 3 {
                    let mut other = Linker::new().unwrap();
                    let lib = other.load_file(api("lib_v1")).unwrap();
                    let user = other.load_file(api("user")).unwrap();
                    other.replace(lib, &v2).unwrap();
                    unsafe { other.reclaim() };
                    other.unload(user).unwrap();
                    rounds += 1;
                }
                rounds
            })
        };
        for round in 0..20 {
            // SAFETY: math.c's `counter`; the child only calls loaded code,
            // reads and writes memory and exits.
            let pid = unsafe {
                *counter = round;
                libc::fork()
            };
            if pid == 0 {
                let ok = bump() == round + 1 && bump() == round + 2;
                // SAFETY: ending the child.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            assert_eq!(wait_for(pid), 0, "round {round}");
            // SAFETY: as above.
            assert_eq!(unsafe { *counter }, round, "round {round}");
        }
        stop.store(true, Ordering::Relaxed);
        assert!(churn.join().unwrap() >= 3);
    });
}

/// When the copy cannot be made (here: no descriptor left for its memfd), the
/// child exits with status 127 instead of sharing memory with its parent, and
/// the parent goes on.
#[test]
fn a_child_without_its_copy_exits_127() {
    in_fresh_process("a_child_without_its_copy_exits_127", || {
        let mut linker = Linker::new().unwrap();
        linker.load_file(api("math")).unwrap();
        // SAFETY: math.c's `int bump(void)`.
        let bump: extern "C" fn() -> c_int = unsafe { linker.function("bump").unwrap() };
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls on our own process; the limit is restored.
        let pid = unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
            let lowest_free = libc::dup(0);
            libc::close(lowest_free);
            let none_left = libc::rlimit {
                rlim_cur: lowest_free as libc::rlim_t,
                ..limit
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &none_left), 0);
            let pid = libc::fork();
            if pid == 0 {
                bump();
                libc::_exit(0);
            }
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
            pid
        };
        assert_eq!(wait_for(pid), 127);
        assert_eq!(bump(), 41);
    });
}

/// Not a check: what `fork()` costs per MiB of loaded data, in wall time and in
/// the parent's CPU time (which is where the copy is made; steadier on a busy
/// machine). big.o's 256 MiB zero-fill array is allocated (and populated) whole;
/// `fill` writes its first MiBs. Run with
/// `cargo test --release --test fork fork_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn fork_cost_per_mib() {
    const FORKS: u32 = 20;
    let cpu = || {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid clock id and a timespec to fill.
        unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 * 1e6 + t.tv_nsec as f64 / 1e3
    };
    // Microseconds per fork: (wall, parent CPU).
    let time_forks = || {
        let (start, start_cpu) = (Instant::now(), cpu());
        for _ in 0..FORKS {
            // SAFETY: the child exits at once.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: ending the child.
                unsafe { libc::_exit(0) };
            }
            wait_for(pid);
        }
        let n = f64::from(FORKS);
        (
            start.elapsed().as_secs_f64() * 1e6 / n,
            (cpu() - start_cpu) / n,
        )
    };
    let base = time_forks();
    println!(
        "nothing loaded: {:.0} us per fork (CPU {:.0} us)",
        base.0, base.1
    );
    let mut zero = base;
    for mib in [0, 16, 64, 256] {
        let mut linker = Linker::new().unwrap();
        linker.load_file(obj("big")).unwrap();
        // SAFETY: big.c's `void fill(int)`.
        let fill: extern "C" fn(c_int) = unsafe { linker.function("fill").unwrap() };
        fill(mib);
        let t = time_forks();
        let (from, per) = if mib == 0 {
            zero = t;
            (base, 256.0)
        } else {
            (zero, f64::from(mib))
        };
        println!(
            "{:>16}: {:.0} us per fork (CPU {:.0} us); per MiB: {:.0} us (CPU {:.0} us)",
            if mib == 0 {
                "256 MiB of zeros".to_string()
            } else {
                format!("{mib} MiB written")
            },
            t.0,
            t.1,
            (t.0 - from.0) / per,
            (t.1 - from.1) / per
        );
    }
}
