//! perf names loaded code: `relink run --perf-jitdump` under `perf record -k 1`,
//! then `perf inject --jit` and `perf report`, as README.md's CLI section says;
//! and the jitdump file itself, record by record, against the loaded code.

mod common;

use common::object;
use relink::{Linker, LinkerOptions};

/// One `JIT_CODE_LOAD` record of a jitdump file.
#[derive(Debug)]
struct Load {
    timestamp: u64,
    pid: u32,
    address: u64,
    index: u64,
    name: String,
    code: Vec<u8>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().unwrap())
}

/// Checks the header (jitdump-specification.txt) and returns the load records.
fn read_jitdump(bytes: &[u8]) -> Vec<Load> {
    assert_eq!(u32_at(bytes, 0), 0x4a69_5444, "magic 'JiTD'");
    assert_eq!(u32_at(bytes, 4), 1, "version");
    let header = u32_at(bytes, 8) as usize;
    assert_eq!(header, 40, "header size");
    let machine = if cfg!(target_arch = "x86_64") {
        62
    } else {
        183
    };
    assert_eq!(u32_at(bytes, 12), machine, "e_machine");
    assert_eq!(u32_at(bytes, 20), std::process::id(), "pid");
    let mut loads = Vec::new();
    let mut at = header;
    while at < bytes.len() {
        let (id, size) = (u32_at(bytes, at), u32_at(bytes, at + 4) as usize);
        assert_eq!(id, 0, "only JIT_CODE_LOAD records at {at:#x}");
        let record = &bytes[at..at + size];
        // id, size, timestamp; pid, tid, vma, code_addr, code_size, code_index, name.
        let code_size = u64_at(record, 40) as usize;
        assert_eq!(u64_at(record, 24), u64_at(record, 32), "vma = code_addr");
        let name_end = 56 + record[56..].iter().position(|&b| b == 0).unwrap();
        assert_eq!(name_end + 1 + code_size, size, "record size");
        loads.push(Load {
            timestamp: u64_at(record, 8),
            pid: u32_at(record, 16),
            address: u64_at(record, 32),
            index: u64_at(record, 48),
            name: String::from_utf8(record[56..name_end].to_vec()).unwrap(),
            code: record[name_end + 1..].to_vec(),
        });
        at += size;
    }
    loads
}

/// The functions of `seen_v1`/`seen_v2` and `seen_caller_got`.
const FUNCTIONS: [&str; 4] = ["value", "bump", "inc_got", "read_got"];

/// Each record's bytes are the code at its address now, and it names the
/// loaded function there (or, for `stub:NAME`, NAME's canonical address).
fn check_live(l: &mut Linker, records: &[Load]) {
    for r in records {
        // SAFETY: the record names loaded code or a stub, mapped readable.
        let live = unsafe { std::slice::from_raw_parts(r.address as *const u8, r.code.len()) };
        assert_eq!(live, &r.code[..], "{} at {:#x}", r.name, r.address);
        if let Some(target) = r.name.strip_prefix("stub:") {
            // Every slotted name has a stub (data too: the perf map lists them
            // alike); a function's stub is its canonical address.
            if FUNCTIONS.contains(&target) {
                assert_eq!(l.address(target).unwrap() as u64, r.address, "{r:?}");
            }
        } else {
            let at = l.symbolize(r.address).expect("a loaded function");
            assert_eq!((at.function.as_str(), at.offset), (r.name.as_str(), 0));
        }
    }
}

/// The in-process half (both targets): every loaded function and every stub
/// has a record whose bytes are the code at its address, and a replace adds
/// newer records for the new version's functions.
#[test]
fn jitdump_records_each_function_and_stub_with_its_code() {
    let dir = std::env::temp_dir().join(format!("relink-jitdump-{}", std::process::id()));
    // The only test in this binary that loads in-process: nothing else reads
    // the environment concurrently.
    std::env::set_var("JITDUMPDIR", &dir);
    let bytes = |name: &str| std::fs::read(object("replace", name)).unwrap();
    let mut l = Linker::with_options(LinkerOptions::new().perf_jitdump(true)).unwrap();
    let callee = l.load_bytes("seen.o", &bytes("seen_v1")).unwrap();
    l.load_bytes("got.o", &bytes("seen_caller_got")).unwrap();
    let path = relink::jitdump_path().expect("a jitdump file once code is loaded");
    assert!(path.starts_with(&dir), "{}", path.display());
    let before = read_jitdump(&std::fs::read(&path).unwrap());
    check_live(&mut l, &before);
    l.replace(callee, &bytes("seen_v2")).unwrap();
    let loads = read_jitdump(&std::fs::read(&path).unwrap());
    assert_eq!(
        loads.len() - before.len(),
        2,
        "new records: {:?}",
        &loads[before.len()..]
    );
    check_live(&mut l, &loads[before.len()..]);
    let names: Vec<&str> = loads.iter().map(|r| r.name.as_str()).collect();
    for name in ["value", "bump", "inc_got", "read_got", "stub:value"] {
        assert!(names.contains(&name), "no record for {name}: {names:?}");
    }
    // The replaced version's functions: new records, after the old ones.
    let new: Vec<&str> = names[before.len()..].to_vec();
    assert!(new.contains(&"value") && new.contains(&"bump"), "{new:?}");
    for (i, r) in loads.iter().enumerate() {
        assert_eq!((r.pid, r.index), (std::process::id(), i as u64), "{r:?}");
        assert!(i == 0 || loads[i - 1].timestamp <= r.timestamp, "{r:?}");
    }
    // No stub is listed twice: its address and code never change.
    let stubs: Vec<u64> = (loads.iter().filter(|r| r.name.starts_with("stub:")))
        .map(|r| r.address)
        .collect();
    let unique: std::collections::HashSet<&u64> = stubs.iter().collect();
    assert_eq!(unique.len(), stubs.len());
    drop(l);
    std::fs::remove_dir_all(&dir).ok();
}

/// `perf` itself. Under qemu-user perf cannot sample the emulated AArch64
/// code, so this half is x86-64 only.
#[cfg(target_arch = "x86_64")]
mod with_perf {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Duration;

    use crate::common::{run_with_timeout, Outcome};

    /// ~0.2 s in `hot_loop`, a function of a loaded object.
    const HOT: &str = r#"
#include <stdio.h>
__attribute__((noinline)) long hot_loop(long n) {
    volatile long s = 0;
    for (long i = 0; i < n; i++) s += i ^ (s >> 3);
    return s;
}
int main(void) { printf("%ld\n", hot_loop(200000000L)); return 7; }
"#;

    fn tool(dir: &Path, program: &str, args: &[&str]) -> Outcome {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(dir).env("JITDUMPDIR", dir);
        run_with_timeout(cmd, Duration::from_secs(120))
    }

    fn ok(out: &Outcome, what: &str) {
        assert!(
            out.status.success(),
            "{what}: exit {}\n{}",
            out.describe_status(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `perf record -k 1` of `relink run [--perf-jitdump] hot.o`; the program's
    /// output and status must be those of the native build.
    fn record(dir: &Path, jitdump: bool, native: &Outcome) -> PathBuf {
        let data = dir.join(if jitdump { "jit.data" } else { "plain.data" });
        let relink = env!("CARGO_BIN_EXE_relink");
        let mut args = vec!["record", "-k", "1", "-e", "cpu-clock", "-o"];
        args.extend([data.to_str().unwrap(), "--", relink, "run"]);
        if jitdump {
            args.push("--perf-jitdump");
        }
        args.push("hot.o");
        let out = tool(dir, "perf", &args);
        assert_eq!(
            (out.status.code(), &out.stdout),
            (native.status.code(), &native.stdout),
            "perf record {}: perf and relink said:\n{}",
            if jitdump { "--perf-jitdump" } else { "" },
            String::from_utf8_lossy(&out.stderr)
        );
        data
    }

    /// `perf report --stdio --sort sym`: the lines naming `hot_loop`, and their
    /// share of the samples (percent).
    fn report(dir: &Path, data: &Path) -> (Vec<String>, f64) {
        let out = tool(
            dir,
            "perf",
            &["report", "--stdio", "--sort", "sym", "-i"]
                .iter()
                .copied()
                .chain([data.to_str().unwrap()])
                .collect::<Vec<_>>(),
        );
        ok(&out, "perf report");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<String> = (text.lines())
            .filter(|l| !l.starts_with('#') && l.contains("hot_loop"))
            .map(str::to_string)
            .collect();
        let share = (lines.iter())
            .filter_map(|l| {
                l.split_whitespace()
                    .next()?
                    .strip_suffix('%')?
                    .parse::<f64>()
                    .ok()
            })
            .sum();
        (lines, share)
    }

    #[test]
    fn perf_report_names_loaded_functions_after_inject() {
        let probe = Command::new("perf").arg("--version").output();
        assert!(
            probe.is_ok_and(|o| o.status.success()),
            "perf is not installed (Debian: linux-perf; scripts/setup.sh installs it)"
        );
        let dir = std::env::temp_dir().join(format!("relink-perf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hot.c"), HOT).unwrap();
        ok(
            &tool(&dir, "gcc", &["-O2", "-c", "hot.c", "-o", "hot.o"]),
            "gcc -c",
        );
        ok(&tool(&dir, "gcc", &["-O2", "hot.c", "-o", "hot"]), "gcc");
        let native = tool(&dir, dir.join("hot").to_str().unwrap(), &[]);
        assert_eq!(native.status.code(), Some(7));

        // perf_event_paranoid 2 lets a user sample their own processes; if even
        // that is refused, say so instead of passing.
        let plain = record(&dir, false, &native);
        let (lines, _) = report(&dir, &plain);
        assert!(lines.is_empty(), "named without --perf-jitdump: {lines:?}");

        let data = record(&dir, true, &native);
        let injected = dir.join("jit.injected.data");
        let out = tool(
            &dir,
            "perf",
            &["inject", "--jit", "-i"]
                .iter()
                .copied()
                .chain([data.to_str().unwrap(), "-o", injected.to_str().unwrap()])
                .collect::<Vec<_>>(),
        );
        ok(&out, "perf inject --jit");
        let (lines, share) = report(&dir, &injected);
        assert!(
            share > 50.0,
            "hot_loop should have most samples; its lines: {lines:?}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
