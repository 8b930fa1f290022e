//! Static TLS: blocks at one fixed offset from the thread pointer in every
//! thread, which initial-exec and local-exec code (x86-64 `GOTTPOFF`,
//! `TPOFF32/64`; AArch64 `TLSIE_*`, `TLSLE_*`) needs.
//!
//! Only the C library can give every thread — the running ones and those not yet
//! started — a block at the same offset: it lays out each thread's static TLS
//! area when it creates the thread, and keeps a *surplus* for libraries that are
//! loaded later and need static TLS. relink borrows that mechanism instead of
//! reimplementing it: for a module that needs static TLS it writes a tiny shared
//! object (`elf_image::tls_library`, about 600 bytes plus the image) into a memfd
//! and `dlopen`s it.
//! glibc then
//! - allocates the block from the surplus (or fails: "cannot allocate memory in
//!   static TLS block", reported as such),
//! - copies the module's initial image into the block of **every running
//!   thread** (`__pthread_init_static_tls`), and into each thread created later,
//! - tells relink the offset by applying the library's one dynamic relocation, a
//!   `TPOFF64` (`TLS_TPREL64` on AArch64) against the library's own block, to a
//!   word relink reads back: `address = thread pointer + offset` in every thread.
//!
//! So the image must be final (relocated) before [`allocate`]: the linker
//! allocates after applying every other fixup of the object.
//!
//! The library: ELF header; program headers `PT_LOAD` (the whole file,
//! read/write, so no text relocation), `PT_DYNAMIC`, `PT_TLS` (the image) and
//! `PT_GNU_STACK` (without it glibc would make every thread's stack executable);
//! a dynamic section with a one-bucket `DT_HASH`, a symbol table holding only the
//! null symbol, `DT_RELA` with the one relocation, and `DT_FLAGS = DF_STATIC_TLS`.
//!
//! The library's `PT_TLS` image spans the whole block (the zero-fill part
//! written out), so that a later module can put its own image there.
//!
//! **Reuse.** glibc hands static TLS out like a stack: `dlclose` gives a
//! block back only when it was the last one taken (`_dl_close` moves
//! `dl_tls_static_used` back over a freed chunk at its end, and nothing else
//! ever reuses a hole). A replaced version's block is freed after its successor
//! took one, so freeing it would leak the space every replace. A freed module's
//! block is kept instead ([`give_back`]) in one process-wide pool, and
//! [`take`] hands the smallest pooled block that fits (size and alignment at
//! least the module's) to the next module that needs static TLS, before asking
//! the C library for more. The pool holds at most as many blocks as were ever
//! in use at once, and its libraries stay loaded for the process's lifetime.
//! A reused block is re-initialised from the new module's image
//! - in the calling thread (the one linking the object), and
//! - in the library's `PT_TLS` image, which glibc copies into every thread it
//!   creates later;
//!
//! but **not in other threads already running**: their copy of the block still
//! holds what its previous module left there, until that code writes it. relink
//! cannot reach other threads' static TLS (glibc does it for a fresh library
//! through internals, `__pthread_init_static_tls`, that it does not export).
//! Code run from several threads across replaces should use general dynamic
//! TLS (`-fPIC`), whose blocks are allocated per thread on first use. The
//! library's image is rewritten without glibc's lock: a thread created at that
//! very moment may start with a mix of both images.
//!
//! Limits: glibc's surplus is small (about 1.6 KiB on glibc 2.36, shared with
//! anything else that needs it); `GLIBC_TUNABLES=glibc.rtld.optional_static_tls=N`
//! at process start enlarges it.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use super::elf_image;
use crate::arch::Arch;

/// A static TLS block held for one module: the library that owns it.
#[derive(Debug)]
pub struct StaticBlock {
    handle: *mut libc::c_void,
    /// The memfd the library was loaded from, open as long as the library is:
    /// glibc knows a library by its name, `/proc/self/fd/N`, so no other library
    /// may be loaded under that name meanwhile.
    _file: std::fs::File,
    /// Offset of the block from the thread pointer (the same in every thread).
    pub tp_offset: i64,
    /// The shape the C library gave the block.
    size: u64,
    align: u64,
    /// The library's `PT_TLS` image (`size` bytes, in its writable mapping):
    /// what the C library copies into each thread it creates.
    image: *mut u8,
}

// SAFETY: the handle is only passed to dlclose, which may run on any thread;
// the image pointer is written only by the owner of the block (`initialise`).
unsafe impl Send for StaticBlock {}

impl StaticBlock {
    fn fits(&self, size: u64, align: u64) -> bool {
        size <= self.size && align <= self.align
    }

    /// Makes `image` (the rest zero) the block's contents for the calling
    /// thread and for threads created from now on (see the module doc).
    fn initialise(&mut self, image: &[u8]) {
        let mut bytes = image.to_vec();
        bytes.resize(self.size as usize, 0);
        let here = thread_pointer().wrapping_add(self.tp_offset as u64) as *mut u8;
        for to in [self.image, here] {
            // SAFETY: both are `size` bytes this block owns: the library's
            // image in its read/write segment, and this thread's block (no
            // other module uses it while this one holds it).
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), to, bytes.len()) };
        }
    }
}

/// Blocks whose modules were freed, for the next ones to take.
static POOL: Mutex<Vec<StaticBlock>> = Mutex::new(Vec::new());

fn pool() -> MutexGuard<'static, Vec<StaticBlock>> {
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A static TLS block of `size` bytes aligned to `align`, initialised from
/// `image` (the rest zero): the smallest pooled block that fits, re-initialised
/// (in this thread and threads created later, see the module doc), or else a
/// new one from the C library ([`allocate`]). The error is the C library's
/// message.
pub fn take(image: &[u8], size: u64, align: u64) -> Result<StaticBlock, String> {
    check_shape(image, size, align)?;
    let reused = {
        let mut pool = pool();
        let best = (pool.iter().enumerate())
            .filter(|(_, b)| b.fits(size, align))
            .min_by_key(|(_, b)| b.size)
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
    };
    match reused {
        Some(mut block) => {
            block.initialise(image);
            Ok(block)
        }
        None => allocate(image, size, align),
    }
}

/// Keeps the block of a freed module for [`take`]: no thread may use it any
/// more (the module's code and variables are gone).
pub fn give_back(block: StaticBlock) {
    pool().push(block);
}

#[cfg(any(test, feature = "testing"))]
/// Blocks in the pool (tests).
pub fn pooled() -> usize {
    pool().len()
}

/// More static TLS than any C library hands out (the block is written out
/// whole, so a malformed size must not reach an allocation).
const MAX_SIZE: u64 = 64 << 20;

fn check_shape(image: &[u8], size: u64, align: u64) -> Result<(), String> {
    if !align.is_power_of_two() || (image.len() as u64) > size {
        return Err(format!(
            "bad TLS block shape: {size} bytes aligned to {align}"
        ));
    }
    if size > MAX_SIZE {
        return Err(format!(
            "cannot allocate memory in static TLS block: {size} bytes is more than \
             {MAX_SIZE}"
        ));
    }
    Ok(())
}

impl Drop for StaticBlock {
    fn drop(&mut self) {
        // SAFETY: the handle came from dlopen and is closed once.
        unsafe { libc::dlclose(self.handle) };
    }
}

/// The thread pointer of the calling thread.
pub fn thread_pointer() -> u64 {
    let tp: u64;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads the TCB's self pointer at %fs:0 (x86-64 TLS ABI).
    unsafe {
        std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags))
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reads tpidr_el0, always readable at EL0.
    unsafe {
        std::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nostack, nomem, preserves_flags))
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        tp = 0;
    }
    tp
}

/// Takes a new static TLS block of `size` bytes aligned to `align` from the C
/// library, initialised from `image` (the rest zero) in every thread, running or
/// future. The error is the C library's message.
pub fn allocate(image: &[u8], size: u64, align: u64) -> Result<StaticBlock, String> {
    check_shape(image, size, align)?;
    // The whole block as the library's image, so that a later module's image
    // fits in its place (see `StaticBlock::initialise`).
    let mut whole = image.to_vec();
    whole.resize(size as usize, 0);
    let library = Arch::HOST
        .and_then(|arch| elf_image::tls_library(arch, &whole, size, align))
        .ok_or_else(|| "static TLS is not supported on this architecture".to_string())?;
    let (handle, file) = open_library(&library.bytes, c"relink-static-tls")?;
    // Closed again (dropped) on every error below.
    let mut block = StaticBlock {
        handle,
        _file: file,
        tp_offset: 0,
        size,
        align,
        image: std::ptr::null_mut(),
    };
    let base = load_bias(handle)?;
    // SAFETY: the word lies in the library's writable PT_LOAD segment, relocated
    // by dlopen.
    let tp_offset = unsafe { *((base + library.word) as *const i64) };
    // glibc initialised this thread's copy at that offset: check it holds the
    // image (a wrong offset or layout is an error, not silent corruption).
    // SAFETY: the block is `size >= image.len()` bytes at that offset, or the
    // check below fails only by reading this thread's static TLS area.
    let here = thread_pointer().wrapping_add(tp_offset as u64) as *const u8;
    let copied = unsafe { std::slice::from_raw_parts(here, image.len()) };
    if copied != image {
        return Err(format!(
            "the C library's block at thread pointer {tp_offset:+#x} does not hold the image"
        ));
    }
    block.tp_offset = tp_offset;
    block.image = (base + library.image) as *mut u8;
    Ok(block)
}

/// Writes `bytes` (a complete shared object) into a memfd named `name` and
/// `dlopen`s it (`RTLD_NOW | RTLD_LOCAL`): the handle, and the file, which must
/// stay open as long as the library is loaded (glibc knows it by the name
/// `/proc/self/fd/N`). The error is the C library's message.
pub(crate) fn open_library(
    bytes: &[u8],
    name: &std::ffi::CStr,
) -> Result<(*mut libc::c_void, std::fs::File), String> {
    // SAFETY: memfd_create with a NUL-terminated name.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)
        .map_err(|e| format!("writing the memfd: {e}"))?;
    // A name glibc does not already know (it would return that library
    // instead): file descriptors are reused once closed, so another number is
    // taken while the one tried is held.
    let mut held = Vec::new();
    let mut loaded = None;
    for _ in 0..8 {
        use std::os::fd::AsRawFd;
        let path = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .map_err(|e| e.to_string())?;
        // SAFETY: RTLD_NOLOAD only looks the name up; a hit is released again.
        let known = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
        if !known.is_null() {
            // SAFETY: the reference RTLD_NOLOAD took.
            unsafe { libc::dlclose(known) };
            let other = file.try_clone().map_err(|e| format!("dup: {e}"))?;
            held.push(std::mem::replace(&mut file, other));
            continue;
        }
        // SAFETY: dlopen of a complete shared object; RTLD_LOCAL keeps its
        // symbols out of the global scope.
        loaded = Some(unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) });
        break;
    }
    drop(held);
    let handle = loaded.ok_or_else(|| "no free name for the library".to_string())?;
    if handle.is_null() {
        // SAFETY: dlerror returns a thread-local C string or null.
        let e = unsafe { libc::dlerror() };
        if e.is_null() {
            return Err("dlopen failed".into());
        }
        // SAFETY: non-null dlerror results are NUL-terminated.
        let why = unsafe { std::ffi::CStr::from_ptr(e) }.to_string_lossy();
        // "/proc/self/fd/N: cannot allocate memory in static TLS block"
        let why = why.strip_prefix("/proc/self/fd/").map_or(&*why, |rest| {
            rest.split_once(": ").map_or(rest, |(_, w)| w)
        });
        return Err(format!("the C library refused it: {why}"));
    }
    Ok((handle, file))
}

/// The load bias (`l_addr`) of a library `dlopen` returned.
pub(crate) fn load_bias(handle: *mut libc::c_void) -> Result<u64, String> {
    let mut map: *mut libc::c_void = std::ptr::null_mut();
    // SAFETY: RTLD_DI_LINKMAP stores a `struct link_map *`, whose first member
    // is `l_addr`, the library's load bias.
    unsafe {
        if libc::dlinfo(handle, libc::RTLD_DI_LINKMAP, &mut map as *mut _ as *mut _) != 0
            || map.is_null()
        {
            return Err("dlinfo(RTLD_DI_LINKMAP) failed".into());
        }
        Ok(*(map as *const u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(tp_offset: i64, len: usize) -> Vec<u8> {
        let at = thread_pointer().wrapping_add(tp_offset as u64) as *const u8;
        // SAFETY: the block of `len` bytes lies at that offset in every thread.
        unsafe { std::slice::from_raw_parts(at, len) }.to_vec()
    }

    #[test]
    fn every_thread_sees_the_image_at_one_offset() {
        let (go, wait) = std::sync::mpsc::channel::<i64>();
        let (done, result) = std::sync::mpsc::channel();
        // A thread that was running before the block existed.
        let early = std::thread::spawn(move || {
            let off = wait.recv().unwrap();
            done.send(read(off, 8)).unwrap();
        });
        let block = allocate(&[1, 2, 3, 4], 8, 8).expect("static TLS");
        assert_eq!(read(block.tp_offset, 8), [1, 2, 3, 4, 0, 0, 0, 0]);
        go.send(block.tp_offset).unwrap();
        assert_eq!(result.recv().unwrap(), [1, 2, 3, 4, 0, 0, 0, 0]);
        early.join().unwrap();
        // Writes are per thread; a later thread starts from the image.
        let at = thread_pointer().wrapping_add(block.tp_offset as u64) as *mut u8;
        // SAFETY: this thread's block.
        unsafe { *at = 9 };
        let off = block.tp_offset;
        let later = std::thread::spawn(move || read(off, 8)).join().unwrap();
        assert_eq!(later, [1, 2, 3, 4, 0, 0, 0, 0]);
        assert_eq!(read(off, 1), [9]);
    }

    #[test]
    fn a_block_given_back_is_taken_again_and_initialised_afresh() {
        // An odd shape no other test of this crate uses, so the pool's only
        // block of it is this one.
        let first = take(&[5; 40], 40, 8).expect("static TLS");
        let offset = first.tp_offset;
        let at = thread_pointer().wrapping_add(offset as u64) as *mut u8;
        // SAFETY: this thread's copy of the block.
        unsafe { *at = 9 };
        give_back(first);
        // Smaller, less aligned: fits; the rest of the block is zeroed.
        let second = take(&[7; 8], 24, 4).expect("a pooled block");
        assert_eq!(second.tp_offset, offset, "the pooled block was reused");
        let mut expected = vec![7; 8];
        expected.resize(40, 0);
        assert_eq!(read(offset, 40), expected, "this thread");
        let later = std::thread::spawn(move || read(offset, 40)).join().unwrap();
        assert_eq!(later, expected, "a thread created afterwards");
        give_back(second);
        // Larger or more aligned than any pooled block: a new one.
        let third = take(&[], 48, 8).expect("static TLS");
        assert_ne!(third.tp_offset, offset);
        let fourth = take(&[], 8, 16).expect("static TLS");
        assert_ne!(fourth.tp_offset, offset);
    }

    #[test]
    fn an_exhausted_surplus_is_an_error() {
        let e = allocate(&[], 1 << 20, 16).unwrap_err();
        assert!(e.contains("static TLS"), "{e}");
    }
}
