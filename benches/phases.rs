//! Criterion benches of relink's stages on a generated corpus (100 modules of the
//! issue's shape, 20 functions each, plus main: 101 objects, about 19,600
//! relocations):
//! - `parse`: `relink::input::parse` of every object;
//! - `layout`, `resolve`, `fixup`, `finalize`: the time a full load of the corpus
//!   into a fresh linker spends in that stage, from `Linker::stats` (each stage
//!   is timed around its own work, so no hook into the pipeline is needed);
//! - `load`: the whole `load_batch`.
//!
//! Run: `cargo bench --bench phases`. The LLVM side-by-side comparison lives in
//! benches/compare.sh.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use relink::{Linker, Stats};

mod common;

type Stage = (&'static str, fn(&Stats) -> Duration);

const STAGES: [Stage; 4] = [
    ("layout", |s| s.layout),
    ("resolve", |s| s.resolve),
    ("fixup", |s| s.fixup),
    ("finalize", |s| s.finalize),
];

fn bench(c: &mut Criterion) {
    let files = common::corpus("rich", 100, 20);
    let owned = read_all(&files);
    let inputs: Vec<(String, &[u8])> = owned
        .iter()
        .map(|(n, b)| (n.clone(), b.as_slice()))
        .collect();
    // Parse reads headers in place: give it 8-byte aligned copies, as mmaps are.
    let aligned: Vec<(String, relink::input::Aligned)> = owned
        .iter()
        .map(|(n, b)| (n.clone(), relink::input::Aligned::new(b)))
        .collect();
    let relocations: u64 = aligned
        .iter()
        .map(|(n, b)| relink::input::parse(n, b.as_slice()).expect("parse"))
        .map(|o| {
            o.sections
                .iter()
                .map(|s| s.relocs.len() as u64)
                .sum::<u64>()
        })
        .sum();

    let mut group = c.benchmark_group("stage");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(relocations));
    group.bench_function(BenchmarkId::new("parse", inputs.len()), |b| {
        b.iter(|| {
            for (name, bytes) in &aligned {
                relink::input::parse(name, bytes.as_slice()).expect("parse");
            }
        })
    });
    for (stage, of) in STAGES {
        group.bench_function(BenchmarkId::new(stage, inputs.len()), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut linker = Linker::new().expect("linker");
                    linker.load_batch(&inputs).expect("load");
                    total += of(&linker.stats());
                }
                total
            })
        });
    }
    group.bench_function(BenchmarkId::new("load", inputs.len()), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut linker = Linker::new().expect("linker");
                let start = Instant::now();
                linker.load_batch(&inputs).expect("load");
                total += start.elapsed();
                // Dropping the linker (unmapping the region) is not part of a load.
                drop(linker);
            }
            total
        })
    });
    group.finish();
}

/// The files' contents, as `Linker::load_batch` takes them.
fn read_all(files: &[std::path::PathBuf]) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(p).expect("corpus object"),
            )
        })
        .collect()
}

criterion_group!(benches, bench);
criterion_main!(benches);
