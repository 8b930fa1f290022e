//! `fork()`: the child gets its own copy of every region.
//!
//! A region is a memfd mapped `MAP_SHARED` twice, and a shared mapping stays
//! shared across `fork()`: without this module parent and child would write the
//! same `.data` and `.bss`, and a replace or `reclaim` in one would change or free
//! the code the other runs. Native `.data` is private (copy-on-write) instead.
//!
//! Handlers registered once with `pthread_atfork` keep the native behaviour:
//! - *prepare* (in the parent, before the fork) takes the registry lock, so no
//!   region changes its protections or goes away while it is copied, and copies
//!   each live region's pages that hold data (`SEEK_DATA`: pages freed or never
//!   touched are holes and stay zero) from the working view into a fresh memfd;
//! - *child* maps that copy over both views at the same addresses — the working
//!   view read-write, the target view `PROT_NONE` and then each range with the
//!   protection it had — and puts the copy's descriptor in place of the region's
//!   own (`dup3` onto the same number), so the child's `Region` uses it from then
//!   on. A debuggable region's `/proc/self/mem` and `/proc/self/pagemap` are
//!   reopened the same way: the parent's ones name the parent's memory;
//! - *parent* closes its descriptors of the copies; both release the lock.
//!
//! So after `fork()` the child sees what the parent had at the moment of the fork,
//! at the same addresses, with W^X and the dual mapping as before, and neither
//! process sees the other's later writes, replaces, unloads or reclaims. The
//! child's `Linker` keeps working (load, replace, unload, reclaim, fork again).
//!
//! The copy is made before the fork because the parent's other threads go on
//! writing the shared pages while the child starts; made in the child it would
//! catch some of their later writes (and the forking thread's, once `fork`
//! returned in the parent). Its cost is one page copy per page holding data, paid
//! by the parent in `fork()`; native `fork` copies page tables only. And each
//! child then holds a whole copy, where native children share the pages no one
//! writes until someone does.
//!
//! Limits:
//! - Only `fork()` runs the handlers. `vfork()` and `posix_spawn()` need nothing
//!   (the child shares the parent's memory until it execs, as natively; glibc's
//!   `system` and `popen` use the latter). `_Fork()` and a raw
//!   `clone()`/`syscall(SYS_clone)` without `CLONE_VM` bypass the handlers: such a
//!   child shares the regions with its parent.
//! - While *prepare* copies, other threads that change a region's protections
//!   wait; a `fork()` from a signal handler that interrupted such a change
//!   deadlocks (`fork` is not async-signal-safe in POSIX.1-2024 either).
//! - A `Linker` that another thread was using at the moment of the fork is left
//!   mid-operation in the child (that thread does not exist there): its loaded
//!   code and data are copied, but the `Linker` itself must not be used. Only the
//!   region registry's lock is taken around the fork: relink's other global locks
//!   (trap messages, TLS, the GDB interface, perf maps) may be held by such a
//!   thread, and a child that needs one then blocks.
//! - A debugger's breakpoints in the child's copy of debuggable code are dropped
//!   (gdb's default, `detach-on-fork`, removes them from the child anyway).
//! - If the copy cannot be made (no memory, no descriptor), the child writes why
//!   to stderr and exits with status 127 rather than share memory with its parent.
//!
//! The child handler only makes system calls: no allocation, no locks taken.

use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use crate::error::{Error, Result};

/// A range of a target view whose protection is not the reservation's
/// `PROT_NONE` shared mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    len: u64,
    prot: libc::c_int,
    /// A private mapping of the memfd (debuggable code) rather than the shared one.
    private: bool,
}

/// What the fork handlers need of one live region.
#[derive(Debug)]
struct Tracked {
    fd: RawFd,
    working: u64,
    target: u64,
    size: u64,
    /// Target-view ranges by offset, not overlapping; the rest is `PROT_NONE`.
    spans: BTreeMap<u64, Span>,
    /// `/proc/self/mem` and `/proc/self/pagemap` of a debuggable region.
    debug: Option<(RawFd, RawFd)>,
    /// The copy `prepare` made for the child, or why it could not.
    copy: Snapshot,
}

#[derive(Clone, Copy, Debug)]
enum Snapshot {
    None,
    Made(RawFd),
    Failed { what: &'static str, errno: i32 },
}

type Registry = Vec<Tracked>;

static REGIONS: Mutex<Registry> = Mutex::new(Vec::new());
/// What `pthread_atfork` returned (registered once, the first time it is needed).
static HANDLERS: OnceLock<libc::c_int> = OnceLock::new();

/// The registry lock's guard, kept by the forking thread from *prepare* to
/// *parent* or *child* (all three run on that thread).
struct Held(UnsafeCell<Option<MutexGuard<'static, Registry>>>);

// SAFETY: only the thread holding the registry lock touches the cell: *prepare*
// puts the guard in after taking the lock, *parent*/*child* take it out (on the
// same thread) before releasing it, so the lock orders every access.
unsafe impl Sync for Held {}

static HELD: Held = Held(UnsafeCell::new(None));

impl Held {
    /// Keeps `guard` (taken by the calling thread) until [`Held::take`].
    fn keep(&self, guard: MutexGuard<'static, Registry>) {
        // SAFETY: the caller holds the lock (see `impl Sync`).
        unsafe { *self.0.get() = Some(guard) };
    }

    /// The guard kept by *prepare*, on the thread that ran it.
    fn take(&self) -> Option<MutexGuard<'static, Registry>> {
        // SAFETY: called by *parent*/*child*, which run on the thread that ran
        // *prepare* and holds the lock (see `impl Sync`).
        unsafe { (*self.0.get()).take() }
    }
}

fn registry() -> MutexGuard<'static, Registry> {
    REGIONS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Tracks a new region (reserved: every target page `PROT_NONE`).
pub(super) fn register(fd: RawFd, working: u64, target: u64, size: u64) -> Result<()> {
    let failed = *HANDLERS.get_or_init(|| {
        // SAFETY: the three handlers are `extern "C" fn()` that live as long as
        // the program (or this library, whose handlers glibc drops at dlclose).
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) }
    });
    if failed != 0 {
        return Err(Error::Memory {
            what: "registering the fork handlers (pthread_atfork)".into(),
            source: std::io::Error::from_raw_os_error(failed),
        });
    }
    registry().push(Tracked {
        fd,
        working,
        target,
        size,
        spans: BTreeMap::new(),
        debug: None,
        copy: Snapshot::None,
    });
    Ok(())
}

/// Stops tracking the region at `target` (before it is unmapped).
pub(super) fn unregister(target: u64) {
    let mut regions = registry();
    if let Some(i) = regions.iter().position(|r| r.target == target) {
        regions.swap_remove(i);
    }
}

/// Records the debugging descriptors of the region at `target`.
pub(super) fn debuggable(target: u64, mem: RawFd, pagemap: RawFd) {
    if let Some(r) = registry().iter_mut().find(|r| r.target == target) {
        r.debug = Some((mem, pagemap));
    }
}

/// The registry lock, held while a target view's mapping changes: a fork then
/// sees the change whole or not at all.
#[must_use]
pub(super) struct Protecting {
    _lock: MutexGuard<'static, Registry>,
}

/// Records that `[offset, offset + len)` of the target view at `target` is
/// (about to be) mapped with `prot`, privately or shared. Hold the result while
/// changing the mapping.
pub(super) fn protecting(
    target: u64,
    offset: u64,
    len: u64,
    prot: libc::c_int,
    private: bool,
) -> Protecting {
    let mut regions = registry();
    if let Some(r) = regions.iter_mut().find(|r| r.target == target) {
        let span = (prot != libc::PROT_NONE).then_some(Span { len, prot, private });
        assign(&mut r.spans, offset, len, span);
    }
    Protecting { _lock: regions }
}

/// Sets `[offset, offset + len)` of `spans` to `span` (or to nothing).
fn assign(spans: &mut BTreeMap<u64, Span>, offset: u64, len: u64, span: Option<Span>) {
    let end = offset + len;
    // A span that starts before `offset` and reaches into the range keeps its
    // head, and its tail past `end`.
    if let Some((&at, &before)) = spans.range(..offset).next_back() {
        if at + before.len > offset {
            spans.insert(at, before.resized(offset - at));
            if at + before.len > end {
                spans.insert(end, before.resized(at + before.len - end));
            }
        }
    }
    // Spans that start inside the range keep only what lies past `end`.
    while let Some((&at, &inside)) = spans.range(offset..end).next() {
        spans.remove(&at);
        if at + inside.len > end {
            spans.insert(end, inside.resized(at + inside.len - end));
        }
    }
    if let Some(span) = span {
        spans.insert(offset, span);
    }
}

impl Span {
    fn resized(self, len: u64) -> Span {
        Span { len, ..self }
    }
}

/// *prepare*: lock the registry and copy every region for the child.
extern "C" fn prepare() {
    let mut regions = registry();
    for r in regions.iter_mut() {
        r.copy = copy_region(r);
    }
    HELD.keep(regions);
}

/// *parent*: close the copies (the child has its own descriptors) and unlock.
extern "C" fn parent() {
    if let Some(mut regions) = HELD.take() {
        for r in regions.iter_mut() {
            if let Snapshot::Made(fd) = r.copy {
                // SAFETY: our own descriptor from `prepare`; nothing else uses it.
                unsafe { libc::close(fd) };
            }
            r.copy = Snapshot::None;
        }
    }
}

/// *child*: put every region's copy in place of the shared memory, then unlock.
extern "C" fn child() {
    if let Some(mut regions) = HELD.take() {
        for r in regions.iter_mut() {
            match r.copy {
                Snapshot::Made(fd) => {
                    if let Err(what) = adopt(r, fd) {
                        fatal(what, errno());
                    }
                }
                Snapshot::Failed { what, errno } => fatal(what, errno),
                Snapshot::None => {}
            }
            r.copy = Snapshot::None;
        }
    }
}

/// A new memfd holding the data of `r`'s memfd, read through its working view.
fn copy_region(r: &Tracked) -> Snapshot {
    // SAFETY: a NUL-terminated name; the result is checked.
    let fd = unsafe { libc::memfd_create(c"relink".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Snapshot::Failed {
            what: "memfd_create",
            errno: errno(),
        };
    }
    // SAFETY: sizing our fresh memfd; pages stay holes until written.
    let sized = unsafe { libc::ftruncate(fd, r.size as libc::off_t) } == 0;
    let copied = sized && copy_data(r, fd);
    if copied {
        return Snapshot::Made(fd);
    }
    let failed = Snapshot::Failed {
        what: if sized { "copying" } else { "ftruncate" },
        errno: errno(),
    };
    // SAFETY: our own descriptor, not handed out.
    unsafe { libc::close(fd) };
    failed
}

/// Copies the pages of `r`'s memfd that hold data, other than zeros, into `to`.
/// Zero pages stay holes in the copy: a region's chunks are populated when
/// allocated, so most of what they hold beyond the loaded bytes is zeros.
fn copy_data(r: &Tracked, to: RawFd) -> bool {
    let page = super::page_size();
    let mut at = 0u64;
    while at < r.size {
        // SAFETY: `lseek` on the region's own memfd; results are checked.
        let data = unsafe { libc::lseek(r.fd, at as libc::off_t, libc::SEEK_DATA) };
        if data < 0 {
            // ENXIO: no data at or after `at`.
            return errno() == libc::ENXIO;
        }
        // SAFETY: as above; a file always ends with a (virtual) hole.
        let hole = unsafe { libc::lseek(r.fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return false;
        }
        let data = data as u64 / page * page;
        let hole = (hole as u64).next_multiple_of(page).min(r.size);
        let mut p = data;
        while p < hole {
            if is_zero(r, p, page) {
                p += page;
                continue;
            }
            let start = p;
            while p < hole && !is_zero(r, p, page) {
                p += page;
            }
            if !write_all(r, to, start, p) {
                return false;
            }
        }
        at = hole;
    }
    true
}

/// Whether the page at `offset` of `r`'s working view holds only zeros.
fn is_zero(r: &Tracked, offset: u64, page: u64) -> bool {
    let words = (r.working + offset) as *const AtomicU64;
    (0..(page / 8) as usize).all(|i| {
        // SAFETY: the page lies inside the working view, mapped read-write and
        // 8-aligned for the region's life (the registry lock keeps the region
        // alive); other threads may write it, hence atomic loads.
        unsafe { &*words.add(i) }.load(Ordering::Relaxed) == 0
    })
}

/// Writes `[from, to)` of `r`'s working view into `fd` at the same offsets.
fn write_all(r: &Tracked, fd: RawFd, mut from: u64, to: u64) -> bool {
    while from < to {
        // SAFETY: `[from, to)` lies inside the working view (see `is_zero`);
        // the kernel only reads it.
        let n = unsafe {
            libc::pwrite(
                fd,
                (r.working + from) as *const libc::c_void,
                (to - from) as usize,
                from as libc::off_t,
            )
        };
        if n <= 0 {
            return false;
        }
        from += n as u64;
    }
    true
}

/// Maps `fd` (the copy) over both views of `r` and makes it `r`'s memfd.
fn adopt(r: &Tracked, fd: RawFd) -> std::result::Result<(), &'static str> {
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    if !map(r.working, r.size, rw, libc::MAP_SHARED, fd, 0) {
        return Err("mapping the working view");
    }
    if !map(r.target, r.size, libc::PROT_NONE, libc::MAP_SHARED, fd, 0) {
        return Err("mapping the target view");
    }
    for (&offset, span) in &r.spans {
        let at = r.target + offset;
        let done = if span.private {
            map(at, span.len, span.prot, libc::MAP_PRIVATE, fd, offset)
        } else {
            // SAFETY: a range of the target view just mapped above.
            unsafe { libc::mprotect(at as *mut libc::c_void, span.len as usize, span.prot) == 0 }
        };
        if !done {
            return Err("protecting the target view");
        }
        if span.prot & libc::PROT_EXEC != 0 {
            super::flush_icache(at, span.len, false);
        }
    }
    // SAFETY: `r.fd` is the region's memfd descriptor, replaced atomically by
    // the copy; the copy's own descriptor is then ours to close.
    if unsafe { libc::dup3(fd, r.fd, libc::O_CLOEXEC) } < 0 {
        return Err("replacing the region's memfd");
    }
    // SAFETY: as above.
    unsafe { libc::close(fd) };
    if let Some((mem, pagemap)) = r.debug {
        reopen(c"/proc/self/mem", libc::O_RDWR, mem)?;
        reopen(c"/proc/self/pagemap", libc::O_RDONLY, pagemap)?;
    }
    Ok(())
}

/// Maps `[at, at + len)` of this process to `fd` from `offset`, replacing what
/// was there.
fn map(at: u64, len: u64, prot: libc::c_int, sharing: libc::c_int, fd: RawFd, offset: u64) -> bool {
    // SAFETY: only called with ranges of a region's own views, which this
    // replaces by a mapping of the region's copy at the same offsets.
    let p = unsafe {
        libc::mmap(
            at as *mut libc::c_void,
            len as usize,
            prot,
            sharing | libc::MAP_FIXED,
            fd,
            offset as libc::off_t,
        )
    };
    p as u64 == at
}

/// Opens `path` again as descriptor number `fd` (this process's file now).
fn reopen(
    path: &std::ffi::CStr,
    flags: libc::c_int,
    fd: RawFd,
) -> std::result::Result<(), &'static str> {
    // SAFETY: a NUL-terminated path; the result is checked.
    let new = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    // SAFETY: `fd` is the region's descriptor for `path`, replaced by the new one.
    if new < 0 || unsafe { libc::dup3(new, fd, libc::O_CLOEXEC) } < 0 {
        return Err("reopening /proc/self files for debuggable code");
    }
    // SAFETY: the new descriptor, now duplicated as `fd`.
    unsafe { libc::close(new) };
    Ok(())
}

/// Ends the child: it cannot have memory of its own, and sharing the parent's
/// would corrupt the parent. Writes the message from a stack buffer.
fn fatal(what: &str, errno: i32) -> ! {
    let mut msg = [0u8; 192];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        for &b in bytes {
            if len < msg.len() {
                msg[len] = b;
                len += 1;
            }
        }
    };
    put(b"relink: fork: the child cannot have its own copy of loaded code and data: ");
    put(what.as_bytes());
    put(b" failed (errno ");
    let mut digits = [0u8; 10];
    let mut n = errno.unsigned_abs();
    let mut d = digits.len();
    while d > 0 {
        d -= 1;
        digits[d] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    put(&digits[d..]);
    put(b")\n");
    // SAFETY: writing our own buffer to stderr, then ending the process; both
    // are async-signal-safe.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), len);
        libc::_exit(127)
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(len: u64, prot: libc::c_int) -> Span {
        Span {
            len,
            prot,
            private: false,
        }
    }

    fn spans(list: &[(u64, u64, libc::c_int)]) -> BTreeMap<u64, Span> {
        list.iter()
            .map(|&(at, len, p)| (at, span(len, p)))
            .collect()
    }

    #[test]
    fn assign_splits_overwrites_and_clears() {
        let (r, rx, rw) = (
            libc::PROT_READ,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::PROT_READ | libc::PROT_WRITE,
        );
        let mut s = BTreeMap::new();
        assign(&mut s, 0, 100, Some(span(100, rx)));
        assign(&mut s, 200, 100, Some(span(100, rw)));
        assert_eq!(s, spans(&[(0, 100, rx), (200, 100, rw)]));
        // Inside one span: head, new, tail.
        assign(&mut s, 20, 10, Some(span(10, r)));
        assert_eq!(
            s,
            spans(&[(0, 20, rx), (20, 10, r), (30, 70, rx), (200, 100, rw)])
        );
        // Across spans and a gap, cleared: only the outer parts remain.
        assign(&mut s, 25, 200, None);
        assert_eq!(s, spans(&[(0, 20, rx), (20, 5, r), (225, 75, rw)]));
        // Exactly one span.
        assign(&mut s, 225, 75, Some(span(75, rx)));
        assert_eq!(s, spans(&[(0, 20, rx), (20, 5, r), (225, 75, rx)]));
        assign(&mut s, 0, 1000, None);
        assert!(s.is_empty());
    }
}
