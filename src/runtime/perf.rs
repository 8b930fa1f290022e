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

use crate::input::{Class, Definition, Object, SectionId};

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

/// Appends an object's functions, as [`functions`] lists them.
pub(crate) fn add_functions(functions: &[(&str, u64, u64)]) {
    if functions.is_empty() {
        return;
    }
    let mut text = String::new();
    for (name, address, size) in functions {
        text.push_str(&format!("{address:x} {size:x} {name}\n"));
    }
    with_map(|m| m.file.write_all(text.as_bytes()));
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

/// Named code of the object: `(name, address, size)`. Sizes come from the
/// symbol table; where it has none (Mach-O), from the next symbol in the section.
pub(crate) fn functions<'a>(
    object: &Object<'a>,
    placed: &[Option<u64>],
) -> Vec<(&'a str, u64, u64)> {
    // Sized for every symbol: a filtered collect would grow it step by step.
    let mut starts: Vec<(SectionId, u64, &'a str, u64)> = Vec::with_capacity(object.symbols.len());
    starts.extend(
        object
            .symbols
            .iter()
            .filter(|s| !s.name.is_empty() && s.kind != crate::input::SymbolKind::Section)
            .filter_map(|s| match s.definition {
                Definition::Section { section, offset }
                    if object.section(section).class == Class::Code =>
                {
                    Some((section, offset, s.name, s.size))
                }
                _ => None,
            }),
    );
    starts.sort_by_key(|(s, o, _, _)| (*s, *o));
    let mut out = Vec::with_capacity(starts.len());
    for (i, &(section, offset, name, size)) in starts.iter().enumerate() {
        let Some(base) = placed[section.0 as usize] else {
            continue;
        };
        let end = starts
            .get(i + 1)
            .filter(|n| n.0 == section && n.1 > offset)
            .map_or(object.section(section).size, |n| n.1);
        let size = if size > 0 {
            size
        } else {
            end.saturating_sub(offset)
        };
        if size > 0 {
            out.push((name, base + offset, size));
        }
    }
    out
}
