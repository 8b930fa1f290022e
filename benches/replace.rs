//! Replace latency with 10, 1,000 and 10,000 objects loaded, and the cost of a call
//! through a stub against a direct call. Objects come from benches/gen_corpus.py
//! (`--shape chain`, one function each: llc, pic), generated into the temporary
//! directory once.
//! Run: `cargo bench --bench replace`.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use relink::{Linker, LinkerOptions, ReplaceOptions};

mod common;

fn bench_replace(c: &mut Criterion) {
    let mut group = c.benchmark_group("replace one object");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [10usize, 1_000, 10_000] {
        let files = common::corpus("chain", n, 1);
        let options = LinkerOptions::new().region_size(1 << 30);
        let mut linker = Linker::with_options(options).unwrap();
        let ids = linker.load_files(&files).unwrap();
        let target = files.iter().position(|p| p.ends_with("m00005.o")).unwrap();
        let bytes = std::fs::read(&files[target]).unwrap();
        let id = ids[target];
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                linker
                    .replace_with(id, &bytes, ReplaceOptions::new().keep_state(true))
                    .unwrap();
                unsafe { linker.reclaim() };
            })
        });
    }
    group.finish();
}

fn bench_call(c: &mut Criterion) {
    let files: Vec<PathBuf> = common::corpus("chain", 10, 1);
    let mut linker = Linker::new().unwrap();
    linker.load_files(&files).unwrap();
    let through_stub: extern "C" fn(i32) -> i32 = unsafe { linker.function("f_0_0").unwrap() };
    let raw = linker.definition_address("f_0_0").unwrap();
    let direct: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(raw) };
    assert_eq!(through_stub(7), direct(7));
    let mut group = c.benchmark_group("call f_0_0");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("through its stub", |b| {
        b.iter(|| through_stub(black_box(7)))
    });
    group.bench_function("direct", |b| b.iter(|| direct(black_box(7))));
    group.finish();
}

criterion_group!(benches, bench_replace, bench_call);
criterion_main!(benches);
