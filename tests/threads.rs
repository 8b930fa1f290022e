//! `LinkerOptions::threads`: a batch linked on one thread and with reading and
//! parsing ahead on a second one gives the same linker — the same state (every
//! name's definitions, references, sites and slot), the same bytes in every
//! allocated range of the region at the same address — and the same result.
//! Objects: 60 generated modules (benches/gen_corpus.py, llc, pic) and main.

mod common;

use std::fs;

use relink::{Linker, LinkerOptions, Placement};

#[test]
fn one_thread_and_two_link_the_same() {
    let dir = std::env::temp_dir().join(format!("relink-threads-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let (objects, want) = common::generated_corpus(&dir, 60, 5);

    // One linker at a time, placed low: the second reserves its region where
    // the first's was (low placement tries the same addresses in order).
    let link = |threads: usize| {
        let options = LinkerOptions::new()
            .threads(threads)
            .placement(Placement::Low);
        let mut linker = Linker::with_options(options).unwrap();
        linker.load_files(&objects).unwrap();
        let state = linker.state_digest();
        let image = linker.image_digest();
        let status = unsafe { linker.call("main", &[]) }.unwrap() & 0xff;
        (state, image, status)
    };
    let (state1, image1, status1) = link(1);
    let (state2, image2, status2) = link(2);
    assert_eq!(status1, want, "one thread: main's checksum");
    assert_eq!(status2, want, "two threads: main's checksum");
    assert_eq!(
        image1.0, image2.0,
        "both regions at one address (else the images cannot be compared)"
    );
    assert!(
        state1 == state2,
        "the linkers' states differ:\n{state1}\n---\n{state2}"
    );
    assert_eq!(image1.1, image2.1, "the region's allocated bytes differ");
    fs::remove_dir_all(&dir).ok();
}
