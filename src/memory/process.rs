//! Look-ups in the running process: what `dlsym` finds, with its type and size
//! from the dynamic symbol table. Part of the target boundary: a linker whose
//! code runs in another process asks that process instead.

use std::ffi::CString;

/// A symbol found in the process (or defined by the host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessSymbol {
    pub address: u64,
    pub size: u64,
    pub function: bool,
}

/// Looks `name` up in the process (`dlsym(RTLD_DEFAULT)`), with its type and size
/// from `dladdr1` when the dynamic symbol table has them.
pub fn lookup(name: &str) -> Option<ProcessSymbol> {
    let cname = CString::new(name).ok()?;
    // SAFETY: `cname` is a valid C string; RTLD_DEFAULT searches the global scope.
    let addr = unsafe { libc::dlsym(libc::RTLD_DEFAULT, cname.as_ptr()) };
    if addr.is_null() {
        return None;
    }
    let (function, size) = symbol_info(addr).unwrap_or((false, 0));
    Some(ProcessSymbol {
        address: addr as u64,
        size,
        function,
    })
}

/// `(is a function, size)` of the dynamic symbol at `addr`.
fn symbol_info(addr: *mut libc::c_void) -> Option<(bool, u64)> {
    let mut info: libc::Dl_info = empty_dl_info();
    let mut sym: *const libc::Elf64_Sym = std::ptr::null();
    // SAFETY: `info` and `sym` are valid out-pointers; RTLD_DL_SYMENT stores a
    // pointer to the ELF symbol (or null) in `sym`.
    let ok = unsafe {
        libc::dladdr1(
            addr,
            &mut info,
            (&mut sym as *mut *const libc::Elf64_Sym).cast(),
            RTLD_DL_SYMENT,
        )
    };
    if ok == 0 || sym.is_null() {
        return None;
    }
    // SAFETY: dladdr1 returned a pointer into a loaded object's symbol table, which
    // stays mapped while the object is loaded (libraries relink resolves against
    // are not unloaded).
    let sym = unsafe { &*sym };
    let kind = sym.st_info & 0xf;
    Some((kind == 2 || kind == 10, sym.st_size))
}

fn empty_dl_info() -> libc::Dl_info {
    libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    }
}

/// `RTLD_DL_SYMENT` from glibc's `<dlfcn.h>` (not in the `libc` crate).
const RTLD_DL_SYMENT: libc::c_int = 1;
