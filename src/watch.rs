//! `relink watch` (part of the CLI binary, not the library): link the inputs, call
//! the entry every `--interval` ms, and when an input file changes on disk replace
//! just that object. A broken new version prints its error and the old one keeps
//! running. Retired code is reclaimed between calls — the safe point, since the
//! loaded program runs only inside those calls. Ctrl-C ends it cleanly.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};
use relink::{Error, Linker, ObjectId, ReplaceOptions};

static STOP: AtomicBool = AtomicBool::new(false);

/// How long a changed file must stay unchanged before it is reloaded.
const SETTLE: Duration = Duration::from_millis(100);

extern "C" fn on_sigint(_: c_int) {
    STOP.store(true, Ordering::SeqCst);
}

pub struct Options<'a> {
    pub entry: &'a str,
    pub interval: Duration,
    pub keep_state: bool,
    /// Stop after this many calls (for scripts and tests); run until Ctrl-C if None.
    pub count: Option<u64>,
    pub inputs: &'a [PathBuf],
    pub args: &'a [String],
}

type Entry = extern "C" fn(c_int, *const *const c_char) -> c_int;

pub fn run(o: &Options) -> Result<i32, Error> {
    let mut linker = Linker::new()?;
    let ids = linker.load_files(o.inputs)?;
    let mut by_path: HashMap<PathBuf, (ObjectId, Vec<u8>)> = HashMap::new();
    for (path, id) in o.inputs.iter().zip(ids) {
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.clone(),
            source: e,
        })?;
        by_path.insert(canonical(path), (id, bytes));
    }
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).map_err(|e| watch_error(&o.inputs[0], e))?;
    for dir in watched_dirs(o.inputs) {
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| watch_error(&dir, e))?;
    }
    // SAFETY: installing a handler that only stores to an atomic is async-signal-safe.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };

    let c_args: Vec<CString> = std::iter::once(o.inputs[0].display().to_string())
        .chain(o.args.iter().cloned())
        .map(|a| CString::new(a).unwrap_or_default())
        .collect();
    let mut argv: Vec<*const c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let options = ReplaceOptions::new().keep_state(o.keep_state);
    let mut calls = 0u64;
    let mut status = 0;
    // Changed files wait until they have been quiet for SETTLE: compilers write
    // objects in place, and a half-written file is not a new version.
    let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
    while !STOP.load(Ordering::SeqCst) && o.count.is_none_or(|n| calls < n) {
        // Looked up each time: a reload may have been refused for undefined symbols.
        // SAFETY: the entry is documented to have C's `main` signature.
        let entry: Entry = unsafe { linker.function(o.entry)? };
        status = entry(c_args.len() as c_int, argv.as_ptr());
        calls += 1;
        // SAFETY: fflush(NULL) flushes every C stream.
        unsafe { libc::fflush(std::ptr::null_mut()) };
        // SAFETY: the entry has returned and watch runs no other thread in
        // loaded code: nothing executes retired code.
        unsafe { linker.reclaim() };
        let deadline = Instant::now() + o.interval;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left.min(SETTLE)) {
                Ok(Ok(event)) => {
                    for path in event.paths {
                        pending.insert(path, Instant::now());
                    }
                }
                Ok(Err(e)) => eprintln!("relink: watch: {e}"),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let settled: Vec<PathBuf> = pending
                .iter()
                .filter(|(_, t)| t.elapsed() >= SETTLE)
                .map(|(p, _)| p.clone())
                .collect();
            for path in &settled {
                pending.remove(path);
            }
            reload_changed(&mut linker, &mut by_path, &settled, options);
            if STOP.load(Ordering::SeqCst) {
                break;
            }
        }
    }
    eprintln!("relink: watch: stopped after {calls} call(s)");
    Ok(status)
}

/// Replaces the objects among `paths` whose contents changed.
fn reload_changed(
    linker: &mut Linker,
    by_path: &mut HashMap<PathBuf, (ObjectId, Vec<u8>)>,
    paths: &[PathBuf],
    options: ReplaceOptions,
) {
    for path in paths {
        let Some((id, last)) = by_path.get_mut(&canonical(path)) else {
            continue;
        };
        let Ok(bytes) = std::fs::read(path) else {
            continue; // being rewritten; the next event brings it
        };
        if bytes == *last {
            continue;
        }
        let start = Instant::now();
        match linker.replace_with(*id, &bytes, options) {
            Ok(_) => eprintln!(
                "relink: reloaded {} in {:.3} ms",
                path.display(),
                start.elapsed().as_secs_f64() * 1e3
            ),
            Err(e) => eprintln!("relink: error: {e} (keeping the running version)"),
        }
        *last = bytes;
    }
}

fn canonical(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.join(path.file_name().unwrap_or_default())
}

/// Directories, not files: editors and build tools replace files by renaming.
fn watched_dirs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = inputs
        .iter()
        .map(|p| {
            canonical(p)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

fn watch_error(path: &Path, e: notify::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}
