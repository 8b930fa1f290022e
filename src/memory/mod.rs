//! The region allocator: all loaded sections, slots and stubs live in one reserved
//! stretch of virtual memory, so every PC-relative reference between them reaches.
//!
//! The region is one `memfd` mapped twice:
//! - the **working view**, always read-write, is where relink writes code and data;
//! - the **target view**, where code runs, starts `PROT_NONE`; each allocated range is
//!   made `R-X`, `R--` or `RW-` by its permission [`Class`].
//!
//! No address is ever writable and executable at once, yet relink can patch code
//! after it runs (hot replacement, late-bound data references) by writing the
//! working view. On AArch64 every code range written is made coherent with
//! [`flush_icache`] before it can run.
//!
//! Allocation is page-granular first-fit over the region; freed ranges are returned
//! to the kernel (`fallocate(PUNCH_HOLE)`) and made `PROT_NONE` again. During a
//! batch, code and read-only chunks are cut from runs of pages protected at once
//! for their class ([`pack`]): until the batch ends, a run's pages not handed out
//! yet are readable (code: and executable), never writable, and read as zeros.
//!
//! **Debuggable code.** The kernel refuses ptrace writes (`FOLL_FORCE`) into a
//! shared mapping that is not writable, so a debugger cannot put a software
//! breakpoint into a shared `R-X` view. When a debugger is attached at the first
//! load (or `LinkerOptions::debuggable` asks for it), the target view's code
//! ranges are *private* mappings of the same memfd instead: they read the file's
//! pages until the debugger writes one, which then becomes a private copy. Every
//! code write relink makes (it already reports each one for the icache, through
//! [`Region::code_written`]) is then mirrored into such copied pages through
//! `/proc/self/mem` — found with `/proc/self/pagemap` — so relink's later writes
//! and the debugger's breakpoints coexist, and no page is ever writable and
//! executable.
//!
//! **Huge pages.** Both views are mapped aligned to 2 MiB ([`HUGE`]). A batch of
//! objects whose code will fill a few huge pages (`linker/batch.rs`) gets its
//! code chunks as 2 MiB windows ([`Region::alloc_window`]), each made one huge
//! page of the memfd, mapped as one in both views (`MADV_COLLAPSE`, Linux 6.1,
//! which needs no system setting), ahead of need by a reading thread
//! ([`Prefault::expect_window`]). The program's code then takes one TLB entry
//! per 2 MiB instead of 512, and writing it faults no page. Where the kernel
//! refuses, the pages are small, as before. Permissions stay per chunk: a
//! window is all code.
//!
//! **Fork.** Shared mappings stay shared across `fork()`; `fork.rs` gives the
//! child its own copy of every region, at the same addresses, from `pthread_atfork`
//! handlers. Each region is registered there, and reports its protection changes.
//!
//! `unsafe` lives here: the two mappings, and handing out slices of the working view.

pub mod copies;
mod fork;
pub mod pack;
pub mod process;
pub mod remote;
mod target;

pub use target::Target;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::input::Class;

/// Where the region is placed in the address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Placement {
    /// Chosen from the first objects loaded: low if they need 32-bit absolute
    /// addresses, near the process's libraries otherwise.
    #[default]
    Auto,
    /// Inside the low 2 GiB (static-model code: `R_X86_64_32/32S`).
    Low,
    /// Within ±2 GiB of the C library's data (gcc PIE code reading `stderr` with
    /// `R_X86_64_PC32`).
    NearProcess,
    /// Wherever the kernel puts it.
    Anywhere,
}

/// Distance from the region within which a 32-bit PC-relative reference reaches.
pub const NEAR: u64 = 1 << 31;
/// A huge page with 4 KiB pages (what one page-directory entry maps, on x86-64
/// and AArch64 alike). Both views are mapped aligned to it, so that a whole,
/// aligned one of the region's ranges can be one huge page in both
/// ([`Region::huge_pages`]).
pub const HUGE: u64 = 2 << 20;
/// Upper end of the low region: a sign-extended 32-bit absolute reaches below it.
pub const LOW_LIMIT: u64 = 1 << 31;

/// A range of the region, by offset from its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub offset: u64,
    pub len: u64,
}

/// The reserved, dual-mapped region.
pub struct Region {
    fd: OwnedFd,
    working: *mut u8,
    target: u64,
    size: u64,
    page: u64,
    /// Free ranges: offset → length, coalesced.
    free: BTreeMap<u64, u64>,
    /// Bytes currently allocated.
    in_use: u64,
    /// Link-only: code pages become read-only, never executable.
    no_exec: bool,
    /// Debuggable code: `/proc/self/mem` and `/proc/self/pagemap`.
    debug: Option<(std::fs::File, std::fs::File)>,
    /// The target view is an executor's (`remote.rs`): only the working view
    /// is mapped here, and protection, coherence and release are its requests.
    remote: Option<std::sync::Arc<remote::Remote>>,
    /// With [`Region::populate_later`]: the ranges [`Region::populate`] (and,
    /// marked `true`, [`Region::populate_window`]) left to a [`Prefault`],
    /// until [`Prefault::expect`] hands them over.
    later: Option<Vec<(Block, bool)>>,
    /// The free window a [`Prefault`] made one huge page ahead of need
    /// ([`Prefault::expect_window`]; [`Prefault::NO_WINDOW`]: none).
    ready: std::sync::Arc<AtomicU64>,
}

// SAFETY: the region owns its mappings; nothing else aliases them through Rust
// references, and all access goes through `&mut self` or plain addresses.
unsafe impl Send for Region {}

impl Region {
    /// Reserves `size` bytes (rounded to pages) placed as `placement` says.
    /// `Placement::Auto` is resolved by the caller before this.
    pub fn reserve(size: u64, placement: Placement) -> Result<Region> {
        let page = page_size();
        let size = size.div_ceil(page) * page;
        let fd = memfd(size)?;
        let (target, working) = both_views(&fd, size, placement)?;
        Ok(Region::over(fd, working, target, size, page, None))
    }

    /// Reserves `size` bytes whose target view is in an executor's process:
    /// the memfd is mapped here once (the working view) and sent to it, and
    /// it maps the target view placed as `placement` says.
    pub fn reserve_remote(
        remote: std::sync::Arc<remote::Remote>,
        size: u64,
        placement: Placement,
    ) -> Result<Region> {
        let page = page_size().max(remote.hello().page);
        let size = size.div_ceil(page) * page;
        let fd = memfd(size)?;
        let working = working_view(&fd, size)?;
        let target = match remote.reserve(fd.as_raw_fd(), size, placement) {
            Ok(t) => t,
            Err(e) => {
                unmap(working as u64, size);
                return Err(e);
            }
        };
        Ok(Region::over(fd, working, target, size, page, Some(remote)))
    }

    /// A region over mapped views, all of it free.
    fn over(
        fd: OwnedFd,
        working: *mut u8,
        target: u64,
        size: u64,
        page: u64,
        remote: Option<std::sync::Arc<remote::Remote>>,
    ) -> Region {
        Region {
            fd,
            working,
            target,
            size,
            page,
            free: BTreeMap::from([(0, size)]),
            in_use: 0,
            no_exec: false,
            debug: None,
            remote,
            later: None,
            ready: std::sync::Arc::new(AtomicU64::new(Prefault::NO_WINDOW)),
        }
    }

    /// The executor whose process holds the target view, if not this one.
    pub fn remote(&self) -> Option<&std::sync::Arc<remote::Remote>> {
        self.remote.as_ref()
    }

    /// Maps the target view of a memfd an executor received (`Reserve`): a
    /// region whose working view is this process's too, so that its fork
    /// handling and coherence work as in process. The linker allocates; this
    /// side only protects.
    pub fn adopt(fd: OwnedFd, size: u64, placement: Placement) -> Result<Region> {
        let page = page_size();
        if size == 0 || !size.is_multiple_of(page) {
            return Err(Error::Placement(format!("a region of {size} bytes")));
        }
        let (target, working) = both_views(&fd, size, placement)?;
        let mut region = Region::over(fd, working, target, size, page, None);
        // Everything is the linker's to hand out.
        region.free.clear();
        region.in_use = size;
        Ok(region)
    }

    /// Makes `[offset, offset + len)` of the target view inaccessible (an
    /// executor serving a linker's `free`).
    pub fn protect_none(&mut self, offset: u64, len: u64) -> bool {
        offset.is_multiple_of(self.page)
            && offset.checked_add(len).is_some_and(|e| e <= self.size)
            && self.protect_range(offset, len, libc::PROT_NONE)
    }
    /// Target address of the region's first byte.
    pub fn target_base(&self) -> u64 {
        self.target
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn page_size(&self) -> u64 {
        self.page
    }

    /// From now on, code is protected read-only instead of read-execute (for
    /// linking without running: `relink check`, fuzzing).
    pub fn set_no_exec(&mut self, no_exec: bool) {
        self.no_exec = no_exec;
    }

    /// Makes code ranges protected from now on debuggable (see the module docs).
    pub fn make_debuggable(&mut self) -> Result<()> {
        if let Some(remote) = &self.remote {
            remote.make_debuggable(self.target);
            return Ok(());
        }
        let open = |path: &str, write: bool| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(write)
                .open(path)
                .map_err(|e| Error::os(format!("opening {path} for debuggable code: {e}")))
        };
        self.debug = Some((
            open("/proc/self/mem", true)?,
            open("/proc/self/pagemap", false)?,
        ));
        if let Some((mem, pagemap)) = &self.debug {
            fork::debuggable(self.target, mem.as_raw_fd(), pagemap.as_raw_fd());
        }
        Ok(())
    }

    #[cfg(any(test, feature = "testing"))]
    /// Whether code ranges are debuggable.
    pub fn debuggable(&self) -> bool {
        self.debug.is_some()
    }

    /// Reports code just written through the working view at target
    /// `[target, target + len)`: makes it visible to instruction fetch and, for
    /// debuggable code, to pages a debugger has copied.
    pub fn code_written(&self, target: u64, len: u64, reused: bool) {
        if let Some(remote) = &self.remote {
            return remote.code_written(target, len, reused);
        }
        if let Some((mem, pagemap)) = &self.debug {
            self.mirror(mem, pagemap, target, len);
        }
        flush_icache(target, len, reused);
    }

    /// Copies working bytes into the target pages of `[target, target + len)`
    /// that are private copies (a debugger wrote them).
    fn mirror(&self, mem: &std::fs::File, pagemap: &std::fs::File, target: u64, len: u64) {
        use std::os::unix::fs::FileExt;
        if len == 0 || target < self.target || target + len > self.target + self.size {
            return;
        }
        let mut page = target / self.page * self.page;
        while page < target + len {
            let mut entry = [0u8; 8];
            let copied = pagemap
                .read_exact_at(&mut entry, page / self.page * 8)
                .is_ok_and(|()| {
                    let e = u64::from_le_bytes(entry);
                    // Bit 63: present; bit 61: a file page (not a private copy).
                    e & (1 << 63) != 0 && e & (1 << 61) == 0
                });
            if copied {
                let lo = page.max(target);
                let hi = (page + self.page).min(target + len);
                let bytes = self.bytes(lo - self.target, hi - lo);
                // A failed mirror leaves the debugger's copy stale; nothing to
                // recover here, and it cannot affect memory relink owns.
                let _ = mem.write_all_at(bytes, lo);
            }
            page += self.page;
        }
    }

    /// Bytes currently allocated (whole pages).
    pub fn in_use(&self) -> u64 {
        self.in_use
    }

    #[cfg(any(test, feature = "testing"))]
    /// The allocated ranges, `(offset, len)` in order: what is not free.
    pub fn allocated(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = 0;
        for (&offset, &len) in &self.free {
            if offset > at {
                out.push((at, offset - at));
            }
            at = offset + len;
        }
        if at < self.size {
            out.push((at, self.size - at));
        }
        out
    }

    #[cfg(any(test, feature = "testing"))]
    /// Whether the target address range `[lo, hi)` lies inside the region.
    pub fn contains(&self, lo: u64, hi: u64) -> bool {
        lo >= self.target && hi <= self.target + self.size && lo <= hi
    }

    /// Allocates `len` bytes aligned to `align` (both rounded up to pages).
    pub fn alloc(&mut self, len: u64, align: u64) -> Result<Block> {
        let len = len.max(1).div_ceil(self.page) * self.page;
        let align = align.max(self.page);
        let Some(start) = take_first_fit(&mut self.free, self.target, len, align) else {
            return Err(Error::Exhausted(format!(
                "no room for {len} bytes in the {} MiB region ({} MiB in use)",
                self.size >> 20,
                self.in_use >> 20
            )));
        };
        self.in_use += len;
        Ok(Block { offset: start, len })
    }

    /// A [`HUGE`] block aligned to it, for a chunk of code that can be one huge
    /// page ([`Region::huge_pages`]): first fit from an eighth of the way up the
    /// region, above where the stub table and the first-fit chunks of data go
    /// (which would otherwise take every window's first pages), then from the
    /// bottom. `None` if no such block is free.
    ///
    /// Only a window a [`Prefault`] has made a huge page ahead of need is
    /// handed out (`None` otherwise, for a chunk of small pages): made while
    /// the linking thread writes it, the page would keep it waiting (a huge
    /// page that must come back from this VM's host took 4.7 ms).
    pub fn alloc_window(&mut self) -> Option<Block> {
        let ready = self.ready.load(Ordering::Acquire);
        // Outside a batch that asked for windows, nothing to search for.
        if ready == Prefault::NO_WINDOW || !self.huge_pages() || self.next_window()? != ready {
            return None;
        }
        let at = ready;
        let (&off, &flen) = self.free.range(..=at).next_back()?;
        carve(&mut self.free, off, flen, at, HUGE);
        self.in_use += HUGE;
        Some(Block {
            offset: at,
            len: HUGE,
        })
    }

    /// The offset [`Region::alloc_window`] would hand out now.
    pub fn next_window(&self) -> Option<u64> {
        let zone = self.size / 8;
        let fits = |from: u64| {
            move |(&off, &len): (&u64, &u64)| {
                let at = (self.target + off.max(from)).next_multiple_of(HUGE) - self.target;
                (at + HUGE <= off + len).then_some(at)
            }
        };
        let around = self.free.range(..=zone).next_back().into_iter();
        (around.chain(self.free.range(zone + 1..)).find_map(fits(zone)))
            .or_else(|| self.free.iter().find_map(fits(0)))
    }

    /// Returns a block: its pages go back to the kernel and become inaccessible.
    /// Free memory reads as zeros (allocators rely on it: fresh pieces are not
    /// cleared again).
    pub fn free(&mut self, block: Block) {
        self.protect_range(block.offset, block.len, libc::PROT_NONE);
        // SAFETY: punching a hole in our own memfd; the range is inside the file.
        let punched = unsafe {
            libc::fallocate(
                self.fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                block.offset as libc::off_t,
                block.len as libc::off_t,
            )
        } == 0;
        if !punched {
            self.bytes_mut(block.offset, block.len).fill(0);
        }
        self.in_use -= block.len;
        give_back(&mut self.free, block.offset, block.len);
    }

    /// Sets the target view's permissions for `[offset, offset + len)` (pages).
    pub fn protect(&mut self, offset: u64, len: u64, class: Class) -> Result<()> {
        if let Some(remote) = &self.remote {
            if len > 0 {
                assert!(offset.is_multiple_of(self.page) && offset + len <= self.size);
                remote.protect(self.target, offset, len, class, self.no_exec);
            }
            return Ok(());
        }
        let prot = match class {
            Class::Code if self.no_exec => libc::PROT_READ,
            Class::Code => libc::PROT_READ | libc::PROT_EXEC,
            Class::ReadOnly => libc::PROT_READ,
            Class::Data | Class::Zero => libc::PROT_READ | libc::PROT_WRITE,
        };
        let done = if self.debug.is_some() && len > 0 {
            self.remap(offset, len, prot, class == Class::Code)
        } else {
            self.protect_range(offset, len, prot)
        };
        if done {
            Ok(())
        } else {
            Err(Error::os(format!("mprotect of {len} bytes as {class:?}")))
        }
    }

    /// Debuggable code: maps `[offset, offset + len)` of the target view afresh,
    /// private for code (a debugger may write it), shared otherwise.
    fn remap(&mut self, offset: u64, len: u64, prot: libc::c_int, private: bool) -> bool {
        assert!(offset.is_multiple_of(self.page) && offset + len <= self.size);
        let sharing = if private {
            libc::MAP_PRIVATE
        } else {
            libc::MAP_SHARED
        };
        let _fork = fork::protecting(self.target, offset, len, prot, private);
        // SAFETY: replaces pages of our own target mapping (in bounds, checked
        // above) with a mapping of the same memfd range.
        let at = unsafe {
            libc::mmap(
                (self.target + offset) as *mut libc::c_void,
                len as usize,
                prot,
                sharing | libc::MAP_FIXED,
                self.fd.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        at as u64 == self.target + offset
    }

    fn protect_range(&mut self, offset: u64, len: u64, prot: libc::c_int) -> bool {
        if len == 0 {
            return true;
        }
        assert!(offset.is_multiple_of(self.page) && offset + len <= self.size);
        if let Some(remote) = &self.remote {
            // Only `free` asks for anything but a class here.
            remote.protect_none(self.target, offset, len);
            return true;
        }
        let _fork = fork::protecting(self.target, offset, len, prot, false);
        // SAFETY: the range lies inside our target mapping (checked above); changing
        // its protection affects only memory this region owns.
        unsafe {
            libc::mprotect(
                (self.target + offset) as *mut libc::c_void,
                len as usize,
                prot,
            ) == 0
        }
    }

    /// The working view of `[offset, offset + len)`.
    pub fn bytes_mut(&mut self, offset: u64, len: u64) -> &mut [u8] {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.size));
        // SAFETY: in bounds of the working mapping (checked above), which is
        // read-write for the region's whole life; `&mut self` keeps this slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.working.add(offset as usize), len as usize) }
    }

    /// The working view of `[offset, offset + len)`, read only.
    pub fn bytes(&self, offset: u64, len: u64) -> &[u8] {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.size));
        // SAFETY: as in `bytes_mut`; shared borrow of `self` excludes writers.
        unsafe { std::slice::from_raw_parts(self.working.add(offset as usize), len as usize) }
    }

    /// Writes an aligned 8-byte value with release ordering, so code running
    /// concurrently through the target view sees either the old or the new value.
    pub fn store_u64_atomic(&mut self, offset: u64, value: u64) {
        assert!(offset.is_multiple_of(8) && offset + 8 <= self.size);
        // SAFETY: in bounds and 8-aligned (checked above; the mapping is page-aligned);
        // other threads only read this word, through atomics or loaded code.
        let cell =
            unsafe { &*(self.working.add(offset as usize) as *const std::sync::atomic::AtomicU64) };
        cell.store(value, std::sync::atomic::Ordering::Release);
    }
}

impl Region {
    /// Faults in the pages of `[offset, offset + len)` in both views at once
    /// (after it is protected), instead of one page fault per page as relink
    /// writes it and the code first runs or reads it. Best effort: a kernel
    /// without `MADV_POPULATE_*` (before 5.14) faults them in later as usual.
    /// With [`Region::populate_later`], the range is left to a [`Prefault`]
    /// instead.
    pub fn populate(&mut self, offset: u64, len: u64) {
        self.populate_as(Block { offset, len }, false);
    }

    /// As [`Region::populate`], for a window [`Region::alloc_window`] handed
    /// out: one huge page in both views (the working view's made already), or
    /// small pages if the kernel refuses.
    pub fn populate_window(&mut self, window: Block) {
        self.populate_as(window, true);
    }

    fn populate_as(&mut self, block: Block, window: bool) {
        let (offset, len) = (block.offset, block.len);
        assert!(offset.is_multiple_of(self.page) && offset + len <= self.size);
        if let Some(later) = &mut self.later {
            later.push((block, window));
            return;
        }
        // SAFETY: a range of our own two mappings (in bounds, checked above);
        // a window is aligned, as both views are (`alloc_window`).
        unsafe { fill_views(self.working as u64, self.target_here(), block, window) };
    }

    /// Whether the target view is mapped here and protected with `mprotect`
    /// alone: not an executor's, and no private code mappings for a debugger.
    pub fn protects_here(&self) -> bool {
        self.remote.is_none() && self.debug.is_none()
    }

    /// Whether code can go in huge pages ([`Region::alloc_window`]): with 4
    /// KiB pages, both views here (not an executor's) and aligned, and no
    /// private code mappings for a debugger. A loaded program's code then takes
    /// a TLB entry per 2 MiB: with 28 MiB of code all in huge pages, its run
    /// took 12–13% less (README, issue 20).
    pub fn huge_pages(&self) -> bool {
        self.page == 4096
            && self.protects_here()
            && self.target.is_multiple_of(HUGE)
            && (self.working as u64).is_multiple_of(HUGE)
    }

    /// From now on (`true`), [`Region::populate`] leaves its ranges to a
    /// [`Prefault`] on another thread: a chunk's 64 KiB took about 30 µs to
    /// populate, a twentieth of the linking thread's time. `false` (and
    /// [`Prefault::finish`]) returns to populating at once, and populates now
    /// the ranges left that are still allocated (not those freed meanwhile).
    pub fn populate_later(&mut self, later: bool) {
        if later {
            self.later.get_or_insert_with(Vec::new);
            return;
        }
        for (block, window) in self.later.take().unwrap_or_default() {
            if self.all_allocated(block) {
                self.populate_as(block, window);
            }
        }
    }

    /// The target view's address, if it is mapped in this process.
    fn target_here(&self) -> Option<u64> {
        self.remote.is_none().then_some(self.target)
    }

    /// Whether all of `block` is allocated (none of it is free).
    fn all_allocated(&self, block: Block) -> bool {
        let end = block.offset + block.len;
        let below = self.free.range(..end).next_back();
        below.is_none_or(|(&at, &len)| at + len <= block.offset)
    }
}

/// Faults in `[offset, offset + len)` of a region in both views at once: the
/// working view (at `working`) for writing, the target view (at `target`, if it
/// is mapped here) for reading. Best effort: a kernel without
/// `MADV_POPULATE_*` (before 5.14) faults them in later as usual.
///
/// # Safety
/// The range must lie in the two views, mapped during the call, or in pages
/// that may be unmapped or made inaccessible concurrently (the advice then fails).
unsafe fn populate_views(working: u64, target: Option<u64>, offset: u64, len: u64) {
    // SAFETY: the caller's; populating changes no contents and no permissions.
    unsafe {
        populate_write(working + offset, len);
        if let Some(target) = target {
            populate_read(target + offset, len);
        }
    }
}

/// Populates `block` as [`populate_views`] does, or, if it is a `window`
/// ([`Region::alloc_window`]), makes it one huge page in both views
/// ([`collapse_views`]), populating it if the kernel refuses.
///
/// # Safety
/// As for [`populate_views`]; a window aligned to [`HUGE`], both views too.
unsafe fn fill_views(working: u64, target: Option<u64>, block: Block, window: bool) {
    // SAFETY: the caller's.
    unsafe {
        if !(window && collapse_views(working, target, block.offset)) {
            populate_views(working, target, block.offset, block.len);
        }
    }
}

/// Makes the [`HUGE`] bytes at `offset` one huge page of the memfd, mapped as
/// one in the working view and, if it is mapped here, the target view:
/// `MADV_COLLAPSE` (Linux 6.1), which does it whatever the system's setting for
/// shared memory (`shmem_enabled` is `never` on most systems), keeping the
/// contents. It needs a page present to start from: one is faulted in first
/// (fresh memory stays zero). `false` if the kernel refused (older kernels,
/// qemu-user, no huge page to be had): the caller populates small pages.
///
/// A page fault on the range meanwhile (the linking thread writing what it
/// placed there) waits for the collapse to finish.
///
/// # Safety
/// As for [`populate_views`]; `offset` aligned to [`HUGE`], both views aligned
/// to it too.
unsafe fn collapse_views(working: u64, target: Option<u64>, offset: u64) -> bool {
    let advise = |at: u64| {
        // SAFETY: the caller's; the advice keeps contents and permissions.
        unsafe { libc::madvise(at as *mut libc::c_void, HUGE as usize, libc::MADV_COLLAPSE) == 0 }
    };
    // SAFETY: the caller's.
    unsafe { populate_write(working + offset, 4096) };
    if !advise(working + offset) {
        return false;
    }
    if let Some(target) = target {
        // The memfd's page is huge now: this maps it so (a page table less).
        if !advise(target + offset) {
            // SAFETY: the caller's.
            unsafe { populate_read(target + offset, HUGE) };
        }
    }
    true
}

impl Region {
    /// A [`Prefault`] for this region's working view: its free space, from the
    /// next allocation up.
    pub fn prefault(&self) -> Prefault {
        let free = Stream::new(0, self.size, 1, Prefault::AHEAD);
        free.next.store(self.first_free(), Ordering::Relaxed);
        Prefault {
            working: self.working as usize,
            target: self.target_here(),
            huge: self.huge_pages(),
            page: self.page,
            streams: vec![free],
            runs: [(); 2].map(|_| Stream::new(self.size, self.size, 1, Prefault::RUN_AHEAD)),
            chunks: std::sync::Mutex::new(Vec::new()),
            window: AtomicU64::new(Prefault::NO_WINDOW),
            window_done: AtomicU64::new(Prefault::NO_WINDOW),
            ready: self.ready.clone(),
            windows_slow: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Offset of the first free range: where a fresh region hands out next.
    fn first_free(&self) -> u64 {
        self.free.keys().next().copied().unwrap_or(self.size)
    }
}

/// Faults in the working view's pages just above what the linking thread
/// fills next, from another thread, so that the linking thread finds them
/// present: a batch's reading thread does it between files (`linker/batch.rs`).
/// Faulting pages in (allocating and zeroing them) was a twentieth of the
/// linking thread's time for the region's free space, and as much again for
/// the stub table's arrays. Pages faulted in and never filled stay resident:
/// at most each stream's `ahead` bytes. Free memory still reads as zeros.
#[derive(Debug)]
pub struct Prefault {
    /// Address of the working view, and of the target view if it is mapped here.
    working: usize,
    target: Option<u64>,
    /// [`Region::huge_pages`].
    huge: bool,
    page: u64,
    /// The region's free space first, then any [`Prefault::with_arrays`] added.
    streams: Vec<Stream>,
    /// The next chunks of the code and read-only runs, if any
    /// ([`Prefault::expect_runs`]).
    runs: [Stream; 2],
    /// Ranges the region left to be populated ([`Region::populate_later`]),
    /// `true` for windows, handed over by [`Prefault::expect`].
    chunks: std::sync::Mutex<Vec<(Block, bool)>>,
    /// The window of free space to make one huge page in the working view
    /// ahead of need ([`Prefault::expect_window`]), and the last one made so
    /// ([`Prefault::NO_WINDOW`]: none).
    window: AtomicU64,
    window_done: AtomicU64,
    /// The region's: the window made, once it is ([`Region::alloc_window`]).
    ready: std::sync::Arc<AtomicU64>,
    /// A window took too long: no more ([`Prefault::make_window`]).
    windows_slow: std::sync::atomic::AtomicBool,
}

/// A range of the working view filled front to back: element `i` at
/// `start + i * scale`.
#[derive(Debug)]
struct Stream {
    start: u64,
    end: u64,
    scale: u64,
    /// How far above the next element pages are faulted in.
    ahead: u64,
    /// The offset filled next.
    next: AtomicU64,
    /// Faulted in up to this offset.
    done: AtomicU64,
}

impl Stream {
    fn new(start: u64, end: u64, scale: u64, ahead: u64) -> Stream {
        Stream {
            start,
            end,
            scale,
            ahead,
            next: AtomicU64::new(start),
            done: AtomicU64::new(start),
        }
    }
}

impl Prefault {
    /// How far above the region's next allocation pages are faulted in.
    pub const AHEAD: u64 = 512 << 10;

    /// How far above the next chunk of a run ([`Prefault::expect_runs`]).
    pub const RUN_AHEAD: u64 = 256 << 10;

    /// How far above the next element of an array ([`Prefault::with_arrays`]).
    pub const ARRAY_AHEAD: u64 = 16 << 10;

    /// The most one [`Prefault::run`] faults in: a caller with other work (the
    /// reading thread, between files) gets back to it soon.
    pub const STEP: u64 = 64 << 10;

    /// Also faults in ahead in `arrays` of the working view, each
    /// `(offset, length, element size)`, filled front to back by one index
    /// ([`Prefault::expect_index`]): the stub table's slots, GOT, stubs and traps.
    pub fn with_arrays(mut self, arrays: &[(u64, u64, u64)]) -> Prefault {
        for &(offset, len, scale) in arrays {
            (self.streams).push(Stream::new(offset, offset + len, scale, Self::ARRAY_AHEAD));
        }
        self
    }

    /// Records where `region` (the one this was made for) hands out next, and
    /// takes over the ranges it left to be populated ([`Region::populate_later`]).
    pub fn expect(&self, region: &mut Region) {
        self.streams[0]
            .next
            .store(region.first_free(), Ordering::Relaxed);
        match region.later.as_mut() {
            Some(later) if !later.is_empty() => self.lock_chunks().append(later),
            _ => {}
        }
    }

    /// Ends populating `region`'s ranges here: those not done yet that are still
    /// allocated are populated now (on the calling thread), and the region
    /// populates at once again.
    pub fn finish(&self, region: &mut Region) {
        // Code loaded later takes small pages again.
        self.ready.store(Self::NO_WINDOW, Ordering::Release);
        let left = std::mem::take(&mut *self.lock_chunks());
        region.later.get_or_insert_with(Vec::new).extend(left);
        region.populate_later(false);
    }

    fn lock_chunks(&self) -> std::sync::MutexGuard<'_, Vec<(Block, bool)>> {
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// No window ([`Prefault::expect_window`]).
    pub const NO_WINDOW: u64 = u64::MAX;

    /// Makes the free window at `offset` ([`Region::next_window`]) one huge
    /// page of the working view ahead of need, where the region can
    /// ([`Region::huge_pages`]): once it is, the next chunk of code goes there
    /// ([`Region::alloc_window`]), and the linking thread writes it without a
    /// fault. `None`: no window is needed.
    pub fn expect_window(&self, offset: Option<u64>) {
        let offset = offset.filter(|_| self.huge).unwrap_or(Self::NO_WINDOW);
        self.window.store(offset, Ordering::Relaxed);
    }

    /// Makes the window [`Prefault::expect_window`] asked for, if it is not
    /// made yet, one huge page of the working view: 0.1–0.6 ms, or several
    /// when the memory must come back from this VM's host. A reading thread
    /// calls it between chunks, holding none of the next chunk's files, which
    /// the linking thread may then read itself.
    ///
    /// One that took longer than [`Prefault::SLOW_WINDOW`] is the last: the
    /// huge pages cost more than the small ones they replace (a VM whose host
    /// took the free memory back, as this project's does a second or two after
    /// a process frees it: 4.6–5.8 ms a huge page, against about 1.3 ms for
    /// 512 small ones in both views), more than the program's run gains.
    pub fn make_window(&self) {
        let window = self.window.load(Ordering::Relaxed);
        if window == Self::NO_WINDOW || window == self.window_done.swap(window, Ordering::Relaxed) {
            return;
        }
        if self.windows_slow.load(Ordering::Relaxed) {
            return;
        }
        let start = std::time::Instant::now();
        // SAFETY: a free window of the working view, mapped while the linker
        // that owns it is loading; aligned, as the view is (`huge` is only
        // set then). Free memory stays zero.
        if unsafe { collapse_views(self.working as u64, None, window) } {
            self.ready.store(window, Ordering::Release);
        }
        if start.elapsed() > Self::SLOW_WINDOW {
            self.windows_slow.store(true, Ordering::Relaxed);
        }
    }

    /// How long making a window may take for the next one to be made
    /// ([`Prefault::make_window`]): about what its small pages cost on this
    /// project's VM (a huge page from memory at hand takes 0.1 ms there).
    pub const SLOW_WINDOW: std::time::Duration = std::time::Duration::from_millis(1);

    /// Records where the code and read-only runs of the region's pools cut
    /// their next chunks ([`Pools::run_fronts`](pack::Pools::run_fronts)):
    /// a run's pages are no longer free space, which the first stream follows.
    pub fn expect_runs(&self, fronts: [Option<Block>; 2]) {
        for (s, front) in self.runs.iter().zip(fronts) {
            let at = front.map_or(s.end, |b| b.offset);
            // A new run below what was faulted in: from its start.
            if at < s.next.load(Ordering::Relaxed) {
                s.done.store(at, Ordering::Relaxed);
            }
            s.next.store(at, Ordering::Relaxed);
        }
    }

    /// Records the index the arrays are filled at next.
    pub fn expect_index(&self, index: u64) {
        for s in &self.streams[1..] {
            let at = s.start.saturating_add(index.saturating_mul(s.scale));
            s.next.store(at.min(s.end), Ordering::Relaxed);
        }
    }

    /// Populates one range the region left ([`Region::populate_later`]), then
    /// faults in, per stream, pages from the next element up to its `ahead`
    /// above it, those not faulted in yet: at most [`Prefault::STEP`] bytes in
    /// all, the arrays (a few pages each) before the region's free space. Best
    /// effort.
    pub fn run(&self) {
        // The range is besides the budget: the linking thread leaves about one
        // chunk per STEP it fills.
        // Popped first: the lock is not held while the pages are populated,
        // so the linking thread never waits for it in `expect`.
        let block = self.lock_chunks().pop();
        if let Some((block, window)) = block {
            // SAFETY: a range of the region's views, mapped while the linker
            // that owns it is loading (the caller's thread ends before the
            // load returns); a range freed since is at worst made accessible
            // in the working view, as free space ahead is anyway.
            unsafe { fill_views(self.working as u64, self.target, block, window) };
        }
        let mut budget = Self::STEP;
        let streams = self.streams[1..].iter().chain(&self.runs);
        for s in streams.chain(&self.streams[..1]) {
            let next = s.next.load(Ordering::Relaxed);
            let done = s.done.load(Ordering::Relaxed);
            let end = next.saturating_add(s.ahead).min(s.end);
            let Some((from, to)) = ahead_range(done, next, end, self.page, budget) else {
                continue;
            };
            // SAFETY: a page-aligned range of the working view (streams lie in
            // it and end on a page), which stays mapped while the linker that
            // owns it is loading (the caller's thread ends before the load
            // returns).
            unsafe { populate_write(self.working as u64 + from, to - from) };
            s.done.store(to, Ordering::Relaxed);
            budget -= to - from;
            if budget == 0 {
                return;
            }
        }
    }
}

/// Heap memory faulted in just above what the linking thread has filled, from
/// another thread, as [`Prefault`] does for the region (a batch's reading
/// thread runs both):
/// - the spare capacity of buffers that grow one element at a time (a symbol
///   table's arrays). Their owner retires them ([`HeapAhead::retire`]) before one
///   may move or be freed; a run holds the lock while it faults pages in, so it
///   never touches a buffer that is gone.
/// - with [`HeapAhead::following_break`], the pages just below the program break:
///   where glibc's malloc carves the main thread's new allocations (its main
///   arena grows the break by 128 KiB at a time). Faulting these in on the
///   linking thread was a tenth of its time on a VM (a fault costs about 4 µs
///   there).
#[derive(Debug, Default)]
pub struct HeapAhead {
    /// The buffers' extents: held while a run faults their pages in.
    buffers: std::sync::Mutex<Vec<Buffer>>,
    /// Per buffer, the first byte not filled yet: the owner moves it without
    /// the lock ([`HeapAhead::advance`]).
    filled: [std::sync::atomic::AtomicUsize; HeapAhead::BUFFERS],
    /// With [`HeapAhead::following_break`].
    brk: Option<Break>,
}

/// Following the program break ([`HeapAhead::following_break`]).
#[derive(Debug, Default)]
struct Break {
    /// The break up to which pages were faulted in (0 until the first run).
    done: AtomicU64,
    /// Runs so far: the break is asked for every [`HeapAhead::BREAK_POLL`].
    polls: AtomicU64,
}

/// A buffer's capacity `[start, end)`, and how far its pages have been faulted
/// in (`done`).
#[derive(Debug, Clone, Copy)]
struct Buffer {
    start: usize,
    end: usize,
    done: usize,
}

impl HeapAhead {
    /// How many buffers one owner may have faulted in.
    pub const BUFFERS: usize = 3;

    /// How far above a buffer's next byte pages are faulted in.
    pub const AHEAD: usize = 64 << 10;

    /// How far below the program break pages are faulted in: more than the
    /// break grows by at once (glibc's `M_TOP_PAD`, 128 KiB, plus the request).
    pub const BELOW_BREAK: usize = 256 << 10;

    /// One run in this many asks where the break is.
    pub const BREAK_POLL: u64 = 4;

    /// One that also faults in the pages just below the program break, for a
    /// linking thread that is the process's main thread (glibc's main arena:
    /// the break's heap; other threads allocate from arenas of their own).
    pub fn following_break() -> HeapAhead {
        HeapAhead {
            brk: Some(Default::default()),
            ..Default::default()
        }
    }

    /// Records the owner's buffers (at most [`HeapAhead::BUFFERS`]), each
    /// `(start, filled, end)`: its first byte, the first byte not filled yet,
    /// and the end of its capacity. Waits for a run that is faulting pages in.
    pub fn expect(&self, buffers: &[(usize, usize, usize)]) {
        let mut held = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        held.clear();
        for (i, &(start, next, end)) in buffers.iter().take(Self::BUFFERS).enumerate() {
            held.push(Buffer {
                start,
                end,
                done: next,
            });
            self.filled[i].store(next, Ordering::Relaxed);
        }
    }

    /// Records that buffer `i` (as last [`HeapAhead::expect`]ed) is filled up to
    /// `next`; does not wait.
    pub fn advance(&self, i: usize, next: usize) {
        if let Some(filled) = self.filled.get(i) {
            filled.store(next, Ordering::Relaxed);
        }
    }

    /// Forgets every buffer; returns once no run touches them.
    pub fn retire(&self) {
        self.buffers.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Faults in pages below the break (see [`HeapAhead::following_break`]), and
    /// of each buffer from its next byte up to [`HeapAhead::AHEAD`] above it,
    /// those not faulted in yet. Best effort; one thread runs it at a time.
    pub fn run(&self) {
        let page = page_size();
        // Asked of the kernel every few runs: brk takes the address space's
        // lock for writing, which the linking thread's own page faults,
        // mappings and protection changes wait for.
        let polled = self.brk.as_ref().filter(|b| {
            b.polls.fetch_add(1, Ordering::Relaxed).is_multiple_of(Self::BREAK_POLL)
        });
        if let Some(b) = polled {
            // brk(0) changes nothing and returns the break.
            // SAFETY: a system call with no memory arguments.
            let brk = unsafe { libc::syscall(libc::SYS_brk, 0usize) } as u64;
            let done = b.done.load(Ordering::Relaxed).min(brk);
            let next = brk.saturating_sub(Self::BELOW_BREAK as u64);
            if let Some((from, to)) = ahead_range(done, next, brk, page, u64::MAX) {
                // SAFETY: the range lies in the heap below the break (the break
                // only moves when the main thread allocates; pages it gave back
                // meanwhile make the call fail, which is harmless).
                unsafe { populate_write(from, to - from) };
                b.done.store(brk, Ordering::Relaxed);
            }
        }
        // The owner takes the lock only to change or retire its buffers.
        let Ok(mut held) = self.buffers.try_lock() else {
            return;
        };
        for (b, filled) in held.iter_mut().zip(&self.filled) {
            let next = filled.load(Ordering::Relaxed).clamp(b.start, b.end);
            let end = next.saturating_add(Self::AHEAD).min(b.end);
            let (done, next, end) = (b.done as u64, next as u64, end as u64);
            let Some((from, to)) = ahead_range(done, next, end, page, u64::MAX) else {
                continue;
            };
            // SAFETY: pages that hold part of a live heap buffer (the owner
            // retires a buffer, under this lock, before it may move or be
            // freed), so they are mapped and writable.
            unsafe { populate_write(from, to - from) };
            b.done = to as usize;
        }
    }
}

/// The pages to fault in ahead of a cursor: from the page holding `next` (or
/// `done`, how far earlier runs got, if that is further) up to `end` rounded up
/// to a page, at most `budget` bytes. `None` if nothing is left.
fn ahead_range(done: u64, next: u64, end: u64, page: u64, budget: u64) -> Option<(u64, u64)> {
    let from = done.max(next) / page * page;
    let to = end.min(from.saturating_add(budget)).next_multiple_of(page);
    (from < to).then_some((from, to))
}

/// Faults in `[at, at + len)` for reading (`MADV_POPULATE_READ`), best effort,
/// as [`populate_write`] does for writing: a second view of pages already
/// present maps them without allocating.
///
/// # Safety
/// As for [`populate_write`].
unsafe fn populate_read(at: u64, len: u64) {
    // SAFETY: the caller's; advice changes nothing the program can observe.
    unsafe { libc::madvise(at as *mut libc::c_void, len as usize, libc::MADV_POPULATE_READ) };
}

/// Faults in `[at, at + len)` for writing (`MADV_POPULATE_WRITE`), best effort:
/// a kernel before 5.14 (or qemu-user) does nothing. Changes no contents and no
/// permissions, so another thread's writes to the same pages are unaffected.
/// `at` must be on a page: `madvise` refuses any other start (`EINVAL`), and
/// a heap block's start is not on one.
///
/// # Safety
/// The range must lie in memory of this process that stays mapped during the
/// call, or in pages that may be unmapped concurrently (the call then fails).
pub(crate) unsafe fn populate_write(at: u64, len: u64) {
    // SAFETY: the caller's; advice changes nothing the program can observe.
    unsafe { libc::madvise(at as *mut libc::c_void, len as usize, libc::MADV_POPULATE_WRITE) };
}

impl Drop for Region {
    fn drop(&mut self) {
        if let Some(remote) = &self.remote {
            remote.release(self.target);
            unmap(self.working as u64, self.size);
            return;
        }
        fork::unregister(self.target);
        unmap(self.target, self.size);
        unmap(self.working as u64, self.size);
    }
}

// Free maps: offset → length of each free range, coalesced. The region's pages
// and each pool chunk's bytes are managed with these.

/// Takes the first `len` bytes of `free` whose target address (`target_base` +
/// offset) is aligned to `align`; returns their offset.
pub(crate) fn take_first_fit(
    free: &mut BTreeMap<u64, u64>,
    target_base: u64,
    len: u64,
    align: u64,
) -> Option<u64> {
    let (off, flen, at) = free.iter().find_map(|(&off, &flen)| {
        let at = (target_base + off).next_multiple_of(align) - target_base;
        (at + len <= off + flen).then_some((off, flen, at))
    })?;
    carve(free, off, flen, at, len);
    Some(at)
}

/// As [`take_first_fit`], searching from the free range at or after `from` and
/// then wrapping around (next fit): pieces are mostly taken where the last one
/// ended, and a chunk's small alignment holes before it are not searched each
/// time.
pub(crate) fn take_next_fit(
    free: &mut BTreeMap<u64, u64>,
    target_base: u64,
    len: u64,
    align: u64,
    from: u64,
) -> Option<u64> {
    let fits = |(&off, &flen): (&u64, &u64)| {
        let at = (target_base + off).next_multiple_of(align) - target_base;
        (at + len <= off + flen).then_some((off, flen, at))
    };
    let start = free.range(..=from).next_back().map_or(from, |(&off, _)| off);
    let (off, flen, at) = (free.range(start..).find_map(fits))
        .or_else(|| free.range(..start).find_map(fits))?;
    carve(free, off, flen, at, len);
    Some(at)
}

/// Takes `[at, at + len)` out of the free range `[off, off + flen)`.
pub(crate) fn carve(free: &mut BTreeMap<u64, u64>, off: u64, flen: u64, at: u64, len: u64) {
    free.remove(&off);
    if at > off {
        free.insert(off, at - off);
    }
    if at + len < off + flen {
        free.insert(at + len, off + flen - (at + len));
    }
}

/// Puts `[off, off + len)` back, merged with its free neighbours.
pub(crate) fn give_back(free: &mut BTreeMap<u64, u64>, mut off: u64, mut len: u64) {
    if let Some((&prev, &plen)) = free.range(..off).next_back() {
        if prev + plen == off {
            free.remove(&prev);
            off = prev;
            len += plen;
        }
    }
    if let Some(&nlen) = free.get(&(off + len)) {
        free.remove(&(off + len));
        len += nlen;
    }
    free.insert(off, len);
}

/// The host's page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

fn unmap(addr: u64, size: u64) {
    // SAFETY: only called with a mapping this module created and owns.
    unsafe {
        libc::munmap(addr as *mut libc::c_void, size as usize);
    }
}

fn memfd(size: u64) -> Result<OwnedFd> {
    // SAFETY: the name is a valid C string; the result is checked.
    let fd = unsafe { libc::memfd_create(c"relink".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::os("memfd_create"));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: resizing our own memfd; pages stay unallocated until touched.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) } != 0 {
        return Err(Error::os(format!("sizing the region to {size} bytes")));
    }
    Ok(fd)
}

/// Maps the target view `PROT_NONE` at an address that satisfies `placement`.
fn place(fd: &OwnedFd, size: u64, placement: Placement) -> Result<u64> {
    match placement {
        Placement::Low => {
            for hint in [0x1000_0000u64, 0x2000_0000, 0x4000_0000, 0x100_0000] {
                if hint + size <= LOW_LIMIT {
                    if let Some(a) = map_at(fd, size, hint, true) {
                        return Ok(a);
                    }
                }
            }
            Err(Error::Placement(format!(
                "could not reserve {} MiB in the low 2 GiB of the address space",
                size >> 20
            )))
        }
        Placement::NearProcess => {
            let anchor = process_anchor().ok_or_else(|| {
                Error::Placement("could not find the C library's data to place near".into())
            })?;
            // The kernel's own top-down choice usually lands just below the
            // libraries; failing that, scan the window on both sides of the anchor.
            let step = 32u64 << 20;
            let below = (1..NEAR / step).map(|i| anchor.saturating_sub(size + i * step));
            let above = (1..NEAR / step).map(|i| anchor + i * step);
            let hints = std::iter::once(None).chain(below.chain(above).map(Some));
            for hint in hints {
                let Some(a) = map_at(fd, size, hint.unwrap_or(0) & !0x1f_ffff, hint.is_some())
                else {
                    continue;
                };
                if within(a, a + size, anchor, NEAR) {
                    return Ok(a);
                }
                unmap(a, size);
            }
            Err(Error::Placement(format!(
                "could not reserve {} MiB within ±2 GiB of the C library ({anchor:#x})",
                size >> 20
            )))
        }
        Placement::Anywhere | Placement::Auto => {
            map_at(fd, size, 0, false).ok_or_else(|| Error::os("reserving the region"))
        }
    }
}

/// The read-write working view of `fd`'s `size` bytes, wherever the kernel
/// puts it.
fn working_view(fd: &OwnedFd, size: u64) -> Result<*mut u8> {
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    let working = map_aligned(fd, size, rw).ok_or_else(|| Error::os("mapping the working view"))?;
    Ok(working as *mut u8)
}

/// Maps `fd`'s `size` bytes shared, with `prot`, where the kernel picks but
/// aligned to [`HUGE`] (a mapping only page-aligned cannot map a huge page:
/// [`Region::huge_pages`]): inside a reservation [`HUGE`] larger, whose ends
/// are given back.
fn map_aligned(fd: &OwnedFd, size: u64, prot: libc::c_int) -> Option<u64> {
    let span = size.checked_add(HUGE)?;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    // SAFETY: a fresh inaccessible reservation; the kernel picks the address.
    let hole = unsafe { libc::mmap(std::ptr::null_mut(), span as usize, libc::PROT_NONE, flags, -1, 0) };
    if hole == libc::MAP_FAILED {
        return None;
    }
    let (hole, at) = (hole as u64, (hole as u64).next_multiple_of(HUGE));
    // SAFETY: replaces part of the reservation just made (MAP_FIXED inside it).
    let mapped = unsafe {
        libc::mmap(
            at as *mut libc::c_void,
            size as usize,
            prot,
            libc::MAP_SHARED | libc::MAP_FIXED,
            fd.as_raw_fd(),
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        unmap(hole, span);
        return None;
    }
    if at > hole {
        unmap(hole, at - hole);
    }
    if hole + span > at + size {
        unmap(at + size, hole + span - at - size);
    }
    Some(at)
}

/// Both views of `fd` in this process — the target view placed as
/// `placement` says, and the working view — registered for fork.
fn both_views(fd: &OwnedFd, size: u64, placement: Placement) -> Result<(u64, *mut u8)> {
    let target = place(fd, size, placement)?;
    let working = match working_view(fd, size) {
        Ok(w) => w,
        Err(e) => {
            unmap(target, size);
            return Err(e);
        }
    };
    if let Err(e) = fork::register(fd.as_raw_fd(), working as u64, target, size) {
        unmap(target, size);
        unmap(working as u64, size);
        return Err(e);
    }
    Ok((target, working))
}

/// Whether all of `[lo, hi)` is within `reach` of `anchor` (and `anchor` of it).
pub fn within(lo: u64, hi: u64, anchor: u64, reach: u64) -> bool {
    anchor.abs_diff(lo) < reach && anchor.abs_diff(hi) < reach
}

fn map_at(fd: &OwnedFd, size: u64, hint: u64, fixed: bool) -> Option<u64> {
    if hint == 0 && !fixed {
        return map_aligned(fd, size, libc::PROT_NONE);
    }
    let flags = libc::MAP_SHARED | if fixed { libc::MAP_FIXED_NOREPLACE } else { 0 };
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; the result is
    // checked, and a kernel that ignores the flag is caught by the address check.
    let p = unsafe {
        libc::mmap(
            hint as *mut libc::c_void,
            size as usize,
            libc::PROT_NONE,
            flags,
            fd.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    if fixed && p as u64 != hint {
        unmap(p as u64, size);
        return None;
    }
    Some(p as u64)
}

/// An address inside the C library's data, to place the region near.
pub fn process_anchor() -> Option<u64> {
    ["stderr", "environ", "errno"]
        .iter()
        .find_map(|name| process::lookup(name).map(|s| s.address))
}

/// Makes instructions written to `[target, target + len)` (read-execute code)
/// visible to instruction fetch. A no-op on x86-64, whose caches are coherent.
///
/// `reused`: the range may have run before (a patched site, a recycled piece).
/// Only then does qemu-user need telling (see [`qemu_user`]); code written where
/// nothing ran before has no stale translation.
pub fn flush_icache(target: u64, len: u64, reused: bool) {
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: cache maintenance by address on a range we mapped; it does not
        // change memory contents.
        unsafe { aarch64_clear_cache(target, target + len) };
        if reused && qemu_user() {
            drop_emulator_translations(target, len);
        }
    }
    #[cfg(not(target_arch = "aarch64"))]
    let _ = (target, len, reused);
}

/// Whether relink runs under qemu-user and must help it notice code changes
/// (`RELINK_QEMU_USER=1`, set by `.cargo/config.toml` and `scripts/test.sh`).
///
/// qemu-user ignores `ic ivau`; it notices self-modifying code by write-protecting
/// the pages it translated — which a write through relink's second (working)
/// mapping of the same memory bypasses, so it would keep running stale
/// translations of patched code (the reason Erlang's JIT single-maps under QEMU).
/// It does drop a page's translations when the page loses `PROT_EXEC`.
#[cfg(target_arch = "aarch64")]
pub(crate) fn qemu_user() -> bool {
    static QEMU: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *QEMU.get_or_init(|| std::env::var_os("RELINK_QEMU_USER").is_some_and(|v| v == "1"))
}

/// relink's x86-64 tests run natively: never under qemu-user.
#[cfg(not(target_arch = "aarch64"))]
pub(crate) fn qemu_user() -> bool {
    false
}

/// Re-protects the code pages of `[target, target + len)` R-- then R-X: qemu-user
/// then forgets its translations of them. Never used on hardware, where a thread
/// running that code would fault in between — and under qemu a thread running
/// other code on those pages can fault too: patching code while other threads run
/// is not supported under qemu-user (hot replace is: it writes fresh ranges).
#[cfg(target_arch = "aarch64")]
fn drop_emulator_translations(target: u64, len: u64) {
    let page = page_size();
    let lo = target & !(page - 1);
    let hi = (target + len.max(1)).div_ceil(page) * page;
    // SAFETY: the pages are relink's read-execute code pages; they end read-execute
    // again, as they were.
    unsafe {
        libc::mprotect(lo as *mut libc::c_void, (hi - lo) as usize, libc::PROT_READ);
        libc::mprotect(
            lo as *mut libc::c_void,
            (hi - lo) as usize,
            libc::PROT_READ | libc::PROT_EXEC,
        );
    }
}

/// `dc cvau` over the range, `dsb ish`, `ic ivau` over the range, `dsb ish; isb`,
/// with line sizes from `CTR_EL0` — what libgcc's `__clear_cache` does.
#[cfg(target_arch = "aarch64")]
unsafe fn aarch64_clear_cache(start: u64, end: u64) {
    use std::arch::asm;
    let ctr: u64;
    // SAFETY: CTR_EL0 is readable at EL0 on Linux.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let dline = 4u64 << ((ctr >> 16) & 15);
    let iline = 4u64 << (ctr & 15);
    let mut a = start & !(dline - 1);
    while a < end {
        // SAFETY: cleaning a data cache line by VA of mapped, readable memory.
        unsafe { asm!("dc cvau, {}", in(reg) a, options(nostack)) };
        a += dline;
    }
    // SAFETY: barriers have no operands.
    unsafe { asm!("dsb ish", options(nostack)) };
    let mut a = start & !(iline - 1);
    while a < end {
        // SAFETY: invalidating an instruction cache line by VA of mapped memory.
        unsafe { asm!("ic ivau, {}", in(reg) a, options(nostack)) };
        a += iline;
    }
    // SAFETY: barriers have no operands.
    unsafe { asm!("dsb ish", "isb", options(nostack)) };
}
