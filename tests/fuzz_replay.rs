//! Replays the fuzz entry points on stable: every object in testdata, and
//! deterministic mutations of each (bit flips, truncations, header and table
//! corruptions), must parse or fail cleanly.

mod common;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn parse_replays_testdata_and_mutations() {
    let files = common::all_objects();
    assert!(
        files.len() >= 20,
        "expected the testdata corpus, found {}",
        files.len()
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    for file in &files {
        let good = std::fs::read(file).unwrap();
        relink::fuzz::parse(&good);
        for _ in 0..64 {
            let mut bad = good.clone();
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
                    let v = [0u8, 0x7f, 0x80, 0xff][rng.next() as usize % 4];
                    bad[i] = v;
                }
            }
            relink::fuzz::parse(&bad);
            runs += 1;
        }
    }
    assert_eq!(runs, files.len() * 64);
}
