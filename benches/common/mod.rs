//! Shared by the benches: a corpus from benches/gen_corpus.py (llc, pic, for the
//! host's architecture), generated once into the temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `shape` is `rich` (the objects) or `chain` (tiny ones); returns the
/// object files, sorted (`main.o` last).
pub fn corpus(shape: &str, modules: usize, functions: usize) -> Vec<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "relink-bench-{shape}-{modules}-{functions}-{}",
        std::env::consts::ARCH
    ));
    if !dir.join("expected").exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/gen_corpus.py");
        let triple = if cfg!(target_arch = "aarch64") {
            "aarch64-unknown-linux-gnu"
        } else {
            "x86_64-unknown-linux-gnu"
        };
        let out = Command::new("python3")
            .arg(script)
            .arg(&dir)
            .args([modules.to_string(), functions.to_string()])
            .args(["--shape", shape, "--triple", triple])
            .output()
            .expect("python3");
        assert!(out.status.success(), "gen_corpus.py failed");
        std::fs::write(dir.join("expected"), &out.stdout).expect("writing expected");
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    files.sort();
    files
}
