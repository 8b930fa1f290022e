//! A real C program on real archives: libxml2 built with ICU. `xmldriver.c`
//! (testdata/libxml2) parses documents declared in ISO-8859-1, Shift_JIS and
//! KOI8-R, so ICU's converters run — and ICU's `std::call_once`, whose
//! initial-exec code reads libstdc++'s thread-locals `std::__once_callable` and
//! `std::__once_call` (`runtime/process_tls.rs`). `relink run` loads the
//! driver with `libxml2.a`, `libicuuc.a`, `libicudata.a`, `liblzma.a` and
//! `libz.a` (members pulled on demand) and no `-l` flag (the C++ runtime ICU
//! needs is a default library, `linker/libraries.rs`); its output and exit
//! status are compared with the same program linked natively by gcc against the
//! same archives.
//!
//! x86-64 only: the archives are the host's (Debian's `libxml2-dev`,
//! `libicu-dev`, `liblzma-dev`, `zlib1g-dev`, installed by scripts/setup.sh);
//! there are no AArch64 ones here.
#![cfg(target_arch = "x86_64")]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{build, relink_command, run_with_timeout, testdata_dir};

const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";
const ARCHIVES: [&str; 5] = [
    "libxml2.a",
    "libicuuc.a",
    "libicudata.a",
    "liblzma.a",
    "libz.a",
];

#[test]
fn libxml2_with_icu_from_archives_matches_the_native_program() {
    let dir = std::env::temp_dir().join(format!("relink-libxml2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let object = dir.join("xmldriver.o");
    let mut cc = Command::new("gcc");
    cc.args(["-O2", "-I/usr/include/libxml2", "-c"])
        .arg(testdata_dir().join("libxml2/xmldriver.c"))
        .arg("-o")
        .arg(&object);
    build(cc);
    let archives: Vec<_> = ARCHIVES.iter().map(|a| Path::new(LIBDIR).join(a)).collect();
    let native = dir.join("native");
    let mut link = Command::new("gcc");
    link.arg(&object)
        .args(&archives)
        .args(["-lstdc++", "-lm", "-lpthread", "-o"])
        .arg(&native);
    build(link);
    let expected = run_with_timeout(Command::new(&native), Duration::from_secs(60));
    assert_eq!(expected.status.code(), Some(0), "the native program failed");

    let mut cmd = relink_command();
    cmd.args(["run", "--stats"]).arg(&object).args(&archives);
    let got = run_with_timeout(cmd, Duration::from_secs(300));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert_eq!(
        got.status.code(),
        expected.status.code(),
        "status {}; stderr: {stderr}",
        got.describe_status()
    );
    let stdout = String::from_utf8_lossy(&got.stdout);
    assert_eq!(stdout, String::from_utf8_lossy(&expected.stdout));
    // ICU converted each document: its text came out as UTF-8.
    for text in ["café", "日本", "привет"] {
        assert!(stdout.contains(text), "{text} missing from {stdout}");
    }
    // How long the load took (`--stats`), for the record.
    for line in stderr
        .lines()
        .filter(|l| l.contains("objects") || l.contains("total"))
    {
        eprintln!("{line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
