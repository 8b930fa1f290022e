//! Replays the fuzz entry points (`relink::fuzz`) on stable, so CI guards them
//! without nightly: every object in testdata and deterministic mutations of it
//! through `parse` and `link`, generated cases through `fixup`, op sequences through
//! `sequence`, and every saved fuzz finding under `testdata/fuzz/<target>/`.

mod common;

use common::Rng;

/// `good` with one of four kinds of damage.
fn mutate(good: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bad = good.to_vec();
    match rng.next() % 4 {
        0 => bad.truncate(rng.next() as usize % good.len()),
        1 => {
            for _ in 0..1 + rng.next() % 8 {
                let i = rng.next() as usize % bad.len();
                bad[i] ^= 1 << (rng.next() % 8);
            }
        }
        2 => {
            // Corrupt a header or section-table word with an extreme value.
            let i = (rng.next() as usize % 0x40).min(bad.len() - 8);
            bad[i..i + 8].copy_from_slice(&[0xff; 8]);
        }
        _ => {
            let i = rng.next() as usize % bad.len();
            bad[i] = [0u8, 0x7f, 0x80, 0xff][rng.next() as usize % 4];
        }
    }
    bad
}

/// Saved findings of one fuzz target (crash inputs turned regression tests).
fn findings(target: &str) -> Vec<Vec<u8>> {
    let dir = common::testdata_dir().join("fuzz").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Runs `entry` on `files`, `mutations` deterministic mutations of each, and the
/// saved findings of `target`.
fn replay(
    files: &[std::path::PathBuf],
    seed: u64,
    mutations: usize,
    target: &str,
    entry: fn(&[u8]),
) {
    let mut rng = Rng(seed);
    for file in files {
        let good = std::fs::read(file).unwrap();
        entry(&good);
        for _ in 0..mutations {
            entry(&mutate(&good, &mut rng));
        }
    }
    for input in findings(target) {
        entry(&input);
    }
}

#[test]
fn parse_replays_testdata_mutations_and_findings() {
    let mut files = common::all_objects();
    files.extend(common::all_macho_objects());
    assert!(
        files.len() >= 20,
        "expected the testdata corpus, found {}",
        files.len()
    );
    replay(
        &files,
        0x9e37_79b9_7f4a_7c15,
        64,
        "parse",
        relink::fuzz::parse,
    );
}

#[test]
fn link_replays_testdata_mutations_and_findings() {
    let this_arch = format!("/{}/", common::arch());
    let mut files = common::all_objects();
    files.extend(common::all_macho_objects());
    files.retain(|f| f.to_string_lossy().contains(&this_arch));
    replay(&files, 0x2545_f491_4f6c_dd1d, 8, "link", relink::fuzz::link);
}

#[test]
fn fixup_matches_the_reference_model() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for case in 0..50_000u64 {
        let mut data = rng.bytes(58);
        // Bias values toward boundaries and nearby addresses, where bugs live.
        if case % 2 == 0 {
            let base = rng.next() & 0x0000_7fff_ffff_f000;
            for (i, off) in [(10usize, 0u64), (26, 1), (34, 2), (42, 3)] {
                let near =
                    base.wrapping_add((rng.next() % (1 << 34)).wrapping_sub(1 << 33) + off * 8);
                data[i..i + 8].copy_from_slice(&near.to_le_bytes());
            }
            let small = (rng.next() % 64) as i64 - 32;
            data[18..26].copy_from_slice(&small.to_le_bytes());
        }
        relink::fuzz::fixup(&data);
    }
    for input in findings("fixup") {
        relink::fuzz::fixup(&input);
    }
}

/// The valid objects the sequence target loads, replaces and mutates (the same
/// list as fuzz/fuzz_targets/sequence.rs), for this architecture.
fn sequence_seeds() -> Vec<Vec<u8>> {
    let dir = common::testdata_dir()
        .join("obj")
        .join(common::arch())
        .join("api");
    [
        "lib_v1", "lib_v2", "lib_v3", "lib_v4", "user", "ping", "pong", "weak", "strong",
    ]
    .iter()
    .map(|n| std::fs::read(dir.join(format!("{n}.o"))).unwrap())
    .collect()
}

#[test]
fn sequences_keep_the_linker_consistent() {
    let seeds = sequence_seeds();
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let mut rng = Rng(0x0bad_5eed_dead_beef);
    for _ in 0..150 {
        let n = 8 + (rng.next() % 48) as usize;
        relink::fuzz::sequence(&rng.bytes(n), &seeds);
    }
    for input in findings("sequence") {
        relink::fuzz::sequence(&input, &seeds);
    }
}

/// One saved finding, by name.
fn finding(target: &str, name: &str) -> Vec<u8> {
    let path = common::testdata_dir().join("fuzz").join(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// cargo fuzz, sequence target: a replace with a mutated object whose variable's
/// symbol size ran past its section copied bytes beyond the object's memory.
#[test]
fn regression_replace_with_a_symbol_size_past_its_section() {
    let seeds = sequence_seeds();
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let input = finding("sequence", "replace-with-a-symbol-size-past-its-section");
    relink::fuzz::sequence(&input, &seeds);
}

/// cargo fuzz, fixup target: the reference model mixed wrapped and unwrapped
/// addresses for an ADRP page delta near the top of the address space.
#[test]
fn regression_adrp_page_delta_wraps_at_the_top_of_the_address_space() {
    relink::fuzz::fixup(&finding(
        "fixup",
        "adrp-page-delta-wraps-at-the-top-of-the-address-space",
    ));
}
