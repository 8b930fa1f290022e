//! Look-ups in the running process: what `dlsym` finds, with its type and size
//! from the dynamic symbol table. Part of the target boundary: a linker whose
//! code runs in another process asks that process instead.

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::Mutex;

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
    if let Some((address, size)) = library_thread_local(name) {
        // Not `dlsym`: for a thread-local variable it returns this thread's
        // instance and makes the C library keep its library in dynamic TLS for
        // good, which initial-exec code then cannot reach. Thread-local
        // references find the variable themselves (`runtime/process_tls.rs`).
        return Some(ProcessSymbol {
            address,
            size,
            function: false,
        });
    }
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
    let (kind, size) = symbol_at(addr as u64)?.symbol?;
    Some((kind == 2 || kind == 10, size))
}

/// What `dladdr1` says of an address: the loaded object holding it, and the
/// type (`st_info & 0xf`) and size of its dynamic symbol there, if it has one.
pub(crate) struct SymbolAt {
    info: libc::Dl_info,
    pub(crate) symbol: Option<(u8, u64)>,
}

impl SymbolAt {
    /// The holding object's file name; "the executable" for the main program.
    pub(crate) fn file(&self) -> String {
        if self.info.dli_fname.is_null() {
            return "the executable".into();
        }
        // SAFETY: dladdr's file name is a NUL-terminated string of the loader's.
        let name = unsafe { std::ffi::CStr::from_ptr(self.info.dli_fname) }.to_string_lossy();
        if name.is_empty() {
            "the executable".into()
        } else {
            name.into_owned()
        }
    }
}

/// [`SymbolAt`] for `address`; `None` outside every loaded object.
pub(crate) fn symbol_at(address: u64) -> Option<SymbolAt> {
    let mut info: libc::Dl_info = empty_dl_info();
    let mut sym: *const libc::Elf64_Sym = std::ptr::null();
    // SAFETY: `info` and `sym` are valid out-pointers; RTLD_DL_SYMENT stores a
    // pointer to the ELF symbol (or null) in `sym`.
    let ok = unsafe {
        libc::dladdr1(
            address as *const libc::c_void,
            &mut info,
            (&mut sym as *mut *const libc::Elf64_Sym).cast(),
            RTLD_DL_SYMENT,
        )
    };
    if ok == 0 {
        return None;
    }
    // SAFETY: dladdr1 returned a pointer into a loaded object's symbol table, which
    // stays mapped while the object is loaded (libraries relink resolves against
    // are not unloaded).
    let symbol = (!sym.is_null()).then(|| unsafe { ((*sym).st_info & 0xf, (*sym).st_size) });
    Some(SymbolAt { info, symbol })
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

/// A library's thread-local variable `name` (`STT_TLS`, exported by a library
/// of the process with a `PT_TLS` segment): this thread's instance if the C
/// library allocated this thread's block of the library already (always, for
/// a library in static TLS), else 0 — looked up without touching the block —
/// and its size. See [`is_library_thread_local`].
fn library_thread_local(name: &str) -> Option<(u64, u64)> {
    if !is_library_thread_local(name) {
        return None;
    }
    let mut found = (0, 0);
    each_library(|info| {
        if info.dlpi_tls_modid == 0 || info.dlpi_name.is_null() {
            return false;
        }
        let known = {
            let cache = TLS_NAMES.lock().unwrap_or_else(|p| p.into_inner());
            let key = library_key(info);
            cache.as_ref().and_then(|c| c.known.get(&key)?.get(name).copied())
        };
        let Some((value, size)) = known else {
            return false;
        };
        let block = info.dlpi_tls_data as u64;
        found = (if block == 0 { 0 } else { block.wrapping_add(value) }, size);
        true
    });
    Some(found)
}

/// Thread-local variables of libraries with a `PT_TLS` segment: per library
/// (by name and load address) their `(st_value, st_size)`, and all names.
struct TlsNames {
    generation: (u64, u64),
    known: HashMap<(String, u64), HashMap<String, (u64, u64)>>,
    names: std::sync::Arc<ThreadLocalNames>,
}

/// The names of the thread-local variables the process's libraries export,
/// and their hashes ([`crate::input::name_hash`], the symbol table's): resolving asks
/// about every undefined name an object reads or takes the address of, and
/// almost none is one of these, so the hash it already has answers
/// ([`ThreadLocalNames::contains_hashed`]) without hashing the name again.
#[derive(Clone, Debug, Default)]
pub struct ThreadLocalNames {
    names: rustc_hash::FxHashSet<String>,
    hashes: rustc_hash::FxHashSet<u64>,
}

impl ThreadLocalNames {
    pub fn contains(&self, name: &str) -> bool {
        self.contains_hashed(name, crate::input::name_hash(name))
    }

    /// Whether `name`, whose hash is `hash`, is one of them.
    pub fn contains_hashed(&self, name: &str, hash: u64) -> bool {
        debug_assert_eq!(hash, crate::input::name_hash(name));
        self.hashes.contains(&hash) && self.names.contains(name)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.names.iter()
    }
}

impl FromIterator<String> for ThreadLocalNames {
    fn from_iter<I: IntoIterator<Item = String>>(names: I) -> ThreadLocalNames {
        let names: rustc_hash::FxHashSet<String> = names.into_iter().collect();
        let hashes = names.iter().map(|n| crate::input::name_hash(n)).collect();
        ThreadLocalNames { names, hashes }
    }
}

static TLS_NAMES: Mutex<Option<TlsNames>> = Mutex::new(None);

/// Whether `name` is a thread-local variable (`STT_TLS`) that a library of the
/// process with a `PT_TLS` segment exports, read from the library's file with
/// `object` once per library (by name and load address). While no library was
/// loaded or unloaded since the last call, only a set is consulted.
pub(crate) fn is_library_thread_local(name: &str) -> bool {
    library_thread_locals().contains(name)
}

/// Every thread-local variable the libraries of the process export, as the
/// libraries loaded now give them (a linker asks once per object; an executor
/// sends them to its linker once, instead of one answer per name).
pub(crate) fn library_thread_locals() -> std::sync::Arc<ThreadLocalNames> {
    let mut generation = (0, 0);
    each_library(|info| {
        generation = (info.dlpi_adds, info.dlpi_subs);
        true
    });
    let mut cache = TLS_NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let cache = cache.get_or_insert_with(|| TlsNames {
        generation: (u64::MAX, 0),
        known: HashMap::new(),
        names: Default::default(),
    });
    if cache.generation != generation {
        let libraries = tls_libraries();
        cache.known.retain(|library, _| libraries.contains(library));
        for library in libraries {
            (cache.known)
                .entry(library)
                .or_insert_with_key(|(path, _)| thread_locals_of_library(path));
        }
        cache.names = std::sync::Arc::new(
            (cache.known.values())
                .flat_map(|m| m.keys())
                .cloned()
                .collect(),
        );
        cache.generation = generation;
    }
    cache.names.clone()
}

/// A library's key in [`TlsNames::known`]: its file name (the main program's
/// `/proc/self/exe`) and load address.
fn library_key(info: &libc::dl_phdr_info) -> (String, u64) {
    // SAFETY: dl_iterate_phdr passes a NUL-terminated name (checked non-null).
    let name = unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) };
    let name = match name.to_string_lossy() {
        n if n.is_empty() => "/proc/self/exe".to_string(),
        n => n.into_owned(),
    };
    (name, info.dlpi_addr)
}

/// The libraries with a `PT_TLS` segment: file name and load address.
fn tls_libraries() -> Vec<(String, u64)> {
    let mut files = Vec::new();
    each_library(|info| {
        if info.dlpi_tls_modid != 0 && !info.dlpi_name.is_null() {
            files.push(library_key(info));
        }
        false
    });
    files
}

/// The thread-local variables the library at `path` exports, with their
/// `(st_value, st_size)`: the offset in the library's TLS block and the size.
fn thread_locals_of_library(path: &str) -> HashMap<String, (u64, u64)> {
    let mut names = HashMap::new();
    let Ok(file) = std::fs::File::open(path) else {
        return names;
    };
    // SAFETY: a read-only private mapping; a library file rewritten meanwhile
    // could change under it, as it would under the C library.
    let Ok(map) = (unsafe { memmap2::Mmap::map(&file) }) else {
        return names;
    };
    let Ok(elf) = object::read::elf::ElfFile64::<object::Endianness>::parse(&*map) else {
        return names;
    };
    use object::{Object, ObjectSymbol};
    for sym in elf.dynamic_symbols() {
        if sym.kind() == object::SymbolKind::Tls && !sym.is_undefined() {
            if let Ok(n) = sym.name() {
                names.insert(n.to_string(), (sym.address(), sym.size()));
            }
        }
    }
    names
}

/// Calls `f` with each library of the process (`dl_iterate_phdr`) until it
/// returns `true`.
pub(crate) fn each_library(mut f: impl FnMut(&libc::dl_phdr_info) -> bool) {
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: `data` is the `&mut dyn FnMut` passed below, alive for the
        // call; `info` is valid during the callback.
        let f = unsafe { &mut *(data as *mut &mut dyn FnMut(&libc::dl_phdr_info) -> bool) };
        // SAFETY: as above.
        libc::c_int::from(f(unsafe { &*info }))
    }
    let mut f: &mut dyn FnMut(&libc::dl_phdr_info) -> bool = &mut f;
    // SAFETY: the callback only runs during this call, while `f` lives.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut f as *mut _) as *mut libc::c_void) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's `errno` is found as a library thread-local (no `dlsym`), at
    /// this thread's instance (libc is in static TLS, allocated for every thread).
    #[test]
    fn a_library_thread_local_is_this_threads_instance() {
        assert!(is_library_thread_local("errno"));
        assert!(!is_library_thread_local("printf"));
        let found = lookup("errno").expect("errno");
        // SAFETY: glibc's accessor of this thread's errno.
        let here = unsafe { libc::__errno_location() } as u64;
        assert_eq!((found.address, found.size, found.function), (here, 4, false));
    }
}
