//! `relink run`'s exit without the wait for the kernel to free its memory.
//!
//! When a process exits, the kernel frees its address space before the parent
//! that waits for it (the shell, a build tool) hears of the exit. `relink run`
//! holds the loaded program's region (mapped twice, working and target views),
//! the symbol table and every object's records: at wide 1,001 (benches/
//! gen_corpus.py) freeing them took 5.4–6.3 ms after `exit_group`, against
//! 0.2 ms for the same program linked natively — a tenth of the whole run.
//!
//! The address space is freed when its last user goes. So, at exit, after the
//! loaded objects' destructors, a helper process is started that shares it
//! (`clone(CLONE_VM)`, neither a thread of relink nor a copy of its memory) and
//! has the kernel kill it when relink has gone (`PR_SET_PDEATHSIG`). relink's
//! own exit then only drops its reference, and the caller gets the exit status
//! at once; the helper frees the memory as it dies, off the caller's clock.
//! mold and wild do the same for a linker's teardown (mold's `--fork`).
//!
//! The helper first closes its copy of every file descriptor, so that no pipe
//! or file stays open for a reader waiting for its end (`relink run … | cat`):
//! relink's exit waits for it to have done that (20 ms at most). It runs only
//! system calls, on a stack of its own, and touches no other memory.
//!
//! Not when the objects were registered with a debugger (one is attached, or
//! `--debugger`: it would see a process of its own), nor under valgrind (which
//! stops at such a clone), nor where the kernel refuses the clone (qemu-user
//! emulates threads and forks only): then relink exits as any process does.
//! `relink run --no-background-teardown` keeps the wait, to measure relink's
//! whole cost.

use std::ffi::{c_int, c_long, c_void};
use std::sync::atomic::{AtomicU32, Ordering};

/// Set by the helper once it has closed its descriptors and asked to die with
/// relink: 1, or 2 if relink was already gone.
static READY: AtomicU32 = AtomicU32::new(0);

/// The helper's stack: it calls nothing but system calls.
const STACK: usize = 16 << 10;

#[repr(C, align(16))]
struct Stack([u8; STACK]);

static mut HELPER_STACK: Stack = Stack([0; STACK]);

/// Starts the helper and waits until it is ready; its pid, or `None` if it
/// could not be started (or did not say it was ready in time). Call once, as
/// the last thing before the process exits.
pub(crate) fn hand_over() -> Option<libc::pid_t> {
    if under_valgrind() {
        // It stops the whole process at a clone that is neither a thread nor a
        // fork ("Valgrind does not support general clone()").
        return None;
    }
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() } as usize;
    // Every signal blocked while the helper starts: it inherits the mask and
    // keeps it (SIGKILL cannot be blocked), so no handler of relink's or of
    // the program ever runs in it, on its stack, over the memory it shares.
    // SAFETY: sigfillset and pthread_sigmask write only the sets passed.
    let mut all = unsafe { std::mem::zeroed::<libc::sigset_t>() };
    let mut old = unsafe { std::mem::zeroed::<libc::sigset_t>() };
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    let pid = start(parent);
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    pid
}

/// Starts the helper (see [`hand_over`]) and waits until it is ready.
fn start(parent: usize) -> Option<libc::pid_t> {
    // SAFETY: the stack is the helper's alone (this runs once, at exit), its
    // top 16-byte aligned; the helper shares this address space and runs
    // only `helper`, which uses no memory but that stack and `READY`. Without
    // an exit signal nothing is told when it ends; orphaned, it is reaped by
    // init like any orphan.
    let pid = unsafe {
        let top = std::ptr::addr_of_mut!(HELPER_STACK).cast::<u8>().add(STACK);
        libc::clone(
            helper,
            top.cast::<c_void>(),
            libc::CLONE_VM,
            parent as *mut c_void,
        )
    };
    if pid <= 0 {
        return None;
    }
    let timeout = libc::timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    while READY.load(Ordering::Acquire) == 0 {
        // SAFETY: a futex wait on a static word, with a timeout.
        let waited = unsafe {
            libc::syscall(
                libc::SYS_futex,
                READY.as_ptr(),
                libc::FUTEX_WAIT,
                0u32,
                &timeout as *const libc::timespec,
            )
        };
        // Every signal is blocked, so no wait is interrupted (and errno could
        // not be trusted: the helper's system calls share this thread's).
        if waited != 0 && READY.load(Ordering::Acquire) == 0 {
            // Timed out (or the wait failed): exit anyway; the helper still
            // dies with relink.
            return None;
        }
    }
    Some(pid)
}

/// The helper: closes its descriptors, asks to be killed when relink has
/// gone, says it is ready, and waits for that.
extern "C" fn helper(parent: *mut c_void) -> c_int {
    let parent = parent as usize as c_long;
    // SAFETY: system calls with plain arguments, and a futex wake of a
    // static word. (`syscall` may set errno in the TLS of relink's exiting
    // thread, which this process shares: that thread does not read it.)
    unsafe {
        if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) != 0 {
            // Before Linux 5.9: one by one, up to the usual limit.
            for fd in 0..1024 {
                libc::syscall(libc::SYS_close, fd);
            }
        }
        libc::syscall(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Asked after the request, so that a relink already gone is seen.
        let alive = libc::syscall(libc::SYS_getppid) == parent;
        READY.store(if alive { 1 } else { 2 }, Ordering::Release);
        libc::syscall(libc::SYS_futex, READY.as_ptr(), libc::FUTEX_WAKE, 1);
        if alive {
            loop {
                // Waits for a signal (`pause`, which AArch64 lacks).
                let none = std::ptr::null::<c_void>();
                libc::syscall(libc::SYS_ppoll, none, 0usize, none, none);
            }
        }
        libc::syscall(libc::SYS_exit, 0);
    }
    0
}

/// Whether this process runs under valgrind: its launcher sets
/// `VALGRIND_LAUNCHER`, and its tools preload `vgpreload_*.so`.
fn under_valgrind() -> bool {
    std::env::var_os("VALGRIND_LAUNCHER").is_some()
        || std::env::var_os("LD_PRELOAD").is_some_and(|p| p.to_string_lossy().contains("vgpreload"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    static MARK: AtomicU64 = AtomicU64::new(0);

    /// The helper is another process that shares this one's memory (not a
    /// copy: what this process writes after it started, it reads), holds no
    /// file descriptor, blocks every signal, and is this process's child. It
    /// dies with the thread that started it (this test's).
    #[test]
    fn the_helper_shares_this_memory_and_holds_no_descriptor() {
        let Some(pid) = hand_over() else {
            // qemu-user (the suite's aarch64 run) emulates threads and forks
            // only; relink then exits as any process does.
            #[cfg(target_arch = "aarch64")]
            return;
            #[cfg(not(target_arch = "aarch64"))]
            panic!("the kernel refused the helper");
        };
        assert_eq!(READY.load(Ordering::Acquire), 1);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let me = std::process::id().to_string();
        assert!(
            status
                .lines()
                .any(|l| l.strip_prefix("PPid:").map(str::trim) == Some(&me)),
            "{status}"
        );
        let blocked = status
            .lines()
            .find_map(|l| l.strip_prefix("SigBlk:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .unwrap();
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGCHLD, libc::SIGSEGV] {
            assert_ne!(
                blocked & (1 << (signal - 1)),
                0,
                "signal {signal} blocked in the helper"
            );
        }
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count();
        assert_eq!(fds, 0, "the helper closed every descriptor");
        let value = 0x5eed_0000_0000_0000 | u64::from(std::process::id());
        MARK.store(value, Ordering::SeqCst);
        let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
        let mut bytes = [0u8; 8];
        std::os::unix::fs::FileExt::read_exact_at(&mem, &mut bytes, MARK.as_ptr() as u64).unwrap();
        assert_eq!(
            u64::from_ne_bytes(bytes),
            value,
            "written after the helper started"
        );
    }
}
