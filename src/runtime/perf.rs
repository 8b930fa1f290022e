//! perf's map files for JIT code: `/tmp/perf-<pid>.map`, one
//! `START SIZE name` line (hex, no `0x`) per function, which `perf report` and
//! `perf top` read to name samples in anonymous executable memory.
//!
//! Opt-in (`LinkerOptions::perf_map`, `relink run --perf-map`). Lines are
//! appended as objects load and stubs appear; perf takes the newest line that
//! covers an address, so a replaced function's new code wins for new samples.
//! Stubs are named `stub:<name>`, veneers are not listed.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

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
