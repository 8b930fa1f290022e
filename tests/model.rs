//! The model test (issue 16): seeded random sequences of load / replace (with and
//! without keep_state) / unload / reclaim / writes over twelve objects
//! (testdata/model/model.c: four versions, five compiler flavours, A↔B cycles,
//! every kind of reference), with failures injected, checking after every step
//! every function's result, every variable's value, every pointer stored in data
//! and every address handed out against a model (`relink::fuzz::model`).
//!
//! CI runs a short seed set. Long runs:
//!   RELINK_MODEL_SEEDS=1000 RELINK_MODEL_STEPS=1000 cargo test --release --test model
//! `RELINK_MODEL_SEED=n` starts at seed n, `RELINK_MODEL_SECONDS=s` stops after s
//! seconds, `RELINK_MODEL_TRACE=1` prints each step before it runs (for crashes),
//! `RELINK_MODEL_TARGET=all` (or a list) turns on the semantics the model targets
//! but relink may not implement yet (`Targets`; flip them in `Targets::DEFAULT`).
//! A failing sequence is shrunk (steps dropped while it still fails) and printed.

mod common;

use std::time::{Duration, Instant};

use common::Rng;
use relink::fuzz::model::{self, draw_step, Corpus, Runner, Step, Targets};

/// Every model object of this architecture, read once.
fn corpus_bytes() -> Vec<(usize, u8, Vec<u8>)> {
    let dir = common::testdata_dir()
        .join("obj")
        .join(common::arch())
        .join("model");
    let mut out = Vec::new();
    for i in 0..model::OBJECTS {
        for v in (1..=4).filter(|&v| model::has_version(i, v)) {
            let path = dir.join(format!("m{i}_v{v}.o"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((i, v, bytes));
        }
    }
    out
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The steps of seed `seed`, run as they are drawn: `Err` with the steps so far and
/// the failure. Drawing depends on the model's state, so the sequence is recorded
/// while it runs; a recorded sequence replays on its own (`Runner::replay`).
fn run_seed(
    corpus: &Corpus,
    seed: u64,
    steps: usize,
    execute: bool,
    targets: Targets,
) -> Result<usize, (Vec<Step>, model::Failure)> {
    let trace = std::env::var_os("RELINK_MODEL_TRACE").is_some();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut runner = Runner::new(corpus, execute, targets).unwrap();
    let mut done = Vec::new();
    let mut draw = || rng.next();
    if let Err(f) = runner.check() {
        return Err((
            done,
            model::Failure {
                step: None,
                message: f,
            },
        ));
    }
    for n in 0..steps {
        let step = draw_step(runner.model(), execute, &mut draw);
        if trace {
            eprintln!("seed {seed} step {n}: {step:?}");
        }
        done.push(step.clone());
        if let Err(f) = runner.step(&step) {
            return Err((done, f));
        }
    }
    Ok(done.len())
}

/// The shortest sequence found by dropping steps (chunks, then single steps) from
/// `steps` while it still fails with the same kind of message.
fn shrink(
    corpus: &Corpus,
    execute: bool,
    targets: Targets,
    mut steps: Vec<Step>,
) -> (Vec<Step>, String) {
    let fails = |s: &[Step]| Runner::replay(corpus, execute, targets, s).err();
    let Some(first) = fails(&steps) else {
        return (steps, "(did not fail again on replay)".into());
    };
    let kind = |m: &str| m.split(':').next().unwrap_or("").to_string();
    let want = kind(&first.message);
    let mut message = first.message;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut chunk = steps.len().div_ceil(2).max(1);
    while chunk >= 1 && Instant::now() < deadline {
        let mut at = 0;
        while at < steps.len() && Instant::now() < deadline {
            let mut fewer = steps.clone();
            fewer.drain(at..(at + chunk).min(steps.len()));
            match fails(&fewer) {
                Some(f) if kind(&f.message) == want => {
                    steps = fewer;
                    message = f.message;
                }
                _ => at += chunk,
            }
        }
        if chunk == 1 {
            break;
        }
        chunk /= 2;
    }
    // The failing step is the last one that matters.
    if let Some(f) = Runner::replay(corpus, execute, targets, &steps).err() {
        if let Some(s) = f.step {
            steps.truncate(s + 1);
        }
        message = f.message;
    }
    (steps, message)
}

/// Runs seeds from `RELINK_MODEL_SEED` (default `first`) for `RELINK_MODEL_SEEDS`
/// (default `seeds`) seeds of `RELINK_MODEL_STEPS` (default `steps`) steps; panics
/// with the shrunk reproduction of the first failure.
fn run_seeds(first: u64, seeds: u64, steps: u64, execute: bool) {
    let bytes = corpus_bytes();
    let corpus = Corpus {
        objects: bytes.iter().map(|(i, v, b)| (*i, *v, &b[..])).collect(),
    };
    let targets = Targets::from_env();
    let first = env_number("RELINK_MODEL_SEED", first);
    let seeds = env_number("RELINK_MODEL_SEEDS", seeds);
    let steps = env_number("RELINK_MODEL_STEPS", steps) as usize;
    let budget = Duration::from_secs(env_number("RELINK_MODEL_SECONDS", u64::MAX / 4));
    let start = Instant::now();
    let mut total = 0;
    for seed in first..first + seeds {
        if start.elapsed() > budget {
            break;
        }
        match run_seed(&corpus, seed, steps, execute, targets) {
            Ok(n) => total += n,
            Err((done, failure)) => {
                let (small, message) = shrink(&corpus, execute, targets, done.clone());
                let listing: String = small
                    .iter()
                    .enumerate()
                    .map(|(n, s)| format!("  {n}: {s:?}\n"))
                    .collect();
                panic!(
                    "model ({}, execute: {execute}, targets {targets:?}): seed {seed} failed at step {:?} of {}:\n  {}\n\
                     shrunk to {} steps (RELINK_MODEL_SEED={seed} RELINK_MODEL_SEEDS=1 to rerun):\n{listing}  -> {message}",
                    common::arch(),
                    failure.step,
                    done.len(),
                    failure.message,
                    small.len(),
                );
            }
        }
    }
    eprintln!(
        "model ({}, execute: {execute}): {total} steps in {:.1?}",
        common::arch(),
        start.elapsed()
    );
}

#[test]
#[ignore = "issue 16 open: the model and relink still disagree (a function-local static not carried by keep_state; a replace leaving names undefined that the model expects refused); run with --ignored"]
fn model_sequences_running_the_code() {
    // Native x86-64: well under a second per seed of 300 steps; qemu is slower.
    let seeds = if cfg!(target_arch = "x86_64") { 24 } else { 8 };
    run_seeds(0, seeds, 300, true);
}

#[test]
#[ignore = "issue 16 open: the model and relink still disagree (a function-local static not carried by keep_state; a replace leaving names undefined that the model expects refused); run with --ignored"]
fn model_sequences_link_only() {
    run_seeds(10_000, 6, 300, false);
}

/// The fuzz entry point over random inputs, as the `sequence` target runs it.
#[test]
#[ignore = "issue 16 open: the model and relink still disagree (a function-local static not carried by keep_state; a replace leaving names undefined that the model expects refused); run with --ignored"]
fn model_fuzz_entry_point() {
    let bytes = corpus_bytes();
    let corpus = Corpus {
        objects: bytes.iter().map(|(i, v, b)| (*i, *v, &b[..])).collect(),
    };
    let mut rng = Rng(0x005e_ed0f_0de1);
    for _ in 0..12 {
        let n = 64 + (rng.next() % 2000) as usize;
        relink::fuzz::model_sequence(&rng.bytes(n), &corpus);
    }
}
