//! Batches of many files (`Linker::load_files`, `relink run`): they are read and
//! parsed on a second thread, chunks of 16 objects ahead of the one being
//! linked (`src/batch.rs`). These batches have 40 objects, so they cross
//! chunk boundaries, and check what the reading thread hands over besides
//! objects: a file that cannot be read or parsed, an archive, and an object
//! that needs another placement than the batch's first ones got.
//!
//! The objects are a call chain written in assembly for the architecture under
//! test and assembled with `llvm-mc` when the test runs: `link_<i>` returns
//! `link_<i-1>() + i`, and `link_0` returns 0, so `link_<i>` returns
//! 0 + 1 + … + i only if every object before it was linked in.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::assemble;
use relink::{Error, Linker};

const COUNT: usize = 40;

/// Assembly of chain object `i`.
fn chain_source(i: usize) -> String {
    let body = match (i, common::arch()) {
        (0, "x86_64") => "xorl %eax, %eax\n ret".to_string(),
        (_, "x86_64") => format!(
            "pushq %rax\n call link_{}@PLT\n addl ${i}, %eax\n popq %rcx\n ret",
            i - 1
        ),
        (0, _) => "mov w0, #0\n ret".to_string(),
        (_, _) => format!(
            "stp x29, x30, [sp, #-16]!\n bl link_{}\n add w0, w0, #{i}\n \
             ldp x29, x30, [sp], #16\n ret",
            i - 1
        ),
    };
    format!(".text\n.globl link_{i}\n.type link_{i},@function\nlink_{i}:\n {body}\n")
}

/// The chain objects `link_0.o` … `link_<COUNT-1>.o`, assembled once (per
/// test binary) into `<target>/tmp/read-ahead-<arch>`; tests add their own
/// files there under names of their own.
fn chain() -> Vec<PathBuf> {
    static CHAIN: OnceLock<Vec<PathBuf>> = OnceLock::new();
    CHAIN
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("read-ahead-{}", common::arch()));
            std::fs::create_dir_all(&dir).unwrap();
            (0..COUNT)
                .map(|i| assemble(&dir, &format!("link_{i}.o"), &chain_source(i)))
                .collect()
        })
        .clone()
}

fn link(linker: &mut Linker, i: usize) -> i32 {
    let f: extern "C" fn() -> i32 = unsafe { linker.function(&format!("link_{i}")).unwrap() };
    f()
}

fn triangle(i: usize) -> i32 {
    (i * (i + 1) / 2) as i32
}

#[test]
fn a_batch_of_forty_files_links_every_one() {
    let files = chain();
    let mut linker = Linker::new().unwrap();
    let ids = linker.load_files(&files).unwrap();
    assert_eq!(ids.len(), COUNT);
    assert_eq!(linker.stats().objects, COUNT);
    if std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2) {
        assert!(linker.stats().parse_ahead > Duration::ZERO, "read ahead");
    }
    for i in [0, 1, 15, 16, 17, 31, 32, COUNT - 1] {
        assert_eq!(link(&mut linker, i), triangle(i), "link_{i}");
    }
}

/// A file that is not an object, among the others: the error names it, and the
/// files before it stay loaded (as `load_files` documents); the linker goes on
/// working.
#[test]
fn a_bad_file_in_the_middle_of_a_batch_names_itself_and_keeps_those_before() {
    let mut files = chain();
    let bad = files[0].with_file_name("not_an_object.o");
    std::fs::write(&bad, b"this is not an object file, just text").unwrap();
    let good = std::mem::replace(&mut files[25], bad.clone());
    let mut linker = Linker::new().unwrap();
    let err = linker.load_files(&files).unwrap_err();
    assert!(err.to_string().contains("not_an_object.o"), "{err}");
    assert_eq!(linker.objects().count(), 25);
    assert_eq!(link(&mut linker, 24), triangle(24));
    // The rest loads afterwards, the fixed file first.
    let mut rest = vec![good];
    rest.extend_from_slice(&files[26..]);
    linker.load_files(&rest).unwrap();
    assert_eq!(link(&mut linker, COUNT - 1), triangle(COUNT - 1));
}

#[test]
fn a_missing_file_in_the_middle_of_a_batch_is_an_io_error() {
    let mut files = chain();
    files[20] = files[20].with_file_name("no_such_file.o");
    let mut linker = Linker::new().unwrap();
    match linker.load_files(&files) {
        Err(Error::Io { path, .. }) => assert!(path.ends_with("no_such_file.o"), "{path:?}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(linker.objects().count(), 20);
    assert_eq!(link(&mut linker, 19), triangle(19));
}

/// `dir/name`: an archive of `members`.
fn archive(name: &str, members: &[PathBuf]) -> PathBuf {
    let lib = members[0].with_file_name(name);
    _ = std::fs::remove_file(&lib);
    let status = Command::new("ar")
        .arg("rcs")
        .arg(&lib)
        .args(members)
        .status()
        .unwrap();
    assert!(status.success());
    lib
}

/// An archive after 30 objects: the batch goes on as `load_inputs` links
/// archives (members pulled on demand), with the objects before it kept.
#[test]
fn an_archive_in_the_middle_of_a_batch_is_searched() {
    let files = chain();
    // link_30 … link_34 in an archive; link_35 … needs them, pulls them in.
    let mut batch: Vec<PathBuf> = files[..30].to_vec();
    batch.push(archive("liblinks.a", &files[30..35]));
    batch.extend_from_slice(&files[35..]);
    let mut linker = Linker::new().unwrap();
    linker.load_files(&batch).unwrap();
    assert_eq!(linker.objects().count(), COUNT);
    assert_eq!(link(&mut linker, COUNT - 1), triangle(COUNT - 1));
}

/// An archive first (the file the linking thread reads itself): the whole
/// batch is linked as `load_inputs` links it.
#[test]
fn an_archive_first_in_a_batch_is_searched() {
    let files = chain();
    // link_0 … link_4 in an archive, before the objects that need them.
    let mut batch = vec![archive("libfirst.a", &files[..5])];
    batch.extend_from_slice(&files[5..]);
    let mut linker = Linker::new().unwrap();
    linker.load_files(&batch).unwrap();
    assert_eq!(linker.objects().count(), COUNT);
    assert_eq!(link(&mut linker, COUNT - 1), triangle(COUNT - 1));
}

/// After 30 position-independent objects placed the region near the process,
/// one needs the low 2 GiB: the batch starts over, placed for all of them.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_late_object_that_needs_another_placement_restarts_the_batch() {
    let mut files = chain();
    let low = assemble(
        files[0].parent().unwrap(),
        "absolute.o",
        ".text\n.globl table_at\ntable_at:\n movl $table, %eax\n ret\n\
         .data\ntable: .long 7\n",
    );
    files.insert(30, low);
    let mut linker = Linker::new().unwrap();
    linker.load_files(&files).unwrap();
    assert_eq!(linker.region().unwrap().2, relink::Placement::Low);
    assert_eq!(linker.objects().count(), COUNT + 1);
    assert_eq!(
        linker.stats().objects,
        COUNT + 1,
        "objects linked twice count once"
    );
    let table_at: extern "C" fn() -> u32 = unsafe { linker.function("table_at").unwrap() };
    assert_eq!(unsafe { *(table_at() as usize as *const i32) }, 7);
    assert_eq!(link(&mut linker, COUNT - 1), triangle(COUNT - 1));
}

/// `relink run` on forty files: `main` is the last object and calls the chain.
#[test]
fn relink_run_reads_a_batch_ahead() {
    let mut files = chain();
    let main = match common::arch() {
        "x86_64" => format!(
            "pushq %rax\n call link_{}@PLT\n subl ${}, %eax\n popq %rcx\n ret",
            COUNT - 1,
            triangle(COUNT - 1) - 3
        ),
        _ => format!(
            "stp x29, x30, [sp, #-16]!\n bl link_{}\n sub w0, w0, #{}\n \
             ldp x29, x30, [sp], #16\n ret",
            COUNT - 1,
            triangle(COUNT - 1) - 3
        ),
    };
    let source = format!(".text\n.globl main\n.type main,@function\nmain:\n {main}\n");
    files.push(assemble(files[0].parent().unwrap(), "main.o", &source));
    let out = common::relink_command()
        .arg("run")
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

/// A bad first file (the one the linking thread reads itself): nothing is
/// loaded, and the next batch loads.
#[test]
fn a_bad_first_file_loads_nothing() {
    let mut files = chain();
    let bad = files[0].with_file_name("not_an_object_first.o");
    std::fs::write(&bad, b"not an object either").unwrap();
    let good = std::mem::replace(&mut files[0], bad);
    let mut linker = Linker::new().unwrap();
    let err = linker.load_files(&files).unwrap_err();
    assert!(err.to_string().contains("not_an_object_first.o"), "{err}");
    assert_eq!(linker.objects().count(), 0);
    files[0] = good;
    linker.load_files(&files).unwrap();
    assert_eq!(link(&mut linker, COUNT - 1), triangle(COUNT - 1));
}
