//! What touches the process beyond memory, as primitives that know nothing of
//! the linker: calls into loaded code (constructors, IFUNC resolvers) and
//! `__cxa_finalize` (here); unwind tables (`unwind.rs`), the GDB JIT interface
//! (`gdb.rs`), perf map files (`perf.rs`), thread-local storage (`tls.rs`,
//! `static_tls.rs`, `process_tls.rs`); and where each loaded function lies, for symbolizing.
//! The link stages decide when each runs (`link/finalize.rs`).

pub(crate) mod elf_image;
pub mod gdb;
pub mod perf;
pub mod process_tls;
pub mod static_tls;
pub mod tls;
pub(crate) mod unwind;

use crate::input::NamedCode;

extern "C" {
    fn __cxa_finalize(dso_handle: *mut libc::c_void);
}

/// Runs and forgets the `__cxa_atexit` handlers registered with `dso_handle`.
pub(crate) fn cxa_finalize(dso_handle: u64) {
    // SAFETY: glibc's __cxa_finalize runs and forgets the handlers registered
    // with this handle; the caller keeps their code mapped.
    unsafe { __cxa_finalize(dso_handle as *mut libc::c_void) };
}

/// glibc's `__ifunc_arg_t` (AArch64): what resolvers get as their second argument.
#[repr(C)]
struct IfuncArg {
    size: u64,
    hwcap: u64,
    hwcap2: u64,
}

/// `_IFUNC_ARG_HWCAP`: tells an AArch64 resolver that its second argument is valid.
const IFUNC_ARG_HWCAP: u64 = 1 << 62;

/// Calls an `STT_GNU_IFUNC` resolver as glibc's dynamic linker does, and returns
/// the implementation's address. On AArch64 it gets `(hwcap | _IFUNC_ARG_HWCAP,
/// &__ifunc_arg_t)`; x86-64 resolvers take no arguments (the extra ones are
/// ignored by the C calling convention).
pub(crate) fn call_resolver(resolver: u64) -> u64 {
    // SAFETY: getauxval only reads the process's auxiliary vector.
    let (hwcap, hwcap2) = unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(libc::AT_HWCAP2),
        )
    };
    let arg = IfuncArg {
        size: std::mem::size_of::<IfuncArg>() as u64,
        hwcap,
        hwcap2,
    };
    // SAFETY: `resolver` is the value of an STT_GNU_IFUNC symbol of a loaded,
    // relocated object whose code is executable and coherent: the compiler made it
    // a function returning a code address, taking at most these arguments.
    let f: extern "C" fn(u64, *const IfuncArg) -> u64 =
        unsafe { std::mem::transmute(resolver as usize) };
    f(hwcap | IFUNC_ARG_HWCAP, &arg)
}

/// The process where loaded code runs: this one, or an executor's
/// (`memory/remote.rs`). What the link stages ask of it — calls into loaded
/// code here, thread-local storage in `tls.rs` — goes through this one
/// dispatch. A call into an executor that died is noticed by the next
/// request that waits for an answer (its ending is then the error).
#[derive(Clone, Copy)]
pub(crate) struct Host<'a>(pub Option<&'a std::sync::Arc<crate::memory::remote::Remote>>);

impl Host<'_> {
    /// Calls a loaded `void (*)(void)` (a constructor or destructor).
    pub fn call(self, f: u64) {
        match self.0 {
            Some(r) => {
                let _ = r.call(f);
            }
            None => call(f),
        }
    }

    /// Runs and forgets the `__cxa_atexit` handlers registered with `handle`.
    pub fn cxa_finalize(self, handle: u64) {
        match self.0 {
            Some(r) => {
                let _ = r.cxa_finalize(handle);
            }
            None => cxa_finalize(handle),
        }
    }

    /// Calls an IFUNC resolver: the implementation's address.
    pub fn call_resolver(self, resolver: u64) -> crate::error::Result<u64> {
        match self.0 {
            Some(r) => r.call_resolver(resolver),
            None => Ok(call_resolver(resolver)),
        }
    }
}

/// Calls a loaded `void (*)(void)` (a constructor or destructor).
pub(crate) fn call(f: u64) {
    // SAFETY: `f` came from a relocated constructor/destructor table of a loaded
    // object: the compiler put a `void (*)(void)` there and relink relocated it.
    let f: extern "C" fn() = unsafe { std::mem::transmute(f as usize) };
    f();
}

/// An object's named code for [`Linker::symbolize`](crate::Linker::symbolize) and perf maps: `(target
/// address, size, name)` sorted by address, the names in one string (a
/// `Box<str>` per function was a thousand objects' most frequent allocation),
/// in the same order: a name ends where the next one starts.
#[derive(Debug, Default)]
pub struct Functions {
    names: String,
    /// `(address, size, start of the name in `names`)`: 16 bytes a function
    /// (at 32, the lists of wide 5,001's 200,000 functions took 6.4 MB).
    list: Box<[(u64, u32, u32)]>,
}

impl Functions {
    /// `code`, at the addresses its sections were `placed` at. A function
    /// larger than 4 GiB, or names beyond 4 GiB, are left out.
    pub(crate) fn place(code: &NamedCode, placed: &[Option<u64>]) -> Functions {
        let mut found = Vec::with_capacity(code.list.len());
        let mut start = 0;
        for &(section, offset, size, end) in &code.list {
            if let Some(base) = placed.get(section.0 as usize).copied().flatten() {
                found.push((base + offset, size, start, end));
            }
            start = end;
        }
        // Sections placed in order leave it sorted already.
        found.sort_by_key(|f| f.0);
        let mut names = String::with_capacity(code.names.len());
        let mut list = Vec::with_capacity(found.len());
        for (address, size, start, end) in found {
            let (Ok(size), Ok(at)) = (u32::try_from(size), u32::try_from(names.len())) else {
                continue;
            };
            names.push_str(&code.names[start..end]);
            list.push((address, size, at));
        }
        Functions {
            names,
            list: list.into_boxed_slice(),
        }
    }

    /// The name of the `i`th function.
    fn name(&self, i: usize) -> &str {
        let start = self.list[i].2 as usize;
        let end = self.list.get(i + 1).map_or(self.names.len(), |f| f.2 as usize);
        &self.names[start..end]
    }

    /// `(name, address, size)` of each function.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u64, u64)> {
        (self.list.iter().enumerate())
            .map(|(i, &(address, size, _))| (self.name(i), address, u64::from(size)))
    }

    /// The function containing `address`: its name and start.
    pub(crate) fn find(&self, address: u64) -> Option<(&str, u64)> {
        let i = self
            .list
            .partition_point(|f| f.0 <= address)
            .checked_sub(1)?;
        let (start, size, _) = self.list[i];
        (address < start + u64::from(size)).then(|| (self.name(i), start))
    }
}

/// Where an address lies in loaded code ([`Linker::symbolize`](crate::Linker::symbolize)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbolized {
    pub object: String,
    pub function: String,
    pub offset: u64,
}

/// Counts of a linker's live registrations ([`Linker::registrations`](crate::Linker::registrations)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registrations {
    /// Unwind sections registered with the unwinder (loaded objects', and those of
    /// replaced or unloaded versions not yet reclaimed).
    pub unwind: usize,
    /// Entries in the GDB JIT list.
    pub debugger: usize,
}
