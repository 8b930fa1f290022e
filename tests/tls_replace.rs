//! An edit loop over an object with a thread-local variable built with gcc's
//! default flags (`gcc -O2 -c`: local-exec code, so its module is static TLS):
//! 1,000 `replace_with(keep_state)` + `reclaim` in a row. Each replace needs a
//! static TLS block; the C library never gives one back unless it was the last
//! one taken, so relink must reuse the blocks of reclaimed versions, or the
//! surplus (about 1.6 KiB) runs out after a few hundred replaces of a 4-byte
//! variable and a few dozen of a 64-byte one.
//!
//! After each replace the new version's code runs with its thread-local
//! initialised from its own image (on this thread and on a thread started
//! afterwards), the static TLS libraries relink holds stay as many as after the
//! first replaces, and RSS after 1,000 replaces stays within a generous bound of
//! RSS after 100. Objects: testdata/tls/edit/{hits,buf}_v{1,2}.c
//! (testdata/build-tls.sh, variant gcc-default).

mod common;

use std::sync::Mutex;

use relink::{Linker, ReplaceOptions};

/// The tests of this binary one at a time: they count the process's static TLS.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const REPLACES: u32 = 1_000;

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(common::object("tls/gcc-default", name)).unwrap()
}

/// Loads `<stem>_v1`, then replaces it `REPLACES` times, alternating with
/// `<stem>_v2`, keeping state, reclaiming after each. Version `n`'s `bump()`
/// returns `10 * n` (hits) or `100 * n` (buf) plus the calls since its
/// thread-local was initialised: `first` is that base for version 1.
fn edit_loop(stem: &str, first: i32) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let versions = [bytes(&format!("{stem}_v1")), bytes(&format!("{stem}_v2"))];
    let mut l = Linker::new().unwrap();
    let id = l.load_bytes(&format!("{stem}.o"), &versions[0]).unwrap();
    let (mut rss_100, mut libraries_100) = (0, 0);
    for i in 0..=REPLACES {
        let n = 1 + (i % 2) as i32;
        if i > 0 {
            let new = &versions[(i % 2) as usize];
            let options = ReplaceOptions::new().keep_state(true);
            if let Err(e) = l.replace_with(id, new, options) {
                panic!("{stem}: replace #{i} failed: {e}");
            }
            // SAFETY: no thread runs the loaded code between these calls.
            unsafe { l.reclaim() };
        }
        // SAFETY: `int version(void)` and `int bump(void)`.
        let version: extern "C" fn() -> i32 = unsafe { l.function("version").unwrap() };
        let bump: extern "C" fn() -> i32 = unsafe { l.function("bump").unwrap() };
        assert_eq!(
            version(),
            n,
            "{stem}: the new version runs after replace #{i}"
        );
        let base = first * n;
        assert_eq!(bump(), base + 1, "{stem}: initialised after replace #{i}");
        assert_eq!(bump(), base + 2, "{stem}: thread-local after replace #{i}");
        if i % 100 == 50 {
            let later = std::thread::spawn(move || bump()).join().unwrap();
            assert_eq!(later, base + 1, "{stem}: a new thread after replace #{i}");
        }
        if i == 100 {
            (rss_100, libraries_100) = (common::rss_kib(), common::static_tls_libraries());
        }
    }
    let (rss, libraries) = (common::rss_kib(), common::static_tls_libraries());
    eprintln!(
        "{stem}: {REPLACES} replaces; RSS {rss_100} KiB after 100, {rss} KiB after \
         {REPLACES}; static TLS libraries {libraries_100} after 100, {libraries} after {REPLACES}"
    );
    assert!(
        libraries <= libraries_100,
        "{stem}: static TLS grew from {libraries_100} to {libraries} libraries"
    );
    // Generous: the allocator keeps what it likes.
    assert!(
        rss < rss_100 + 16 * 1024,
        "{stem}: RSS grew from {rss_100} KiB to {rss} KiB"
    );
}

#[test]
fn a_thread_local_int_survives_1000_replaces() {
    edit_loop("hits", 10);
}

#[test]
fn a_thread_local_array_survives_1000_replaces() {
    edit_loop("buf", 100);
}
