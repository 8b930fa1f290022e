//! The public [`Linker`]: drives parse → layout → resolve → fixup → finalize for each
//! object and keeps, per loaded object, what unload and replace need.
//!
//! A load is a transaction. Everything that can fail — layout, symbol resolution,
//! fixups into the new object's memory, and re-patching other objects' sites whose
//! binding the new object changes — happens before any shared state is touched;
//! on failure the new memory and slots are released and the linker is as before.

pub mod archive;
pub(crate) mod batch;
mod executor;
pub(crate) mod libraries;
mod load;
mod pin;
mod replace;

use crate::link::finalize;
use crate::link::replace::{ReplaceOptions, ReplaceReport};
use crate::link::resolve::Binder;
use crate::link::Linked;
use crate::link::Space;
use std::path::Path;
use std::time::{Duration, Instant};

pub use executor::{Executor, Exit};

use crate::arch::Arch;
use crate::error::{Error, Location, Result, Unresolved};
use crate::input::{self, Object};
use crate::memory::pack::Pools;
use crate::memory::{Placement, Region, LOW_LIMIT};
use crate::runtime;
use crate::symbols::{stubs, Binding, ObjectId, StubTable};

/// How a [`Linker`] sets up its memory and what it registers:
/// `LinkerOptions::new().perf_map(true)`, then [`Linker::with_options`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct LinkerOptions {
    pub(crate) placement: Placement,
    /// Bytes of address space reserved for everything loaded (default 512 MiB).
    pub(crate) region_size: u64,
    /// Symbols the stub table holds (default 2^18).
    pub(crate) stub_capacity: u32,
    /// Test hook: address space left unused between the stub table and the first
    /// object, so that calls to stubs are far (AArch64 `BL` then needs veneers).
    pub(crate) gap_after_tables: u64,
    /// Link completely, but never make code executable nor run constructors or
    /// destructors (`relink check`, fuzzing, inspecting what a link produces).
    pub(crate) link_only: bool,
    /// Support for debuggers: register every loaded object through the GDB JIT
    /// interface (`runtime/gdb.rs`; costs a copy of each ELF object's file while
    /// it is loaded) and map code so that a debugger can set software breakpoints
    /// in it (`memory/mod.rs`; not under qemu-user). `None` (default): on if a
    /// debugger is attached when the first object loads. `Some(true)` to attach
    /// one later (`gdb -p`), `Some(false)` never.
    pub(crate) debugger: Option<bool>,
    /// Append every loaded function and stub to `/tmp/perf-<pid>.map` for `perf`
    /// (default off).
    pub(crate) perf_map: bool,
    /// Write every loaded function and stub, with its code, to a jitdump file
    /// for `perf inject --jit` (`runtime/perf.rs`; default off).
    pub(crate) perf_jitdump: bool,
    /// Load `libstdc++.so.6`, `libm.so.6` and `libgcc_s.so.1` when loaded
    /// objects leave names undefined that they provide, as a compiler driver
    /// links them (default off; `relink run` turns it on).
    pub(crate) default_libraries: bool,
    /// Threads a batch of files uses: 1 reads, parses and links each file on
    /// the calling thread; N ≥ 2 links on the calling thread while N − 1
    /// others read and parse ahead, number the objects' names and fault in
    /// the region's pages (`linker/batch.rs`). Default (`None`): the machine's
    /// cores. Linking itself stays on one thread; the output is the same for
    /// every count.
    pub(crate) threads: Option<usize>,
    /// While a batch is read on other threads, each of its threads runs on a
    /// CPU of its own, taken from the calling thread's mask, which is put back
    /// after the load (`linker/pin.rs`; default on). Left to the scheduler,
    /// the two threads of a load on two cores shared one CPU for stretches.
    pub(crate) pin_threads: bool,
    /// Test hook: make every load fail at this stage (after its work, before the
    /// next), to check that a failed load leaves the linker as it was.
    pub(crate) fail_at: Option<Stage>,
    /// Test hook: the reading threads pause this long before each file, and
    /// each starts only once the linking thread has taken a file of its first
    /// chunk, so that the linking thread reads files of a batch itself.
    pub(crate) slow_readers: Option<Duration>,
}

#[cfg_attr(not(feature = "testing"), allow(dead_code))]
/// A stage of a load, for [`LinkerOptions::fail_at`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Layout,
    Resolve,
    Fixup,
    Finalize,
}

impl Default for LinkerOptions {
    fn default() -> Self {
        LinkerOptions {
            placement: Placement::Auto,
            region_size: 512 << 20,
            stub_capacity: stubs::DEFAULT_CAPACITY,
            gap_after_tables: 0,
            link_only: false,
            debugger: None,
            perf_map: false,
            perf_jitdump: false,
            default_libraries: false,
            threads: None,
            pin_threads: true,
            fail_at: None,
            slow_readers: None,
        }
    }
}

impl LinkerOptions {
    /// The defaults: placement chosen from the objects, 512 MiB of address
    /// space, 2^18 slots, debugger support if one is attached, no perf map.
    pub fn new() -> LinkerOptions {
        LinkerOptions::default()
    }

    /// Where the region goes (default: chosen from what the first objects need).
    pub fn placement(mut self, placement: Placement) -> LinkerOptions {
        self.placement = placement;
        self
    }

    /// Bytes of address space reserved for everything loaded.
    pub fn region_size(mut self, bytes: u64) -> LinkerOptions {
        self.region_size = bytes;
        self
    }

    /// Symbols the stub table holds.
    pub fn stub_capacity(mut self, slots: u32) -> LinkerOptions {
        self.stub_capacity = slots;
        self
    }

    /// Link completely, but never make code executable nor run constructors or
    /// destructors (`relink check`, inspecting what a link produces).
    pub fn link_only(mut self, link_only: bool) -> LinkerOptions {
        self.link_only = link_only;
        self
    }

    /// Support for debuggers: `None` (default) on if one is attached at the first
    /// load, `Some(true)` always (to attach one later), `Some(false)` never.
    pub fn debugger(mut self, debugger: Option<bool>) -> LinkerOptions {
        self.debugger = debugger;
        self
    }

    /// Append every loaded function and stub to `/tmp/perf-<pid>.map`.
    pub fn perf_map(mut self, perf_map: bool) -> LinkerOptions {
        self.perf_map = perf_map;
        self
    }

    /// Write every loaded function and stub, with its code, to
    /// `$HOME/.debug/jit/relink-<pid>/jit-<pid>.dump` (`$JITDUMPDIR` instead of
    /// `$HOME` if set), perf's jitdump format: after `perf record -k 1`,
    /// `perf inject --jit` makes `perf report` name loaded code.
    pub fn perf_jitdump(mut self, perf_jitdump: bool) -> LinkerOptions {
        self.perf_jitdump = perf_jitdump;
        self
    }

    /// Default libraries, as the compiler driver links them (default off): when
    /// loaded objects leave names undefined that the C++ runtime
    /// (`libstdc++.so.6`), the math library (`libm.so.6`) or `libgcc_s.so.1`
    /// define, the library that defines one is loaded as
    /// [`Linker::load_library`] loads it — only a library that provides a needed
    /// name, so a C program never gets the C++ runtime.
    ///
    /// It triggers at the end of every load (`load_file`, `load_files`,
    /// `load_bytes`, `load_batch`, the archive loads), for the names those
    /// objects left undefined, before any of their constructors runs; before a
    /// replace links the new versions; and before objects are placed, for a
    /// variable they reach through a narrow field (`std::cout` read by PIE or
    /// `-fno-pic` code), so that it is treated as the C library's data is.
    /// Archive members are pulled first, as the driver puts these libraries
    /// last on the command line.
    /// Which library defines a name is read from the library file's dynamic
    /// symbol table (found in `LD_LIBRARY_PATH`, the C library's directory and
    /// the system's library directories), so nothing is loaded to find out.
    pub fn default_libraries(mut self, on: bool) -> LinkerOptions {
        self.default_libraries = on;
        self
    }

    /// Threads a batch of files may use (see the field; `0`: the machine's
    /// cores, the default). `1` keeps a load on the calling thread.
    pub fn threads(mut self, threads: usize) -> LinkerOptions {
        self.threads = (threads > 0).then_some(threads);
        self
    }

    /// Whether a load's threads each run on a CPU of their own while it lasts
    /// (see the field; default on). Off, the scheduler places them.
    pub fn pin_threads(mut self, on: bool) -> LinkerOptions {
        self.pin_threads = on;
        self
    }

    /// The threads a load may use: the option, or the machine's cores.
    pub(crate) fn thread_count(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// Test hook: address space left unused between the stub table and the
    /// first object (AArch64 `BL` to stubs then needs veneers).
    #[cfg(feature = "testing")]
    pub fn gap_after_tables(mut self, bytes: u64) -> LinkerOptions {
        self.gap_after_tables = bytes;
        self
    }

    /// Test hook: every load fails at this stage (after its work).
    #[cfg(feature = "testing")]
    pub fn fail_at(mut self, stage: Option<Stage>) -> LinkerOptions {
        self.fail_at = stage;
        self
    }

    /// Test hook: a batch's reading threads pause `pause` before each file, and
    /// each starts only once the linking thread, finding its first chunk not
    /// ready, has taken a file of it; so the linking thread reads some files
    /// itself ([`Stats::taken`]), however fast either thread runs.
    #[cfg(feature = "testing")]
    pub fn slow_readers(mut self, pause: Duration) -> LinkerOptions {
        self.slow_readers = Some(pause);
        self
    }
}

/// Memory accounting of a [`Linker`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes of live objects' pieces and of the slot/stub tables.
    pub live: u64,
    /// Bytes of replaced or unloaded versions awaiting [`Linker::reclaim`].
    pub retired: u64,
    /// Bytes of whole pages the region has in use (what the process maps).
    pub mapped: u64,
    pub objects: usize,
    /// Slot/stub indices in use.
    pub slots: usize,
    /// Per permission class (code, read-only, data, zero-fill): bytes of the
    /// objects' pieces, and bytes of the chunks they are packed into.
    pub by_class: [(u64, u64); 4],
}

/// Time spent in each stage, summed over every load.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Reading and parsing on the linking thread.
    pub parse: Duration,
    /// Reading and parsing (and numbering names) on the reading threads, ahead
    /// of and overlapping the linking thread's stages (batches of files,
    /// `linker/batch.rs`): summed over those threads.
    pub parse_ahead: Duration,
    /// Time the linking thread waited for the reading threads' next object
    /// (with none of the next chunk's files left for it to read itself, and
    /// none of the following chunks' it may read ahead).
    pub waited: Duration,
    /// Files of a batch the linking thread read and parsed itself, rather than
    /// wait for the reading thread that was behind with them (their time is
    /// in `parse`).
    pub taken: usize,
    /// Of `taken`, files of chunks after the one it waited for, read once
    /// every file of that one was taken.
    pub taken_ahead: usize,
    pub layout: Duration,
    pub resolve: Duration,
    pub fixup: Duration,
    pub finalize: Duration,
    pub objects: usize,
    pub relocations: usize,
    /// Branches that went through a veneer because their target was out of reach.
    pub veneers: usize,
    /// Initial-exec TLS loads rewritten to local exec (x86-64 `GOTTPOFF`).
    pub relaxed: usize,
    /// Loads of an object's own variables' addresses through their slots,
    /// rewritten to compute the addresses instead (x86-64 `mov` to `lea`,
    /// AArch64 `ldr` to `add`).
    pub relaxed_got: usize,
}

/// Loads, links and runs relocatable objects in this process.
///
/// # When constructors run
///
/// Nothing runs before the program links: an object's constructors
/// (`.init_array`, `.ctors`) run once every name its code can reach is defined —
/// the names it refers to, and those of the pending objects it calls into, and
/// so on (weak references never hold them back; objects whose constructors ran
/// count as complete). That is at the end of the load that
/// completes them (the object's own batch, or a later load, replace,
/// [`Linker::define`] or [`Linker::load_library`] that defines the last name),
/// or at the first [`Linker::function`] or [`Linker::address`] that finds them
/// complete — as LLVM ORC runs initializers at lookup. Until then they are
/// pending, and an incomplete object's code never runs into a trap stub.
/// Objects that become complete together run in load order, `.init_array.N`
/// by priority across them, as `ld` orders one executable.
///
/// An object unloaded or replaced while its constructors are pending runs no
/// destructors (nothing was constructed), and a replace never runs an old
/// version's pending constructors: the new version's run once it is complete
/// (with `keep_state` too, since the state it keeps was never constructed).
/// With [`LinkerOptions::link_only`] nothing runs at all.
pub struct Linker {
    pub(crate) options: LinkerOptions,
    pub(crate) arch: Arch,
    /// Everything linked so far: what the link stages work over.
    pub(crate) linked: Linked,
    pub(crate) stats: Stats,
    /// The current load's undo record, kept between loads for its memory.
    pub(crate) undo: crate::link::Undo,
    /// Working lists of a load, kept between loads for their memory.
    pub(crate) scratch: crate::link::Scratch,
    /// Objects whose constructors have not run yet because code they can reach
    /// refers to a name nothing defines, in load order (see [`Linker`]).
    pub(crate) pending: Vec<ObjectId>,
    /// The executor where loaded code runs, if not this process.
    pub(crate) remote: Option<std::sync::Arc<crate::memory::remote::Remote>>,
    /// Known libraries opened in the executor (bit per `libraries::KNOWN` entry).
    pub(crate) remote_libraries: u32,
}

impl Linker {
    /// A linker with default options. Memory is reserved at the first load.
    pub fn new() -> Result<Linker> {
        Linker::with_options(LinkerOptions::default())
    }

    pub fn with_options(options: LinkerOptions) -> Result<Linker> {
        let arch = Arch::HOST.ok_or_else(|| {
            Error::Placement("relink runs only on x86-64 and AArch64 hosts".into())
        })?;
        Ok(Linker {
            linked: Linked::new(options.link_only),
            options,
            arch,
            stats: Stats::default(),
            undo: Default::default(),
            scratch: Default::default(),
            pending: Vec::new(),
            remote: None,
            remote_libraries: 0,
        })
    }

    /// A linker whose code runs in `executor`'s process (`relink executor`):
    /// objects are linked here, for the executor's architecture, into memory
    /// both processes map; constructors, entry points, unwind registration
    /// and symbol look-ups happen there (README, "Executors").
    ///
    /// Not available there: [`Linker::function`] pointers (call with
    /// [`Linker::call`] or [`Linker::run_main`]), [`Linker::define`] of host
    /// functions, perf maps and jitdump files. Debugger support
    /// ([`LinkerOptions::debugger`]) is on only when asked for (`Some(true)`):
    /// whether one is attached to the executor is not known here.
    pub fn with_executor(options: LinkerOptions, executor: Executor) -> Result<Linker> {
        if options.perf_map || options.perf_jitdump {
            return Err(Error::Executor(
                "perf maps and jitdump files are not written for an executor's code".into(),
            ));
        }
        let remote = executor.0;
        // Whether a debugger is attached to the executor is not known here:
        // debugger support there is asked for (`Some(true)`) or off.
        let debugger = options.debugger == Some(true);
        let mut linker = Linker::with_options(options.debugger(Some(debugger)))?;
        linker.arch = remote.arch();
        linker.linked.symbols.set_remote(remote.clone());
        linker.remote = Some(remote);
        Ok(linker)
    }

    /// The executor's process id, when code runs in one.
    pub fn executor_pid(&self) -> Option<u32> {
        self.remote.as_ref().map(|r| r.hello().pid)
    }

    /// Requests made to the executor that waited for its answer.
    pub fn executor_round_trips(&self) -> u64 {
        self.remote.as_ref().map_or(0, |r| r.round_trips())
    }

    /// Loads an object file (mapped, not read).
    ///
    /// A static archive is searched as [`Linker::load_archive`] searches it;
    /// the first member it pulls in names the load, and an archive that pulls
    /// in nothing is an error.
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<ObjectId> {
        let path = path.as_ref();
        let ids = self.load_files(&[path])?;
        ids.first().copied().ok_or_else(|| Error::Unsupported {
            at: Location::object(&path.display().to_string()),
            what: "an archive none of whose members is needed yet (load it with \
                   `load_archive`, which returns every member it pulls in)"
                .into(),
        })
    }

    /// Loads several object files as one batch: placement is chosen for all of
    /// them, and their constructors run after all are linked, once complete (see
    /// [`Linker`]). Files are read (large ones mapped) and parsed a few ahead of
    /// the one being linked, on other threads when there are two cores or more; memory
    /// holds a few files, not all. If one
    /// fails, the ones before it stay loaded and the error names the one that
    /// failed. Static archives among them (told apart by their first bytes) are
    /// searched as [`Linker::load_inputs`] searches them; from the first archive
    /// on (from the first file, if the linker had nothing loaded), the files are
    /// linked as it links them.
    pub fn load_files<P: AsRef<Path>>(&mut self, paths: &[P]) -> Result<Vec<ObjectId>> {
        let paths: Vec<&Path> = paths.iter().map(AsRef::as_ref).collect();
        let files = crate::linker::batch::Files { paths: &paths };
        self.load_stream(&files, |linker, first, ids| {
            let paths = &paths[first..];
            let maps = paths
                .iter()
                .map(|p| map_file(p))
                .collect::<Result<Vec<_>>>()?;
            if maps.iter().any(|m| crate::linker::archive::is_archive(m)) {
                return linker.link_inputs(paths, &maps, ids);
            }
            let inputs: Vec<(String, &[u8])> = paths
                .iter()
                .zip(&maps)
                .map(|(p, m)| (p.display().to_string(), m.as_ref()))
                .collect();
            linker.load_all_at_once(&inputs, ids)
        })
    }

    /// Loads an object from bytes; `name` is used in messages.
    pub fn load_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<ObjectId> {
        let ids = self.load_batch(&[(name.to_string(), bytes)])?;
        Ok(ids[0])
    }

    /// Reserves memory placed for what these objects need, without loading them
    /// (a no-op if memory is already reserved and suits them).
    pub fn reserve_for(&mut self, inputs: &[(String, &[u8])]) -> Result<()> {
        let copies: Vec<Option<input::Aligned>> = inputs
            .iter()
            .map(|(_, b)| input::Aligned::if_needed(b))
            .collect();
        let objects = inputs
            .iter()
            .zip(&copies)
            .filter_map(|((name, bytes), copy)| {
                input::parse(name, copy.as_ref().map_or(bytes, input::Aligned::as_slice)).ok()
            })
            .collect::<Vec<_>>();
        self.ensure_space(&objects)
    }

    /// Loads `(name, bytes)` objects as one batch: placement is chosen for all of
    /// them, and their constructors run after all are linked, once complete (see
    /// [`Linker`]). If one fails, the ones before it stay loaded (their
    /// constructors pending) and the error names the one that failed.
    pub fn load_batch(&mut self, inputs: &[(String, &[u8])]) -> Result<Vec<ObjectId>> {
        let slices = crate::linker::batch::Slices { inputs };
        self.load_stream(&slices, |linker, _, ids| {
            linker.load_all_at_once(inputs, ids)
        })
    }

    /// Makes the constructors of objects just linked pending, then runs those
    /// of every pending object that is complete (not when link-only).
    pub(crate) fn run_constructors_of(&mut self, ids: &[ObjectId]) {
        self.add_pending(ids);
        self.run_ready_constructors();
    }

    /// Makes the constructors of `ids` pending, without running any.
    pub(crate) fn add_pending(&mut self, ids: &[ObjectId]) {
        if self.options.link_only {
            return;
        }
        let objects = &self.linked.objects;
        (self.pending).extend(ids.iter().filter(|id| objects.contains_key(id)));
        // Load order is id order (a replaced object keeps its place).
        self.pending.sort_unstable();
        self.pending.dedup();
    }

    /// Runs the constructors of the pending objects whose code reaches only
    /// defined names (see [`Linker`]'s doc), in load order.
    pub(crate) fn run_ready_constructors(&mut self) {
        self.run_constructors_of_pending(false);
    }

    /// Runs the constructors of every pending object, which the caller knows
    /// to be complete (nothing they refer to is undefined), in load order.
    pub(crate) fn run_constructors_of_all_pending(&mut self) {
        self.run_constructors_of_pending(true);
    }

    fn run_constructors_of_pending(&mut self, all_ready: bool) {
        if self.pending.is_empty() || self.options.link_only {
            return;
        }
        let start = Instant::now();
        let ready = if all_ready {
            std::mem::take(&mut self.pending)
        } else {
            let ready = finalize::ready(&self.linked.symbols, &self.linked.objects, &self.pending);
            // `ready` is in load order, a part of `pending` (sorted): a binary
            // search each (a scan of `ready` for each was 12 million compares
            // at 5,001 objects).
            self.pending.retain(|id| ready.binary_search(id).is_err());
            ready
        };
        if !ready.is_empty() {
            if let Some(space) = &self.linked.space {
                finalize::run_constructors(space, &self.linked.objects, &ready);
            }
        }
        self.stats.finalize += start.elapsed();
    }

    /// Whether `id`'s constructors are still pending (it is not complete).
    pub(crate) fn is_pending(&self, id: ObjectId) -> bool {
        self.pending.binary_search(&id).is_ok()
    }

    /// The address of a function, as a typed pointer.
    ///
    /// Fails if any referenced symbol is still undefined (all are reported, with
    /// the library that defines one where it is a known one), and then runs
    /// nothing; otherwise pending constructors run first (see [`Linker`]).
    ///
    /// `F` is an `extern "C" fn` pointer type ([`FnPtr`]); anything else does not
    /// compile.
    ///
    /// # Safety
    /// `F` must match the function's real signature.
    pub unsafe fn function<F: FnPtr>(&mut self, name: &str) -> Result<F> {
        if self.remote.is_some() {
            return Err(Error::Executor(format!(
                "`{name}` runs in the executor's process: call it with `Linker::call` or \
                 `Linker::run_main`"
            )));
        }
        self.check_resolved()?;
        let addr = self.address(name)?;
        // SAFETY: `F` is a function pointer type (`FnPtr` is sealed and implemented
        // only for them) and the caller promises it matches the code at `addr`,
        // which is non-null.
        Ok(unsafe { F::from_address(addr) })
    }

    /// The canonical address of any symbol: a function's stub, a variable's storage.
    ///
    /// Runs the constructors of pending objects that are complete first.
    pub fn address(&mut self, name: &str) -> Result<*const u8> {
        self.run_ready_constructors();
        let id = self.linked.symbols.id(name);
        let binding = match id {
            Some(id) => self.linked.symbols.entry(id).binding(None),
            None => Binding::Unresolved { weak: false },
        };
        let addr = match (binding, id) {
            (Binding::Object(d), Some(id)) if d.code => {
                let slot = self.linked.slot_for(id, &binding)?;
                self.space()?.stubs.stub_addr(slot)
            }
            (Binding::Object(d), _) => d.address,
            (Binding::Host(p) | Binding::Process(p), _) => p.address,
            (Binding::Unresolved { .. }, _) => match self.linked.symbols.process_lookup(name) {
                Some(p) => p.address,
                None => return Err(Error::NotFound(name.to_string())),
            },
        };
        Ok(addr as *const u8)
    }

    /// The address of a symbol's current implementation, bypassing its stub: it
    /// changes when the object is replaced, so hold [`Linker::address`] instead.
    /// For benchmarks and debuggers.
    pub fn definition_address(&self, name: &str) -> Option<*const u8> {
        self.linked.definition_address(name).map(|a| a as *const u8)
    }

    /// Defines `name` for loaded code (looked up after objects, before the process).
    /// Objects already loaded that refer to it are re-bound; if one of their direct
    /// references cannot reach `address`, that is the error and nothing changes.
    /// Pending constructors it completes run before it returns.
    pub fn define(&mut self, name: &str, address: *const u8) -> Result<()> {
        if self.remote.is_some() {
            return Err(Error::Executor(format!(
                "`{name}`: a host address means nothing in the executor's process"
            )));
        }
        let (id, _) = self.linked.symbols.intern(name);
        let entry = self.linked.symbols.entry_mut(id);
        let before = entry.binding(None);
        let old = entry.set_host(Some(crate::symbols::ProcessSymbol {
            address: address as u64,
            size: 0,
            function: true,
        }));
        if before != entry.binding(None) {
            if let Err(e) = self.linked.rebind(id) {
                self.linked.symbols.entry_mut(id).set_host(old);
                return Err(e);
            }
        }
        // The name may have been the last one a pending object waited for.
        self.run_ready_constructors();
        Ok(())
    }

    /// Every referenced symbol that nothing defines, with the objects needing it.
    pub fn undefined(&self) -> Vec<Unresolved> {
        self.linked
            .symbols
            .unresolved()
            .into_iter()
            .map(|(symbol, ids)| Unresolved {
                hint: self.library_hint(&symbol),
                symbol,
                needed_by: ids.iter().map(|id| self.object_name(*id)).collect(),
            })
            .collect()
    }

    /// `Err(Undefined)` listing every unresolved symbol, if there are any.
    pub fn check_resolved(&self) -> Result<()> {
        let symbols = self.undefined();
        if symbols.is_empty() {
            Ok(())
        } else {
            Err(Error::Undefined { symbols })
        }
    }

    /// Unloads an object: runs its destructors (none if its constructors were
    /// still pending), removes its symbols (their slots trap, or fall back to
    /// another definition) and frees its memory.
    ///
    /// Refused (nothing changes) while another loaded object refers to one of its
    /// variables that nothing else defines. Its memory is retired, not freed: see
    /// [`Linker::reclaim`].
    pub fn unload(&mut self, id: ObjectId) -> Result<()> {
        if !self.linked.objects.contains_key(&id) {
            return Err(Error::UnknownObject(id.0));
        }
        // Variables of COMDAT groups kept alive for their users do not count.
        let kept = self
            .linked
            .group_names(&self.linked.groups_to_keep(id, None));
        crate::link::unload::check(&self.linked, id, &[id], |name| {
            !kept.iter().any(|k| k == name)
        })?;
        let patches = crate::link::unload::plan(&mut self.linked, id)?;
        if self.is_pending(id) {
            // Its constructors never ran: nothing to destroy.
            self.pending.retain(|p| *p != id);
        } else if let (false, Some(space)) = (self.options.link_only, &self.linked.space) {
            finalize::run_destructors(space, &self.linked.objects, &[id]);
        }
        crate::link::unload::remove_planned(&mut self.linked, id, &patches);
        Ok(())
    }

    /// Replaces a loaded object with a new version; see [`Linker::replace_with`].
    pub fn replace(&mut self, id: ObjectId, bytes: &[u8]) -> Result<()> {
        self.replace_with(id, bytes, ReplaceOptions::default())
            .map(|_| ())
    }

    /// Replaces a loaded object with a new version, without touching any other.
    ///
    /// The new version is linked completely (relocations applied, code protected
    /// and made coherent) before it is published: then each of its functions' slots
    /// is rewritten with one atomic store, so `address("f")`, pointers stored in
    /// other objects and GOT entries — which all hold the stub — call the new code.
    /// `id` keeps naming the object. If anything fails, nothing changes.
    ///
    /// Global variables of the same name and size keep their address (other
    /// objects' direct references stay valid); their contents are re-initialised
    /// from the new version, or kept with `keep_state` (which also keeps statics
    /// matched by a unique name and size, and keeps pointers they hold into the
    /// old version valid). A variable whose size or alignment changed, or that
    /// became thread-local, gets new storage, and every direct reference to it is
    /// re-patched through the reverse index. A new version that drops a variable
    /// another object still uses, or leaves a name undefined (unless
    /// [`ReplaceOptions::allow_undefined`]), is refused, naming them. The
    /// returned [`ReplaceReport`] lists what was kept and re-initialised, and why.
    /// Thread-local variables start from the new version's image (with
    /// `keep_state` too); for static-TLS objects only on the calling thread and
    /// on threads started later.
    ///
    /// Without `keep_state`, the old version's destructors and the new version's
    /// constructors run (after the switch); with it, neither does. The old version's
    /// code is retired, not freed: see [`Linker::reclaim`].
    pub fn replace_with(
        &mut self,
        id: ObjectId,
        bytes: &[u8],
        options: ReplaceOptions,
    ) -> Result<ReplaceReport> {
        self.replace_set(&[(id, bytes)], options)
    }

    /// Replaces several objects as one transaction: all switch, or none does
    /// (an edit to a header rebuilds several files). Each new version is linked
    /// completely, then they are checked together — a variable may move from
    /// one to another, a name one drops another may define — and published one
    /// after the other; direct references among them are re-patched at the end.
    /// Otherwise as [`Linker::replace_with`], with one report for all.
    pub fn replace_many(
        &mut self,
        items: &[(ObjectId, &[u8])],
        options: ReplaceOptions,
    ) -> Result<ReplaceReport> {
        self.replace_set(items, options)
    }

    /// Frees the memory of replaced and unloaded versions.
    ///
    /// Dropping the linker frees everything. Returns the bytes freed.
    ///
    /// # Safety
    /// No thread may be executing retired code, or be about to return into it:
    /// call it between calls into loaded code, as `relink watch` does.
    pub unsafe fn reclaim(&mut self) -> u64 {
        if self.linked.space.is_none() {
            return 0;
        }
        // Their unwinder registrations point into the memory about to be freed.
        self.linked.retired.frames.clear();
        let retired = std::mem::take(&mut self.linked.retired.pieces);
        self.linked.release_tls(&retired);
        self.linked.retired.pieces = retired;
        let Some(space) = self.linked.space.as_mut() else {
            return 0;
        };
        for slot in self.linked.retired.slots.drain(..) {
            let message = "call through a freed GOT entry".to_string();
            space.stubs.release(&mut space.region, slot, message);
        }
        let mut freed = 0;
        for piece in self.linked.retired.pieces.drain(..) {
            freed += piece.len;
            space.pools.free(&mut space.region, piece);
        }
        freed
    }

    /// Test hook: make loads and replaces fail after `stage` from now on.
    #[cfg(feature = "testing")]
    pub fn set_fail_at(&mut self, stage: Option<Stage>) {
        self.options.fail_at = stage;
    }

    /// A deterministic digest of everything a load may change: objects, memory
    /// accounting, and per name its definitions, references, sites and slot. Two
    /// equal digests mean a failed operation left the linker as it was.
    #[cfg(feature = "testing")]
    pub fn state_digest(&self) -> String {
        let symbols = &self.linked.symbols;
        let mut names: Vec<(crate::symbols::NameId, &str, &crate::symbols::Entry)> =
            symbols.iter().collect();
        names.sort_by(|a, b| a.1.cmp(b.1));
        let mut out = format!("{:?}\n", self.memory());
        for (id, o) in &self.linked.objects {
            out.push_str(&format!("object {id} {} {:?}\n", o.name, o.pieces));
        }
        for (id, name, e) in names {
            // The set of referring objects (their order is the order they
            // were added in, which an undone operation may change).
            let mut refs: Vec<_> = symbols.refs(id).collect();
            refs.sort_unstable();
            out.push_str(&format!(
                "{name}: defs {:?} host {:?} refs {:?} sites {} slot {:?}\n",
                e.defs,
                e.host(),
                refs,
                e.sites().len(),
                e.slot
            ));
        }
        out
    }

    /// The region's target address and a digest of the bytes of every range
    /// allocated in it (code, data, tables): two linkers that made the same
    /// decisions at the same base have equal ones.
    #[cfg(feature = "testing")]
    pub fn image_digest(&self) -> (u64, u64) {
        let Some(space) = &self.linked.space else {
            return (0, 0);
        };
        let region = &space.region;
        // FNV-1a over (offset, bytes) of each allocated range.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |b: u8| {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        for (offset, len) in region.allocated() {
            offset.to_le_bytes().into_iter().for_each(&mut mix);
            region.bytes(offset, len).iter().for_each(|b| mix(*b));
        }
        (region.target_base(), h)
    }

    /// Memory accounting: live and retired bytes, objects, symbols with slots.
    pub fn memory(&self) -> MemoryStats {
        let retired = self.linked.retired.pieces.iter().map(|p| p.len).sum();
        let (pieces, tables, mapped) = self.linked.space.as_ref().map_or((0, 0, 0), |s| {
            (s.pools.used(), s.stubs.block().len, s.region.in_use())
        });
        MemoryStats {
            live: pieces + tables - retired,
            retired,
            mapped,
            objects: self.linked.objects.len(),
            slots: self.linked.space.as_ref().map_or(0, |s| s.stubs.len()),
            by_class: self
                .linked
                .space
                .as_ref()
                .map_or([(0, 0); 4], |s| s.pools.by_class()),
        }
    }

    /// Runs every object's destructors, then leaves the linker's memory to the
    /// operating system instead of freeing it piece by piece: for a process that
    /// is about to exit (as `relink run` is).
    pub fn finish(self) {
        self.run_all_destructors();
        std::mem::forget(self);
    }

    /// Drops the linker's bookkeeping (names, objects' metadata) but keeps every
    /// loaded object's code and data mapped and callable, for a host that wants
    /// the code to outlive the `Linker` ("destruct the ExecutionEngine but keep
    /// the JIT code alive"). A deliberate leak: the region, the stub table (its
    /// slots frozen as they are), unwind and debugger registrations, thread-local
    /// modules and retired versions stay for the life of the process. Nothing
    /// runs now: exit handlers the code registered (`atexit`, static destructors
    /// through `__cxa_atexit`) run at process exit, as a native library's do;
    /// constructors still pending never run. Function pointers and addresses
    /// handed out before stay valid.
    pub fn detach(mut self) {
        let kept = (
            self.linked.space.take(),
            std::mem::take(&mut self.linked.objects),
            std::mem::take(&mut self.linked.kept),
            std::mem::take(&mut self.linked.retired),
            std::mem::take(&mut self.linked.tls_images),
        );
        std::mem::forget(kept);
        // `self` drops with nothing loaded: no destructor, no unregistration.
    }

    /// Every loaded object's destructors, in reverse link order (not when
    /// link-only; not those whose constructors are pending).
    fn run_all_destructors(&self) {
        // In order, from the map itself (not a look-up per id).
        let objects: Vec<&crate::link::Loaded> = (self.linked.objects.iter())
            .filter(|(id, _)| !self.is_pending(**id))
            .map(|(_, o)| o)
            .collect();
        if let (false, Some(space)) = (self.options.link_only, &self.linked.space) {
            finalize::run_destructors_of(space, &objects);
        }
    }

    /// Time spent per stage so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Loaded objects, in load order.
    pub fn objects(&self) -> impl Iterator<Item = (ObjectId, &str)> {
        self.linked
            .objects
            .iter()
            .map(|(id, o)| (*id, o.name.as_str()))
    }

    /// Bytes of memory the loaded objects and tables occupy (whole pages).
    pub fn memory_in_use(&self) -> u64 {
        self.linked.space.as_ref().map_or(0, |s| s.region.in_use())
    }

    /// Where the region was placed, once something was loaded.
    pub fn region(&self) -> Option<(u64, u64, Placement)> {
        self.linked
            .space
            .as_ref()
            .map(|s| (s.region.target_base(), s.region.size(), s.placement))
    }

    pub(crate) fn object_name(&self, id: ObjectId) -> String {
        self.linked.object_name(id)
    }

    /// The failure the `fail_at` test hook injects after `stage`, if any.
    pub(crate) fn injected(&self, stage: Stage) -> Result<()> {
        match self.options.fail_at {
            Some(s) if s == stage => Err(Error::Injected(format!("{stage:?}"))),
            _ => Ok(()),
        }
    }

    pub(crate) fn space(&mut self) -> Result<&mut Space> {
        self.linked.space()
    }

    pub(crate) fn new_id(&mut self) -> ObjectId {
        self.linked.new_id()
    }

    /// Reserves the region, placed for what `objects` need.
    pub(crate) fn ensure_space(&mut self, objects: &[Object]) -> Result<()> {
        for o in objects {
            if o.arch != self.arch {
                return Err(Error::WrongArch {
                    object: o.name.clone(),
                    found: o.arch.to_string(),
                    expected: self.arch.to_string(),
                });
            }
        }
        self.open_default_libraries_for_data(objects)?;
        let needs = crate::link::placement::needs(objects, &self.linked.symbols);
        if let Some(space) = &self.linked.space {
            crate::link::placement::check(
                &needs,
                space.placement,
                space.region.target_base(),
                space.region.size(),
            )?;
            return self.copy_out_of_reach(&needs);
        }
        let placement = crate::link::placement::choose(&needs, self.options.placement)?;
        let mut region = match &self.remote {
            Some(remote) => {
                Region::reserve_remote(remote.clone(), self.options.region_size, placement)
                    .map_err(|e| self.explain(e))?
            }
            None => Region::reserve(self.options.region_size, placement)?,
        };
        region.set_no_exec(self.options.link_only);
        let debugger =
            self.options.debugger.unwrap_or_else(tracer_attached) && !self.options.link_only;
        if debugger && !crate::memory::qemu_user() {
            region.make_debuggable()?;
        }
        if placement == Placement::Low && region.target_base() + region.size() > LOW_LIMIT {
            return Err(Error::Placement("the low region ends above 2 GiB".into()));
        }
        let stubs = StubTable::new(&mut region, self.arch, self.options.stub_capacity)?;
        if self.options.gap_after_tables > 0 {
            // Never freed: the hole stays for the region's life.
            region.alloc(self.options.gap_after_tables, region.page_size())?;
        }
        self.linked.space = Some(Space {
            region,
            stubs,
            pools: Pools::default(),
            placement,
            debugger,
        });
        self.copy_out_of_reach(&needs)
    }

    /// Gives the process variables that the objects' narrow fields cannot reach
    /// a copy within reach (`memory::copies`), and rebinds the objects already
    /// loaded that refer to them to the copy.
    fn copy_out_of_reach(&mut self, needs: &crate::link::placement::Needs) -> Result<()> {
        let Some(space) = &self.linked.space else {
            return Ok(());
        };
        let (base, size) = (space.region.target_base(), space.region.size());
        let list = crate::link::placement::out_of_reach(needs, base, size);
        if list.is_empty() {
            return Ok(());
        }
        let remote = self.remote.as_deref();
        for (name, copy) in crate::link::placement::make_copies(remote, &list, base, size)? {
            let Some(id) = self.linked.symbols.id(&name) else {
                continue;
            };
            let entry = self.linked.symbols.entry_mut(id);
            if matches!(entry.process(), Some(Some(p)) if p != copy) {
                let before = entry.binding(None);
                entry.set_process(Some(Some(copy)));
                if before != entry.binding(None) {
                    self.linked.rebind(id)?;
                }
            }
        }
        Ok(())
    }
}

/// Whether a debugger (any ptrace tracer) is attached to this process.
fn tracer_attached() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .is_some_and(|pid| pid.trim() != "0")
    })
}

pub(crate) fn map_file(path: &Path) -> Result<memmap2::Mmap> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    crate::linker::batch::map_file(&file, path)
}

impl Drop for Linker {
    fn drop(&mut self) {
        self.run_all_destructors();
        // Unregister from the unwinder and the debugger while the memory they
        // point into is still mapped (the region goes when `space` drops).
        self.linked.objects.clear();
        self.linked.kept.clear();
        self.linked.retired.frames.clear();
        // Every thread's blocks, while the images are still mapped.
        self.linked.release_all_tls();
    }
}

impl Linker {
    /// Names the loaded code at `address` (a return address from a backtrace, a
    /// sampled PC): the object, the function and the offset into it. Works for
    /// every loaded object, with or without debug information; `None` for
    /// addresses outside loaded functions (stubs, veneers, the host).
    pub fn symbolize(&self, address: u64) -> Option<runtime::Symbolized> {
        self.linked.objects.values().find_map(|o| {
            let (name, start) = o.functions.find(address)?;
            Some(runtime::Symbolized {
                object: o.name.clone(),
                function: name.to_string(),
                offset: address - start,
            })
        })
    }

    /// Makes a shared library's symbols available to loaded objects (`dlopen` with
    /// `RTLD_GLOBAL`; the library stays loaded for the life of the process).
    ///
    /// `name` is passed to `dlopen` as given when it contains `/` or `.so`;
    /// otherwise it is a short name as for `-l`: `lib{name}.so`, then
    /// `lib{name}.so.N` for N = 0..9 (so `stdc++` finds `libstdc++.so.6` without
    /// the development symlink). Names of loaded objects that nothing defined are
    /// bound to it, and pending constructors it completes run (see [`Linker`]).
    /// C++ objects need `stdc++` (unless [`LinkerOptions::default_libraries`]).
    pub fn load_library(&mut self, name: &str) -> Result<()> {
        self.open_library(name)?;
        // Names looked up before (and not found) may be the library's: bind them,
        // and run the constructors that waited for them.
        let bound = self.bind_to_libraries();
        self.run_ready_constructors();
        bound
    }

    /// What this linker has registered with the process right now.
    pub fn registrations(&self) -> runtime::Registrations {
        let objects = self.linked.objects.values();
        runtime::Registrations {
            unwind: objects
                .clone()
                .flat_map(|o| std::iter::once(o).chain(&o.older))
                .map(|o| o.unwind.len())
                .sum::<usize>()
                + self.linked.retired.frames.len(),
            debugger: objects.filter(|o| o.debug.is_some()).count(),
        }
    }
}

impl Linker {
    /// A [`Binder`] over this linker's state (memory must be reserved).
    pub(crate) fn binder(&mut self) -> Result<Binder<'_>> {
        let space = crate::link::loaded(self.linked.space.as_mut())?;
        Ok(Binder {
            symbols: &mut self.linked.symbols,
            space,
            objects: &self.linked.objects,
            tls_images: &self.linked.tls_images,
            deferred: &mut self.linked.deferred,
            scratch: &mut self.scratch,
        })
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A function pointer type [`Linker::function`] hands out: `extern "C" fn` and
/// `unsafe extern "C" fn` with up to twelve arguments. Sealed: other types
/// cannot implement it.
///
/// ```compile_fail
/// let mut linker = relink::Linker::new().unwrap();
/// let not_a_function: u8 = unsafe { linker.function::<u8>("f") }.unwrap();
/// ```
pub trait FnPtr: Copy + sealed::Sealed {
    /// # Safety
    /// `address` is non-null and holds code of this type's signature.
    #[doc(hidden)]
    unsafe fn from_address(address: *const u8) -> Self;
}

macro_rules! fn_ptr {
    ($($arg:ident),*) => {
        fn_ptr!(@one extern "C" fn($($arg),*) -> R; $($arg),*);
        fn_ptr!(@one unsafe extern "C" fn($($arg),*) -> R; $($arg),*);
    };
    (@one $ty:ty; $($arg:ident),*) => {
        impl<R, $($arg),*> sealed::Sealed for $ty {}
        impl<R, $($arg),*> FnPtr for $ty {
            unsafe fn from_address(address: *const u8) -> Self {
                // SAFETY: a function pointer is pointer-sized; the caller
                // promises `address` is code of this signature.
                unsafe { std::mem::transmute_copy::<*const u8, Self>(&address) }
            }
        }
    };
}

fn_ptr!();
fn_ptr!(A);
fn_ptr!(A, B);
fn_ptr!(A, B, C);
fn_ptr!(A, B, C, D);
fn_ptr!(A, B, C, D, E);
fn_ptr!(A, B, C, D, E, F);
fn_ptr!(A, B, C, D, E, F, G);
fn_ptr!(A, B, C, D, E, F, G, H);
fn_ptr!(A, B, C, D, E, F, G, H, I);
fn_ptr!(A, B, C, D, E, F, G, H, I, J);
fn_ptr!(A, B, C, D, E, F, G, H, I, J, K);
fn_ptr!(A, B, C, D, E, F, G, H, I, J, K, L);
