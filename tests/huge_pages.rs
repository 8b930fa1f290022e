//! A batch whose code fills several huge pages (`Pools::huge_code`, set by
//! `linker/batch.rs`): its code chunks are 2 MiB windows of the region, each
//! made one huge page in both views (`MADV_COLLAPSE`), so that the loaded
//! program's code takes a TLB entry per 2 MiB.
//!
//! The objects are a call chain in assembly for the architecture under test:
//! `huge_<i>` returns `huge_<i-1>() + i` (through the stub table, as any call
//! between objects) and then runs through 96 KiB of no-ops before it returns, so
//! that every page of every window runs: 100 objects, 9.4 MiB of code.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::assemble;
use relink::Linker;

const COUNT: usize = 100;
/// No-ops after each call, in instructions of 4 bytes (x86-64: 4-byte `nopl`).
const NOPS: usize = 24 << 10;

fn source(i: usize, nops: usize) -> String {
    let (call, nop) = match (i, common::arch()) {
        (0, "x86_64") => (
            "xorl %eax, %eax".to_string(),
            ".byte 0x0f, 0x1f, 0x40, 0x00",
        ),
        (_, "x86_64") => (
            format!(
                "pushq %rax\n call huge_{}@PLT\n addl ${i}, %eax\n popq %rcx",
                i - 1
            ),
            ".byte 0x0f, 0x1f, 0x40, 0x00",
        ),
        (0, _) => ("stp x29, x30, [sp, #-16]!\n mov w0, #0".to_string(), "nop"),
        (_, _) => (
            format!(
                "stp x29, x30, [sp, #-16]!\n bl huge_{}\n add w0, w0, #{i}",
                i - 1
            ),
            "nop",
        ),
    };
    let ret = match common::arch() {
        "x86_64" => "ret",
        _ => "ldp x29, x30, [sp], #16\n ret",
    };
    format!(
        ".text\n.globl huge_{i}\n.type huge_{i},@function\nhuge_{i}:\n {call}\n \
         .rept {nops}\n {nop}\n .endr\n {ret}\n"
    )
}

/// The chain's objects, assembled once per test binary (the tests run at
/// once) into `<target>/tmp/huge-<arch>`.
fn objects() -> Vec<PathBuf> {
    static OBJECTS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    let make = || {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("huge-{}", common::arch()));
        std::fs::create_dir_all(&dir).unwrap();
        (0..COUNT)
            .map(|i| assemble(&dir, &format!("huge_{i}.o"), &source(i, NOPS)))
            .collect()
    };
    OBJECTS.get_or_init(make).clone()
}

fn call(linker: &mut Linker, i: usize) -> i32 {
    let f: extern "C" fn() -> i32 = unsafe { linker.function(&format!("huge_{i}")).unwrap() };
    f()
}

fn triangle(i: usize) -> i32 {
    (i * (i + 1) / 2) as i32
}

/// Bytes of the region's read-execute mappings (both views are `s`hared
/// mappings of the memfd) that are mapped by huge pages, from
/// `/proc/self/smaps`.
#[cfg(target_arch = "x86_64")]
fn huge_code_bytes(linker: &Linker) -> u64 {
    let (base, size, _) = linker.region().unwrap();
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let (mut inside, mut bytes) = (false, 0);
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if let Some((lo, _)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let lo = u64::from_str_radix(lo, 16).unwrap_or(0);
            let perms = words.next().unwrap_or("");
            inside = (base..base + size).contains(&lo) && perms.starts_with("r-x");
        } else if inside && (first == "ShmemPmdMapped:" || first == "FilePmdMapped:") {
            bytes += words.next().unwrap().parse::<u64>().unwrap() << 10;
        }
    }
    bytes
}

/// Whether this kernel makes a huge page of a memfd on request (`MADV_COLLAPSE`,
/// Linux 6.1, with transparent huge pages built in): a probe of its own.
#[cfg(target_arch = "x86_64")]
fn kernel_collapses() -> bool {
    const HUGE: usize = 2 << 20;
    // SAFETY: a memfd and mappings of the probe's own, checked and released
    // before it returns; the byte written lies in the mapping just made.
    unsafe {
        let fd = libc::memfd_create(c"probe".as_ptr(), libc::MFD_CLOEXEC);
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, HUGE as libc::off_t), 0);
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        let hole = libc::mmap(
            std::ptr::null_mut(),
            2 * HUGE,
            libc::PROT_NONE,
            flags,
            -1,
            0,
        );
        let at = (hole as usize).next_multiple_of(HUGE) as *mut libc::c_void;
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        let map = libc::mmap(at, HUGE, rw, libc::MAP_SHARED | libc::MAP_FIXED, fd, 0);
        assert_eq!(map, at);
        *(at as *mut u8) = 1;
        let ok = libc::madvise(at, HUGE, libc::MADV_COLLAPSE) == 0;
        libc::munmap(hole, 2 * HUGE);
        libc::close(fd);
        ok
    }
}

#[test]
fn a_batch_with_megabytes_of_code_runs_from_huge_pages() {
    let files = objects();
    let mut linker = Linker::new().unwrap();
    linker.load_files(&files).unwrap();
    for i in [0, 1, 15, 16, 31, 32, COUNT - 1] {
        assert_eq!(call(&mut linker, i), triangle(i), "huge_{i}");
    }
    let (code, chunks) = linker.memory().by_class[0];
    assert!(code >= (COUNT * NOPS * 4) as u64, "{code} bytes of code");
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    #[cfg(target_arch = "x86_64")]
    if two_cores && kernel_collapses() {
        // Read on a second thread, the batch knows early that its code fills
        // two huge pages or more; all but its first chunks' are windows.
        let huge = huge_code_bytes(&linker);
        assert!(
            huge >= 2 << 20,
            "{huge} bytes of code in huge pages of {chunks}"
        );
    } else {
        eprintln!("no huge-page check: one core, or the kernel does not collapse");
    }
    let _ = (chunks, two_cores);
}

/// Unloading every object gives the windows back (their pages to the kernel):
/// after each of three rounds of loading the batch, running it and unloading
/// it, the region maps what it mapped after the first (the tables); the
/// rounds run the same. (How much a round maps depends on how many windows
/// were ready in time, so rounds are not compared loaded.)
#[test]
fn unloaded_windows_go_back_and_a_second_batch_reuses_them() {
    let files = objects();
    let mut linker = Linker::new().unwrap();
    let mut after = Vec::new();
    for round in 0..3 {
        let ids = linker.load_files(&files).unwrap();
        let last = call(&mut linker, COUNT - 1);
        assert_eq!(last, triangle(COUNT - 1), "round {round}");
        assert!(linker.memory().by_class[0].0 >= (COUNT * NOPS * 4) as u64);
        for id in ids {
            linker.unload(id).unwrap();
        }
        unsafe { linker.reclaim() };
        let code = linker.memory().by_class[0];
        assert_eq!(code, (0, 0), "round {round}: code left");
        after.push(linker.memory().mapped);
    }
    assert_eq!(after, vec![after[0]; 3], "mapped after unloading");
}

/// A file that is not an object at the end of such a batch: the error names
/// it, the objects before it stay loaded and run, and a later small object
/// links and runs as usual.
#[test]
fn a_bad_file_after_the_windows_keeps_what_loaded() {
    let mut files = objects();
    let bad = files[0].with_file_name("huge_not_an_object.o");
    std::fs::write(&bad, b"not an object").unwrap();
    files.push(bad);
    let mut linker = Linker::new().unwrap();
    let err = linker.load_files(&files).unwrap_err();
    assert!(err.to_string().contains("huge_not_an_object.o"), "{err}");
    assert_eq!(call(&mut linker, COUNT - 1), triangle(COUNT - 1));
    let dir = files[0].parent().unwrap().to_path_buf();
    let last = assemble(&dir, "huge_last.o", &source(COUNT, 1));
    linker.load_file(&last).unwrap();
    assert_eq!(call(&mut linker, COUNT), triangle(COUNT));
}
