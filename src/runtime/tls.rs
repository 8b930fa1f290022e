//! Thread-local storage at run time: one TLS *module* per loaded object that has
//! `SHF_TLS` sections, and per thread a lazily allocated block of each module.
//!
//! # Model
//!
//! - **Module.** The linker lays an object's `.tdata` and `.tbss` sections out as
//!   one contiguous *image* in its read-only memory: initialised bytes first
//!   (relocated like any other section, since `.tdata` may hold pointers), then the
//!   zero-fill part. [`register`] gives the module an id; a [`Template`] records
//!   where the image lives and the block's size and alignment. Module ids are
//!   `generation << 32 | index`: indices are reused after a module is freed, ids
//!   are not, so a stale id never matches a newer module.
//! - **Blocks.** A thread's block of a module is allocated on the thread's first
//!   access (the slow path of [`get_addr`]), copied from the image and zero-filled
//!   beyond it. So a thread started before *or* after the object was loaded sees the
//!   variables' initial values on its first access. Each thread keeps a table
//!   indexed by module index holding `(id, block)`; the hit path is one
//!   thread-local load, one compare and one add, with no lock.
//! - **`__tls_get_addr`.** Loaded objects' references to `__tls_get_addr` bind to
//!   [`get_addr`] (`extern "C" fn(*const TlsIndex) -> *mut u8`, the psABI's
//!   `tls_index = {module, offset}`), never to the C library's: glibc's DTV knows
//!   nothing of relink's modules. General and local dynamic code (x86-64 `TLSGD`,
//!   `TLSLD` + `DTPOFF32`; AArch64 `-mtls-dialect=trad`) calls it directly.
//!   An index of a variable of the process (a shared library's) holds the C
//!   library's module id, always below 2^32 (relink's have a generation of at
//!   least 1 in their upper half): `get_addr` passes it on to glibc's
//!   `__tls_get_addr` (`process_tls.rs`), so do the descriptors built on it.
//! - **TLS descriptors** (AArch64's default for `-fPIC`; x86-64 with
//!   `-mtls-dialect=gnu2`): the descriptor relink allocates is `{resolver, module,
//!   offset}`; the resolver (`relink_tlsdesc_resolver`, written in assembly)
//!   preserves every register the descriptor ABI says it does (all but the result
//!   register, `x0`/`rax`, and the flags; on AArch64 `x1`–`x18`, `x29`, `x30`,
//!   `q0`–`q31` are saved explicitly), calls [`get_addr`] with `&desc.module` and
//!   returns the block address minus the thread pointer (`tpidr_el0`, `%fs:0`).
//! - **Mach-O thread-local variables**: a descriptor `{thunk, module, offset}` per
//!   variable (the reader turns Darwin's `{thunk, key, offset}` into that); the
//!   thunk (`relink_tlv_thunk`, assembly, Darwin's TLV convention: descriptor in
//!   `rdi`/`x0`, address out in `rax`/`x0`, everything else preserved) calls
//!   [`get_addr`] with `&desc.module`. The TLSDESC resolver calls the same thunk.
//! - **Freeing.** A module lives as long as the memory of its image: unload and
//!   replace retire it with the object's other memory (a thread may still run the
//!   old code and touch its variables), and `Linker::reclaim` or dropping the
//!   linker frees it: [`unregister`] frees *every thread's* block of the module at
//!   once (each module keeps the list of blocks allocated for it) — the same
//!   contract as the code: no thread may still be inside the object. A thread that
//!   exits frees its blocks of live modules (a Rust `thread_local!` destructor,
//!   which glibc runs for C threads too via `__cxa_thread_atexit_impl`). A stale
//!   access after the module was freed is reported by name and aborts, rather
//!   than reading freed memory.
//!
//! # Limits
//!
//! - **Static TLS** (initial and local exec: x86-64 `GOTTPOFF`, `TPOFF32/64`;
//!   AArch64 `TLSIE_*`, `TLSLE_*`; what `-fno-pic` and PIE code use) needs each
//!   variable at one fixed offset from the thread pointer in every thread. Such a
//!   module is made static ([`make_static`], `static_tls.rs`): the C library gives
//!   every thread a block at one offset from its static TLS surplus, initialised
//!   from the image; [`get_addr`] then returns that block for the module too (no
//!   block is allocated). The surplus is small (about 1.6 KiB on glibc 2.36), and a
//!   module some thread already holds a dynamic block of cannot become static.
//!   A freed static module's block goes to a pool for the next module that fits
//!   (the C library would not take it back): so an edit loop's replaces reuse
//!   the blocks of the versions they retired. A module that takes a pooled block
//!   is initialised from its image in the thread that links it and in threads
//!   created later; other running threads see what the block's previous module
//!   left there (`static_tls.rs`). So after a replace the new version's
//!   thread-locals start from its image on the replacing thread, `keep_state` or
//!   not.
//! - References to another object's thread-local variable bind to that object's
//!   module at load: the variable must be loaded first or in the same batch
//!   (`tls.rs`, pending cells), and replacing or unloading
//!   the object that defines it leaves the user on the old module; once that is
//!   reclaimed, the user's next access aborts with a message.
//! - A TLS descriptor call always takes the resolver's full register save (there
//!   is no assembly fast path); `__tls_get_addr` hits take no lock.
//! - `.tbss` occupies region memory in the image too (never read: blocks are
//!   zeroed past the initialised part).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::UnsafeCell;
use std::sync::{Mutex, MutexGuard};

use super::static_tls::{thread_pointer, StaticBlock};

/// The psABI's `tls_index`: what `__tls_get_addr` receives.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsIndex {
    pub module: u64,
    pub offset: u64,
}

/// Where a module's initialisation image lives, and the shape of its blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    /// Target address of the image (readable for as long as the module is
    /// registered).
    pub image: u64,
    /// Bytes copied from the image into each block; the rest is zeroed.
    pub init_len: u64,
    /// Size of one block (at least `init_len`).
    pub size: u64,
    /// Alignment of one block (a power of two).
    pub align: u64,
}

impl Template {
    fn layout(&self) -> Option<Layout> {
        let size = usize::try_from(self.size.max(1)).ok()?;
        let align = usize::try_from(self.align.max(1)).ok()?;
        Layout::from_size_align(size, align).ok()
    }
}

/// A block of some thread, owned by its module.
struct Block(*mut u8);

// SAFETY: a block is plain memory; only the registry (under its lock) frees it.
unsafe impl Send for Block {}

struct Module {
    id: u64,
    template: Option<Template>,
    blocks: Vec<Block>,
    /// Static TLS (`static_tls.rs`): every thread's block at one offset from the
    /// thread pointer, owned by the C library; `blocks` stays empty.
    fixed: Option<StaticBlock>,
}

#[derive(Default)]
struct Registry {
    modules: Vec<Module>,
    free: Vec<usize>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    modules: Vec::new(),
    free: Vec::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn index_of(id: u64) -> usize {
    (id & 0xffff_ffff) as usize
}

/// Registers a module and returns its id (never 0). The template's image must
/// stay readable until [`unregister`]; no block is made before code asks for one.
pub fn register(template: Template) -> Option<u64> {
    template.layout()?;
    let mut reg = registry();
    let index = match reg.free.pop() {
        Some(i) => i,
        None => {
            reg.modules.push(Module {
                id: 0,
                template: None,
                blocks: Vec::new(),
                fixed: None,
            });
            reg.modules.len() - 1
        }
    };
    let module = &mut reg.modules[index];
    // Never 0: ids below 2^32 are the C library's (`process_tls.rs`).
    let generation = ((module.id >> 32) % 0xffff_ffff) + 1;
    module.id = (generation << 32) | index as u64;
    module.template = Some(template);
    Some(module.id)
}

/// Frees a module and every thread's block of it. The caller guarantees that no
/// thread still uses those blocks (see the module doc).
pub fn unregister(id: u64) {
    let mut reg = registry();
    let index = index_of(id);
    let Some(module) = reg.modules.get_mut(index).filter(|m| m.id == id) else {
        return;
    };
    let layout = module.template.take().and_then(|t| t.layout());
    for block in module.blocks.drain(..) {
        if let Some(layout) = layout {
            // SAFETY: every block was allocated with this template's layout and
            // is freed once: it leaves the list here.
            unsafe { dealloc(block.0, layout) };
        }
    }
    let fixed = module.fixed.take();
    reg.free.push(index);
    drop(reg);
    // Kept for the next module (the C library would not take it back).
    if let Some(block) = fixed {
        super::static_tls::give_back(block);
    }
}

/// Makes module `id` static TLS (see `static_tls.rs`): every thread's block at
/// one offset from the thread pointer, initialised from `image` (the module's
/// relocated initialised bytes). Returns that offset; the same again for a
/// module that is static already. Refused when a thread already has a block of
/// the module (its values could not move).
pub fn make_static(id: u64, image: &[u8]) -> Result<i64, String> {
    let mut reg = registry();
    let Some(module) = reg.modules.get_mut(index_of(id)).filter(|m| m.id == id) else {
        return Err("the thread-local module is gone".into());
    };
    if let Some(b) = &module.fixed {
        return Ok(b.tp_offset);
    }
    if !module.blocks.is_empty() {
        return Err(format!(
            "{} thread(s) already use it as dynamic TLS, whose blocks cannot move",
            module.blocks.len()
        ));
    }
    let Some(t) = module.template else {
        return Err("the thread-local module has no template".into());
    };
    let block = super::static_tls::take(image, t.size, t.align)?;
    let offset = block.tp_offset;
    module.fixed = Some(block);
    Ok(offset)
}

/// The thread-pointer offset of module `id` if it is static TLS.
pub fn static_offset(id: u64) -> Option<i64> {
    let reg = registry();
    let m = reg.modules.get(index_of(id)).filter(|m| m.id == id)?;
    m.fixed.as_ref().map(|b| b.tp_offset)
}

#[cfg(any(test, feature = "testing"))]
/// Number of blocks allocated for module `id` across all threads (tests).
pub fn blocks_of(id: u64) -> usize {
    let reg = registry();
    reg.modules
        .get(index_of(id))
        .filter(|m| m.id == id)
        .map_or(0, |m| m.blocks.len())
}

/// One thread's blocks, indexed by module index: `(module id, block)`.
struct Table(UnsafeCell<Vec<(u64, *mut u8)>>);

impl Drop for Table {
    fn drop(&mut self) {
        let entries = std::mem::take(self.0.get_mut());
        if entries.iter().all(|(id, _)| *id == 0) {
            return;
        }
        let mut reg = registry();
        for (id, block) in entries.into_iter().filter(|(id, _)| *id != 0) {
            let Some(module) = reg.modules.get_mut(index_of(id)).filter(|m| m.id == id) else {
                continue; // freed with its module already
            };
            if let Some(at) = module.blocks.iter().position(|b| b.0 == block) {
                module.blocks.swap_remove(at);
                if let Some(layout) = module.template.and_then(|t| t.layout()) {
                    // SAFETY: allocated with this layout; removed from the list
                    // above, so freed exactly once.
                    unsafe { dealloc(block, layout) };
                }
            }
        }
    }
}

thread_local! {
    static TABLE: Table = const { Table(UnsafeCell::new(Vec::new())) };
}

/// relink's `__tls_get_addr`: the address of `offset` in this thread's block of
/// `module`, allocating and initialising the block on first use.
///
/// # Safety
/// `index` must point to a readable [`TlsIndex`] (loaded code passes a cell relink
/// wrote).
pub unsafe extern "C" fn get_addr(index: *const TlsIndex) -> *mut u8 {
    // SAFETY: the caller passes a valid cell.
    let index = unsafe { *index };
    let hit = TABLE.try_with(|t| {
        // SAFETY: the table is only touched by this thread, and never while
        // another borrow of it is live (no code runs inside these closures).
        let t = unsafe { &*t.0.get() };
        match t.get(index_of(index.module)) {
            Some(&(id, block)) if id == index.module => Some(block),
            _ => None,
        }
    });
    match hit {
        Ok(Some(block)) => block.wrapping_add(index.offset as usize),
        _ if super::process_tls::is_foreign(index.module) => foreign(&index),
        _ => slow_path(index).wrapping_add(index.offset as usize),
    }
}

/// glibc's `__tls_get_addr`, for a variable of the process (a C-library module
/// id, see `process_tls.rs`).
#[cold]
fn foreign(index: &TlsIndex) -> *mut u8 {
    type GetAddr = unsafe extern "C" fn(*const TlsIndex) -> *mut u8;
    static GLIBC: std::sync::OnceLock<Option<GetAddr>> = std::sync::OnceLock::new();
    let found = GLIBC.get_or_init(|| {
        // SAFETY: a NUL-terminated name; RTLD_DEFAULT searches the global scope.
        let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__tls_get_addr".as_ptr()) };
        // SAFETY: glibc's `__tls_get_addr` has this signature (`tls_index *` in,
        // the variable's address out).
        (!f.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, GetAddr>(f) })
    });
    let Some(glibc) = found else {
        die(&format!(
            "thread-local variable of the C library's TLS module {}, without its __tls_get_addr",
            index.module
        ));
    };
    // SAFETY: the index is the C library's own `{module, offset}` of a variable
    // of a loaded library (written by relink from the C library's answer).
    unsafe { glibc(index) }
}

#[cold]
fn slow_path(index: TlsIndex) -> *mut u8 {
    let mut reg = registry();
    let slot = index_of(index.module);
    let Some(module) = reg
        .modules
        .get_mut(slot)
        .filter(|m| m.id == index.module && m.template.is_some())
    else {
        die(&format!(
            "thread-local variable of TLS module {:#x}, whose object was unloaded and reclaimed",
            index.module
        ));
    };
    let Some(template) = module.template else {
        die("thread-local module without a template");
    };
    if index.offset >= template.size.max(1) {
        die(&format!(
            "thread-local offset {:#x} outside module {:#x} ({} bytes)",
            index.offset, index.module, template.size
        ));
    }
    if let Some(fixed) = &module.fixed {
        // Static TLS: this thread's block is at the module's fixed offset.
        let block = thread_pointer().wrapping_add(fixed.tp_offset as u64) as *mut u8;
        drop(reg);
        remember(slot, index.module, block);
        return block;
    }
    let Some(layout) = template.layout() else {
        die("thread-local block layout");
    };
    // SAFETY: the layout has a nonzero size.
    let block = unsafe { alloc_zeroed(layout) };
    if block.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: the image is readable while the module is registered (it lives in
    // the object's memory, freed only after `unregister`), `init_len <= size`, and
    // the block is fresh.
    unsafe {
        std::ptr::copy_nonoverlapping(
            template.image as *const u8,
            block,
            template.init_len.min(template.size) as usize,
        )
    };
    module.blocks.push(Block(block));
    drop(reg);
    remember(slot, index.module, block);
    // If the thread's table is already gone (a destructor running at thread exit),
    // the block stays owned by its module and is freed with it.
    block
}

/// Records this thread's block of module `id` (index `slot`) for the hit path.
fn remember(slot: usize, id: u64, block: *mut u8) {
    let _ = TABLE.try_with(|t| {
        // SAFETY: as in `get_addr`; no other borrow of the table is live.
        let t = unsafe { &mut *t.0.get() };
        if t.len() <= slot {
            t.resize(slot + 1, (0, std::ptr::null_mut()));
        }
        t[slot] = (id, block);
    });
}

fn die(what: &str) -> ! {
    eprintln!("relink: fatal: access to a {what}");
    std::process::abort()
}

/// The address loaded code's `__tls_get_addr` binds to.
pub fn get_addr_address() -> u64 {
    get_addr as unsafe extern "C" fn(*const TlsIndex) -> *mut u8 as usize as u64
}

/// The address of the TLS descriptor resolver of the host's architecture (0 on
/// hosts other than x86-64 and AArch64).
pub fn tlsdesc_resolver_address() -> u64 {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        extern "C" {
            fn relink_tlsdesc_resolver();
        }
        relink_tlsdesc_resolver as unsafe extern "C" fn() as usize as u64
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        0
    }
}

/// The address Mach-O's `__tlv_bootstrap` binds to: the thunk of every thread-local
/// variable descriptor `{thunk, module, offset}` (the key word of a Darwin
/// descriptor holds the module id, the offset word the variable's offset in the
/// block, so `&desc.module` is a [`TlsIndex`]). 0 on hosts other than x86-64 and
/// AArch64.
pub fn tlv_thunk_address() -> u64 {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        extern "C" {
            fn relink_tlv_thunk();
        }
        relink_tlv_thunk as unsafe extern "C" fn() as usize as u64
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        0
    }
}

// Darwin's thread-local variable thunk, x86-64. Entered with rdi = &desc; returns
// rax = the variable's address. Darwin's `tlv_get_addr` (and LLVM's
// CSR_64_TLS_Darwin) preserve every register but rax and the flags; so does this:
// it saves rcx, rdx, rsi, rdi, r8-r11 and xmm0-xmm15 around `get_addr` (the upper
// halves of ymm/zmm registers are not saved: LLVM treats vector registers as
// clobbered by the call, as does a plain call).
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl relink_tlv_thunk",
    ".hidden relink_tlv_thunk",
    ".type relink_tlv_thunk, @function",
    "relink_tlv_thunk:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "push rcx",
    "push rdx",
    "push rsi",
    "push rdi",
    "push r8",
    "push r9",
    "push r10",
    "push r11",
    // 8 pushes after rbp: rsp is 16-byte aligned; 256 bytes of xmm keep it so.
    "sub rsp, 256",
    "movdqu [rsp + 0], xmm0",
    "movdqu [rsp + 16], xmm1",
    "movdqu [rsp + 32], xmm2",
    "movdqu [rsp + 48], xmm3",
    "movdqu [rsp + 64], xmm4",
    "movdqu [rsp + 80], xmm5",
    "movdqu [rsp + 96], xmm6",
    "movdqu [rsp + 112], xmm7",
    "movdqu [rsp + 128], xmm8",
    "movdqu [rsp + 144], xmm9",
    "movdqu [rsp + 160], xmm10",
    "movdqu [rsp + 176], xmm11",
    "movdqu [rsp + 192], xmm12",
    "movdqu [rsp + 208], xmm13",
    "movdqu [rsp + 224], xmm14",
    "movdqu [rsp + 240], xmm15",
    "add rdi, 8",
    "call {get_addr}",
    "movdqu xmm0, [rsp + 0]",
    "movdqu xmm1, [rsp + 16]",
    "movdqu xmm2, [rsp + 32]",
    "movdqu xmm3, [rsp + 48]",
    "movdqu xmm4, [rsp + 64]",
    "movdqu xmm5, [rsp + 80]",
    "movdqu xmm6, [rsp + 96]",
    "movdqu xmm7, [rsp + 112]",
    "movdqu xmm8, [rsp + 128]",
    "movdqu xmm9, [rsp + 144]",
    "movdqu xmm10, [rsp + 160]",
    "movdqu xmm11, [rsp + 176]",
    "movdqu xmm12, [rsp + 192]",
    "movdqu xmm13, [rsp + 208]",
    "movdqu xmm14, [rsp + 224]",
    "movdqu xmm15, [rsp + 240]",
    "add rsp, 256",
    "pop r11",
    "pop r10",
    "pop r9",
    "pop r8",
    "pop rdi",
    "pop rsi",
    "pop rdx",
    "pop rcx",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    ".size relink_tlv_thunk, . - relink_tlv_thunk",
    "",
    // The x86-64 TLS descriptor resolver (`-mtls-dialect=gnu2`): entered with rax
    // = &desc, desc = {resolver, module, offset}; returns rax = the variable's
    // address minus the thread pointer (`%fs:0`) and preserves every other
    // register but the flags. The thunk takes the same descriptor shape in rdi.
    ".p2align 4",
    ".globl relink_tlsdesc_resolver",
    ".hidden relink_tlsdesc_resolver",
    ".type relink_tlsdesc_resolver, @function",
    "relink_tlsdesc_resolver:",
    ".cfi_startproc",
    "push rdi",
    ".cfi_def_cfa_offset 16",
    "mov rdi, rax",
    "call relink_tlv_thunk",
    "sub rax, qword ptr fs:[0]",
    "pop rdi",
    ".cfi_def_cfa_offset 8",
    "ret",
    ".cfi_endproc",
    ".size relink_tlsdesc_resolver, . - relink_tlsdesc_resolver",
    get_addr = sym get_addr,
);

// AArch64: the thread-local variable thunk and the TLS descriptor resolver.
//
// `relink_tlv_thunk` (Darwin's TLV convention): entered with x0 = &desc, desc =
// {thunk, module, offset}; returns x0 = the variable's address. Darwin's
// `tlv_get_addr` may clobber x16, x17 and the link register (LLVM's
// CSR_Darwin_AArch64_TLS); this thunk preserves every register but x0 and x30:
// x1-x18, and all 32 q registers (x19-x28 and d8-d15 are callee-saved for
// `get_addr` already, but the upper halves of v8-v15 are not).
//
// `relink_tlsdesc_resolver` (the AArch64 TLSDESC ABI): entered with x0 = &desc,
// desc = {resolver, module, offset}; returns x0 = block address - tpidr_el0 and
// preserves every other register except the flags. It calls the thunk (the same
// descriptor shape) and subtracts the thread pointer.
#[cfg(target_arch = "aarch64")]
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl relink_tlv_thunk",
    ".hidden relink_tlv_thunk",
    ".type relink_tlv_thunk, %function",
    "relink_tlv_thunk:",
    ".cfi_startproc",
    "stp x29, x30, [sp, #-16]!",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset x29, -16",
    ".cfi_offset x30, -8",
    "mov x29, sp",
    "sub sp, sp, #656",
    "stp x1, x2, [sp, #0]",
    "stp x3, x4, [sp, #16]",
    "stp x5, x6, [sp, #32]",
    "stp x7, x8, [sp, #48]",
    "stp x9, x10, [sp, #64]",
    "stp x11, x12, [sp, #80]",
    "stp x13, x14, [sp, #96]",
    "stp x15, x16, [sp, #112]",
    "stp x17, x18, [sp, #128]",
    "stp q0, q1, [sp, #144]",
    "stp q2, q3, [sp, #176]",
    "stp q4, q5, [sp, #208]",
    "stp q6, q7, [sp, #240]",
    "stp q8, q9, [sp, #272]",
    "stp q10, q11, [sp, #304]",
    "stp q12, q13, [sp, #336]",
    "stp q14, q15, [sp, #368]",
    "stp q16, q17, [sp, #400]",
    "stp q18, q19, [sp, #432]",
    "stp q20, q21, [sp, #464]",
    "stp q22, q23, [sp, #496]",
    "stp q24, q25, [sp, #528]",
    "stp q26, q27, [sp, #560]",
    "stp q28, q29, [sp, #592]",
    "stp q30, q31, [sp, #624]",
    "add x0, x0, #8",
    "bl {get_addr}",
    "ldp x1, x2, [sp, #0]",
    "ldp x3, x4, [sp, #16]",
    "ldp x5, x6, [sp, #32]",
    "ldp x7, x8, [sp, #48]",
    "ldp x9, x10, [sp, #64]",
    "ldp x11, x12, [sp, #80]",
    "ldp x13, x14, [sp, #96]",
    "ldp x15, x16, [sp, #112]",
    "ldp x17, x18, [sp, #128]",
    "ldp q0, q1, [sp, #144]",
    "ldp q2, q3, [sp, #176]",
    "ldp q4, q5, [sp, #208]",
    "ldp q6, q7, [sp, #240]",
    "ldp q8, q9, [sp, #272]",
    "ldp q10, q11, [sp, #304]",
    "ldp q12, q13, [sp, #336]",
    "ldp q14, q15, [sp, #368]",
    "ldp q16, q17, [sp, #400]",
    "ldp q18, q19, [sp, #432]",
    "ldp q20, q21, [sp, #464]",
    "ldp q22, q23, [sp, #496]",
    "ldp q24, q25, [sp, #528]",
    "ldp q26, q27, [sp, #560]",
    "ldp q28, q29, [sp, #592]",
    "ldp q30, q31, [sp, #624]",
    "add sp, sp, #656",
    "ldp x29, x30, [sp], #16",
    ".cfi_def_cfa_offset 0",
    "ret",
    ".cfi_endproc",
    ".size relink_tlv_thunk, . - relink_tlv_thunk",
    "",
    ".p2align 4",
    ".globl relink_tlsdesc_resolver",
    ".hidden relink_tlsdesc_resolver",
    ".type relink_tlsdesc_resolver, %function",
    "relink_tlsdesc_resolver:",
    ".cfi_startproc",
    "stp x29, x30, [sp, #-32]!",
    ".cfi_def_cfa_offset 32",
    ".cfi_offset x29, -32",
    ".cfi_offset x30, -24",
    "mov x29, sp",
    "str x1, [sp, #16]",
    "bl relink_tlv_thunk",
    "mrs x1, tpidr_el0",
    "sub x0, x0, x1",
    "ldr x1, [sp, #16]",
    "ldp x29, x30, [sp], #32",
    ".cfi_def_cfa_offset 0",
    "ret",
    ".cfi_endproc",
    ".size relink_tlsdesc_resolver, . - relink_tlsdesc_resolver",
    get_addr = sym get_addr,
);

/// Thread-local storage where code runs (see [`super::Host`]): this process's
/// registry, or an executor's, which keeps its own and answers for its own
/// libraries' thread-locals. The link stages call these instead of the
/// functions above.
impl super::Host<'_> {
    pub fn register(self, t: Template) -> Option<u64> {
        match self.0 {
            Some(r) => r.tls_register(t.image, t.init_len, t.size, t.align),
            None => register(t),
        }
    }

    pub fn unregister(self, id: u64) {
        match self.0 {
            Some(r) => r.tls_unregister(id),
            None => unregister(id),
        }
    }

    pub fn make_static(self, id: u64, image: &[u8]) -> Result<i64, String> {
        match self.0 {
            Some(r) => r.tls_make_static(id, image),
            None => make_static(id, image),
        }
    }

    pub fn static_offset(self, id: u64) -> Option<i64> {
        match self.0 {
            Some(r) => r.tls_static_offset(id),
            None => static_offset(id),
        }
    }

    pub fn tlsdesc_resolver(self) -> u64 {
        match self.0 {
            Some(r) => r.hello().tlsdesc_resolver,
            None => tlsdesc_resolver_address(),
        }
    }

    /// `(module, offset)` of a library's thread-local `name`.
    pub fn process_variable(self, name: &str) -> Result<(u64, u64), String> {
        match self.0 {
            Some(r) => r.tls_process_variable(name),
            None => super::process_tls::variable(name).map(|v| (v.module, v.offset)),
        }
    }

    pub fn thread_pointer_offset(self, name: &str) -> Result<i64, String> {
        match self.0 {
            Some(r) => r.tls_thread_pointer_offset(name),
            None => super::process_tls::thread_pointer_offset(name),
        }
    }

    /// Every thread-local variable the host's libraries export, as loaded now.
    pub fn library_thread_locals(
        self,
    ) -> std::sync::Arc<crate::memory::process::ThreadLocalNames> {
        match self.0 {
            Some(r) => r.library_thread_locals(),
            None => crate::memory::process::library_thread_locals(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image 1, 2, 3, 4 of the test modules.
    fn test_image() -> &'static [u8] {
        Box::leak(Box::new([1u8, 2, 3, 4]))
    }

    /// A registered module of 16 bytes (alignment 16) whose image is `test_image`.
    fn test_module() -> u64 {
        register(Template {
            image: test_image().as_ptr() as u64,
            init_len: 4,
            size: 16,
            align: 16,
        })
        .unwrap()
    }

    #[test]
    fn blocks_are_per_thread_initialised_and_freed() {
        let id = test_module();
        let ti = TlsIndex {
            module: id,
            offset: 2,
        };
        // SAFETY: `ti` is a valid index of a registered module.
        let p = unsafe { get_addr(&ti) };
        assert_eq!(p as usize % 2, 0);
        // SAFETY: the block has 16 bytes.
        unsafe {
            assert_eq!(*p, 3);
            *p = 9;
        }
        assert_eq!(
            unsafe { get_addr(&ti) },
            p,
            "hit path returns the same block"
        );
        let other = std::thread::spawn(move || {
            // SAFETY: as above.
            let q = unsafe { get_addr(&ti) };
            // SAFETY: as above.
            (q as usize, unsafe { *q }, unsafe { *q.add(5) })
        })
        .join()
        .unwrap();
        assert_ne!(other.0, p as usize);
        assert_eq!((other.1, other.2), (3, 0));
        // The other thread freed its block when it exited.
        assert_eq!(blocks_of(id), 1);
        unregister(id);
        assert_eq!(blocks_of(id), 0);
        // A reused index gets a new id; this thread's stale entry does not match.
        let id2 = register(Template {
            image: test_image().as_ptr() as u64,
            init_len: 4,
            size: 4,
            align: 4,
        })
        .unwrap();
        if index_of(id2) == index_of(id) {
            assert_ne!(id2, id);
        }
        let ti2 = TlsIndex {
            module: id2,
            offset: 0,
        };
        // SAFETY: as above.
        assert_eq!(unsafe { *get_addr(&ti2) }, 1);
        unregister(id2);
    }

    /// A registered module of 16 bytes whose image starts 1, 2, 3, 4, and a
    /// descriptor `{thunk, module, offset 2}` of it.
    fn tlv_descriptor() -> (u64, Box<[u64; 3]>) {
        let id = test_module();
        (id, Box::new([tlv_thunk_address(), id, 2]))
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_tlv_thunk_preserves_every_register_but_rax() {
        let (id, desc) = tlv_descriptor();
        let mut regs = [0u64; 8];
        let (addr, x0, x15): (u64, f64, f64);
        // SAFETY: the thunk follows Darwin's TLV convention: rdi = descriptor, rax =
        // the result, flags clobbered; it preserves the rest (what is checked). The
        // stack is aligned for a call on entry to an asm block without `nostack`.
        unsafe {
            std::arch::asm!(
                "call r12",
                in("r12") desc[0],
                inout("rdi") &*desc as *const [u64; 3] as u64 => regs[0],
                inout("rcx") 11u64 => regs[1],
                inout("rdx") 12u64 => regs[2],
                inout("rsi") 13u64 => regs[3],
                inout("r8") 14u64 => regs[4],
                inout("r9") 15u64 => regs[5],
                inout("r10") 16u64 => regs[6],
                inout("r11") 17u64 => regs[7],
                inout("xmm0") 1.5f64 => x0,
                inout("xmm15") 2.5f64 => x15,
                out("rax") addr,
            )
        };
        let desc_at = &*desc as *const [u64; 3] as u64;
        assert_eq!(regs, [desc_at, 11, 12, 13, 14, 15, 16, 17]);
        assert_eq!((x0, x15), (1.5, 2.5));
        // SAFETY: the block has 16 bytes; offset 2 holds the image's third byte.
        assert_eq!(unsafe { *(addr as *const u8) }, 3);
        unregister(id);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_tlsdesc_resolver_preserves_every_register_but_rax() {
        let (id, mut desc) = tlv_descriptor();
        desc[0] = tlsdesc_resolver_address();
        let mut regs = [0u64; 8];
        let (offset, x0, x15): (u64, f64, f64);
        // SAFETY: the resolver follows the TLSDESC convention: rax = descriptor
        // in, thread-pointer offset out, flags clobbered; it preserves the rest
        // (what is checked).
        unsafe {
            std::arch::asm!(
                "call r12",
                in("r12") desc[0],
                inout("rax") &*desc as *const [u64; 3] as u64 => offset,
                inout("rdi") 10u64 => regs[0],
                inout("rcx") 11u64 => regs[1],
                inout("rdx") 12u64 => regs[2],
                inout("rsi") 13u64 => regs[3],
                inout("r8") 14u64 => regs[4],
                inout("r9") 15u64 => regs[5],
                inout("r10") 16u64 => regs[6],
                inout("r11") 17u64 => regs[7],
                inout("xmm0") 1.5f64 => x0,
                inout("xmm15") 2.5f64 => x15,
            )
        };
        assert_eq!(regs, [10, 11, 12, 13, 14, 15, 16, 17]);
        assert_eq!((x0, x15), (1.5, 2.5));
        let addr = thread_pointer().wrapping_add(offset) as *const u8;
        // SAFETY: this thread's block has 16 bytes; offset 2 holds the third byte.
        assert_eq!(unsafe { *addr }, 3);
        unregister(id);
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn aarch64_tlv_thunk_preserves_every_register_but_x0() {
        let (id, desc) = tlv_descriptor();
        let mut regs = [0u64; 6];
        let addr: u64;
        use std::arch::aarch64::uint64x2_t;
        let (v0, v8, v31): (uint64x2_t, uint64x2_t, uint64x2_t);
        // SAFETY: two u64 lanes are a uint64x2_t.
        let wide = |k: u64| unsafe { std::mem::transmute::<[u64; 2], uint64x2_t>([k, k << 8]) };
        // SAFETY: as above, the other way.
        let lanes = |v: uint64x2_t| unsafe { std::mem::transmute::<uint64x2_t, [u64; 2]>(v) };
        // SAFETY: the thunk follows Darwin's TLV convention: x0 = descriptor and
        // result, x30 clobbered by the call; it preserves the rest (what is checked).
        unsafe {
            std::arch::asm!(
                "blr x20",
                in("x20") desc[0],
                inout("x0") &*desc as *const [u64; 3] as u64 => addr,
                inout("x1") 11u64 => regs[0],
                inout("x2") 12u64 => regs[1],
                inout("x9") 13u64 => regs[2],
                inout("x15") 14u64 => regs[3],
                inout("x16") 15u64 => regs[4],
                inout("x17") 16u64 => regs[5],
                inout("v0") wide(1) => v0,
                inout("v8") wide(2) => v8,
                inout("v31") wide(3) => v31,
                out("x30") _,
            )
        };
        assert_eq!(regs, [11, 12, 13, 14, 15, 16]);
        assert_eq!(
            [lanes(v0), lanes(v8), lanes(v31)],
            [[1, 256], [2, 512], [3, 768]]
        );
        // SAFETY: the block has 16 bytes; offset 2 holds the image's third byte.
        assert_eq!(unsafe { *(addr as *const u8) }, 3);
        unregister(id);
    }
}
