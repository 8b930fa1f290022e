//! Replace latency without criterion's statistics: loads every `.o` of a
//! directory, then replaces `m00005.o` with itself (`keep_state`, and
//! `reclaim` after each) `N` times a round, seven rounds, and prints the best
//! round's nanoseconds a replace. On a noisy machine the best of seven moves
//! less than criterion's medians. To compare two builds, copy this file into
//! the other tree's `examples/` and run both alternately, e.g. on the replace
//! bench's corpus (`cargo bench --bench replace` generates it):
//! `cargo run --release --example replace_loop -- /tmp/relink-bench-chain-1000-1-x86_64 20000`
use relink::{Linker, LinkerOptions, ReplaceOptions};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: replace_loop DIR REPLACES_PER_ROUND");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("a number of replaces");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("a directory of objects")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    files.sort();
    let options = LinkerOptions::new().region_size(1 << 30);
    let mut linker = Linker::with_options(options).unwrap();
    let ids = linker.load_files(&files).unwrap();
    let target = files
        .iter()
        .position(|p| p.ends_with("m00005.o"))
        .expect("m00005.o among the objects");
    let bytes = std::fs::read(&files[target]).unwrap();
    let best = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                linker
                    .replace_with(ids[target], &bytes, ReplaceOptions::new().keep_state(true))
                    .unwrap();
                // SAFETY: no code of the replaced versions runs any more.
                unsafe { linker.reclaim() };
            }
            start.elapsed().as_secs_f64() * 1e9 / n as f64
        })
        .fold(f64::MAX, f64::min);
    println!("{best:.0}");
}
