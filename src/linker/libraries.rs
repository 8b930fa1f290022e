//! Shared libraries: loading them (`Linker::load_library`, `-l`), the default
//! libraries a compiler driver links without being asked (the C++ runtime, the
//! math library, libgcc_s: `LinkerOptions::default_libraries`), and the hint
//! that names the library defining a name still undefined.
//!
//! Which library defines a name is read from the library file's dynamic symbol
//! table, not asked of a `dlopen`ed copy: opening the C++ runtime runs its
//! constructors and it cannot be closed again (its `STB_GNU_UNIQUE` symbols pin
//! it), so asking would leave it in every C program. A file is found where the
//! dynamic loader finds it — `LD_LIBRARY_PATH`, the directories of the libraries
//! already loaded (the C library's among them), the system's library
//! directories — and read once per process. Under qemu-user (`-L ROOT`) the
//! emulator resolves those paths inside ROOT, as it does for the dynamic loader.

use std::collections::HashSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use object::{Object as _, ObjectSymbol as _};

use crate::arch::{Arch, Reach};
use crate::error::{Error, Result};
use crate::input::{Binding, Object, SymbolKind};
use crate::linker::Linker;
use crate::symbols::{NameId, ObjectId};

/// A shared library relink knows by name.
struct Known {
    soname: &'static str,
    /// Its name for `-l`.
    short: &'static str,
    /// Loaded by [`crate::LinkerOptions::default_libraries`].
    default: bool,
}

/// The default libraries (in the order g++ links them), then a few common
/// ones that are only named in hints.
const KNOWN: [Known; 6] = [
    known("libstdc++.so.6", "stdc++", true),
    known("libm.so.6", "m", true),
    known("libgcc_s.so.1", "gcc_s", true),
    known("libz.so.1", "z", false),
    known("libatomic.so.1", "atomic", false),
    known("libdl.so.2", "dl", false),
];

const fn known(soname: &'static str, short: &'static str, default: bool) -> Known {
    Known {
        soname,
        short,
        default,
    }
}

/// The names each known library's file exports (defined, global or weak), read
/// at first use; `None` when the file is not found or is not for this host.
/// One table per architecture: an executor of another (qemu-user) reads its
/// libraries under `/usr/<triple>`.
static EXPORTS: [[OnceLock<Option<Exports>>; KNOWN.len()]; 2] =
    [const { [const { OnceLock::new() }; KNOWN.len()] }; 2];

/// Known libraries relink has opened in this process (in its global scope).
static OPENED: [AtomicBool; KNOWN.len()] = [const { AtomicBool::new(false) }; KNOWN.len()];

/// A library's defined dynamic symbols (Fx-hashed: thousands of names, built
/// once per process).
type Exports = rustc_hash::FxHashSet<Box<str>>;

fn exports(i: usize, arch: Arch) -> Option<&'static Exports> {
    EXPORTS[arch as usize][i]
        .get_or_init(|| read_exports(&find(KNOWN[i].soname, arch)?, arch))
        .as_ref()
}

/// The dynamic symbols `path` defines, if it is a shared library for this host.
fn read_exports(path: &Path, arch: Arch) -> Option<Exports> {
    // Mapped, not read: only the dynamic symbol table's pages are touched.
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: a system library's file, mapped read-only and dropped before return;
    // nothing here writes it (a library replaced meanwhile gives wrong names, no
    // undefined behaviour in safe code reading a byte slice).
    let bytes = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let file = object::File::parse(&*bytes).ok()?;
    let host = match arch {
        Arch::X86_64 => object::Architecture::X86_64,
        Arch::Aarch64 => object::Architecture::Aarch64,
    };
    if file.architecture() != host {
        return None;
    }
    let names = (file.dynamic_symbols())
        .filter(|s| !s.is_undefined() && s.is_global())
        .filter_map(|s| s.name().ok().map(Box::from))
        .collect();
    Some(names)
}

/// Where the dynamic loader would find `soname` (or where it found it, if
/// loaded); for another architecture, under its cross root `/usr/<triple>`.
fn find(soname: &str, arch: Arch) -> Option<PathBuf> {
    let loaded = if Some(arch) == Arch::HOST {
        loaded_libraries()
    } else {
        Vec::new()
    };
    if let Some(p) = loaded
        .iter()
        .find(|p| p.file_name() == Some(soname.as_ref()))
    {
        return Some(p.clone());
    }
    let triple = match arch {
        Arch::X86_64 => "x86_64-linux-gnu",
        Arch::Aarch64 => "aarch64-linux-gnu",
    };
    let env = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    let standard = [
        format!("/lib/{triple}"),
        format!("/usr/lib/{triple}"),
        "/lib64".into(),
        "/usr/lib64".into(),
        "/lib".into(),
        "/usr/lib".into(),
        format!("/usr/{triple}/lib"),
        format!("/usr/{triple}/lib64"),
    ];
    (env.split(':').filter(|d| !d.is_empty()).map(PathBuf::from))
        .chain(
            loaded
                .iter()
                .filter_map(|p| p.parent().map(Path::to_path_buf)),
        )
        .chain(standard.iter().map(PathBuf::from))
        .map(|dir| dir.join(soname))
        .find(|p| p.is_file())
}

/// The files of the shared libraries mapped into this process.
fn loaded_libraries() -> Vec<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut out: Vec<PathBuf> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/') && p.contains(".so"))
        .map(PathBuf::from)
        .collect();
    out.dedup();
    out
}

/// `dlopen`s a library with `RTLD_GLOBAL` (see [`Linker::load_library`]).
pub(crate) fn open(name: &str) -> Result<()> {
    let candidates: Vec<String> = if name.contains('/') || name.contains(".so") {
        vec![name.to_string()]
    } else {
        std::iter::once(format!("lib{name}.so"))
            .chain((0..10).map(|n| format!("lib{name}.so.{n}")))
            .collect()
    };
    let mut reason = String::from("not found");
    for candidate in &candidates {
        let Ok(c) = CString::new(candidate.as_str()) else {
            break;
        };
        // SAFETY: dlopen with a NUL-terminated name; the handle is kept
        // forever (never dlclose'd), so symbols bound to it stay valid.
        let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if !handle.is_null() {
            if let Some(i) = KNOWN.iter().position(|k| k.soname == candidate) {
                OPENED[i].store(true, Ordering::Relaxed);
            }
            return Ok(());
        }
        // SAFETY: dlerror returns a thread-local C string or null.
        let e = unsafe { libc::dlerror() };
        if !e.is_null() && candidates.len() == 1 {
            // SAFETY: non-null dlerror results are NUL-terminated.
            reason = unsafe { std::ffi::CStr::from_ptr(e) }
                .to_string_lossy()
                .into_owned();
        }
    }
    Err(Error::Library {
        name: name.to_string(),
        reason,
    })
}

impl Linker {
    /// Whether known library `i` is open where code runs.
    fn opened(&self, i: usize) -> bool {
        match self.linked.symbols.remote() {
            Some(_) => self.remote_libraries & (1 << i) != 0,
            None => OPENED[i].load(Ordering::Relaxed),
        }
    }

    /// Opens a library where code runs: here, or in the executor.
    pub(crate) fn open_library(&mut self, name: &str) -> Result<()> {
        let Some(remote) = self.linked.symbols.remote() else {
            return open(name);
        };
        remote.load_library(name).map_err(|e| match e {
            Error::Executor(reason) => Error::Library {
                name: name.to_string(),
                reason,
            },
            e => e,
        })?;
        if let Some(i) = KNOWN.iter().position(|k| k.soname == name) {
            self.remote_libraries |= 1 << i;
        }
        Ok(())
    }

    /// With default libraries on: loads each default library that defines a
    /// name `ids` refer to strongly and nothing defines, and binds those names.
    pub(crate) fn load_default_libraries(&mut self, ids: &[ObjectId]) -> Result<()> {
        if !self.options.default_libraries {
            return Ok(());
        }
        let missing = self.undefined_names_of(ids);
        let missing: Vec<String> = missing.into_iter().map(str::to_string).collect();
        let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
        self.load_default_libraries_for(&missing)
    }

    /// With default libraries on: before a replace links `objects`, loads each
    /// default library that defines a name they refer to strongly and that
    /// nothing (the set itself, loaded objects, the host, the process) defines,
    /// so that they link against it as against any name of the process.
    pub(crate) fn load_default_libraries_before(&mut self, objects: &[Object]) -> Result<()> {
        if !self.options.default_libraries {
            return Ok(());
        }
        let defined: HashSet<&str> = (objects.iter().flat_map(|o| &o.symbols))
            .filter(|s| s.is_defined() && s.binding != Binding::Local)
            .map(|s| s.name)
            .collect();
        let mut missing: Vec<String> = Vec::new();
        for s in objects.iter().flat_map(|o| &o.symbols) {
            if s.is_defined() || s.binding != Binding::Global || defined.contains(s.name) {
                continue;
            }
            let e = self.linked.symbols.get(s.name);
            let symbols = &self.linked.symbols;
            if e.is_some_and(|e| !e.is_unresolved()) || symbols.process_lookup(s.name).is_some() {
                continue;
            }
            missing.push(s.name.to_string());
        }
        let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
        self.load_default_libraries_for(&missing)
    }

    /// Loads each default library that defines one of `missing`, then binds
    /// the names nothing defined to what the process now has.
    fn load_default_libraries_for(&mut self, missing: &[&str]) -> Result<()> {
        if missing.is_empty() {
            return Ok(());
        }
        let mut opened = false;
        for (i, lib) in KNOWN.iter().enumerate().filter(|(_, l)| l.default) {
            let Some(exports) = exports(i, self.arch) else {
                continue;
            };
            if !self.opened(i) && missing.iter().any(|n| exports.contains(*n)) {
                self.open_library(lib.soname)?;
                opened = true;
            }
        }
        if opened {
            self.bind_to_libraries()?;
        }
        Ok(())
    }

    /// With default libraries on: before `objects` are placed and linked, opens
    /// each default library that defines a variable they reach through a narrow
    /// field (gcc PIE code reads `std::cout` PC-relatively, `-fno-pic` code
    /// through 32-bit absolutes) or a thread-local they refer to (ICU's
    /// initial-exec reads of libstdc++'s `std::__once_callable`): placement and
    /// resolving then see it in the process, as they see the C library's data.
    /// Names that are called, or reached through the GOT, bind as well at the
    /// end of the load.
    pub(crate) fn open_default_libraries_for_data(&mut self, objects: &[Object]) -> Result<()> {
        if !self.options.default_libraries {
            return Ok(());
        }
        // What the objects define themselves, built only if a name needs it.
        let defined = std::cell::OnceCell::new();
        let defined = || {
            defined.get_or_init(|| {
                (objects.iter().flat_map(|o| &o.symbols))
                    .filter(|s| s.is_defined() && s.binding != Binding::Local)
                    .map(|s| s.name)
                    .collect::<HashSet<&str>>()
            })
        };
        for object in objects {
            let narrow = (crate::link::prepare::facts(object).narrow.iter())
                .map(|&(si, ri)| &object.sections[si].relocs[ri])
                .filter(|r| r.kind.info().reach == Reach::Exact) // branches: stubs
                .map(|r| object.symbol(r.symbol));
            // Looked for where the object was read: most objects have none.
            let tls = crate::link::prepare::facts(object).tls_symbols;
            let symbols = if tls { &object.symbols[..] } else { &[] };
            let thread_locals = symbols.iter().filter(|s| s.kind == SymbolKind::Tls);
            for sym in narrow.chain(thread_locals) {
                if sym.is_defined() || sym.binding != Binding::Global {
                    continue; // weak ones may stay null
                }
                if defined().contains(sym.name) {
                    continue;
                }
                self.open_default_library_defining(sym.name)?;
            }
        }
        Ok(())
    }

    /// Opens the default library that defines `name`, if nothing defines it yet.
    fn open_default_library_defining(&mut self, name: &str) -> Result<()> {
        let known = self.linked.symbols.get(name);
        if known.is_some_and(|e| !e.is_unresolved()) {
            return Ok(());
        }
        // Names of the process (libc's `stdout`, its `errno`) need no library:
        // the cheap look-up first, before any library's symbol table is read.
        let symbols = &self.linked.symbols;
        if known.is_none_or(|e| e.process().is_none()) && symbols.process_lookup(name).is_some() {
            return Ok(());
        }
        for (i, lib) in KNOWN.iter().enumerate().filter(|(_, l)| l.default) {
            if self.opened(i) {
                continue;
            }
            if exports(i, self.arch).is_some_and(|e| e.contains(name)) {
                self.open_library(lib.soname)?;
                self.bind_to_libraries()?;
            }
        }
        Ok(())
    }

    /// The names `ids` refer to strongly that nothing defines.
    fn undefined_names_of(&self, ids: &[ObjectId]) -> Vec<&str> {
        let symbols = &self.linked.symbols;
        let mut out: Vec<&str> = (ids.iter())
            .filter_map(|id| Some((*id, self.linked.objects.get(id)?)))
            .flat_map(|(id, o)| o.refers.iter().map(move |n| (id, *n)))
            .filter(|(id, n)| {
                let e = symbols.entry(*n);
                e.is_unresolved() && symbols.refers(*n, (*id, false))
            })
            .map(|(_, n)| symbols.name(n))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Looks every name nothing defines up in the process again (a library was
    /// loaded since) and binds those it now finds. On an error (a direct
    /// reference that cannot reach the library), that name stays undefined and
    /// the first such error is returned.
    pub(crate) fn bind_to_libraries(&mut self) -> Result<()> {
        let symbols = &self.linked.symbols;
        let misses: Vec<NameId> = (symbols.iter())
            .filter(|(_, _, e)| e.defs.is_empty() && e.host().is_none())
            .filter(|(_, _, e)| e.process() == Some(None))
            .map(|(id, _, _)| id)
            .collect();
        let mut first_error = None;
        for id in misses {
            self.linked.symbols.entry_mut(id).set_process(None);
            if let Err(e) = self.linked.rebind(id) {
                self.linked.symbols.entry_mut(id).set_process(Some(None));
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Which known library defines `name`, and how to have it loaded.
    pub(crate) fn library_hint(&self, name: &str) -> Option<String> {
        let (_, lib) = (KNOWN.iter().enumerate())
            .find(|(i, _)| exports(*i, self.arch).is_some_and(|e| e.contains(name)))?;
        let mut hint = format!("in {}: add `-l {}`", lib.soname, lib.short);
        if lib.default && !self.options.default_libraries {
            hint.push_str(", or drop --no-default-libs (LinkerOptions::default_libraries)");
        }
        Some(hint)
    }
}
