//! Loading a batch of objects as a stream: each input is read, parsed, linked
//! and dropped, and memory holds a few input files and parsed objects, not the
//! whole batch.
//!
//! Files are read and parsed on other threads — as many as
//! `LinkerOptions::threads` allows besides the linking one — in chunks of up to
//! [`CHUNK`] objects dealt out to them in turn, and linked in order
//! ([`Linker::stream_ahead`]): opening and reading a thousand small files is
//! mostly kernel time, and it and parsing overlap linking. The reading threads
//! also do the rest of what depends on an object alone (`link/prepare.rs`:
//! scans of all its relocations and symbols, the check of its unwind
//! instructions), with two reading threads or more number its global names
//! in the batch's dictionary
//! (`symbols/dictionary.rs`, so that the linking thread finds a name's id by
//! index rather than by hash; freed when they are done), and the first of
//! them faults in the pages the linking thread fills next: the region's free
//! space and the stub table's arrays ([`crate::memory::Prefault`]), the symbol
//! table's arrays and, when the linking thread is the main one, the heap below
//! the program break ([`crate::memory::HeapAhead`]). The linking thread —
//! which bounds a load once there are readers enough — does only what needs
//! the symbol table and the region, and, when the next chunk is not ready,
//! reads that chunk's files itself, from the last one back, then some of the
//! following chunks', rather than wait (`Linker::next_chunk`). The objects
//! travel back to the thread that read them to be dropped and their buffers
//! reused, so what one thread allocates another does not free.
//!
//! Inputs in memory ([`Slices`]) and batches of fewer than [`AHEAD_MIN`] files
//! are streamed on one thread, one input at a time.
//!
//! A batch's placement is chosen for all its objects. Streaming cannot look
//! ahead, so a batch that reserves the region places it for its first object; if
//! a later object needs another placement (a static-model object after
//! position-independent ones), the batch is undone — it reserved the region, so
//! nothing else lives there — and loaded again the old way: every object parsed
//! first, the placement chosen for all of them.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::input::{self, Aligned, Object};
use crate::linker::pin;
use crate::linker::Linker;
use crate::memory::{HeapAhead, Prefault};
use crate::symbols::dictionary;
use crate::symbols::ObjectId;
use crate::symbols::{Binding, NameId};

/// Files larger than this are mapped rather than read.
const READ_LIMIT: u64 = 1 << 20;

/// Bytes of code a batch is expected to place from which its code goes into
/// huge pages ([`Region::alloc_window`](crate::memory::Region::alloc_window)):
/// four of them. Making one costs more than its small pages on a VM whose host
/// takes back free memory (4.7 ms against about 1.5 ms, on the reading
/// thread), the last one's unused part stays resident in both views, and the
/// program's run gains little below (wide 1,001, 5.6 MiB of code: README).
const HUGE_CODE: u64 = 4 * crate::memory::HUGE;

/// The window for a reading thread to make a huge page ahead of need
/// ([`Prefault::expect_window`]), if the batch's code goes into huge pages:
/// all `count` objects would place [`HUGE_CODE`] at the rate its first `linked`
/// placed (the pools held `before` bytes of code when it started), and the
/// code chunks' room will not hold the rest.
fn code_window(
    space: &crate::link::Space,
    before: u64,
    linked: usize,
    count: usize,
) -> Option<u64> {
    let (used, chunks) = space.pools.by_class()[0];
    let placed = used.saturating_sub(before);
    let rest = placed / linked.max(1) as u64 * count.saturating_sub(linked) as u64;
    let more = placed + rest >= HUGE_CODE && rest > chunks - used;
    more.then(|| space.region.next_window()).flatten()
}

/// The inputs of a batch, read one at a time.
pub(crate) trait Inputs {
    fn len(&self) -> usize;
    /// Reads input `i` into `slot` (for inputs in memory, at most an aligned copy).
    fn read(&self, i: usize, slot: &mut Slot) -> Result<()>;
    /// Input `i`'s name and 8-byte aligned bytes, as `read` left them in `slot`.
    fn get<'s>(&'s self, i: usize, slot: &'s Slot) -> (&'s str, &'s [u8]);
    /// Whether the batch's `all_at_once` also links archives: then a batch that
    /// meets one links the rest with it (a fresh batch starts over with it).
    fn takes_archives(&self) -> bool {
        false
    }
    /// The inputs' paths, if they are files: `read` then leaves an input wholly
    /// in its slot (name and bytes), and files can be read and parsed ahead on
    /// another thread.
    fn files(&self) -> Option<&[&Path]> {
        None
    }
}

/// Where one input's bytes are kept while it is parsed and linked; reused.
#[derive(Default)]
pub(crate) struct Slot {
    name: String,
    /// Grows to the largest input read and is never cleared: refilling it does
    /// not zero it first (zeroing a thousand files' bytes was 4% of a load's
    /// instructions). `len`: bytes of the current input.
    buffer: Vec<u8>,
    len: usize,
    copy: Option<Aligned>,
    map: Option<memmap2::Mmap>,
}

impl Slot {
    /// The name and bytes of a file `read_file` read.
    fn input(&self) -> (&str, &[u8]) {
        (&self.name, self.bytes(&self.buffer[..self.len]))
    }

    /// The bytes `read` left: a mapping, an aligned copy, or the buffer.
    fn bytes<'s>(&'s self, or: &'s [u8]) -> &'s [u8] {
        if let Some(map) = &self.map {
            return map;
        }
        self.copy.as_ref().map_or(or, Aligned::as_slice)
    }
}

/// Inputs already in memory.
pub(crate) struct Slices<'s, 'b> {
    pub inputs: &'s [(String, &'b [u8])],
}

impl Inputs for Slices<'_, '_> {
    fn len(&self) -> usize {
        self.inputs.len()
    }

    fn read(&self, i: usize, slot: &mut Slot) -> Result<()> {
        slot.copy = Aligned::if_needed(self.inputs[i].1);
        Ok(())
    }

    fn get<'s>(&'s self, i: usize, slot: &'s Slot) -> (&'s str, &'s [u8]) {
        let (name, bytes) = &self.inputs[i];
        (name, slot.bytes(bytes))
    }
}

/// Object files, each read into its slot's reused buffer (large ones mapped).
pub(crate) struct Files<'p> {
    pub paths: &'p [&'p Path],
}

impl Inputs for Files<'_> {
    fn len(&self) -> usize {
        self.paths.len()
    }

    fn read(&self, i: usize, slot: &mut Slot) -> Result<()> {
        read_file(self.paths[i], slot)
    }

    fn get<'s>(&'s self, _: usize, slot: &'s Slot) -> (&'s str, &'s [u8]) {
        slot.input()
    }

    fn takes_archives(&self) -> bool {
        true
    }

    fn files(&self) -> Option<&[&Path]> {
        Some(self.paths)
    }
}

/// Reads the file at `path` into `slot`.
fn read_file(path: &Path, slot: &mut Slot) -> Result<()> {
    slot.name.clear();
    slot.name.push_str(&path.display().to_string());
    (slot.map, slot.copy) = (None, None);
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > READ_LIMIT {
        slot.map = Some(map_file(&file, path)?);
        return Ok(());
    }
    // One read of the size just asked (read_to_end would ask again, and read
    // once more to see the end).
    slot.len = len as usize;
    if slot.buffer.len() < slot.len {
        slot.buffer.resize(slot.len, 0);
    }
    let bytes = &mut slot.buffer[..slot.len];
    file.read_exact(bytes).map_err(|e| Error::io(path, e))?;
    // malloc's memory is 16-byte aligned; copy only if it ever is not.
    slot.copy = Aligned::if_needed(bytes);
    Ok(())
}

pub(crate) fn map_file(file: &std::fs::File, path: &Path) -> Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and private; relink reads it only while loading
    // and copies what it keeps. A file truncated underneath would fault — the same
    // contract every mmap-based reader has.
    unsafe { memmap2::Mmap::map(file) }.map_err(|e| Error::io(path, e))
}

/// Objects the reading thread hands over at once (the first chunks are
/// smaller). Handing them over one at a time woke a thread per object (futex
/// calls were a tenth of both threads' time); a chunk's files and parsed
/// objects take about 0.3 MiB.
const CHUNK: usize = 16;

/// How many files of later chunks the linking thread holds at most, read
/// while it waited for a chunk whose files were all taken
/// ([`Linker::next_chunk`]): half a chunk's. A whole chunk's was no faster
/// (wide 5,001, 20 paired runs: −0.2 ms) and raised rich 1,001's peak RSS by
/// 0.45 MiB (paired median of 20, lower in 6); half is level (+0.21 MiB,
/// lower in 10 of 24; wide 1,001 −0.24 MiB, 13 of 24).
const STASH: usize = CHUNK / 2;

/// Whether the reading threads number the names of a batch
/// (`symbols/dictionary.rs`) when there are `readers` of them. Numbering moves
/// the names' hash probes off the linking thread, but costs the readers CPU
/// (they build a second hash index). With one reading thread, which on two
/// cores shares them with the linking thread, it no longer pays: once the
/// linking thread reads files ahead rather than wait ([`STASH`]), both
/// threads stay busy to the end, and what counts is the CPU time of both.
/// Paired runs, none against numbering: wall wide 1,001 −4.3 ms (faster in 25
/// of 30), rich 1,001 −1.6 ms (23 of 30), wide 5,001 −25.1 ms (18 of 20),
/// rich 5,001 −13.7 ms (11 of 12); the reading thread −4.1 and −32.6 ms on
/// wide, the linking thread's resolving +0.1 and +6.3 ms. (Before the
/// symbol table had its own index and before reading ahead, numbering had
/// paid from some hundreds of files.) With more readers the linking thread
/// is what bounds a load, and numbering takes work off it.
fn numbers_names(readers: usize) -> bool {
    readers >= 2
}

/// Reading ahead starts a thread; for a few files that costs more than it saves.
const AHEAD_MIN: usize = 8;

/// Whether a batch of `files` files is read and parsed on other threads,
/// for a load that may use `threads` threads.
fn read_ahead_pays(files: usize, threads: usize) -> bool {
    files >= AHEAD_MIN && threads >= 2
}

self_cell::self_cell!(
    /// A file's bytes and the object parsed from them, which borrows them:
    /// made on the reading thread, linked on the linking thread, and sent back
    /// to be dropped and have its buffer reused.
    struct Parsed {
        owner: Slot,
        #[covariant]
        dependent: Object,
    }
);

/// What the reading thread hands the linking thread, in the inputs' order.
enum Ahead {
    /// A parsed object, and the time reading and parsing it took.
    Object(Parsed, Duration),
    /// The next input is an archive: the batch goes on another way.
    Archive,
    Failed(Error),
}

/// One reading thread's ends of [`Linker::stream_ahead`]'s channels.
struct Reading<'a> {
    /// The batch's files (the first is read on the linking thread).
    paths: &'a [&'a Path],
    /// The chunks this thread reads: `chunks[i]` for every `i` that is this
    /// thread's number modulo the number of reading threads.
    chunks: &'a [std::ops::Range<usize>],
    which: usize,
    readers: usize,
    to_link: SyncSender<Vec<(usize, Ahead)>>,
    used: Receiver<Vec<Parsed>>,
    /// Per file: whether a thread has taken it to read (the linking thread
    /// takes files too: [`Linker::next_chunk`]).
    claimed: &'a [AtomicBool],
    /// Only the first reading thread faults pages in: the region's and the
    /// symbol table's.
    prefault: Option<(&'a OnceLock<Prefault>, &'a HeapAhead)>,
    /// The batch's, when its names are numbered ([`numbers_names`]).
    dictionary: Option<&'a dictionary::Shared>,
    /// Where the reading threads run (`LinkerOptions::pin_threads`).
    pin: Option<&'a pin::Plan>,
    /// Test hook (`LinkerOptions::slow_readers`): a pause before each file,
    /// and the first chunk waits for the linking thread to take a file of it.
    pause: Option<Duration>,
}

/// The linking thread's ends: per reading thread, the chunks it sends and
/// where their objects go back.
struct Linking<'a> {
    paths: &'a [&'a Path],
    plan: &'a [std::ops::Range<usize>],
    claimed: &'a [AtomicBool],
    chunks: Vec<Receiver<Vec<(usize, Ahead)>>>,
    to_reuse: Vec<mpsc::Sender<Vec<Parsed>>>,
    prefault: &'a OnceLock<Prefault>,
    heap: &'a Arc<HeapAhead>,
}

/// How a batch of `count` files (the first read on the linking thread) is cut
/// into chunks: the first ones small, so that linking starts at once, growing
/// to [`CHUNK`] while the linking thread is busy with them.
fn chunk_plan(count: usize) -> Vec<std::ops::Range<usize>> {
    let (mut plan, mut start, mut size) = (Vec::new(), 1, 1);
    while start < count {
        let end = (start + size).min(count);
        plan.push(start..end);
        (start, size) = (end, (size * 2).min(CHUNK));
    }
    plan
}

impl Reading<'_> {
    /// Reads and parses its chunks' files in order, reusing the slots of
    /// objects that come back; between files, faults in the region's next
    /// pages. Stops after an archive or an error, or when the linking thread
    /// stops listening.
    fn run(self) {
        if let Some(plan) = self.pin {
            plan.pin_reader(self.which);
        }
        let dictionary = self.dictionary;
        self.read();
        if let Some(dictionary) = dictionary {
            dictionary.done();
        }
    }

    fn read(self) {
        let mut slots: Vec<Slot> = Vec::new();
        let mut waited = self.pause.is_none();
        for chunk in self.chunks.iter().skip(self.which).step_by(self.readers) {
            if !waited {
                // Test hook: starts once the linking thread has taken a file
                // of its first chunk (as it does, finding the chunk not
                // ready), so that it takes files however fast either runs.
                let start = Instant::now();
                while !chunk
                    .clone()
                    .any(|i| self.claimed[i].load(Ordering::Acquire))
                    && start.elapsed() < Duration::from_secs(10)
                {
                    std::thread::sleep(Duration::from_micros(100));
                }
                waited = true;
            }
            slots.extend(self.used.try_iter().flatten().map(Parsed::into_owner));
            let mut ahead = Vec::with_capacity(chunk.len());
            for (i, path) in chunk.clone().zip(&self.paths[chunk.clone()]) {
                if let Some(pause) = self.pause {
                    std::thread::sleep(pause);
                }
                if self.claimed[i].swap(true, Ordering::AcqRel) {
                    // The linking thread, waiting for this chunk, read it.
                    continue;
                }
                let slot = slots.pop().unwrap_or_default();
                let next = read_and_parse(path, slot, self.dictionary);
                if let Some((region, heap)) = self.prefault {
                    if let Some(region) = region.get() {
                        region.run();
                    }
                    heap.run();
                }
                let last = !matches!(next, Ahead::Object(..));
                ahead.push((i, next));
                if last {
                    _ = self.to_link.send(ahead);
                    return;
                }
            }
            if self.to_link.send(ahead).is_err() {
                return;
            }
            if let Some(prefault) = self.prefault.and_then(|(region, _)| region.get()) {
                prefault.make_window();
            }
        }
    }
}

/// Reads the file at `path` into `slot` and parses it; with a batch's
/// `dictionary`, numbers its names there.
fn read_and_parse(path: &Path, mut slot: Slot, dictionary: Option<&dictionary::Shared>) -> Ahead {
    let start = Instant::now();
    if let Err(e) = read_file(path, &mut slot) {
        return Ahead::Failed(e);
    }
    if crate::linker::archive::is_archive(slot.input().1) {
        return Ahead::Archive;
    }
    let parsed = Parsed::try_new(slot, |slot| {
        let (name, bytes) = slot.input();
        input::parse(name, bytes)
    });
    match parsed {
        Ok(parsed) => {
            // Worked out here, off the linking thread.
            let object = parsed.borrow_dependent();
            crate::link::prepare::prepare(object);
            if let Some(dictionary) = dictionary {
                crate::link::prepare::number_names(object, &dictionary.names);
            }
            Ahead::Object(parsed, start.elapsed())
        }
        Err(e) => Ahead::Failed(e),
    }
}

/// How streaming a batch ended.
enum Streamed {
    Done,
    /// An object needs another placement than the one chosen for the first.
    Replace,
    /// Input `i` is an archive (and the batch's `all_at_once` links archives).
    Archive(usize),
}

impl Linker {
    /// Loads a batch as a stream (see the module doc). `all_at_once` loads it
    /// (from the input it is given on) the old way, for a batch that must be
    /// placed for all its objects together, or that holds an archive.
    pub(crate) fn load_stream(
        &mut self,
        inputs: &dyn Inputs,
        all_at_once: impl FnOnce(&mut Linker, usize, &mut Vec<ObjectId>) -> Result<()>,
    ) -> Result<Vec<ObjectId>> {
        let fresh = self.linked.space.is_none();
        let mut ids = Vec::with_capacity(inputs.len());
        self.linked.deferred = Some(crate::link::Deferred::default());
        let counted = (
            self.stats.objects,
            self.stats.relocations,
            self.stats.relaxed,
            self.stats.relaxed_got,
        );
        let linked = match self.stream(inputs, fresh, &mut ids) {
            // The objects before the archive stay, as they would if it failed.
            Ok(Streamed::Archive(i)) if !fresh => all_at_once(self, i, &mut ids),
            Ok(Streamed::Replace | Streamed::Archive(_)) => {
                // They are linked again: count them once (their time counts).
                (
                    self.stats.objects,
                    self.stats.relocations,
                    self.stats.relaxed,
                    self.stats.relaxed_got,
                ) = counted;
                self.forget_fresh_batch(&ids);
                ids.clear();
                all_at_once(self, 0, &mut ids)
            }
            Ok(Streamed::Done) => Ok(()),
            Err(e) => Err(e),
        };
        // Finished also when linking failed (the objects before stay).
        let finished = self.finish_deferred();
        let complete = matches!(finished, Ok(true));
        // Complete: nothing the batch refers to is undefined, so no default
        // library is needed — without a look at each name each object refers
        // to (wide 1,001: 150,000 references, 1-2 ms after the last object).
        let linked = (linked.and(finished)).and_then(|_| match complete {
            true => Ok(()),
            false => self.load_default_libraries(&ids),
        });
        if let Err(e) = linked {
            // The objects before the failing one stay loaded: bind their ifuncs;
            // their constructors wait for the next load or look-up.
            _ = self.linked.run_pending_resolvers();
            self.add_pending(&ids);
            if fresh && self.linked.objects.is_empty() {
                // Nothing was loaded: give back the region this call reserved.
                self.linked.space = None;
            }
            return Err(e);
        }
        // Resolvers run once every name of the batch is bound, before any
        // constructor (which may call an ifunc).
        self.linked.run_pending_resolvers()?;
        if complete && self.pending.is_empty() {
            // Nothing anything loaded refers to is undefined: every object is
            // ready, without a look at each name each refers to (a million
            // cache misses at wide 5,001, 3.5 ms).
            self.add_pending(&ids);
            self.run_constructors_of_all_pending();
        } else {
            self.run_constructors_of(&ids);
        }
        Ok(ids)
    }

    /// Links the inputs as they are read, until an archive (or the end); a
    /// batch of [`AHEAD_MIN`] inputs or more has its code and read-only
    /// chunks cut from runs ([`Pools::use_runs`](crate::memory::pack::Pools::use_runs)),
    /// whatever the number of threads, so that its image is the same.
    fn stream(
        &mut self,
        inputs: &dyn Inputs,
        fresh: bool,
        ids: &mut Vec<ObjectId>,
    ) -> Result<Streamed> {
        let streamed = self.stream_inputs(inputs, fresh, ids);
        if let Some(space) = self.linked.space.as_mut() {
            space.pools.end_runs(&mut space.region);
        }
        streamed
    }

    fn stream_inputs(
        &mut self,
        inputs: &dyn Inputs,
        fresh: bool,
        ids: &mut Vec<ObjectId>,
    ) -> Result<Streamed> {
        let threads = self.options.thread_count();
        if let Some(paths) = inputs.files().filter(|p| read_ahead_pays(p.len(), threads)) {
            if let Some(streamed) = self.stream_ahead(paths, threads, fresh, ids) {
                return streamed;
            }
        }
        let count = inputs.len();
        let mut slot = Slot::default();
        for i in 0..count {
            let start = Instant::now();
            inputs.read(i, &mut slot)?;
            let (name, bytes) = inputs.get(i, &slot);
            if inputs.takes_archives() && crate::linker::archive::is_archive(bytes) {
                return Ok(Streamed::Archive(i));
            }
            let object = input::parse(name, bytes)?;
            self.stats.parse += start.elapsed();
            if let Some(end) = self.place_and_link(&object, i, count, fresh, ids)? {
                return Ok(end);
            }
        }
        Ok(Streamed::Done)
    }

    /// As [`Linker::stream`], with the files read and parsed on other threads
    /// (`threads` − 1, the load's threads besides this one), a chunk of up to
    /// [`CHUNK`] objects at a time, the chunks dealt out to them in turn.
    /// `None` if no thread could be started (nothing was read).
    fn stream_ahead(
        &mut self,
        paths: &[&Path],
        threads: usize,
        fresh: bool,
        ids: &mut Vec<ObjectId>,
    ) -> Option<Result<Streamed>> {
        let count = paths.len();
        let plan = chunk_plan(count);
        let readers = (threads - 1).clamp(1, plan.len().max(1));
        // Set once the region exists; the region outlives the scope.
        let prefault = OnceLock::new();
        // SAFETY: neither call has arguments or fails.
        let heap = Arc::new(match unsafe { libc::gettid() == libc::getpid() } {
            true => HeapAhead::following_break(),
            false => HeapAhead::default(),
        });
        // The reading threads and this one (which reads the first file) number.
        let dictionary = numbers_names(readers).then(|| dictionary::Shared::new(readers + 1));
        // Per file: whether a thread has taken it to read.
        let claimed: Vec<AtomicBool> = (0..count).map(|_| AtomicBool::new(false)).collect();
        // This thread's mask comes back when `_pinned` goes, after the scope.
        let (cpus, _pinned) = match self.options.pin_threads {
            true => pin::Plan::new(readers).unzip(),
            false => (None, None),
        };
        std::thread::scope(|scope| {
            let mut linking = Linking {
                paths,
                plan: &plan,
                claimed: &claimed,
                chunks: Vec::with_capacity(readers),
                to_reuse: Vec::with_capacity(readers),
                prefault: &prefault,
                heap: &heap,
            };
            // Up to two chunks wait, in all, while the reading threads fill
            // the next ones and this thread links one. With one, a reading
            // thread's slow stretches (a file read from disk, the thread
            // descheduled) left linking waiting; four were kept until the
            // linking thread read files ahead itself ([`STASH`]), and then,
            // with a reading thread that no longer numbers names and so runs
            // ahead, held 2 MiB more at the peak (wide 5,001, paired median
            // of 8, higher in 7). Two measure as fast (wide 1,001, 30 paired
            // runs: −0.1 ms; wide 5,001, 10: +0.7 ms) and leave the peak 0.9
            // MiB below where it was with numbering (lower in 6 of 8). With
            // more readers each keeps fewer ready (at least one), so that
            // memory holds about as many parsed objects whatever the cores.
            let depth = (2 / readers).max(1);
            for which in 0..readers {
                let (to_link, chunks) = mpsc::sync_channel(depth);
                let (to_reuse, used) = mpsc::channel();
                let reading = Reading {
                    paths,
                    chunks: &plan,
                    which,
                    readers,
                    to_link,
                    used,
                    claimed: &claimed,
                    pause: self.options.slow_readers,
                    prefault: (which == 0).then_some((&prefault, &*heap)),
                    dictionary: dictionary.as_ref(),
                    pin: cpus.as_ref(),
                };
                let started = std::thread::Builder::new()
                    .name(format!("relink-read{which}"))
                    .spawn_scoped(scope, move || reading.run());
                if started.is_err() {
                    // Fewer readers than asked: the chunks were dealt out for
                    // all of them, so none is started (those that were end
                    // when their channels go).
                    return None;
                }
                linking.chunks.push(chunks);
                linking.to_reuse.push(to_reuse);
            }
            // The first file is read here, while the reading threads start.
            let first = read_and_parse(paths[0], Slot::default(), dictionary.as_ref());
            if let Some(dictionary) = &dictionary {
                dictionary.done();
            }
            let streamed = self.link_ahead(&linking, first, fresh, ids);
            self.linked.symbols.stop_ahead();
            if let (Some(prefault), Some(space)) = (prefault.get(), self.linked.space.as_mut()) {
                prefault.finish(&mut space.region);
            }
            Some(streamed)
        })
    }

    /// The linking side of [`Linker::stream_ahead`]: links `first` (read on
    /// this thread) and the chunks as they arrive, in order, and sends their
    /// objects back to be dropped.
    fn link_ahead(
        &mut self,
        at: &Linking,
        first: Ahead,
        fresh: bool,
        ids: &mut Vec<ObjectId>,
    ) -> Result<Streamed> {
        let (count, mut chunk) = (at.paths.len(), vec![(first, true)]);
        let code_before = (self.linked.space.as_ref()).map_or(0, |s| s.pools.by_class()[0].0);
        // Buffers of the files this thread read, for the next ones it reads.
        let mut spare: Vec<Slot> = Vec::new();
        // Files of later chunks this thread read while it waited.
        let mut stash = Vec::new();
        let (mut i, mut next_chunk) = (0, 0);
        // The reading thread the chunk being linked came from.
        let mut from = 0;
        loop {
            let mut linked = Vec::with_capacity(CHUNK);
            for (next, here) in chunk {
                let (parsed, took) = match next {
                    Ahead::Object(parsed, took) => (parsed, took),
                    Ahead::Archive => return Ok(Streamed::Archive(i)),
                    Ahead::Failed(e) => return Err(e),
                };
                if here {
                    self.stats.parse += took;
                } else {
                    self.stats.parse_ahead += took;
                }
                let object = parsed.borrow_dependent();
                if let Some(end) = self.place_and_link(object, i, count, fresh, ids)? {
                    return Ok(end);
                }
                self.linked.symbols.fault_ahead(at.heap);
                if here {
                    // Read here: dropped here (what a thread allocates, it
                    // frees), its buffer kept. Sent to the reading thread, it
                    // grew that thread's pool of buffers by one for each.
                    if spare.len() < CHUNK {
                        spare.push(parsed.into_owner());
                    }
                } else {
                    linked.push(parsed);
                }
                i += 1;
            }
            if let Some(space) = self.linked.space.as_mut() {
                let prefault = at.prefault.get_or_init(|| {
                    space.region.populate_later(true);
                    space.region.prefault().with_arrays(&space.stubs.arrays())
                });
                prefault.expect(&mut space.region);
                prefault.expect_runs(space.pools.run_fronts());
                prefault.expect_index(space.stubs.next_index());
                prefault.expect_window(code_window(space, code_before, i, count));
            }
            // Dropped and their buffers reused there; here if it has ended.
            _ = at.to_reuse[from].send(linked);
            if i >= count {
                return Ok(Streamed::Done);
            }
            from = next_chunk % at.chunks.len();
            // `None` only if the reading thread panicked: leaving the scope
            // then passes its panic on.
            let Some(next) = self.next_chunk(at, next_chunk, from, &mut spare, &mut stash) else {
                return Ok(Streamed::Done);
            };
            next_chunk += 1;
            chunk = next;
        }
    }

    /// The inputs of chunk `k`, which reading thread `from` reads, in order,
    /// each with whether this thread read it. While the chunk is not ready,
    /// this thread reads its files itself, from the last one back (the
    /// reading thread goes forward), rather than wait: a reading thread slowed
    /// down (descheduled on a busy machine, a file read from disk, its first
    /// files' fresh memory) had left the linking thread idle. Once every file
    /// of the chunk is taken, it goes on with the following chunks' files,
    /// also from the last one back, and keeps them in `stash` (up to
    /// [`STASH`]) until their chunk's turn: waiting for the reading thread's
    /// last file of a chunk had left it idle for a median 10.9 ms of a wide
    /// 1,001-object load (20 runs). It reads into `spare` buffers while there
    /// are any. `None` if the reading thread is gone.
    fn next_chunk(
        &mut self,
        at: &Linking,
        k: usize,
        from: usize,
        spare: &mut Vec<Slot>,
        stash: &mut Vec<(usize, Ahead)>,
    ) -> Option<Vec<(Ahead, bool)>> {
        let (mut taken, later): (Vec<_>, Vec<_>) =
            stash.drain(..).partition(|(i, _)| at.plan[k].contains(i));
        *stash = later;
        let received = loop {
            match at.chunks[from].try_recv() {
                Ok(chunk) => break chunk,
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            let untaken = |&i: &usize| !at.claimed[i].swap(true, Ordering::AcqRel);
            let next = at.plan[k].clone().rev().find(untaken).or_else(|| {
                let mut ahead = (k + 1..at.plan.len()).map(|c| at.plan[c].clone());
                let room = stash.len() < STASH;
                room.then(|| ahead.find_map(|files| files.rev().find(untaken)))?
            });
            let Some(i) = next else {
                let start = Instant::now();
                let chunk = at.chunks[from].recv().ok()?;
                self.stats.waited += start.elapsed();
                break chunk;
            };
            // Its names are not numbered, and this thread finds them by hash:
            // numbering locks the dictionary, which the reading threads hold
            // for much of their time (numbering these too, paired runs at
            // wide 5,001 took 45 ms longer, in 6 of 10).
            let slot = spare.pop().unwrap_or_default();
            let read = (i, read_and_parse(at.paths[i], slot, None));
            if at.plan[k].contains(&i) {
                taken.push(read);
            } else {
                stash.push(read);
                self.stats.taken_ahead += 1;
            }
            self.stats.taken += 1;
        };
        // The reading thread's and this thread's, in order: every file of the
        // chunk, unless the reading thread stopped at an archive or a
        // failure, after which nothing is linked.
        let mut chunk: Vec<(usize, Ahead, bool)> = (received.into_iter())
            .map(|(i, a)| (i, a, false))
            .chain(taken.into_iter().map(|(i, a)| (i, a, true)))
            .collect();
        chunk.sort_by_key(|c| c.0);
        Some(chunk.into_iter().map(|(_, a, here)| (a, here)).collect())
    }

    /// Input `i` of `count`, parsed: places it (the batch's first object
    /// reserves the region) and links it. `Some` ends the stream early.
    fn place_and_link(
        &mut self,
        object: &Object,
        i: usize,
        count: usize,
        fresh: bool,
        ids: &mut Vec<ObjectId>,
    ) -> Result<Option<Streamed>> {
        let start = Instant::now();
        if self.linked.space.is_none() {
            let globals = object
                .symbols
                .iter()
                .filter(|s| s.binding != input::Binding::Local);
            self.linked.symbols.reserve(globals.count() * count / 2);
        }
        match self.ensure_space(std::slice::from_ref(object)) {
            Err(Error::Placement(_)) if fresh && i > 0 => return Ok(Some(Streamed::Replace)),
            placed => placed?,
        }
        if count >= AHEAD_MIN {
            if let Some(space) = self.linked.space.as_mut() {
                space.pools.use_runs(&space.region);
            }
        }
        self.stats.layout += start.elapsed();
        self.more_inputs(i + 1 < count);
        ids.push(self.link(object)?);
        Ok(None)
    }

    /// Parses every input, chooses the placement for all of them, then links
    /// them one by one; `ids` receives each object linked, also when a later one
    /// fails. Constructors are not run (archive transactions use this directly).
    pub(crate) fn load_all_at_once(
        &mut self,
        inputs: &[(String, &[u8])],
        ids: &mut Vec<ObjectId>,
    ) -> Result<()> {
        let start = Instant::now();
        let copies: Vec<Option<Aligned>> =
            inputs.iter().map(|(_, b)| Aligned::if_needed(b)).collect();
        let objects = inputs
            .iter()
            .zip(&copies)
            .map(|((name, bytes), copy)| {
                input::parse(name, copy.as_ref().map_or(bytes, Aligned::as_slice))
            })
            .collect::<Result<Vec<_>>>()?;
        self.stats.parse += start.elapsed();
        let names: usize = objects.iter().map(|o| o.symbols.len()).sum();
        self.linked.symbols.reserve(names / 2);
        let start = Instant::now();
        self.ensure_space(&objects)?;
        self.stats.layout += start.elapsed();
        for (i, object) in objects.iter().enumerate() {
            self.more_inputs(i + 1 < objects.len());
            ids.push(self.link(object)?);
        }
        Ok(())
    }

    /// Undoes a batch that reserved the region (no constructor has run): its
    /// objects, their names' definitions, references and slots, and the region go.
    fn forget_fresh_batch(&mut self, ids: &[ObjectId]) {
        // Unwinder and debugger registrations and TLS modules go while the memory
        // they point into is still mapped (as in `Drop for Linker`).
        for id in ids {
            self.linked.objects.remove(id);
        }
        self.linked.kept.clear();
        self.linked.retired.frames.clear();
        self.linked.release_all_tls();
        self.linked.pending_ifuncs.clear();
        self.linked.comdats.clear();
        self.linked.comdat_uses.clear();
        self.linked.retired.pieces.clear();
        self.linked.retired.slots.clear();
        self.linked.space = None;
        let names: Vec<_> = self.linked.symbols.iter().map(|(id, _, _)| id).collect();
        for name in names {
            self.linked.symbols.clear_refs(name);
            let entry = self.linked.symbols.entry_mut(name);
            entry.defs = Default::default();
            entry.retain_sites(|_| false);
            entry.slot = None;
            if entry.is_unused() {
                self.linked.symbols.remove(name);
            }
        }
    }

    /// Records whether inputs of the batch follow the object about to be linked.
    fn more_inputs(&mut self, more: bool) {
        if let Some(d) = self.linked.deferred.as_mut() {
            d.more = more;
        }
    }

    /// Ends a batch: names still defined by no object are looked up in the process
    /// and rebound (slots, GOT entries and direct references follow), then every
    /// stale trap message is written from its name's current state. `Ok(true)`:
    /// every name an object of the batch refers to is defined now (nothing can
    /// hold its constructors back).
    fn finish_deferred(&mut self) -> Result<bool> {
        let Some(deferred) = self.linked.deferred.take() else {
            return Ok(false);
        };
        let live = |linker: &Linker, id: NameId| linker.linked.symbols.contains(id);
        let mut first_error = self.linked.finish_pending_tls(deferred.tls).err();
        let mut complete = !deferred.unresolved_before;
        for id in deferred.lookups {
            // A name may have been removed since (a load rolled back).
            if !live(self, id) {
                continue;
            }
            let entry = self.linked.symbols.entry(id);
            if entry.defs.is_empty() && entry.process().is_none() {
                if let Err(e) = self.linked.rebind(id) {
                    first_error.get_or_insert(e);
                }
            }
            complete &= !self.linked.symbols.entry(id).is_unresolved();
        }
        for id in deferred.traps {
            if !live(self, id) {
                continue;
            }
            let entry = self.linked.symbols.entry(id);
            let (Some(slot), Binding::Unresolved { .. }) = (entry.slot, entry.binding(None)) else {
                continue;
            };
            let message =
                crate::link::slots::trap_message(&self.linked.symbols, &self.linked.objects, id);
            if let Some(space) = &self.linked.space {
                space.stubs.set_message(slot, message);
            }
        }
        first_error.map_or(Ok(complete), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_file_after_the_first_in_order_growing_to_chunk() {
        assert!(chunk_plan(0).is_empty());
        assert!(
            chunk_plan(1).is_empty(),
            "the first file is read by the linking thread"
        );
        let plan = chunk_plan(62);
        let sizes: Vec<usize> = plan.iter().map(|r| r.len()).collect();
        assert_eq!(sizes, [1, 2, 4, 8, 16, 16, 14]);
        assert_eq!(plan[0].start, 1);
        assert!(plan.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(plan.last().map(|r| r.end), Some(62));
    }
}
