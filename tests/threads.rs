//! `LinkerOptions::threads`: a batch linked on one thread, and with reading,
//! parsing and numbering names ahead on one, two or four others, gives the same
//! linker — the same state (every name's definitions, references, sites and
//! slot), the same bytes in every allocated range of the region at the same
//! address — and the same result; and a batch that fails part-way leaves the
//! same objects loaded whatever the threads. Each also holds when the reading
//! threads lag (a test hook slows them) and the linking thread reads files of
//! the batch itself, also of chunks after the one it waits for (kept until
//! their turn). With several threads, each runs on a CPU of its own while the
//! load lasts (`LinkerOptions::pin_threads`, on by default); the calling
//! thread's CPU mask is the same after the load as before, whether it links or
//! fails, and the linker is the same with the threads left to the scheduler.
//! Objects: 60 generated modules (benches/gen_corpus.py, llc, pic) and main.

mod common;

use std::fs;

use relink::{Linker, LinkerOptions, Placement};

/// The reading threads' pause before each file when they are made to lag: far
/// longer than linking a small object takes.
const SLOW: std::time::Duration = std::time::Duration::from_millis(3);

/// How the messages name a run: `3 threads`, `2 threads, slow readers`,
/// `2 threads, not pinned`.
fn label(threads: usize, slow: bool, pin: bool) -> String {
    let slow = if slow { ", slow readers" } else { "" };
    let pin = if pin { "" } else { ", not pinned" };
    format!("{threads} threads{slow}{pin}")
}

/// The calling thread's CPU mask, as the CPUs in it.
fn cpus() -> Vec<usize> {
    // SAFETY: a zeroed set is valid; the call writes at most its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut set) }, 0);
    (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

/// The tests' linkers are placed low, one at a time, so that each lands where
/// the one before it did.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn every_thread_count_links_the_same() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = std::env::temp_dir().join(format!("relink-threads-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let (objects, want) = common::generated_corpus(&dir, 60, 5);

    // One linker at a time, placed low: each reserves its region where the
    // first's was (low placement tries the same addresses in order).
    // `slow`: the reading threads lag, and the linking thread reads files too.
    let link = |threads: usize, slow: bool, pin: bool| {
        let mut options = LinkerOptions::new()
            .threads(threads)
            .pin_threads(pin)
            .placement(Placement::Low);
        if slow {
            options = options.slow_readers(SLOW);
        }
        let mut linker = Linker::with_options(options).unwrap();
        let before = cpus();
        linker.load_files(&objects).unwrap();
        assert_eq!(
            cpus(),
            before,
            "{}: the calling thread's CPU mask after the load",
            label(threads, slow, pin)
        );
        let stats = linker.stats();
        assert!(
            !slow || stats.taken_ahead > 0,
            "{threads} threads, slow readers: the linking thread read no file of a \
             later chunk ({} in all)",
            stats.taken
        );
        let state = linker.state_digest();
        let image = linker.image_digest();
        let status = unsafe { linker.call("main", &[]) }.unwrap() & 0xff;
        (state, image, status)
    };
    let (state1, image1, status1) = link(1, false, true);
    assert_eq!(status1, want, "one thread: main's checksum");
    // 2: one reading thread; 3 and 5: two and four, the chunks dealt out in turn
    // (pinned when the machine has a CPU for each).
    let runs = [
        (2, false, true),
        (2, false, false),
        (3, false, true),
        (5, false, true),
        (2, true, true),
        (3, true, true),
    ];
    for (threads, slow, pin) in runs {
        let (state, image, status) = link(threads, slow, pin);
        let threads = label(threads, slow, pin);
        assert_eq!(status, want, "{threads}: main's checksum");
        assert_eq!(
            image1.0, image.0,
            "{threads}: both regions at one address (else the images cannot be compared)"
        );
        assert!(
            state1 == state,
            "{threads}: the linkers' states differ:\n{state1}\n---\n{state}"
        );
        assert_eq!(
            image1.1, image.1,
            "{threads}: the region's allocated bytes differ"
        );
    }
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_batch_that_fails_part_way_leaves_the_same_objects_whatever_the_threads() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = std::env::temp_dir().join(format!("relink-threads-fail-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let (mut objects, _) = common::generated_corpus(&dir, 60, 5);
    // Input 40 is not an object: inputs 0..40 link, and the error names it.
    let bad = dir.join("bad.o");
    fs::write(&bad, b"not an object file at all").unwrap();
    objects.insert(40, bad);

    let link = |threads: usize, slow: bool| {
        let mut options = LinkerOptions::new()
            .threads(threads)
            .placement(Placement::Low);
        if slow {
            options = options.slow_readers(SLOW);
        }
        let mut linker = Linker::with_options(options).unwrap();
        let before = cpus();
        let error = linker.load_files(&objects).unwrap_err().to_string();
        assert_eq!(
            cpus(),
            before,
            "{}: the calling thread's CPU mask after the failed load",
            label(threads, slow, true)
        );
        let stats = linker.stats();
        assert!(
            !slow || stats.taken_ahead > 0,
            "{threads} threads, slow readers: the linking thread read no file of a \
             later chunk ({} in all)",
            stats.taken
        );
        (error, linker.state_digest(), linker.image_digest())
    };
    let (error1, state1, image1) = link(1, false);
    assert!(
        error1.contains("bad.o"),
        "the error names the input: {error1}"
    );
    for (threads, slow) in [(2, false), (5, false), (2, true)] {
        let (error, state, image) = link(threads, slow);
        let threads = label(threads, slow, true);
        assert_eq!(error, error1, "{threads}: the error");
        assert!(
            state1 == state,
            "{threads}: the linkers' states differ:\n{state1}\n---\n{state}"
        );
        assert_eq!(image1, image, "{threads}: the region");
    }
    fs::remove_dir_all(&dir).ok();
}
