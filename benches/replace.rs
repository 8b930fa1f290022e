//! Replace latency with 10, 1,000 and 10,000 objects loaded, and with 10, 1,000
//! and 10,000 objects referring to the replaced one; the cost of a call through a
//! stub against a direct call. Loaded objects come from benches/gen_corpus.py
//! (`--shape chain`, one function each: llc, pic), generated into the temporary
//! directory once; the referrers are testdata/replace/ref_{got,direct}.c (each
//! calls `value`, stores its address, and reads and writes `seen`, half through
//! the GOT, half directly), loaded as many times as needed.
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

/// `testdata/obj/<host arch>/replace/<name>.o`.
fn replace_object(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/obj")
        .join(std::env::consts::ARCH)
        .join("replace")
        .join(format!("{name}.o"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bench_referrers(c: &mut Criterion) {
    let mut group = c.benchmark_group("replace one object with referrers");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let (v1, v2) = (replace_object("seen_v1"), replace_object("seen_v2"));
    let (by_got, direct) = (replace_object("ref_got"), replace_object("ref_direct"));
    for k in [10usize, 1_000, 10_000] {
        let options = LinkerOptions::new().region_size(1 << 30);
        let mut linker = Linker::with_options(options).unwrap();
        let id = linker.load_bytes("seen.o", &v1).unwrap();
        let referrers: Vec<(String, &[u8])> = (0..k)
            .map(|i| {
                (
                    format!("ref{i}.o"),
                    if i % 2 == 0 { &by_got[..] } else { &direct[..] },
                )
            })
            .collect();
        linker.load_batch(&referrers).unwrap();
        let mut flip = false;
        group.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, _| {
            b.iter(|| {
                flip = !flip;
                let new = if flip { &v2 } else { &v1 };
                linker
                    .replace_with(id, new, ReplaceOptions::new().keep_state(true))
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

criterion_group!(benches, bench_replace, bench_referrers, bench_call);
criterion_main!(benches);
