//! Static archives: members are linked on demand, as a static linker pulls them.
//!
//! The small archives are built at test time from the checked-in objects in
//! `testdata/obj/<arch>/archive` (sources in `testdata/archive`, rebuilt by
//! `testdata/build-archive.sh`; Mach-O twins in `testdata/archive/macho`) with the host's `ar` (GNU, thin, no index) and
//! `llvm-ar --format=bsd`, or written byte by byte here (corrupt ones). The
//! archive is `m_b m_a m_unused m_weak m_dup1 m_dup2`: `m_a` needs `m_b`, which
//! comes first, so pulling it takes a second scan. Expected values are those of
//! the C sources (`b_value(x) = 3x`, `a_entry(x) = 3x + 1`, the constructor stores
//! `b_value(7)`), as a native link gives them.
//!
//! The x86-64 build also loads real system archives (`libz.a`, `libbz2.a`,
//! `libexpat.a`, `libgmp.a`, `libsqlite3.a`, `libffi.a`, installed by
//! scripts/setup.sh) and compares what their loaded code computes with the host's
//! shared libraries.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use relink::{Error, Linker, Stage};

/// The members of `lib.a`, in archive order.
const MEMBERS: [&str; 6] = ["m_b", "m_a", "m_unused", "m_weak", "m_dup1", "m_dup2"];

fn obj(name: &str) -> PathBuf {
    common::object("archive", name)
}

/// A fresh directory for one test's archives, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("relink-archive-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Runs an archiver in `dir`; panics with its output if it fails.
fn run_tool(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies `members` (object names) into `dir` as `<file>`s and archives them with
/// `program` and `flags`, in that order. Returns the archive's path.
fn build(
    dir: &Path,
    archive: &str,
    program: &str,
    flags: &[&str],
    members: &[(&str, &str)],
) -> PathBuf {
    let mut args: Vec<&str> = flags.to_vec();
    args.push(archive);
    for (object, file) in members {
        std::fs::copy(obj(object), dir.join(file)).unwrap();
        args.push(file);
    }
    run_tool(dir, program, &args);
    dir.join(archive)
}

fn llvm_ar() -> String {
    common::llvm_tool("llvm-ar")
}

fn members_as_is() -> Vec<(&'static str, String)> {
    MEMBERS.iter().map(|m| (*m, format!("{m}.o"))).collect()
}

/// `lib.a` in GNU format (with its symbol table) in `dir`.
fn gnu_lib(dir: &Path) -> PathBuf {
    let members = members_as_is();
    let refs: Vec<(&str, &str)> = members.iter().map(|(o, f)| (*o, f.as_str())).collect();
    build(dir, "lib.a", "ar", &["rcs"], &refs)
}

fn linker_with(objects: &[&str]) -> Linker {
    let mut l = Linker::new().unwrap();
    for o in objects {
        l.load_file(obj(o)).unwrap_or_else(|e| panic!("{o}: {e}"));
    }
    l
}

/// Loaded objects' names with `dir/` cut off, in load order.
fn names(l: &Linker, dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    let objects = format!("{}/", obj("x").parent().unwrap().display());
    l.objects()
        .map(|(_, n)| n.replace(&prefix, "").replace(&objects, ""))
        .collect()
}

/// Loads `use_a.o` then `archive`; checks that exactly `m_a` and `m_b` came in,
/// that their code runs, and that `m_a`'s constructor ran after both were linked.
fn check_pulls_a_and_b(archive: &Path, member: impl Fn(&str) -> String) {
    let mut l = linker_with(&["use_a"]);
    let dir = archive.parent().unwrap().to_path_buf();
    let ids = l.load_archive(archive).unwrap();
    assert_eq!(ids.len(), 2);
    let lib = archive.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        names(&l, &dir),
        [
            "use_a.o".to_string(),
            format!("{lib}({})", member("m_a")),
            format!("{lib}({})", member("m_b"))
        ]
    );
    let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
    assert_eq!(use_a(5), (3 * 5 + 1) * 100 + 21);
    assert_eq!(
        unsafe { *(l.address("a_ctor_seen").unwrap() as *const i32) },
        21
    );
    assert!(
        l.address("unused_fn").is_err(),
        "m_unused.o was never needed"
    );
}

#[test]
fn gnu_archive_pulls_only_needed_members_and_rescans_for_earlier_ones() {
    let dir = scratch("gnu");
    let lib = gnu_lib(&dir);
    check_pulls_a_and_b(&lib, |m| format!("{m}.o"));
}

#[test]
fn gnu_archive_with_long_member_names() {
    let dir = scratch("long");
    let long = |m: &str| format!("{m}_has_a_name_longer_than_sixteen.o");
    let files: Vec<(&str, String)> = MEMBERS.iter().map(|m| (*m, long(m))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(o, f)| (*o, f.as_str())).collect();
    let lib = build(&dir, "liblong.a", "ar", &["rcs"], &refs);
    let names_table = format!("{:<16}", "//");
    let bytes = std::fs::read(&lib).unwrap();
    assert!(
        bytes.windows(16).any(|w| w == names_table.as_bytes()),
        "a GNU long-names table"
    );
    check_pulls_a_and_b(&lib, long);
}

#[test]
fn bsd_archive_from_llvm_ar() {
    let dir = scratch("bsd");
    let long = |m: &str| format!("{m}_bsd_long_name.o");
    let files: Vec<(&str, String)> = MEMBERS.iter().map(|m| (*m, long(m))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(o, f)| (*o, f.as_str())).collect();
    let lib = build(
        &dir,
        "libbsd.a",
        &llvm_ar(),
        &["--format=bsd", "rcs"],
        &refs,
    );
    let bytes = std::fs::read(&lib).unwrap();
    assert!(
        bytes.windows(9).any(|w| w == b"__.SYMDEF"),
        "a BSD symbol table"
    );
    assert!(bytes.windows(3).any(|w| w == b"#1/"), "BSD long names");
    check_pulls_a_and_b(&lib, long);
}

#[test]
fn thin_archive_members_are_read_from_their_files() {
    let dir = scratch("thin");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let files: Vec<(&str, String)> = MEMBERS.iter().map(|m| (*m, format!("sub/{m}.o"))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(o, f)| (*o, f.as_str())).collect();
    let lib = build(&dir, "libthin.a", "ar", &["rcsT"], &refs);
    assert!(std::fs::read(&lib).unwrap().starts_with(b"!<thin>\n"));
    check_pulls_a_and_b(&lib, |m| format!("sub/{m}.o"));
}

#[test]
fn darwin_archive_of_mach_o_members() {
    // Its symbol table says `_b_value`; relink's Mach-O names lose the `_`.
    let dir = scratch("darwin");
    let macho = |m: &str| {
        let dir = common::testdata_dir().join("archive/macho");
        dir.join(common::arch()).join(format!("{m}.o"))
    };
    for m in ["m_b", "m_a"] {
        std::fs::copy(macho(m), dir.join(format!("{m}.o"))).unwrap();
    }
    run_tool(
        &dir,
        &llvm_ar(),
        &["--format=darwin", "rcs", "libmacho.a", "m_b.o", "m_a.o"],
    );
    let lib = dir.join("libmacho.a");
    assert!(std::fs::read(&lib)
        .unwrap()
        .windows(8)
        .any(|w| w == b"_b_value"));
    let mut l = Linker::new().unwrap();
    l.load_file(macho("use_a")).unwrap();
    assert_eq!(l.load_archive(&lib).unwrap().len(), 2);
    assert_eq!(
        names(&l, &dir)[1..],
        ["libmacho.a(m_a.o)", "libmacho.a(m_b.o)"]
    );
    let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
    assert_eq!(use_a(5), 1621);
}

#[test]
fn archives_without_a_symbol_table_are_indexed_from_their_members() {
    let dir = scratch("noindex");
    let members = members_as_is();
    let refs: Vec<(&str, &str)> = members.iter().map(|(o, f)| (*o, f.as_str())).collect();
    let gnu = build(&dir, "libgnu.a", "ar", &["rcS"], &refs);
    let bytes = std::fs::read(&gnu).unwrap();
    assert!(!bytes.starts_with(b"!<arch>\n/ "), "no GNU symbol table");
    check_pulls_a_and_b(&gnu, |m| format!("{m}.o"));
    let bsd = build(
        &dir,
        "libbsd.a",
        &llvm_ar(),
        &["--format=bsd", "rcS"],
        &refs,
    );
    let bytes = std::fs::read(&bsd).unwrap();
    assert!(
        !bytes.windows(9).any(|w| w == b"__.SYMDEF"),
        "no BSD symbol table"
    );
    check_pulls_a_and_b(&bsd, |m| format!("{m}.o"));
}

#[test]
fn an_archive_nothing_needs_loads_nothing() {
    let dir = scratch("nothing");
    let lib = gnu_lib(&dir);
    let mut l = Linker::new().unwrap();
    assert_eq!(l.load_archive(&lib).unwrap(), []);
    assert_eq!(l.objects().count(), 0);
    assert_eq!(
        l.memory(),
        relink::MemoryStats::default(),
        "not even a region"
    );
    // load_file of such an archive says so (it panicked on the empty list).
    let err = l.load_file(&lib).unwrap_err().to_string();
    assert!(err.contains("none of whose members is needed"), "{err}");
    assert_eq!(l.objects().count(), 0);
}

#[test]
fn weak_undefined_references_pull_nothing() {
    let dir = scratch("weak");
    let lib = gnu_lib(&dir);
    let mut l = linker_with(&["use_weak"]);
    assert_eq!(l.load_archive(&lib).unwrap(), []);
    assert_eq!(names(&l, &dir), ["use_weak.o"]);
    let use_weak: extern "C" fn() -> i32 = unsafe { l.function("use_weak").unwrap() };
    assert_eq!(use_weak(), -1, "weak_target stays null");
}

#[test]
fn a_member_pulled_for_a_strong_reference_also_satisfies_weak_ones() {
    let dir = scratch("companion");
    let lib = gnu_lib(&dir);
    let mut l = linker_with(&["use_companion"]);
    assert_eq!(l.load_archive(&lib).unwrap().len(), 1);
    assert_eq!(names(&l, &dir), ["use_companion.o", "lib.a(m_weak.o)"]);
    let f: extern "C" fn() -> i32 = unsafe { l.function("use_companion").unwrap() };
    assert_eq!(f(), 99 + 5);
}

#[test]
fn of_two_members_defining_a_name_the_first_is_taken() {
    let dir = scratch("dup");
    let lib = gnu_lib(&dir);
    let mut l = linker_with(&["use_dup"]);
    l.load_archive(&lib).unwrap();
    assert_eq!(names(&l, &dir), ["use_dup.o", "lib.a(m_dup1.o)"]);
    let f: extern "C" fn() -> i32 = unsafe { l.function("use_dup").unwrap() };
    assert_eq!(f(), 1);
}

#[test]
fn a_duplicate_pulled_for_another_name_is_an_error_and_changes_nothing() {
    let dir = scratch("dupboth");
    let lib = gnu_lib(&dir);
    let mut l = linker_with(&["use_dup_both"]);
    let before = l.state_digest();
    match l.load_archive(&lib) {
        Err(Error::Duplicate {
            symbol,
            first,
            second,
        }) => {
            assert_eq!(symbol, "dup_fn");
            assert!(first.ends_with("lib.a(m_dup1.o)"), "{first}");
            assert!(second.ends_with("lib.a(m_dup2.o)"), "{second}");
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(l.state_digest(), before);
    assert_eq!(names(&l, &dir), ["use_dup_both.o"]);
}

#[test]
fn host_roots_pull_members_like_ld_u() {
    let dir = scratch("roots");
    let lib = gnu_lib(&dir);
    let mut l = Linker::new().unwrap();
    l.load_archive_for(&lib, &["dup_only2", "a_entry"]).unwrap();
    assert_eq!(
        names(&l, &dir),
        ["lib.a(m_a.o)", "lib.a(m_dup2.o)", "lib.a(m_b.o)"]
    );
    let dup: extern "C" fn() -> i32 = unsafe { l.function("dup_fn").unwrap() };
    let a: extern "C" fn(i32) -> i32 = unsafe { l.function("a_entry").unwrap() };
    assert_eq!((dup(), a(10)), (2, 31));
}

#[test]
fn members_are_objects_that_can_be_replaced_unloaded_and_pulled_again() {
    let dir = scratch("replace");
    let lib = gnu_lib(&dir);
    let mut l = linker_with(&["use_a"]);
    l.load_archive(&lib).unwrap();
    let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
    let b = l
        .objects()
        .find(|(_, n)| n.ends_with("lib.a(m_b.o)"))
        .map(|(id, _)| id)
        .unwrap();
    l.replace(b, &std::fs::read(obj("m_b_v2")).unwrap())
        .unwrap();
    assert_eq!(use_a(5), (15 + 1000 + 1) * 100 + 21);
    l.unload(b).unwrap();
    assert_eq!(l.undefined().len(), 1, "b_value, needed by m_a.o");
    // Now m_b.o is needed again: the archive gives it back.
    let again = l.load_archive(&lib).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(use_a(5), 1621);
    // use_a.o reads m_a.o's a_ctor_seen: m_a.o cannot go while use_a.o is loaded.
    let a = l.objects().find(|(_, n)| n.ends_with("(m_a.o)")).unwrap().0;
    assert!(matches!(l.unload(a), Err(Error::InUse { .. })));
}

#[test]
fn archives_searched_as_a_group_find_each_others_members() {
    let dir = scratch("group");
    let liba = build(&dir, "liba.a", "ar", &["rcs"], &[("m_a", "m_a.o")]);
    let libb = build(&dir, "libb.a", "ar", &["rcs"], &[("m_b", "m_b.o")]);
    let (a, b) = (std::fs::read(&liba).unwrap(), std::fs::read(&libb).unwrap());
    let mut l = linker_with(&["use_a"]);
    // libb.a first: it has nothing to give until liba.a's m_a.o is in.
    let ids = l
        .load_archive_group(&[("libb.a".into(), &b), ("liba.a".into(), &a)])
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        names(&l, &dir),
        ["use_a.o", "liba.a(m_a.o)", "libb.a(m_b.o)"]
    );
    assert!(l.check_resolved().is_ok());

    // load_inputs: an archive before the objects that need it, and one after,
    // both found by the final search.
    for order in [[&libb, &obj("use_a"), &liba], [&liba, &libb, &obj("use_a")]] {
        let mut l = Linker::new().unwrap();
        l.load_inputs(&order).unwrap();
        let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
        assert_eq!(use_a(1), 421, "{order:?}");
        // load_files takes archives too: it streams objects until one turns up.
        let mut l = Linker::new().unwrap();
        assert_eq!(l.load_files(&order).unwrap().len(), 3, "{order:?}");
        let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
        assert_eq!(use_a(1), 421, "{order:?}");
    }
    // Into a linker that already has objects: those before the archive stream,
    // the rest are linked as load_inputs links them.
    let mut l = linker_with(&["use_weak"]);
    let ids = l.load_files(&[obj("use_a"), liba, libb]).unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        names(&l, &dir),
        ["use_weak.o", "use_a.o", "liba.a(m_a.o)", "libb.a(m_b.o)"]
    );
    let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
    assert_eq!(use_a(1), 421);
}

#[test]
fn a_load_failing_at_any_stage_leaves_the_linker_as_before() {
    let dir = scratch("stages");
    let lib = gnu_lib(&dir);
    for stage in [Stage::Layout, Stage::Resolve, Stage::Fixup, Stage::Finalize] {
        let mut l = linker_with(&["use_a", "use_weak"]);
        let before = l.state_digest();
        l.set_fail_at(Some(stage));
        assert!(matches!(l.load_archive(&lib), Err(Error::Injected(_))));
        assert_eq!(l.state_digest(), before, "{stage:?}");
        l.set_fail_at(None);
        l.load_archive(&lib).unwrap();
        let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
        assert_eq!(use_a(0), 121);
    }
}

// ---- archives written here, byte by byte ----

/// A GNU archive: a `/` symbol table listing `symbols` (name, member index), then
/// the members (names of at most 15 bytes).
fn gnu_archive(members: &[(&str, Vec<u8>)], symbols: &[(&str, usize)]) -> Vec<u8> {
    let table_len = 4 + 4 * symbols.len() + symbols.iter().map(|(n, _)| n.len() + 1).sum::<usize>();
    let padded = |n: usize| n + n % 2;
    let mut offsets = Vec::new();
    let mut at = 8 + 60 + padded(table_len);
    for (_, data) in members {
        offsets.push(at);
        at += 60 + padded(data.len());
    }
    let mut table = (symbols.len() as u32).to_be_bytes().to_vec();
    for (_, m) in symbols {
        table.extend((offsets[*m] as u32).to_be_bytes());
    }
    for (n, _) in symbols {
        table.extend(n.as_bytes());
        table.push(0);
    }
    let mut out = b"!<arch>\n".to_vec();
    push_member(&mut out, "/", &table);
    for (name, data) in members {
        push_member(&mut out, &format!("{name}/"), data);
    }
    out
}

fn push_member(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let header = format!(
        "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        0,
        0,
        0,
        644,
        data.len()
    );
    assert_eq!(header.len(), 60);
    out.extend(header.as_bytes());
    out.extend(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(obj(name)).unwrap()
}

#[test]
fn an_archive_written_here_loads() {
    let lib = gnu_archive(
        &[("m_b.o", read("m_b")), ("m_a.o", read("m_a"))],
        &[
            ("b_value", 0),
            ("b_scale", 0),
            ("a_entry", 1),
            ("a_ctor_seen", 1),
        ],
    );
    let mut l = linker_with(&["use_a"]);
    assert_eq!(l.load_archive_bytes("mem.a", &lib).unwrap().len(), 2);
    let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
    assert_eq!(use_a(2), 721);
}

#[test]
fn a_member_failing_in_a_later_scan_undoes_the_whole_call() {
    // m_a.o is pulled by the first scan and linked; m_b.o, pulled by the second,
    // is broken: m_a.o must go again.
    let mut broken = read("m_b");
    broken.truncate(100);
    let lib = gnu_archive(
        &[("m_b.o", broken), ("m_a.o", read("m_a"))],
        &[("b_value", 0), ("a_entry", 1)],
    );
    let mut l = linker_with(&["use_a"]);
    let before = l.state_digest();
    let err = l.load_archive_bytes("broken.a", &lib).unwrap_err();
    assert!(err.to_string().contains("broken.a(m_b.o)"), "{err}");
    assert_eq!(l.state_digest(), before);
    assert_eq!(l.objects().count(), 1);
    // The linker still works, and the trap names what is missing.
    let good = gnu_archive(
        &[("m_b.o", read("m_b")), ("m_a.o", read("m_a"))],
        &[("b_value", 0), ("a_entry", 1)],
    );
    l.load_archive_bytes("good.a", &good).unwrap();
    let use_a: extern "C" fn(i32) -> i32 = unsafe { l.function("use_a").unwrap() };
    assert_eq!(use_a(1), 421);
}

#[test]
fn corrupt_archives_are_errors_naming_the_archive() {
    let good = gnu_archive(
        &[("m_b.o", read("m_b")), ("m_a.o", read("m_a"))],
        &[("b_value", 0), ("a_entry", 1)],
    );
    let mut bad_offset = good.clone();
    // The first symbol's member offset (big-endian, after the count) points nowhere.
    bad_offset[8 + 60 + 4..8 + 60 + 8].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty after magic", b"!<arch>\n".to_vec(), ""),
        (
            "garbage header",
            b"!<arch>\nthis is not a member header at all, not at all....".to_vec(),
            "malformed archive",
        ),
        ("truncated", good[..good.len() - 300].to_vec(), "bad.a"),
        ("symbol table offset", bad_offset, "bad.a"),
        (
            "member not an object",
            gnu_archive(&[("text.o", b"hello".to_vec())], &[("a_entry", 0)]),
            "bad.a(text.o)",
        ),
        (
            "thin member missing",
            {
                let mut t = gnu_archive(&[], &[]);
                t[..8].copy_from_slice(b"!<thin>\n");
                push_member(&mut t, "gone.o", &[]);
                t
            },
            "",
        ),
    ];
    for (what, bytes, needle) in cases {
        let mut l = linker_with(&["use_a"]);
        let before = l.state_digest();
        match l.load_archive_bytes("bad.a", &bytes) {
            Ok(ids) => assert!(
                needle.is_empty() && ids.is_empty(),
                "{what}: loaded {ids:?}"
            ),
            Err(e) => assert!(e.to_string().contains(needle), "{what}: {e}"),
        }
        assert_eq!(l.state_digest(), before, "{what}");
    }
}

#[test]
fn a_thin_member_that_is_missing_is_an_error_naming_it() {
    let dir = scratch("thinmissing");
    let lib = build(
        &dir,
        "libt.a",
        "ar",
        &["rcsT"],
        &[("m_a", "m_a.o"), ("m_b", "m_b.o")],
    );
    std::fs::remove_file(dir.join("m_b.o")).unwrap();
    let mut l = linker_with(&["use_a"]);
    let err = l.load_archive(&lib).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::MalformedArchive { .. }), "{text}");
    assert!(
        text.contains("libt.a(m_b.o)") && text.contains("thin member file"),
        "{text}"
    );
    assert_eq!(l.objects().count(), 1, "m_a.o went again");
}

#[test]
fn every_flipped_byte_of_an_archive_header_is_an_error_or_a_load_never_a_panic() {
    let good = gnu_archive(
        &[("m_b.o", read("m_b")), ("m_a.o", read("m_a"))],
        &[("b_value", 0), ("a_entry", 1)],
    );
    let a_header = 8 + 60 + 4 + 8 + "b_value\0a_entry\0".len();
    let b_len = read("m_b").len();
    let ranges = [
        0..a_header + 64,
        a_header + 60 + b_len..a_header + 60 + b_len + 64,
    ];
    for at in ranges.into_iter().flatten() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bytes = good.clone();
            bytes[at] ^= flip;
            let mut l = Linker::with_options(relink::LinkerOptions::new().link_only(true)).unwrap();
            l.load_file(obj("use_a")).unwrap();
            let before = l.state_digest();
            if l.load_archive_bytes("flip.a", &bytes).is_err() {
                assert_eq!(l.state_digest(), before, "byte {at:#x} ^ {flip:#x}");
            }
        }
    }
}

// ---- the command line ----

fn relink(args: &[&str]) -> common::Outcome {
    let mut cmd = common::relink_command();
    cmd.args(args);
    common::run_with_timeout(cmd, std::time::Duration::from_secs(120))
}

#[test]
fn cli_runs_a_program_with_an_archive_in_either_order() {
    let dir = scratch("cli");
    let lib = gnu_lib(&dir);
    let (lib, main) = (lib.to_str().unwrap(), obj("main_prog"));
    let main = main.to_str().unwrap();
    for args in [["run", main, lib], ["run", lib, main]] {
        let out = relink(&args);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "a_entry(5)=16 ctor=21 weak=null\n",
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(7), "{args:?}");
    }
    let out = relink(&["check", main, lib]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1 object(s) and 2 archive member(s) link cleanly\n"
    );
}

#[test]
fn cli_reports_a_corrupt_archive() {
    let dir = scratch("clibad");
    std::fs::write(
        dir.join("bad.a"),
        b"!<arch>\nnot a header, just some words here....",
    )
    .unwrap();
    let bad = dir.join("bad.a");
    let main = obj("main_prog");
    for command in ["run", "check"] {
        let out = relink(&[command, main.to_str().unwrap(), bad.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {err}");
        assert!(err.contains("bad.a: malformed archive"), "{command}: {err}");
    }
}

// ---- real archives of this system (x86-64) ----

#[cfg(target_arch = "x86_64")]
mod system {
    use super::*;
    use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr, CString};

    const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";

    /// A symbol of a host shared library, opened privately (RTLD_LOCAL: relink's
    /// process lookups do not see it).
    fn host<F: Copy>(lib: &str, name: &str) -> F {
        let lib = CString::new(lib).unwrap();
        let name_c = CString::new(name).unwrap();
        // SAFETY: valid C strings; the library stays loaded (never closed).
        let handle = unsafe { libc::dlopen(lib.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!handle.is_null(), "dlopen {lib:?}");
        let p = unsafe { libc::dlsym(handle, name_c.as_ptr()) };
        assert!(!p.is_null(), "dlsym {name}");
        assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
        // SAFETY: F is the function's real type (each caller names it).
        unsafe { std::mem::transmute_copy(&p) }
    }

    /// Members of `lib` that `ld -r -u <roots>` pulls, from its map file.
    fn ld_pulls(lib: &Path, roots: &[&str]) -> Vec<String> {
        let dir = scratch(&format!(
            "ld-{}",
            lib.file_stem().unwrap().to_str().unwrap()
        ));
        let mut args = vec![
            "-r".to_string(),
            "-o".into(),
            "out.o".into(),
            "-Map=out.map".into(),
        ];
        for r in roots {
            args.push(format!("-u{r}"));
        }
        args.push(lib.display().to_string());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_tool(&dir, "ld", &refs);
        let map = std::fs::read_to_string(dir.join("out.map")).unwrap();
        let prefix = format!("{}(", lib.display());
        let mut out: Vec<String> = map
            .lines()
            .take_while(|l| !l.starts_with("Memory Configuration"))
            .filter_map(|l| l.strip_prefix(&prefix)?.strip_suffix(')'))
            .map(str::to_string)
            .collect();
        out.sort();
        out
    }

    fn member_names(l: &Linker, lib: &Path) -> Vec<String> {
        let prefix = format!("{}(", lib.display());
        let mut out: Vec<String> = l
            .objects()
            .filter_map(|(_, n)| Some(n.strip_prefix(&prefix)?.strip_suffix(')')?.to_string()))
            .collect();
        out.sort();
        out
    }

    type Compress2 = extern "C" fn(*mut u8, *mut c_ulong, *const u8, c_ulong, c_int) -> c_int;
    type Uncompress = extern "C" fn(*mut u8, *mut c_ulong, *const u8, c_ulong) -> c_int;
    type Check = extern "C" fn(c_ulong, *const u8, c_uint) -> c_ulong;
    type Version = extern "C" fn() -> *const c_char;

    struct Zlib {
        compress2: Compress2,
        uncompress: Uncompress,
        crc32: Check,
        adler32: Check,
        version: Version,
    }

    impl Zlib {
        fn compress(&self, data: &[u8], level: c_int) -> Vec<u8> {
            let mut out = vec![0u8; data.len() + data.len() / 100 + 64];
            let mut len = out.len() as c_ulong;
            let r = (self.compress2)(
                out.as_mut_ptr(),
                &mut len,
                data.as_ptr(),
                data.len() as c_ulong,
                level,
            );
            assert_eq!(r, 0);
            out.truncate(len as usize);
            out
        }

        fn uncompress(&self, data: &[u8], size: usize) -> Vec<u8> {
            let mut out = vec![0u8; size];
            let mut len = size as c_ulong;
            assert_eq!(
                (self.uncompress)(
                    out.as_mut_ptr(),
                    &mut len,
                    data.as_ptr(),
                    data.len() as c_ulong
                ),
                0
            );
            out.truncate(len as usize);
            out
        }
    }

    const ZLIB_ROOTS: [&str; 5] = ["compress2", "uncompress", "crc32", "adler32", "zlibVersion"];

    fn libz() -> PathBuf {
        Path::new(LIBDIR).join("libz.a")
    }

    /// Test input: text-like, with some structure and some noise.
    fn sample(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i % 7 == 0 {
                    (x >> 24) as u8
                } else {
                    b"relink archives "[i % 16]
                }
            })
            .collect()
    }

    #[test]
    fn zlib_from_libz_a_compresses_like_the_hosts_libz() {
        let mut l = Linker::new().unwrap();
        l.load_archive_for(libz(), &ZLIB_ROOTS).unwrap();
        let ours = unsafe {
            Zlib {
                compress2: l.function("compress2").unwrap(),
                uncompress: l.function("uncompress").unwrap(),
                crc32: l.function("crc32").unwrap(),
                adler32: l.function("adler32").unwrap(),
                version: l.function("zlibVersion").unwrap(),
            }
        };
        let so = "libz.so.1";
        let theirs = Zlib {
            compress2: host(so, "compress2"),
            uncompress: host(so, "uncompress"),
            crc32: host(so, "crc32"),
            adler32: host(so, "adler32"),
            version: host(so, "zlibVersion"),
        };
        let v = |z: &Zlib| unsafe { CStr::from_ptr((z.version)()) }.to_owned();
        assert_eq!(v(&ours), v(&theirs));
        for (len, seed) in [(0, 1), (1, 2), (1000, 3), (300_000, 4)] {
            let data = sample(len, seed);
            for level in [0, 1, 6, 9] {
                let c = ours.compress(&data, level);
                assert_eq!(
                    c,
                    theirs.compress(&data, level),
                    "compress2 len {len} level {level}"
                );
                assert_eq!(ours.uncompress(&c, len), data);
            }
            let (p, n) = (data.as_ptr(), data.len() as c_uint);
            assert_eq!((ours.crc32)(0, p, n), (theirs.crc32)(0, p, n));
            assert_eq!((ours.adler32)(1, p, n), (theirs.adler32)(1, p, n));
        }
    }

    #[test]
    fn zlib_members_pulled_are_those_ld_pulls() {
        let mut l = Linker::new().unwrap();
        l.load_archive_for(libz(), &ZLIB_ROOTS).unwrap();
        let ours = member_names(&l, &libz());
        assert_eq!(ours, ld_pulls(&libz(), &ZLIB_ROOTS));
        // Not all of libz.a: gz*.o, infback.o are not needed.
        assert!(!ours.iter().any(|m| m.starts_with("gz")), "{ours:?}");
        // Only crc32 needs only crc32.o.
        let mut l = Linker::new().unwrap();
        l.load_archive_for(libz(), &["crc32"]).unwrap();
        assert_eq!(member_names(&l, &libz()), ["crc32.o"]);
        assert_eq!(member_names(&l, &libz()), ld_pulls(&libz(), &["crc32"]));
    }

    /// `relink run [-l LIB] driver.o archive` prints what `driver.o` linked
    /// natively against the host's shared library (`-l<so>`) prints.
    fn cli_matches_the_native_program(driver: &str, archive: &str, so: &str, libs: &[&str]) {
        let dir = scratch(&format!("native-{driver}"));
        let object = obj(driver);
        let exe = dir.join("native");
        let so_flag = format!("-l{so}");
        let (object_s, exe_s) = (object.to_str().unwrap(), exe.to_str().unwrap());
        run_tool(&dir, "gcc", &[object_s, &so_flag, "-o", exe_s]);
        let native = Command::new(&exe).output().unwrap();
        assert!(native.status.success());
        let lib = Path::new(LIBDIR).join(archive);
        let mut args = vec!["run"];
        for l in libs {
            args.extend(["-l", l]);
        }
        args.extend([object_s, lib.to_str().unwrap()]);
        let out = relink(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&native.stdout)
        );
    }

    /// SQLite (87 of its 102 members, ~23,000 relocations) runs SQL; its math
    /// functions come from the host's libm (`-l m`: libm.a's IFUNC resolvers need
    /// a static glibc).
    #[test]
    fn cli_runs_sql_through_libsqlite3_a_like_the_hosts_libsqlite3() {
        cli_matches_the_native_program("sqldriver", "libsqlite3.a", "sqlite3", &["m"]);
    }

    /// libffi: calls through its hand-written assembly (`unix64.S`) and a closure.
    #[test]
    fn cli_calls_through_libffi_a_like_the_hosts_libffi() {
        cli_matches_the_native_program("ffidriver", "libffi.a", "ffi", &[]);
    }

    #[test]
    fn cli_runs_a_c_program_with_libz_a() {
        let zdriver = obj("zdriver");
        let out = relink(&["run", zdriver.to_str().unwrap(), libz().to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The same computation with the host's libz.so.1 (see testdata/archive/zdriver.c).
        let so = "libz.so.1";
        let z = Zlib {
            compress2: host(so, "compress2"),
            uncompress: host(so, "uncompress"),
            crc32: host(so, "crc32"),
            adler32: host(so, "adler32"),
            version: host(so, "zlibVersion"),
        };
        let src: Vec<u8> = (0..100_000usize)
            .map(|i| b"relink archive "[i % 15] ^ (i / 1000) as u8)
            .collect();
        let comp = z.compress(&src, 9);
        let back = z.uncompress(&comp, src.len());
        let n = |d: &[u8]| d.len() as c_uint;
        let expected = format!(
            "{} 0 0 {} {} {} crc {:08x} adler {:08x} compressed-crc {:08x}\n",
            unsafe { CStr::from_ptr((z.version)()) }.to_str().unwrap(),
            comp.len(),
            back.len(),
            (back == src) as i32,
            (z.crc32)(0, src.as_ptr(), n(&src)),
            (z.adler32)(1, src.as_ptr(), n(&src)),
            (z.crc32)(0, comp.as_ptr(), n(&comp)),
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    }

    #[test]
    fn bzip2_from_libbz2_a_round_trips_like_the_hosts_libbz2() {
        type Compress =
            extern "C" fn(*mut u8, *mut c_uint, *const u8, c_uint, c_int, c_int, c_int) -> c_int;
        type Decompress =
            extern "C" fn(*mut u8, *mut c_uint, *const u8, c_uint, c_int, c_int) -> c_int;
        let lib = Path::new(LIBDIR).join("libbz2.a");
        let roots = [
            "BZ2_bzBuffToBuffCompress",
            "BZ2_bzBuffToBuffDecompress",
            "BZ2_bzlibVersion",
        ];
        let mut l = Linker::new().unwrap();
        l.load_archive_for(&lib, &roots).unwrap();
        assert_eq!(member_names(&l, &lib), ld_pulls(&lib, &roots));
        let ours: (Compress, Decompress) =
            unsafe { (l.function(roots[0]).unwrap(), l.function(roots[1]).unwrap()) };
        let so = "libbz2.so.1.0";
        let theirs: (Compress, Decompress) = (host(so, roots[0]), host(so, roots[1]));
        let compress = |f: Compress, data: &[u8], block: c_int| {
            let mut out = vec![0u8; data.len() + data.len() / 100 + 600];
            let mut len = out.len() as c_uint;
            assert_eq!(
                f(
                    out.as_mut_ptr(),
                    &mut len,
                    data.as_ptr(),
                    data.len() as c_uint,
                    block,
                    0,
                    0
                ),
                0
            );
            out.truncate(len as usize);
            out
        };
        for (len, block) in [(10, 1), (250_000, 9)] {
            let data = sample(len, len as u32);
            let c = compress(ours.0, &data, block);
            assert_eq!(c, compress(theirs.0, &data, block), "len {len}");
            let mut back = vec![0u8; len];
            let mut n = len as c_uint;
            assert_eq!(
                (ours.1)(
                    back.as_mut_ptr(),
                    &mut n,
                    c.as_ptr(),
                    c.len() as c_uint,
                    0,
                    0
                ),
                0
            );
            assert_eq!(back, data);
        }
        let version: Version = unsafe { l.function(roots[2]).unwrap() };
        let host_version: Version = host(so, roots[2]);
        unsafe { assert_eq!(CStr::from_ptr(version()), CStr::from_ptr(host_version())) };
    }

    /// expat calls back into the host: counts elements and tracks depth.
    #[derive(Default)]
    struct Counts {
        elements: u32,
        depth: u32,
        max_depth: u32,
        attributes: u32,
    }

    extern "C" fn on_start(user: *mut c_void, _name: *const c_char, attrs: *const *const c_char) {
        // SAFETY: `user` is the &mut Counts passed to XML_SetUserData; `attrs` is a
        // null-terminated array of name/value pointers.
        let c = unsafe { &mut *(user as *mut Counts) };
        c.elements += 1;
        c.depth += 1;
        c.max_depth = c.max_depth.max(c.depth);
        let mut i = 0;
        while !unsafe { *attrs.add(i) }.is_null() {
            i += 1;
        }
        c.attributes += i as u32 / 2;
    }

    extern "C" fn on_end(user: *mut c_void, _name: *const c_char) {
        // SAFETY: as in on_start.
        unsafe { (*(user as *mut Counts)).depth -= 1 };
    }

    type Start = extern "C" fn(*mut c_void, *const c_char, *const *const c_char);
    type End = extern "C" fn(*mut c_void, *const c_char);

    struct Expat {
        create: extern "C" fn(*const c_char) -> *mut c_void,
        user: extern "C" fn(*mut c_void, *mut c_void),
        handlers: extern "C" fn(*mut c_void, Start, End),
        parse: extern "C" fn(*mut c_void, *const c_char, c_int, c_int) -> c_int,
        free: extern "C" fn(*mut c_void),
    }

    const EXPAT_ROOTS: [&str; 5] = [
        "XML_ParserCreate",
        "XML_SetUserData",
        "XML_SetElementHandler",
        "XML_Parse",
        "XML_ParserFree",
    ];

    impl Expat {
        fn count(&self, doc: &str) -> (c_int, u32, u32, u32) {
            let mut counts = Counts::default();
            let p = (self.create)(std::ptr::null());
            (self.user)(p, &mut counts as *mut Counts as *mut c_void);
            (self.handlers)(p, on_start, on_end);
            let ok = (self.parse)(p, doc.as_ptr().cast(), doc.len() as c_int, 1);
            (self.free)(p);
            (ok, counts.elements, counts.max_depth, counts.attributes)
        }
    }

    #[test]
    fn expat_from_libexpat_a_parses_like_the_hosts_libexpat() {
        let lib = Path::new(LIBDIR).join("libexpat.a");
        let mut l = Linker::new().unwrap();
        l.load_archive_for(&lib, &EXPAT_ROOTS).unwrap();
        assert_eq!(member_names(&l, &lib), ld_pulls(&lib, &EXPAT_ROOTS));
        let ours = unsafe {
            Expat {
                create: l.function(EXPAT_ROOTS[0]).unwrap(),
                user: l.function(EXPAT_ROOTS[1]).unwrap(),
                handlers: l.function(EXPAT_ROOTS[2]).unwrap(),
                parse: l.function(EXPAT_ROOTS[3]).unwrap(),
                free: l.function(EXPAT_ROOTS[4]).unwrap(),
            }
        };
        let so = "libexpat.so.1";
        let theirs = Expat {
            create: host(so, EXPAT_ROOTS[0]),
            user: host(so, EXPAT_ROOTS[1]),
            handlers: host(so, EXPAT_ROOTS[2]),
            parse: host(so, EXPAT_ROOTS[3]),
            free: host(so, EXPAT_ROOTS[4]),
        };
        let mut big = String::from("<root>");
        for i in 0..2000 {
            big.push_str(&format!(
                "<item n='{i}' k=\"v&amp;{i}\"><x>{i} &lt; y</x><e/></item>"
            ));
        }
        big.push_str("</root>");
        for doc in [
            "<a x='1'><b><c/><c>text &amp; more</c></b><b/><d><e><f/></e></d></a>",
            big.as_str(),
            "<broken><x></broken>",
        ] {
            assert_eq!(ours.count(doc), theirs.count(doc));
        }
        assert_eq!(ours.count(&big), (1, 6001, 3, 4000));
    }

    /// GMP's `mpz_t`.
    #[repr(C)]
    struct Mpz {
        alloc: c_int,
        size: c_int,
        limbs: *mut u64,
    }

    struct Gmp {
        init: extern "C" fn(*mut Mpz),
        fac: extern "C" fn(*mut Mpz, c_ulong),
        pow: extern "C" fn(*mut Mpz, c_ulong, c_ulong),
        add: extern "C" fn(*mut Mpz, *const Mpz, *const Mpz),
        mul: extern "C" fn(*mut Mpz, *const Mpz, *const Mpz),
        tdiv_q: extern "C" fn(*mut Mpz, *const Mpz, *const Mpz),
        get_str: extern "C" fn(*mut c_char, c_int, *const Mpz) -> *mut c_char,
    }

    const GMP_ROOTS: [&str; 7] = [
        "__gmpz_init",
        "__gmpz_fac_ui",
        "__gmpz_ui_pow_ui",
        "__gmpz_add",
        "__gmpz_mul",
        "__gmpz_tdiv_q",
        "__gmpz_get_str",
    ];

    impl Gmp {
        /// (1000! + 3^5000) * 7^300 / 11^200, in base 10 and 36. The strings are
        /// leaked (GMP allocates them with malloc).
        fn compute(&self) -> (String, String) {
            let new = || {
                let mut z = Mpz {
                    alloc: 0,
                    size: 0,
                    limbs: std::ptr::null_mut(),
                };
                (self.init)(&mut z);
                z
            };
            let (mut f, mut p, mut q, mut r) = (new(), new(), new(), new());
            (self.fac)(&mut f, 1000);
            (self.pow)(&mut p, 3, 5000);
            (self.add)(&mut r, &f, &p);
            (self.pow)(&mut p, 7, 300);
            (self.mul)(&mut f, &r, &p);
            (self.pow)(&mut q, 11, 200);
            (self.tdiv_q)(&mut r, &f, &q);
            let s =
                |base| unsafe { CStr::from_ptr((self.get_str)(std::ptr::null_mut(), base, &r)) };
            (
                s(10).to_str().unwrap().to_string(),
                s(36).to_str().unwrap().to_string(),
            )
        }
    }

    #[test]
    fn gmp_from_libgmp_a_computes_like_the_hosts_libgmp() {
        let lib = Path::new(LIBDIR).join("libgmp.a");
        let mut l = Linker::new().unwrap();
        l.load_archive_for(&lib, &GMP_ROOTS).unwrap();
        assert_eq!(member_names(&l, &lib), ld_pulls(&lib, &GMP_ROOTS));
        let ours = unsafe {
            Gmp {
                init: l.function(GMP_ROOTS[0]).unwrap(),
                fac: l.function(GMP_ROOTS[1]).unwrap(),
                pow: l.function(GMP_ROOTS[2]).unwrap(),
                add: l.function(GMP_ROOTS[3]).unwrap(),
                mul: l.function(GMP_ROOTS[4]).unwrap(),
                tdiv_q: l.function(GMP_ROOTS[5]).unwrap(),
                get_str: l.function(GMP_ROOTS[6]).unwrap(),
            }
        };
        let so = "libgmp.so.10";
        let theirs = Gmp {
            init: host(so, GMP_ROOTS[0]),
            fac: host(so, GMP_ROOTS[1]),
            pow: host(so, GMP_ROOTS[2]),
            add: host(so, GMP_ROOTS[3]),
            mul: host(so, GMP_ROOTS[4]),
            tdiv_q: host(so, GMP_ROOTS[5]),
            get_str: host(so, GMP_ROOTS[6]),
        };
        let (dec, b36) = ours.compute();
        assert!(dec.len() > 2500, "{}", dec.len());
        assert_eq!((dec, b36), theirs.compute());
    }
}
