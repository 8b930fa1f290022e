//! Compiles catch.cpp with the target's C++ compiler (`CXX`, else `g++`, or
//! `aarch64-linux-gnu-g++` when cross-compiling for AArch64 Linux) into a static
//! library, and links libstdc++.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let target = std::env::var("TARGET").expect("TARGET");
    let host = std::env::var("HOST").expect("HOST");
    let target_var = format!("CXX_{}", target.replace('-', "_"));
    let cxx = std::env::var(&target_var)
        .or_else(|_| std::env::var("CXX"))
        .unwrap_or_else(|_| {
            if target != host && target.starts_with("aarch64-") {
                "aarch64-linux-gnu-g++".into()
            } else {
                "g++".into()
            }
        });
    let ar = if target != host && target.starts_with("aarch64-") {
        "aarch64-linux-gnu-ar"
    } else {
        "ar"
    };
    println!("cargo:rerun-if-changed=catch.cpp");
    println!("cargo:rerun-if-env-changed={target_var}");
    println!("cargo:rerun-if-env-changed=CXX");
    let object = out.join("catch.o");
    let status = Command::new(&cxx)
        .args(["-O2", "-fPIC", "-c", "catch.cpp", "-o"])
        .arg(&object)
        .status()
        .unwrap_or_else(|e| panic!("{cxx}: {e} (run scripts/setup.sh)"));
    assert!(status.success(), "{cxx} failed on catch.cpp");
    let lib = out.join("libcxxhost.a");
    let _ = std::fs::remove_file(&lib);
    let status = Command::new(ar)
        .arg("crs")
        .arg(&lib)
        .arg(&object)
        .status()
        .unwrap_or_else(|e| panic!("{ar}: {e}"));
    assert!(status.success(), "{ar} failed");
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=cxxhost");
    println!("cargo:rustc-link-lib=dylib=stdc++");
}
