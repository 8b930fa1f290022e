//! `relink`: the command-line loader. It only calls the library.

// relink::Error is large on purpose (see lib.rs); the CLI only prints it.
#![allow(clippy::result_large_err)]

use std::ffi::{c_char, c_int, CString};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

mod teardown;
mod watch;

use clap::{Parser, Subcommand};
use relink::{Error, Linker, Stats};

#[derive(Parser)]
#[command(
    name = "relink",
    version,
    about = "Load, link and run relocatable objects in memory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Link the objects and call `main(argc, argv, envp)` (or --entry); exit with its status.
    Run {
        /// Function to call instead of `main`.
        #[arg(long, default_value = "main")]
        entry: String,
        /// Print a per-stage timing breakdown to stderr.
        #[arg(long)]
        stats: bool,
        /// Exit only once the kernel has freed relink's memory (by default a
        /// helper process that shares it frees it after relink has exited).
        #[arg(long)]
        no_background_teardown: bool,
        #[command(flatten)]
        process: ProcessOptions,
        /// Object files and static archives (`.a`: members are linked when needed).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Arguments for the program (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Link without running, and report every problem (exit 1 if there is any).
    Check {
        /// Print a per-stage timing breakdown and memory use to stderr.
        #[arg(long)]
        stats: bool,
        /// Shared libraries whose symbols the objects use (as for `run`).
        #[arg(short = 'l', long = "lib", value_name = "NAME")]
        libs: Vec<String>,
        /// Do not load libstdc++, libm and libgcc_s for names they define (as for `run`).
        #[arg(long)]
        no_default_libs: bool,
        /// Object files (ELF, Mach-O) and static archives (`.a`: members are
        /// linked when needed), in link order.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Print an object's sections, symbols and relocations as relink sees them,
    /// as aligned tables; for an archive, a table of its members.
    Info {
        /// An object file (ELF, Mach-O) or a static archive (`.a`).
        input: PathBuf,
        /// Also print this archive member's tables (repeatable; the name as
        /// listed, e.g. `deflate.o`).
        #[arg(long, value_name = "NAME", conflicts_with = "all_members")]
        member: Vec<String>,
        /// Also print every archive member's tables.
        #[arg(long)]
        all_members: bool,
    },
    /// Call the entry repeatedly; hot-replace each object whose file changes.
    Watch {
        /// Function to call (as `int f(int argc, char **argv)`).
        #[arg(long, default_value = "main")]
        entry: String,
        /// Milliseconds between calls.
        #[arg(long, default_value_t = 500)]
        interval: u64,
        /// Keep global variables' contents across reloads.
        #[arg(long)]
        keep_state: bool,
        /// Stop after this many calls (default: until Ctrl-C).
        #[arg(long)]
        count: Option<u64>,
        /// Do not load libstdc++, libm and libgcc_s for names they define (as for `run`).
        #[arg(long)]
        no_default_libs: bool,
        /// Call the entry in an executor (as for `run`): a crash is reported and
        /// the program restarts in a new executor with the next version.
        #[arg(long, value_name = "CMD")]
        executor: Option<String>,
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Serve a linker on standard input: map the memory it links into, run
    /// what it asks, report how it ended (started by `run --executor`).
    Executor,
}

/// How `run` sets up the process around the loaded code.
#[derive(clap::Args)]
struct ProcessOptions {
    /// Shared library whose symbols the objects use (repeatable): `z` (as for
    /// `-l`), or a name or path for `dlopen`. libstdc++, libm and libgcc_s are
    /// loaded when needed unless --no-default-libs.
    #[arg(short = 'l', long = "lib", value_name = "NAME")]
    libs: Vec<String>,
    /// Do not load the default libraries: by default, when the objects leave
    /// names undefined that libstdc++.so.6, libm.so.6 or libgcc_s.so.1 define,
    /// those libraries are loaded, as `g++`/`gcc` link them.
    #[arg(long)]
    no_default_libs: bool,
    /// Append every loaded function and stub to /tmp/perf-<pid>.map (read by
    /// profilers for anonymous code; `perf report` needs --perf-jitdump).
    #[arg(long)]
    perf_map: bool,
    /// Write every loaded function and stub with its code to
    /// ~/.debug/jit/relink-<pid>/jit-<pid>.dump ($JITDUMPDIR instead of ~ if
    /// set) for perf: `perf record -k 1`, then `perf inject --jit` (README).
    #[arg(long)]
    perf_jitdump: bool,
    /// Register loaded objects with debuggers and make their code breakpointable
    /// even if no debugger is attached yet (for `gdb -p` later). Automatic when
    /// relink runs under a debugger.
    #[arg(long, conflicts_with = "no_debugger")]
    debugger: bool,
    /// Never register loaded objects with debuggers, even under one.
    #[arg(long)]
    no_debugger: bool,
    /// Where the loaded code goes: `auto` (from what the objects' relocations
    /// need), `low` (the low 2 GiB), `near` (within ±2 GiB of the C library),
    /// `anywhere`.
    #[arg(long, value_name = "WHERE", default_value = "auto", value_parser = parse_placement)]
    placement: relink::Placement,
    /// Run the program in another process: `self` (a child `relink
    /// executor`), or a command that starts one, e.g. `qemu-aarch64 -L
    /// /usr/aarch64-linux-gnu path/to/aarch64/relink executor`. Linking stays
    /// here; a crash ends the executor, and relink reports it by symbol.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["perf_map", "perf_jitdump"])]
    executor: Option<String>,
    /// Threads a load uses: 1 reads, parses and links on one thread; N ≥ 2
    /// link on one while N − 1 read and parse files ahead (default: the
    /// machine's cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Leave a load's threads where the scheduler puts them (default: each
    /// on a CPU of its own, from relink's CPU mask, while the load lasts).
    #[arg(long)]
    no_pin: bool,
}

impl ProcessOptions {
    /// The library's options for these flags (`run`, in process or not).
    fn linker_options(&self) -> relink::LinkerOptions {
        relink::LinkerOptions::new()
            .placement(self.placement)
            .default_libraries(!self.no_default_libs)
            .threads(self.threads)
            .pin_threads(!self.no_pin)
            .perf_map(self.perf_map)
            .perf_jitdump(self.perf_jitdump)
            .debugger(match (self.debugger, self.no_debugger) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            })
    }

    /// Loads the `-l` libraries where the code runs.
    fn load_libraries(&self, linker: &mut Linker) -> Result<(), Error> {
        for lib in &self.libs {
            linker.load_library(lib)?;
        }
        Ok(())
    }
}

fn parse_placement(s: &str) -> Result<relink::Placement, String> {
    match s {
        "auto" => Ok(relink::Placement::Auto),
        "low" => Ok(relink::Placement::Low),
        "near" => Ok(relink::Placement::NearProcess),
        "anywhere" => Ok(relink::Placement::Anywhere),
        _ => Err(format!("`{s}`: expected auto, low, near or anywhere")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            entry,
            stats,
            no_background_teardown,
            process,
            inputs,
            args,
        } => match &process.executor {
            Some(command) => run_in_executor(command, &entry, stats, &process, &inputs, &args),
            None => {
                BACKGROUND_TEARDOWN.store(!no_background_teardown, Ordering::Relaxed);
                run(&entry, stats, &process, &inputs, &args)
            }
        },
        Command::Check {
            stats,
            libs,
            no_default_libs,
            inputs,
        } => check(stats, &libs, !no_default_libs, &inputs),
        Command::Info {
            input,
            member,
            all_members,
        } => info(&input, member, all_members).map(|()| 0),
        Command::Watch {
            entry,
            interval,
            keep_state,
            count,
            no_default_libs,
            executor,
            inputs,
            args,
        } => watch::run(&watch::Options {
            entry: &entry,
            interval: std::time::Duration::from_millis(interval),
            keep_state,
            count,
            default_libraries: !no_default_libs,
            inputs: &inputs,
            args: &args,
            executor: executor.as_deref(),
        }),
        Command::Executor => return ExitCode::from(relink::serve_executor() as u8),
    };
    match result {
        Ok(status) => exit(status),
        Err(e) => {
            eprintln!("relink: error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Flushes C stdio and exits with `status` as C's `exit` would see it.
fn exit(status: i32) -> ExitCode {
    // SAFETY: fflush(NULL) flushes every open C stream; no preconditions.
    unsafe { libc::fflush(std::ptr::null_mut()) };
    ExitCode::from(status as u8)
}

type Main = extern "C" fn(c_int, *const *const c_char, *const *const c_char) -> c_int;

/// The linker of `relink run`, handed to [`finish_at_exit`] before `main` runs.
static AT_EXIT: std::sync::atomic::AtomicPtr<Linker> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

/// Whether `relink run` leaves freeing its memory to a helper (`teardown.rs`).
static BACKGROUND_TEARDOWN: AtomicBool = AtomicBool::new(false);

/// Runs the loaded objects' destructors from the C library's `exit`, where a
/// natively linked program's `_dl_fini` runs them: after the exiting thread's
/// `thread_local` destructors and after every `atexit`/`__cxa_atexit` handler
/// registered later (the objects' constructors registered theirs after this).
extern "C" fn finish_at_exit() {
    let linker = AT_EXIT.swap(std::ptr::null_mut(), std::sync::atomic::Ordering::AcqRel);
    if !linker.is_null() {
        // SAFETY: the pointer came from Box::into_raw in `run` and is taken once.
        let linker = unsafe { Box::from_raw(linker) };
        let debugged = linker.registrations().debugger > 0;
        linker.finish();
        if BACKGROUND_TEARDOWN.load(Ordering::Relaxed) && !debugged {
            // Last: after this, `exit` only runs the handlers registered
            // before relink's and flushes C stdio.
            _ = teardown::hand_over();
        }
    }
}

fn run(
    entry: &str,
    stats: bool,
    process: &ProcessOptions,
    inputs: &[PathBuf],
    args: &[String],
) -> Result<i32, Error> {
    let mut linker = Linker::with_options(process.linker_options())?;
    process.load_libraries(&mut linker)?;
    // Before any constructor can register an exit handler of its own (see
    // `finish_at_exit`).
    // SAFETY: registers a plain function; atexit fails only when out of memory.
    if unsafe { libc::atexit(finish_at_exit) } != 0 {
        return Err(Error::Exhausted(
            "atexit: no room for relink's exit handler".into(),
        ));
    }
    // Objects and archives (members pulled on demand), in command-line order:
    // objects stream (read and parsed a few ahead) until an archive turns up,
    // then everything is linked as `load_inputs` links it. Constructors run
    // only if nothing is left undefined; otherwise `function` refuses below
    // before any code of the program ran.
    linker.load_files(inputs)?;
    // SAFETY: C's `main` (and any entry relink is asked to call) takes
    // (int, char **, char **) and returns int; extra arguments are harmless in the C ABI.
    let main: Main = unsafe { linker.function(entry)? };
    let argv0 = inputs[0].display().to_string();
    let c_args: Vec<CString> = std::iter::once(argv0.as_str())
        .chain(args.iter().map(String::as_str))
        .map(|a| CString::new(a).unwrap_or_default())
        .collect();
    let mut argv: Vec<*const c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    if stats {
        print_stats(&linker.stats(), &linker.memory());
    }
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: reading glibc's `environ` pointer, which is always initialised.
    let envp = unsafe { environ };
    // Destructors run when the process exits (`finish_at_exit`), also if the
    // program calls `exit` itself; the memory goes back with the process.
    AT_EXIT.store(
        Box::into_raw(Box::new(linker)),
        std::sync::atomic::Ordering::Release,
    );
    Ok(main(c_args.len() as c_int, argv.as_ptr(), envp))
}

/// `run --executor`: links here, runs `main` in the executor, and exits with
/// its status — or reports the crash by symbol and exits with 128 + signal.
fn run_in_executor(
    command: &str,
    entry: &str,
    stats: bool,
    process: &ProcessOptions,
    inputs: &[PathBuf],
    args: &[String],
) -> Result<i32, Error> {
    let executor = relink::Executor::spawn(command)?;
    // --perf-map and --perf-jitdump conflict with --executor (clap); debugger
    // support there is on only with --debugger (`Linker::with_executor`).
    let mut linker = Linker::with_executor(process.linker_options(), executor)?;
    process.load_libraries(&mut linker)?;
    linker.load_files(inputs)?;
    if stats {
        print_stats(&linker.stats(), &linker.memory());
        eprintln!(
            "executor: pid {}, {} round trips",
            linker.executor_pid().unwrap_or(0),
            linker.executor_round_trips()
        );
    }
    let argv: Vec<String> = std::iter::once(inputs[0].display().to_string())
        .chain(args.iter().cloned())
        .collect();
    match linker.run_main(entry, &argv)? {
        relink::Exit::Status(status) => Ok(status),
        relink::Exit::Crashed(ended) => {
            eprintln!("relink: {ended}");
            Ok(128 + ended.signal.unwrap_or(0))
        }
    }
}

fn check(
    stats: bool,
    libs: &[String],
    default_libraries: bool,
    inputs: &[PathBuf],
) -> Result<i32, Error> {
    // Link completely, but never make the code executable or run constructors.
    let options = relink::LinkerOptions::new()
        .link_only(true)
        .default_libraries(default_libraries);
    let mut linker = Linker::with_options(options)?;
    for lib in libs {
        linker.load_library(lib)?;
    }
    let mut problems = 0;
    // Magic number first, then mapped: never a whole file read before it is
    // known to be an object or archive.
    let files: Vec<(String, memmap2::Mmap)> = inputs
        .iter()
        .filter_map(|p| match relink::map_input(p) {
            Ok(b) => Some((p.display().to_string(), b)),
            Err(e) => {
                eprintln!("relink: error: {e}");
                problems += 1;
                None
            }
        })
        .collect();
    let objects: Vec<(String, &[u8])> = files
        .iter()
        .filter(|(_, b)| !relink::archive::is_archive(b))
        .map(|(n, b)| (n.clone(), &b[..]))
        .collect();
    if let Err(e) = linker.reserve_for(&objects) {
        eprintln!("relink: error: {e}");
        problems += 1;
    }
    let mut archives: Vec<(String, &[u8])> = Vec::new();
    for (name, bytes) in &files {
        let loaded = if relink::archive::is_archive(bytes) {
            archives.push((name.clone(), bytes));
            linker.load_archive_bytes(name, bytes).map(|_| ())
        } else {
            linker.load_bytes(name, bytes).map(|_| ())
        };
        if let Err(e) = loaded {
            eprintln!("relink: error: {e}");
            problems += 1;
        }
    }
    // As `relink run`: objects after an archive may still need its members.
    if !archives.is_empty() && !linker.undefined().is_empty() {
        if let Err(e) = linker.load_archive_group(&archives) {
            eprintln!("relink: error: {e}");
            problems += 1;
        }
    }
    if let Err(e) = linker.check_resolved() {
        eprintln!("relink: error: {e}");
        problems += 1;
    }
    if stats {
        print_stats(&linker.stats(), &linker.memory());
    }
    if problems == 0 {
        let pulled = linker.objects().count().saturating_sub(objects.len());
        if archives.is_empty() {
            println!("{} object(s) link cleanly", files.len());
        } else {
            println!(
                "{} object(s) and {pulled} archive member(s) link cleanly",
                objects.len()
            );
        }
        Ok(0)
    } else {
        eprintln!("relink: {problems} problem(s)");
        Ok(1)
    }
}

fn print_stats(s: &Stats, memory: &relink::MemoryStats) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    // The linking thread's time (reading ahead overlaps it).
    let total = s.parse + s.waited + s.layout + s.resolve + s.fixup + s.finalize;
    eprintln!(
        "relink: {} objects, {} relocations, {} stubs, {} veneers, {} TLS relaxations, \
         {} GOT relaxations, {} KiB mapped",
        s.objects,
        s.relocations,
        memory.slots,
        s.veneers,
        s.relaxed,
        s.relaxed_got,
        memory.mapped >> 10
    );
    let kib = |b: u64| b.div_ceil(1024);
    let classes = ["code", "read-only", "data", "zero-fill"];
    let parts: Vec<String> = (classes.iter().zip(memory.by_class))
        .map(|(c, (used, chunks))| format!("{c} {} KiB (in {} KiB)", kib(used), kib(chunks)))
        .collect();
    eprintln!("relink: {}", parts.join(", "));
    for (name, c) in relink::process_copies() {
        eprintln!(
            "relink: copied process variable `{name}` ({} bytes) from {:#x} to {:#x}; {} references rebound",
            c.size, c.original, c.copy, c.rebound
        );
    }
    if s.parse_ahead > std::time::Duration::ZERO {
        eprintln!(
            "relink: read and parsed ahead on other threads: {:.3} ms",
            ms(s.parse_ahead)
        );
    }
    if s.taken > 0 {
        eprintln!(
            "relink: read and parsed here while the reading threads lagged: {} files \
             ({} of later chunks)",
            s.taken, s.taken_ahead
        );
    }
    for (name, d) in [
        ("parse", s.parse),
        ("waited", s.waited),
        ("layout", s.layout),
        ("resolve", s.resolve),
        ("fixup", s.fixup),
        ("finalize", s.finalize),
        ("total", total),
    ] {
        eprintln!("relink: {name:>9} {:9.3} ms", ms(d));
    }
}

fn info(path: &std::path::Path, member: Vec<String>, all_members: bool) -> Result<(), Error> {
    let members = match (all_members, member.is_empty()) {
        (true, _) => relink::ArchiveMembers::All,
        (false, true) => relink::ArchiveMembers::Summary,
        (false, false) => relink::ArchiveMembers::Named(member),
    };
    print!("{}", relink::describe_file(path, &members)?);
    Ok(())
}
