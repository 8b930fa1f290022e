//! `relink watch` (part of the CLI binary, not the library): link the inputs, call
//! the entry every `--interval` ms, and when input files change on disk replace
//! just those objects (files changed within the settle window of each other
//! together, as one transaction). Retired code is reclaimed between calls — the safe point,
//! since the loaded program runs only inside those calls. Ctrl-C ends it cleanly.
//!
//! A bad new version never ends the watch: whatever fails — reading, parsing or
//! linking it, a replace the library refuses, or looking the entry up after it
//! (a version that dropped the entry, or left a name undefined) — is printed as
//! `relink: watch: …` and the running version keeps being called. When the
//! replace itself went through but the entry cannot be looked up afterwards, the
//! object is replaced again by the bytes of the version that ran (with the same
//! options, so `--keep-state` keeps its variables). A file whose contents failed
//! is not tried again until it changes.
//!
//! With `--executor`, the entry runs in an executor process: a version that
//! crashes ends the executor, not the watch. The crash is printed by symbol
//! and nothing runs until a file changes; then a new executor is started and
//! every input loaded afresh from disk — the program restarts with the next
//! version that links.

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
    /// Load libstdc++, libm and libgcc_s for names they define (`--no-default-libs` off).
    pub default_libraries: bool,
    pub inputs: &'a [PathBuf],
    pub args: &'a [String],
    /// Run the entry in an executor started with this command (`--executor`).
    pub executor: Option<&'a str>,
}

type Entry = extern "C" fn(c_int, *const *const c_char) -> c_int;

/// How the entry is called: through a pointer here, or in the executor.
#[derive(Clone, Copy)]
enum Call {
    Here(Entry),
    InExecutor,
}

/// A linker for the options (in an executor, if asked), with the inputs loaded.
fn start(o: &Options) -> Result<(Linker, Vec<ObjectId>), Error> {
    let options = relink::LinkerOptions::new().default_libraries(o.default_libraries);
    let mut linker = match o.executor {
        Some(command) => Linker::with_executor(options, relink::Executor::spawn(command)?)?,
        None => Linker::with_options(options)?,
    };
    let ids = linker.load_files(o.inputs)?;
    Ok((linker, ids))
}

pub fn run(o: &Options) -> Result<i32, Error> {
    let (mut linker, ids) = start(o)?;
    let mut by_path: HashMap<PathBuf, Input> = HashMap::new();
    for (path, id) in o.inputs.iter().zip(ids) {
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.clone(),
            source: e,
        })?;
        let seen = bytes.clone();
        let running = bytes;
        by_path.insert(canonical(path), Input { id, running, seen });
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
    let args: Vec<String> = std::iter::once(o.inputs[0].display().to_string())
        .chain(o.args.iter().cloned())
        .collect();
    let options = ReplaceOptions::new().keep_state(o.keep_state);
    let mut calls = 0u64;
    let mut status = 0;
    // Changed files wait until they have been quiet for SETTLE: compilers write
    // objects in place, and a half-written file is not a new version.
    let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
    // The entry as linked at start; an error here is the inputs', not a version's.
    let mut entry: Option<Call> = Some(entry_of(&mut linker, o.entry)?);
    // The executor died: a changed file starts a new one with every input.
    let mut crashed = false;
    while !STOP.load(Ordering::SeqCst) && o.count.is_none_or(|n| calls < n) {
        // `None` only when a reload failed and so did putting the running
        // version back (printed), or the program crashed: nothing is called
        // until a file changes.
        match entry {
            Some(Call::Here(entry)) => status = entry(c_args.len() as c_int, argv.as_ptr()),
            // SAFETY: the entry is documented to have C's `main` signature.
            Some(Call::InExecutor) => match unsafe { linker.call_main(o.entry, &args) } {
                Ok(s) => status = s,
                Err(e) => {
                    eprintln!("relink: watch: {e} (restarting after the next version)");
                    entry = None;
                    crashed = true;
                    status = 128 + executor_signal(&e);
                }
            },
            None => {}
        }
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
                    // Only inputs count: other files in their directories (the
                    // program's own output, say) may change all the time.
                    for path in event.paths {
                        if by_path.contains_key(&canonical(&path)) {
                            pending.insert(path, Instant::now());
                        }
                    }
                }
                Ok(Err(e)) => eprintln!("relink: watch: {e}"),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            // Files changed within SETTLE of each other (one edit to a header
            // rebuilds several) are replaced together, once all are quiet.
            let quiet = pending.values().all(|t| t.elapsed() >= SETTLE);
            let settled: Vec<PathBuf> = match quiet {
                true => pending.drain().map(|(p, _)| p).collect(),
                false => Vec::new(),
            };
            if crashed && !settled.is_empty() {
                if let Some(restarted) = restart(o, &mut by_path) {
                    linker = restarted;
                    entry = look_up(&mut linker, o.entry);
                    crashed = entry.is_none();
                }
            } else if reload_changed(&mut linker, &mut by_path, &settled, options, o.entry) {
                entry = look_up(&mut linker, o.entry);
            }
            if STOP.load(Ordering::SeqCst) {
                break;
            }
        }
    }
    eprintln!("relink: watch: stopped after {calls} call(s)");
    Ok(status)
}

/// After a crash: a new executor with every input as it is on disk now, or
/// `None` (printed) if that version does not link.
fn restart(o: &Options, by_path: &mut HashMap<PathBuf, Input>) -> Option<Linker> {
    // Only a new version: events also come for the file that crashed.
    let changed = o.inputs.iter().any(|path| {
        let seen = by_path.get(&canonical(path)).map(|i| &i.seen);
        std::fs::read(path).is_ok_and(|bytes| seen != Some(&bytes))
    });
    if !changed {
        return None;
    }
    let start_time = Instant::now();
    match start(o) {
        Ok((linker, ids)) => {
            for (path, id) in o.inputs.iter().zip(ids) {
                if let (Some(input), Ok(bytes)) =
                    (by_path.get_mut(&canonical(path)), std::fs::read(path))
                {
                    input.id = id;
                    input.running = bytes.clone();
                    input.seen = bytes;
                }
            }
            eprintln!(
                "relink: watch: restarted in a new executor in {:.3} ms",
                start_time.elapsed().as_secs_f64() * 1e3
            );
            Some(linker)
        }
        Err(e) => {
            eprintln!("relink: watch: {e} (waiting for the next version)");
            None
        }
    }
}

/// The signal an executor error reports, or 0.
fn executor_signal(e: &Error) -> i32 {
    match e {
        Error::ExecutorEnded(ended) => ended.signal.unwrap_or(0),
        _ => 0,
    }
}

/// How to call the entry, checked now.
fn entry_of(linker: &mut Linker, name: &str) -> Result<Call, Error> {
    if linker.executor_pid().is_some() {
        linker.check_resolved()?;
        linker.address(name)?;
        return Ok(Call::InExecutor);
    }
    // SAFETY: the entry is documented to have C's `main` signature.
    Ok(Call::Here(unsafe { linker.function(name)? }))
}

/// A changed input: its object, the bytes of the version that runs, and the
/// bytes last read from the file (a failed version is not tried again).
struct Input {
    id: ObjectId,
    running: Vec<u8>,
    seen: Vec<u8>,
}

/// Replaces the objects among `paths` whose contents changed, all in one
/// transaction (`Linker::replace_many`): all switch or none does. Returns
/// whether anything was tried (the entry must be looked up again).
fn reload_changed(
    linker: &mut Linker,
    by_path: &mut HashMap<PathBuf, Input>,
    paths: &[PathBuf],
    options: ReplaceOptions,
    entry: &str,
) -> bool {
    let mut changed: Vec<(PathBuf, PathBuf, Vec<u8>)> = Vec::new();
    for path in paths {
        let key = canonical(path);
        let Some(input) = by_path.get(&key) else {
            continue;
        };
        let Ok(bytes) = std::fs::read(path) else {
            continue; // being rewritten; the next event brings it
        };
        if bytes != input.seen {
            changed.push((key, path.clone(), bytes));
        }
    }
    if changed.is_empty() {
        return false;
    }
    changed.sort_by(|a, b| a.1.cmp(&b.1));
    let start = Instant::now();
    let new: Vec<(ObjectId, &[u8])> = (changed.iter())
        .map(|(key, _, bytes)| (by_path[key].id, &bytes[..]))
        .collect();
    let running: Vec<(ObjectId, &[u8])> = (changed.iter())
        .map(|(key, _, _)| (by_path[key].id, &by_path[key].running[..]))
        .collect();
    let outcome = linker
        .replace_many(&new, options)
        .and_then(|_| entry_after(linker, entry, &running, options));
    let ok = outcome.is_ok();
    match outcome {
        Ok(()) => {
            let names: Vec<String> = changed.iter().map(|c| c.1.display().to_string()).collect();
            eprintln!(
                "relink: reloaded {} in {:.3} ms",
                names.join(", "),
                start.elapsed().as_secs_f64() * 1e3
            );
        }
        // The error names the object.
        Err(e) => eprintln!("relink: watch: {e} (keeping the running version)"),
    }
    for (key, _, bytes) in changed {
        if let Some(input) = by_path.get_mut(&key) {
            if ok {
                input.running = bytes.clone();
            }
            input.seen = bytes;
        }
    }
    true
}

/// Checks that the entry can be looked up after a replace; if not, puts the
/// versions that ran back (its error is printed too) and returns the lookup's.
fn entry_after(
    linker: &mut Linker,
    entry: &str,
    running: &[(ObjectId, &[u8])],
    options: ReplaceOptions,
) -> Result<(), Error> {
    let Err(e) = entry_of(linker, entry) else {
        return Ok(());
    };
    if let Err(back) = linker.replace_many(running, options) {
        eprintln!("relink: watch: putting the running version back failed: {back}");
    }
    Err(e)
}

/// The entry after a reload; `None` (printed) if it cannot be looked up.
fn look_up(linker: &mut Linker, name: &str) -> Option<Call> {
    match entry_of(linker, name) {
        Ok(entry) => Some(entry),
        Err(e) => {
            eprintln!("relink: watch: {e} (not calling `{name}` until a file changes)");
            None
        }
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
