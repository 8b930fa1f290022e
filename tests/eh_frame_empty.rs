//! Zero-length FDEs, as g++ `-O2` emits them (TESTING.md, trap 16): a C++
//! object with empty FDEs at the start, in the middle and at the end of its
//! `.text.unlikely`, which throws and catches an exception in the same object,
//! runs through `relink run` and prints what its native build printed.
//! Objects: `testdata/unwind/<arch>/{gxx,clang-llc}-empty_fde.o` from
//! `testdata/unwind/empty_fde.cpp` (`bash testdata/build-cxx.sh`); expected
//! output: `testdata/expected/<arch>/empty_fde.{stdout,status}`.

mod common;

use std::time::Duration;

use common::{arch, relink_command, run_with_timeout, testdata_dir};

fn object(variant: &str) -> std::path::PathBuf {
    testdata_dir()
        .join("unwind")
        .join(arch())
        .join(format!("{variant}-empty_fde.o"))
}

/// The FDEs of an ELF object's `.eh_frame` whose PC range (pc-relative sdata4,
/// as both compilers write it) is zero.
fn empty_fdes(bytes: &[u8]) -> usize {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).unwrap();
    let eh = file.section_by_name(".eh_frame").unwrap();
    let data = eh.data().unwrap();
    let word = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    let (mut offset, mut empty) = (0, 0);
    while offset + 4 <= data.len() && word(offset) != 0 {
        if word(offset + 4) != 0 && word(offset + 12) == 0 {
            empty += 1;
        }
        offset += 4 + word(offset) as usize;
    }
    empty
}

fn runs_like_the_native_build(variant: &str) {
    let path = object(variant);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if variant == "gxx" {
        assert!(empty_fdes(&bytes) >= 3, "{}: no empty FDEs", path.display());
    }
    let mut cmd = relink_command();
    cmd.args(["run", "-l", "stdc++"]).arg(&path);
    let got = run_with_timeout(cmd, Duration::from_secs(300));
    let expected = testdata_dir().join("expected").join(arch());
    let stdout = std::fs::read(expected.join("empty_fde.stdout")).unwrap();
    let status = std::fs::read_to_string(expected.join("empty_fde.status")).unwrap();
    assert_eq!(
        (String::from_utf8_lossy(&got.stdout), got.describe_status()),
        (String::from_utf8_lossy(&stdout), status.trim().to_string()),
        "stderr: {}",
        String::from_utf8_lossy(&got.stderr)
    );
}

#[test]
fn gxx_empty_fdes_run_like_the_native_build() {
    runs_like_the_native_build("gxx");
}

#[test]
fn clang_llc_empty_fde_object_runs_like_the_native_build() {
    runs_like_the_native_build("clang-llc");
}
