//! Criterion benches of relink's stages on the checked-in test objects:
//! parse alone, and parse + layout + resolve + fixup + finalize (a full load).
//! Run: `cargo bench --bench phases`. The LLVM side-by-side comparison lives in
//! benches/compare.sh (issue 9).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};

fn objects() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/obj")
        .join(std::env::consts::ARCH)
        .join("api");
    ["math", "ping", "pong", "weak"]
        .iter()
        .map(|n| {
            let p = dir.join(format!("{n}.o"));
            (
                p.display().to_string(),
                std::fs::read(&p).expect("testdata object"),
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let objects = objects();
    c.bench_function("parse 4 objects", |b| {
        b.iter(|| {
            for (name, bytes) in &objects {
                relink::input::parse(name, bytes).expect("parse");
            }
        })
    });
    let inputs: Vec<(String, &[u8])> = objects
        .iter()
        .map(|(n, b)| (n.clone(), b.as_slice()))
        .collect();
    c.bench_function("load 4 objects into a fresh linker", |b| {
        b.iter(|| {
            let mut linker = relink::Linker::new().expect("linker");
            linker.load_batch(&inputs).expect("load");
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
