//! The one-way dependency rule (ARCHITECTURE.md): a module of the library uses
//! only modules below it in [`LAYERS`]. This test reads `src/` and fails when a
//! module refers to one above it (`crate::X` in code, not in comments or unit
//! tests).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top: each module may use the ones before it.
const LAYERS: &[&[&str]] = &[
    &["arch"],
    &["error"],
    &["input"],
    &["memory"],
    &["runtime"],
    &["symbols"],
    &["link"],
    &["linker", "describe"],
    &["fuzz", "capi", "executor"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code: without comments, and without its unit tests (a
/// `#[cfg(test)]` module, which may use anything).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|l| l.trim_start().starts_with("mod "))
        {
            break;
        }
        if !trimmed.starts_with("//") {
            out.push_str(line.split(" // ").next().unwrap_or(""));
            out.push('\n');
        }
    }
    out
}

/// Modules named as `crate::NAME` in `code`.
fn referred(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn modules_use_only_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let module = rel.split(['/', '.']).next().unwrap();
        let Some(own) = layer(module) else {
            continue; // lib.rs, main.rs and the CLI's own files sit above everything
        };
        let text = std::fs::read_to_string(path).unwrap();
        for other in referred(&code(&text)) {
            let Some(theirs) = layer(&other) else {
                continue; // re-exports at the crate root (`crate::Error`, ...)
            };
            if theirs > own {
                problems.push(format!(
                    "{rel} ({module}) uses crate::{other}, which is above it"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_rule_sees_references_in_code_only() {
    let text = "use crate::linker::Linker;\n// crate::fuzz in a comment\nfn f() { crate::memory::x() } // crate::link\n#[cfg(test)]\nmod tests {\n    use crate::fuzz;\n}\n";
    let seen: Vec<String> = referred(&code(text)).into_iter().collect();
    assert_eq!(seen, ["linker", "memory"]);
}
