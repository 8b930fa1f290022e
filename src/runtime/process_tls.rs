//! Thread-local variables of the process: those a shared library defines
//! (libc's, libstdc++'s `std::__once_callable`, a library `Linker::load_library`
//! opened), which loaded code may refer to in every TLS model.
//!
//! What a reference needs is what the dynamic linker would write for a library
//! that refers to the variable: for general dynamic code and TLS descriptors
//! the defining library's TLS module id and the variable's offset in its block
//! (`DTPMOD64`/`DTPOFF64`), for initial- and local-exec code the variable's
//! offset from the thread pointer (`TPOFF64`). relink asks it exactly that: it
//! writes a tiny shared object (`elf_image::tls_probe`: one undefined `STT_TLS`
//! symbol, one relocation per word) into a memfd, `dlopen`s it, reads the
//! words the C library filled in, and closes it. So symbol search order,
//! versions and interposition are the C library's, and so is the decision
//! whether a variable has a thread-pointer offset at all:
//! - a library loaded at startup (libc, libstdc++ when the host links it) is in
//!   static TLS: the offset is the same in every thread;
//! - a library `dlopen`ed later is in dynamic TLS once any thread touched its
//!   variables through `__tls_get_addr` (glibc then marks it so for good): the
//!   C library refuses the `TPOFF64` ("cannot allocate memory in static TLS
//!   block"), and relink refuses the reference, naming variable and library;
//! - a `dlopen`ed library no thread touched yet is moved into static TLS by the
//!   C library, as for any library it loads with initial-exec code (glibc may
//!   also have put it there when it opened it, for its TLS descriptors).
//!
//! `dlsym` of a thread-local symbol is not used at all: it returns the calling
//! thread's address, not the module and offset every thread needs, and it is
//! such a touch. So relink's look-up of process symbols recognises a library's
//! thread-locals without it (`memory/process.rs`).
//!
//! Module ids of the C library are small integers; relink's own are at least
//! 2^32 (`tls.rs`), so `__tls_get_addr` (relink's, which loaded code binds to)
//! passes a C-library id on to glibc's ([`is_foreign`]). Answers are cached
//! per name until the process unloads a library (`dlpi_subs` changes).

use std::sync::{Mutex, MutexGuard};

use super::elf_image;
use super::static_tls::{load_bias, open_library};
use crate::memory::process::each_library;
use crate::arch::Arch;

/// A variable's place in the C library's TLS: `tls_index {module, offset}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessVariable {
    pub module: u64,
    pub offset: u64,
}

/// Whether a TLS module id is the C library's (not one of relink's).
pub fn is_foreign(module: u64) -> bool {
    module >> 32 == 0
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Question {
    Dynamic(String),
    Static(String),
}

/// Answers, valid while `unloads()` stays at `.0`.
struct Cache(u64, std::collections::HashMap<Question, [u64; 2]>);

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

fn cache() -> MutexGuard<'static, Option<Cache>> {
    CACHE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The module and offset of thread-local `name` of the process. The error is
/// the C library's message (the symbol is undefined, say).
pub fn variable(name: &str) -> Result<ProcessVariable, String> {
    let arch = Arch::HOST.ok_or("not supported on this architecture")?;
    let [module, offset] = ask(Question::Dynamic(name.into()), arch.elf_dtpmod_dtpoff64())?;
    if module == 0 {
        return Err("the C library gave it no TLS module".into());
    }
    Ok(ProcessVariable { module, offset })
}

/// The offset from the thread pointer of thread-local `name` of the process,
/// the same in every thread; an error if its library is in dynamic TLS (see
/// the module doc), naming the library.
pub fn thread_pointer_offset(name: &str) -> Result<i64, String> {
    let arch = Arch::HOST.ok_or("not supported on this architecture")?;
    let library = variable(name).map(|v| library_of(v.module))?;
    match ask(Question::Static(name.into()), [arch.elf_tprel64()]) {
        Ok([tp, _]) => Ok(tp as i64),
        Err(why) if why.contains("static TLS") => Err(format!(
            "its library {} is in dynamic TLS (loaded with dlopen and already used \
             as such), where a variable has no fixed offset from the thread pointer",
            library.as_deref().unwrap_or("(unknown)")
        )),
        Err(why) => Err(why),
    }
}

/// The file name of the library whose TLS module id is `module`.
pub fn library_of(module: u64) -> Option<String> {
    let mut found: Option<String> = None;
    each_library(|info| {
        if info.dlpi_tls_modid as u64 != module || info.dlpi_name.is_null() {
            return false;
        }
        // SAFETY: dl_iterate_phdr passes a NUL-terminated name.
        let name = unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) };
        found = Some(match name.to_string_lossy() {
            n if n.is_empty() => "the main program".to_string(),
            n => n.into_owned(),
        });
        true
    });
    found
}

/// The C library's count of libraries unloaded so far (`dlpi_subs`).
fn unloads() -> u64 {
    let mut subs = 0;
    each_library(|info| {
        subs = info.dlpi_subs;
        true
    });
    subs
}

/// The words the C library writes for relocations `types` against the
/// question's symbol (cached, see the module doc).
fn ask(question: Question, types: impl AsRef<[u32]>) -> Result<[u64; 2], String> {
    let subs = unloads();
    if let Some(Cache(at, answers)) = cache().as_ref() {
        if let Some(words) = answers.get(&question).filter(|_| *at == subs) {
            return Ok(*words);
        }
    }
    let name = match &question {
        Question::Dynamic(n) | Question::Static(n) => n.as_bytes(),
    };
    let words = probe(name, types.as_ref())?;
    // The probe's own dlclose counts as one unload; any other means the
    // answer may be stale already: not cached.
    let after = unloads();
    if after == subs + 1 {
        let mut cache = cache();
        if cache.as_ref().is_none_or(|c| c.0 != subs) {
            *cache = Some(Cache(after, Default::default()));
        } else if let Some(c) = cache.as_mut() {
            c.0 = after;
        }
        if let Some(c) = cache.as_mut() {
            c.1.insert(question, words);
        }
    }
    Ok(words)
}

/// Loads a probe library for `name` (`elf_image::tls_probe`), reads its words
/// and closes it again.
fn probe(name: &[u8], types: &[u32]) -> Result<[u64; 2], String> {
    let arch = Arch::HOST.ok_or("not supported on this architecture")?;
    if name.contains(&0) || types.len() > 2 {
        return Err("not a symbol name".into());
    }
    let library = elf_image::tls_probe(arch, name, types).ok_or("cannot write the probe")?;
    let (handle, file) = open_library(&library.bytes, c"relink-tls-probe")?;
    let words = load_bias(handle).map(|base| {
        let mut words = [0u64; 2];
        for (i, w) in words.iter_mut().enumerate().take(types.len()) {
            // SAFETY: the words lie in the library's writable PT_LOAD segment,
            // relocated by dlopen, and mapped until the dlclose below.
            *w = unsafe { *((base + library.words + 8 * i as u64) as *const u64) };
        }
        words
    });
    // SAFETY: the handle came from dlopen and is closed once; nothing refers
    // into the library.
    unsafe { libc::dlclose(handle) };
    drop(file);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `errno` is glibc's thread-local (initial exec, libc is loaded at startup).
    #[test]
    fn glibc_errno_has_a_module_an_offset_and_a_thread_pointer_offset() {
        let v = variable("errno").expect("errno");
        assert!(is_foreign(v.module));
        assert!(library_of(v.module).is_some_and(|l| l.contains("libc.so")));
        let tp = thread_pointer_offset("errno").expect("libc is in static TLS");
        let here = |tp: i64| super::super::static_tls::thread_pointer().wrapping_add(tp as u64);
        // SAFETY: the address of this thread's errno (glibc's own accessor).
        let errno = unsafe { libc::__errno_location() } as u64;
        assert_eq!(here(tp), errno);
        let other = std::thread::spawn(move || {
            // SAFETY: as above, in that thread.
            let errno = unsafe { libc::__errno_location() } as u64;
            (here(tp), errno)
        })
        .join()
        .unwrap();
        assert_eq!(other.0, other.1);
        assert_ne!(other.1, errno);
    }

    #[test]
    fn an_undefined_variable_is_the_c_librarys_error() {
        let e = variable("relink_no_such_thread_local").unwrap_err();
        assert!(e.contains("undefined symbol"), "{e}");
    }
}
