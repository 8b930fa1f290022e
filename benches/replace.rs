//! Replace latency with 10, 1,000 and 10,000 objects loaded, and the cost of a call
//! through a stub against a direct call. Objects come from benches/gen_corpus.py
//! (llc, pic), generated into a temporary directory at start.
//! Run: `cargo bench --bench replace`.

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use relink::{Linker, LinkerOptions, ReplaceOptions};

fn corpus(n: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relink-bench-replace-{n}"));
    if !dir.join("main.o").exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/gen_corpus.py");
        let triple = if cfg!(target_arch = "aarch64") {
            "aarch64-unknown-linux-gnu"
        } else {
            "x86_64-unknown-linux-gnu"
        };
        let ok = Command::new("python3")
            .arg(script)
            .arg(&dir)
            .args([n.to_string(), "1".into(), "--triple".into(), triple.into()])
            .status()
            .expect("python3")
            .success();
        assert!(ok, "gen_corpus.py failed");
    }
    dir
}

fn bench_replace(c: &mut Criterion) {
    let mut group = c.benchmark_group("replace one object");
    for n in [10usize, 1_000, 10_000] {
        let dir = corpus(n);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "o"))
            .collect();
        files.sort();
        let options = LinkerOptions {
            region_size: 1 << 30,
            ..Default::default()
        };
        let mut linker = Linker::with_options(options).unwrap();
        let ids = linker.load_files(&files).unwrap();
        let target = files.iter().position(|p| p.ends_with("m00005.o")).unwrap();
        let bytes = std::fs::read(&files[target]).unwrap();
        let id = ids[target];
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                linker
                    .replace_with(id, &bytes, ReplaceOptions { keep_state: true })
                    .unwrap();
                linker.reclaim();
            })
        });
    }
    group.finish();
}

fn bench_call(c: &mut Criterion) {
    let dir = corpus(10);
    let mut linker = Linker::new().unwrap();
    let files: Vec<PathBuf> = (0..10).map(|i| dir.join(format!("m{i:05}.o"))).collect();
    linker.load_files(&files).unwrap();
    let through_stub: extern "C" fn(i32) -> i32 = unsafe { linker.function("f_0_0").unwrap() };
    let raw = linker.definition_address("f_0_0").unwrap();
    let direct: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(raw) };
    let mut group = c.benchmark_group("call f_0_0");
    group.bench_function("through its stub", |b| {
        b.iter(|| through_stub(black_box(7)))
    });
    group.bench_function("direct", |b| b.iter(|| direct(black_box(7))));
    group.finish();
}

criterion_group!(benches, bench_replace, bench_call);
criterion_main!(benches);
