//! perf's two interfaces for JIT code, both opt-in, both fed as objects load
//! and stubs appear. Stubs are named `stub:<name>`; veneers are not listed.
//!
//! - **Map files** (`LinkerOptions::perf_map`, `relink run --perf-map`):
//!   `/tmp/perf-<pid>.map`, one `START SIZE name` line (hex, no `0x`) per
//!   function. perf reads them only for *anonymous* executable mappings, which
//!   relink's code is not (it runs from a memfd mapped twice, W^X), so
//!   `perf report` does not use them for relink; other profilers do.
//! - **jitdump** (`LinkerOptions::perf_jitdump`, `relink run --perf-jitdump`;
//!   `tools/perf/Documentation/jitdump-specification.txt`): `jit-<pid>.dump`,
//!   a header and one `JIT_CODE_LOAD` record per function and stub with its
//!   name, address and code bytes, stamped with `CLOCK_MONOTONIC`. The file is
//!   mapped executable once, so `perf record -k 1` records where it is;
//!   `perf inject --jit` then turns each record into a small ELF file mapped
//!   over the code, which `perf report` names like any library's. A replaced
//!   function's new code is a new record, newer than the old one.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Which of perf's interfaces a linker feeds (`LinkerOptions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Perf {
    pub map: bool,
    pub jitdump: bool,
}

struct MapFile {
    file: File,
    stubs: HashSet<u64>,
}

static MAP: Mutex<Option<MapFile>> = Mutex::new(None);

/// The map file of this process.
pub fn map_path() -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

fn with_map(f: impl FnOnce(&mut MapFile) -> std::io::Result<()>) {
    let mut guard = MAP.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(map_path());
        match file {
            Ok(file) => {
                *guard = Some(MapFile {
                    file,
                    stubs: HashSet::new(),
                })
            }
            // Profiling aid only: a load never fails because /tmp is not writable.
            Err(_) => return,
        }
    }
    if let Some(map) = guard.as_mut() {
        let _ = f(map);
    }
}

/// Appends an object's functions: `(name, address, size)`.
pub(crate) fn add_functions<'n>(functions: impl Iterator<Item = (&'n str, u64, u64)>) {
    let mut text = String::new();
    for (name, address, size) in functions {
        text.push_str(&format!("{address:x} {size:x} {name}\n"));
    }
    if !text.is_empty() {
        with_map(|m| m.file.write_all(text.as_bytes()));
    }
}

/// Appends stubs not listed yet: `(name, stub address, stub size)`.
pub(crate) fn add_stubs<'n>(stubs: impl Iterator<Item = (&'n str, u64, u64)>) {
    with_map(|m| {
        let mut text = String::new();
        for (name, address, size) in stubs {
            if m.stubs.insert(address) {
                text.push_str(&format!("{address:x} {size:x} stub:{name}\n"));
            }
        }
        m.file.write_all(text.as_bytes())
    });
}

/// jitdump's magic (`'JiTD'`), version and record ids.
const JITDUMP_MAGIC: u32 = 0x4a69_5444;
const JITDUMP_VERSION: u32 = 1;
const JIT_CODE_LOAD: u32 = 0;
/// Bytes of the file header and of a record header.
const FILE_HEADER: u32 = 40;
const RECORD_HEADER: usize = 16;

struct JitDump {
    file: File,
    path: PathBuf,
    /// The executable mapping perf records (unmapped when the process ends).
    _marker: memmap2::Mmap,
    /// `code_index` of the next record: unique per record, it names the
    /// `jitted-<pid>-<index>.so` file `perf inject` writes.
    next_index: u64,
    stubs: HashSet<u64>,
}

static DUMP: Mutex<Option<JitDump>> = Mutex::new(None);

/// The dump could not be made: said once, not tried again.
static DUMP_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The directory jitdump files go in: `$JITDUMPDIR`, else `$HOME`, else `/tmp`,
/// then `.debug/jit/relink-<pid>` (where perf's other JITs put theirs).
fn jitdump_dir() -> PathBuf {
    let base = ["JITDUMPDIR", "HOME"]
        .iter()
        .find_map(|v| std::env::var_os(v).filter(|d| !d.is_empty()))
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    base.join(".debug/jit")
        .join(format!("relink-{}", std::process::id()))
}

/// The jitdump file of this process, once a linker with `perf_jitdump` has
/// loaded code (perf inject writes its `jitted-*.so` files next to it).
pub fn jitdump_path() -> Option<PathBuf> {
    let guard = DUMP.lock().unwrap_or_else(|e| e.into_inner());
    guard.as_ref().map(|d| d.path.clone())
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock `perf record -k 1` stamps with.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

fn elf_machine() -> u32 {
    if cfg!(target_arch = "aarch64") {
        u32::from(object::elf::EM_AARCH64)
    } else {
        u32::from(object::elf::EM_X86_64)
    }
}

impl JitDump {
    /// Creates `dir/jit-<pid>.dump`, writes the header and maps it executable.
    fn create(dir: &Path) -> std::io::Result<JitDump> {
        std::fs::create_dir_all(dir)?;
        let pid = std::process::id();
        let path = dir.join(format!("jit-{pid}.dump"));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)?;
        let mut header = Vec::with_capacity(FILE_HEADER as usize);
        for word in [JITDUMP_MAGIC, JITDUMP_VERSION, FILE_HEADER, elf_machine(), 0, pid] {
            header.extend_from_slice(&word.to_ne_bytes());
        }
        header.extend_from_slice(&monotonic_ns().to_ne_bytes());
        header.extend_from_slice(&0u64.to_ne_bytes()); // flags
        file.write_all(&header)?;
        // perf finds the dump through this mapping's mmap event: it must be
        // executable, since perf records only those. Nothing ever runs it.
        // SAFETY: a private read-only mapping of a file relink owns; it is never
        // read through, only kept so that the event stays true.
        let marker = unsafe { memmap2::MmapOptions::new().len(FILE_HEADER as usize).map_exec(&file) }?;
        Ok(JitDump {
            file,
            path,
            _marker: marker,
            next_index: 0,
            stubs: HashSet::new(),
        })
    }

    /// Appends a `JIT_CODE_LOAD` record for `code` at `address` to `out`.
    fn load_record(&mut self, out: &mut Vec<u8>, name: &str, address: u64, code: &[u8]) {
        let size = RECORD_HEADER + 40 + name.len() + 1 + code.len();
        // A record's size is a u32; a function that large is not listed.
        let Ok(size) = u32::try_from(size) else {
            return;
        };
        out.extend_from_slice(&JIT_CODE_LOAD.to_ne_bytes());
        out.extend_from_slice(&size.to_ne_bytes());
        out.extend_from_slice(&monotonic_ns().to_ne_bytes());
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        out.extend_from_slice(&std::process::id().to_ne_bytes());
        out.extend_from_slice(&tid.to_ne_bytes());
        for word in [address, address, code.len() as u64, self.next_index] {
            out.extend_from_slice(&word.to_ne_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(code);
        self.next_index += 1;
    }
}

fn with_dump(f: impl FnOnce(&mut JitDump, &mut Vec<u8>)) {
    let mut guard = DUMP.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        use std::sync::atomic::Ordering::Relaxed;
        if DUMP_FAILED.load(Relaxed) {
            return;
        }
        // Profiling aid only: a load never fails because the file can't be made.
        let dir = jitdump_dir();
        match JitDump::create(&dir) {
            Ok(dump) => *guard = Some(dump),
            Err(e) => {
                eprintln!("relink: cannot write a jitdump file for perf in {}: {e}", dir.display());
                DUMP_FAILED.store(true, Relaxed);
                return;
            }
        }
    }
    if let Some(dump) = guard.as_mut() {
        let mut records = Vec::new();
        f(dump, &mut records);
        let _ = dump.file.write_all(&records);
    }
}

/// Records an object's functions: `(name, address, size)`, their bytes read
/// with `code(address, size)`.
pub(crate) fn dump_functions<'n>(
    functions: impl Iterator<Item = (&'n str, u64, u64)>,
    code: &dyn Fn(u64, u64) -> &'n [u8],
) {
    with_dump(|dump, out| {
        for (name, address, size) in functions {
            dump.load_record(out, name, address, code(address, size));
        }
    });
}

/// Records stubs not recorded yet: `(name, stub address, stub size)`.
pub(crate) fn dump_stubs<'n>(
    stubs: impl Iterator<Item = (&'n str, u64, u64)>,
    code: &dyn Fn(u64, u64) -> &'n [u8],
) {
    with_dump(|dump, out| {
        for (name, address, size) in stubs {
            if dump.stubs.insert(address) {
                dump.load_record(out, &format!("stub:{name}"), address, code(address, size));
            }
        }
    });
}
