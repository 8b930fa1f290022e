//! Library API tests: load objects, call into them, check results and errors.
//! Objects come from testdata/api (rebuilt by testdata/build-api.sh), for the
//! architecture this test binary runs on.

mod common;

use std::path::PathBuf;

use relink::{Error, Linker, Placement};

fn obj(name: &str) -> PathBuf {
    common::object("api", name)
}

fn load(names: &[&str]) -> Linker {
    let mut linker = Linker::new().expect("linker");
    for n in names {
        linker
            .load_file(obj(n))
            .unwrap_or_else(|e| panic!("loading {n}: {e}"));
    }
    linker
}

#[test]
fn calls_functions_and_checks_against_rust() {
    let mut l = load(&["math"]);
    unsafe {
        let add: extern "C" fn(i32, i32) -> i32 = l.function("add").unwrap();
        let fib: extern "C" fn(i32) -> i64 = l.function("fib").unwrap();
        let sum: extern "C" fn(*const i32, i32) -> i64 = l.function("sum").unwrap();
        let scale: extern "C" fn(f64) -> f64 = l.function("scale").unwrap();
        assert_eq!(add(-7, 50), 43);
        let rust_fib = |n: i32| (0..n).fold((0i64, 1i64), |(a, b), _| (b, a + b)).0;
        for n in [0, 1, 2, 10, 50, 90] {
            assert_eq!(fib(n), rust_fib(n), "fib({n})");
        }
        let v: Vec<i32> = (1..=1000).map(|i| i * 3 - 700).collect();
        assert_eq!(
            sum(v.as_ptr(), v.len() as i32),
            v.iter().map(|&x| x as i64).sum()
        );
        assert_eq!(scale(4.0), 4.0 * 2.5 + 0.125);
    }
}

#[test]
fn data_is_shared_between_host_and_loaded_code() {
    let mut l = load(&["math"]);
    let counter = l.address("counter").unwrap() as *mut i32;
    let bump: extern "C" fn() -> i32 = unsafe { l.function("bump").unwrap() };
    assert_eq!(unsafe { *counter }, 40);
    assert_eq!(bump(), 41);
    unsafe { *counter = 1000 };
    assert_eq!(bump(), 1001);
    assert_eq!(unsafe { *counter }, 1001);
}

#[test]
fn function_pointers_in_data_are_the_canonical_addresses() {
    let mut l = load(&["math"]);
    let ops = l.address("ops").unwrap() as *const usize;
    let add = l.address("add").unwrap() as usize;
    let sub = l.address("sub").unwrap() as usize;
    // The table in .data.rel holds the same (stub) addresses the host gets.
    assert_eq!(unsafe { *ops }, add);
    assert_eq!(unsafe { *ops.add(1) }, sub);
    let apply: extern "C" fn(i32, i32, i32) -> i32 = unsafe { l.function("apply").unwrap() };
    assert_eq!(apply(0, 5, 3), 8);
    assert_eq!(apply(1, 5, 3), 2);
}

#[test]
fn mutual_recursion_links_in_either_order() {
    for order in [["ping", "pong"], ["pong", "ping"]] {
        let mut l = load(&order);
        let ping: extern "C" fn(i32) -> i32 = unsafe { l.function("ping").unwrap() };
        let pong: extern "C" fn(i32) -> i32 = unsafe { l.function("pong").unwrap() };
        // Independent model of the two C functions.
        fn model(n: i32, ping: bool) -> i32 {
            match (n <= 0, ping) {
                (true, true) => 0,
                (true, false) => 100,
                (false, true) => 1 + model(n - 1, false),
                (false, false) => 2 + model(n - 1, true),
            }
        }
        for n in [0, 1, 2, 7, 1000] {
            assert_eq!(ping(n), model(n, true), "{order:?} ping({n})");
            assert_eq!(pong(n), model(n, false), "{order:?} pong({n})");
        }
    }
}

extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a * 10 + b
}

#[test]
fn undefined_symbols_are_reported_together_then_host_definitions_resolve() {
    let mut l = load(&["needs"]);
    let err = unsafe { l.function::<extern "C" fn(i32) -> i32>("uses_host") }.unwrap_err();
    let Error::Undefined { symbols } = &err else {
        panic!("expected Undefined, got {err}");
    };
    let names: Vec<&str> = symbols.iter().map(|u| u.symbol.as_str()).collect();
    assert_eq!(names, ["host_add", "missing_one", "missing_two"]);
    assert!(symbols
        .iter()
        .all(|u| u.needed_by.len() == 1 && u.needed_by[0].ends_with("needs.o")));
    let msg = err.to_string();
    assert!(
        msg.contains("3 undefined symbol(s)") && msg.contains("`missing_two`, needed by"),
        "{msg}"
    );

    // Defining them (the host's callback after the object was loaded) rebinds it.
    l.define("host_add", host_add as *const u8).unwrap();
    l.define("missing_one", host_add as *const u8).unwrap();
    l.define("missing_two", host_add as *const u8).unwrap();
    let uses_host: extern "C" fn(i32) -> i32 = unsafe { l.function("uses_host").unwrap() };
    assert_eq!(uses_host(7), 70 + 1000);
}

#[test]
fn duplicate_strong_definitions_name_both_objects_and_change_nothing() {
    let mut l = load(&["dup_a"]);
    let before = l.memory_in_use();
    let err = l.load_file(obj("dup_b")).unwrap_err();
    match &err {
        Error::Duplicate {
            symbol,
            first,
            second,
        } => {
            assert_eq!(symbol, "dup");
            assert!(
                first.ends_with("dup_a.o") && second.ends_with("dup_b.o"),
                "{err}"
            );
        }
        e => panic!("expected Duplicate, got {e}"),
    }
    assert_eq!(
        l.memory_in_use(),
        before,
        "a failed load must free what it took"
    );
    assert_eq!(l.objects().count(), 1);
    let dup: extern "C" fn() -> i32 = unsafe { l.function("dup").unwrap() };
    assert_eq!(dup(), 1);
}

#[test]
fn overflow_names_object_section_offset_symbol_value_and_range() {
    let mut l = Linker::new().unwrap();
    let far = 0x0012_3456usize as *const u8;
    l.define("far_away", far).unwrap();
    let before = l.memory_in_use();
    let err = l.load_file(obj("overflow")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Fixup { .. }), "{msg}");
    let (kind, range) = if cfg!(target_arch = "x86_64") {
        ("Pointer8", "[-0x80, 0x100)")
    } else {
        ("Pointer16", "[-0x8000, 0x10000)")
    };
    for part in [
        "overflow.o",
        ".data+0x0",
        kind,
        "`far_away`",
        "0x123456",
        range,
    ] {
        assert!(msg.contains(part), "`{part}` missing from: {msg}");
    }
    assert_eq!(l.memory_in_use(), before);
    assert_eq!(l.objects().count(), 0);
}

#[test]
fn weak_undefined_is_null_and_weak_definitions_yield() {
    let mut l = load(&["weak"]);
    let has_maybe: extern "C" fn() -> i32 = unsafe { l.function("has_maybe").unwrap() };
    let which: extern "C" fn() -> i32 = unsafe { l.function("which_flavour").unwrap() };
    assert_eq!(has_maybe(), 0);
    assert_eq!(which(), 1);
    // A strong definition loaded later overrides the weak one, for calls already linked.
    l.load_file(obj("strong")).unwrap();
    assert_eq!(which(), 2);
}

#[test]
fn a_thread_local_variable_nobody_defines_is_a_clear_unsupported_error() {
    let mut l = Linker::new().unwrap();
    let err = l.load_file(obj("tls")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Unsupported { .. }), "{msg}");
    assert!(
        msg.contains("tls.o") && msg.contains("`per_thread`") && msg.contains("thread-local"),
        "{msg}"
    );
}

#[test]
fn malformed_bytes_are_errors_not_panics() {
    let good = std::fs::read(obj("math")).unwrap();
    let mut l = Linker::new().unwrap();
    for (what, bytes) in [
        ("empty", Vec::new()),
        ("garbage", b"not an object at all".to_vec()),
        ("truncated header", good[..40].to_vec()),
        ("truncated body", good[..good.len() / 2].to_vec()),
    ] {
        let err = l.load_bytes(what, &bytes).unwrap_err();
        assert!(err.to_string().starts_with(what), "{what}: {err}");
    }
    // Every single-byte corruption of the section headers: error or success, never a crash.
    let shoff = u64::from_le_bytes(good[0x28..0x30].try_into().unwrap()) as usize;
    for i in (shoff..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[i] ^= 0xa5;
        let _ = l.load_bytes("mutated", &bad);
    }
}

#[test]
fn function_of_an_unknown_name_is_not_found() {
    // A type that is not a function pointer does not compile (`FnPtr`'s doc test).
    let mut l = load(&["math"]);
    let err = unsafe { l.function::<extern "C" fn()>("no_such_symbol_anywhere") }.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn static_model_objects_get_a_low_region() {
    let mut l = load(&["static_model"]);
    let (base, size, placement) = l.region().unwrap();
    assert_eq!(placement, Placement::Low);
    assert!(base + size <= 1 << 31, "{base:#x}");
    let pick: extern "C" fn(i32) -> i32 = unsafe { l.function("pick").unwrap() };
    assert_eq!(
        [pick(0), pick(1), pick(2), pick(3), pick(6)],
        [3, 1, 4, 1, 4]
    );
    // A PIC object loads into the same (low) region too.
    l.load_file(obj("math")).unwrap();
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { l.function("add").unwrap() };
    assert_eq!(add(1, 2), 3);
}

/// Batches stream (each object is linked before the next is read) and place the
/// region for their first object; a later object that needs the low 2 GiB makes
/// the batch start over, placed for all its objects.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_batch_is_placed_for_all_its_objects_even_when_streamed() {
    extern "C" fn host_seven() -> i32 {
        7
    }
    for by_file in [true, false] {
        let mut l = Linker::new().unwrap();
        l.define("host_seven", host_seven as *const u8).unwrap();
        let names = ["math", "static_model"];
        if by_file {
            l.load_files(&names.map(obj)).unwrap();
        } else {
            let bytes = names.map(|n| std::fs::read(obj(n)).unwrap());
            let inputs: Vec<(String, &[u8])> = names
                .iter()
                .zip(&bytes)
                .map(|(n, b)| (n.to_string(), b.as_slice()))
                .collect();
            l.load_batch(&inputs).unwrap();
        }
        assert_eq!(l.region().unwrap().2, Placement::Low);
        assert_eq!(l.objects().count(), 2);
        let add: extern "C" fn(i32, i32) -> i32 = unsafe { l.function("add").unwrap() };
        let pick: extern "C" fn(i32) -> i32 = unsafe { l.function("pick").unwrap() };
        assert_eq!((add(1, 2), pick(2)), (3, 4));
        let seven: extern "C" fn() -> i32 = unsafe { l.function("host_seven").unwrap() };
        assert_eq!(seven(), 7, "host definitions survive the restart");
    }
}

#[test]
fn pic_objects_are_placed_near_the_process() {
    let l = load(&["math"]);
    let (base, size, placement) = l.region().unwrap();
    assert_eq!(placement, Placement::NearProcess);
    let anchor = relink::memory::process_anchor().unwrap();
    assert!(relink::memory::within(base, base + size, anchor, 1 << 31));
}

#[test]
fn memory_is_returned_on_unload() {
    let mut l = load(&["math"]);
    let before = l.memory();
    let id = l.load_file(obj("ping")).unwrap();
    assert!(l.memory().live > before.live);
    l.unload(id).unwrap();
    // Unloaded code is retired (a thread might still be in it) until reclaim.
    let m = l.memory();
    assert_eq!(m.live, before.live);
    assert!(m.retired > 0);
    assert_eq!(unsafe { l.reclaim() }, m.retired);
    let after = l.memory();
    // (Slots stay: a global name keeps its stub, which the host may hold.)
    assert_eq!(
        (after.live, after.mapped, after.objects),
        (before.live, before.mapped, before.objects),
        "bytes and mapped pages as before"
    );
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { l.function("add").unwrap() };
    assert_eq!(add(2, 2), 4);
    // Unloading the last object gives its chunks back: only the tables stay mapped.
    let math = l.objects().next().unwrap().0;
    l.unload(math).unwrap();
    unsafe { l.reclaim() };
    let empty = l.memory();
    assert_eq!(empty.live, empty.mapped, "only the slot/stub tables remain");
}

#[test]
fn small_objects_share_pages() {
    // Many one-object loads of tiny objects must not cost pages each: after the
    // first, ping/pong/weak/strong/dup_a fit in pages already mapped.
    let mut l = load(&["math"]);
    let mapped = l.memory().mapped;
    for n in ["ping", "pong", "weak", "strong", "dup_a"] {
        l.load_file(obj(n)).unwrap();
    }
    let grown = l.memory().mapped - mapped;
    assert!(
        grown <= 4 * 4096,
        "five tiny objects mapped {grown} more bytes"
    );
    let ping: extern "C" fn(i32) -> i32 = unsafe { l.function("ping").unwrap() };
    assert_eq!(ping(4), 6);
}

#[test]
fn calling_an_undefined_symbol_traps_with_its_name() {
    if std::env::var_os("RELINK_CHILD").is_some() {
        let mut l = load(&["needs"]);
        // `address` does not insist on everything being resolved; calling does trap.
        let f = l.address("uses_missing").unwrap();
        let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(f) };
        f(1);
        unreachable!("the trap returned");
    }
    let out = common::run_child("calling_an_undefined_symbol_traps_with_its_name");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("relink: call to `missing_one`, which is undefined (needed by")
            && stderr.contains("needs.o"),
        "{stderr}"
    );
}

#[test]
fn far_calls_go_through_veneers_and_still_work() {
    // 256 MiB of unused address space between the stub table and the objects puts
    // every stub beyond the ±128 MiB reach of an AArch64 BL.
    let options = relink::LinkerOptions::new().gap_after_tables(256 << 20);
    let mut l = Linker::with_options(options).unwrap();
    l.load_files(&[obj("ping"), obj("pong"), obj("math")])
        .unwrap();
    let ping: extern "C" fn(i32) -> i32 = unsafe { l.function("ping").unwrap() };
    let apply: extern "C" fn(i32, i32, i32) -> i32 = unsafe { l.function("apply").unwrap() };
    assert_eq!(ping(5), 1 + 2 + 1 + 2 + 1 + 100);
    assert_eq!(apply(1, 10, 4), 6);
    let veneers = l.stats().veneers;
    if cfg!(target_arch = "aarch64") {
        assert!(
            veneers >= 2,
            "expected veneers for the far calls, got {veneers}"
        );
    } else {
        assert_eq!(veneers, 0, "x86-64 reaches ±2 GiB and needs none");
    }
}

#[test]
fn cxa_atexit_handlers_run_at_unload_with_a_handle_per_object() {
    let mut l = Linker::new().unwrap();
    let a = l.load_file(obj("atexit_user")).unwrap();
    let register: extern "C" fn(*mut i32) = unsafe { l.function("register_handler").unwrap() };
    let handle: extern "C" fn() -> usize = unsafe { l.function("my_dso_handle").unwrap() };
    let first_handle = handle();
    let mut hits = Box::new(0i32);
    register(&mut *hits);
    register(&mut *hits);
    assert_eq!(*hits, 0, "nothing runs before the object goes away");
    l.unload(a).unwrap();
    assert_eq!(*hits, 20, "both handlers ran at unload");

    // A second copy gets a handle of its own; dropping the linker runs its handler.
    l.load_file(obj("atexit_user")).unwrap();
    let register: extern "C" fn(*mut i32) = unsafe { l.function("register_handler").unwrap() };
    let handle: extern "C" fn() -> usize = unsafe { l.function("my_dso_handle").unwrap() };
    assert_ne!(handle(), 0);
    let _ = first_handle;
    register(&mut *hits);
    drop(l);
    assert_eq!(*hits, 30);
}

extern "C" fn host_twice(x: i32) -> i32 {
    2 * x
}

#[test]
fn host_definitions_made_before_loading_are_used() {
    let mut l = Linker::new().unwrap();
    l.define("host_add", host_add as *const u8).unwrap();
    l.define("missing_one", host_twice as *const u8).unwrap();
    l.define("missing_two", host_twice as *const u8).unwrap();
    l.load_file(obj("needs")).unwrap();
    let uses_missing: extern "C" fn(i32) -> i32 = unsafe { l.function("uses_missing").unwrap() };
    let uses_host: extern "C" fn(i32) -> i32 = unsafe { l.function("uses_host").unwrap() };
    assert_eq!(uses_missing(21), 84);
    assert_eq!(uses_host(3), 1030);
}

#[test]
fn narrow_references_to_absolute_symbols_do_not_force_a_low_region() {
    // The asm relocation programs use R_X86_64_16/8 (AArch64: ABS16/32, MOVW_UABS_G0/G1)
    // only against SHN_ABS symbols that another object defines: those do not move, so
    // the batch may be placed near the C library, as `uses_stderr.o` needs.
    let (variant, prog) = if cfg!(target_arch = "x86_64") {
        ("gcc-pie", "x86asm")
    } else {
        ("gcc", "a64asm")
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/obj")
        .join(std::env::consts::ARCH)
        .join(variant)
        .join(prog);
    let mut l = Linker::new().unwrap();
    let files = ["consts.o", "main.o", "relocs.o"].map(|f| dir.join(f));
    let mut all: Vec<PathBuf> = files.to_vec();
    all.push(obj("uses_stderr"));
    l.load_files(&all).unwrap();
    assert_eq!(l.region().unwrap().2, Placement::NearProcess);
    let say: extern "C" fn(*const std::ffi::c_char) -> i32 = unsafe { l.function("say").unwrap() };
    assert_eq!(say(c"".as_ptr()), 1);
}

/// relink's mappings (the memfd named "relink") as `(permissions, line)`.
fn relink_mappings() -> Vec<(String, String)> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.contains("memfd:relink"))
        .map(|l| {
            (
                l.split_whitespace().nth(1).unwrap_or("").to_string(),
                l.to_string(),
            )
        })
        .collect()
}

#[test]
fn no_relink_mapping_is_ever_writable_and_executable() {
    let mut l = load(&["math", "ping", "pong"]);
    let mut seen = 0;
    let mut check = |when: &str| {
        let maps = relink_mappings();
        assert!(!maps.is_empty(), "{when}: no relink mappings found");
        for (perms, line) in &maps {
            assert!(
                !(perms.contains('w') && perms.contains('x')),
                "{when}: W+X mapping: {line}"
            );
        }
        seen += maps.len();
    };
    check("after load");
    // Natively, relink's code mappings show as executable. Under qemu-user the
    // positive check cannot be made: its /proc/self/maps merges adjacent mappings
    // of one file and shows the first one's permissions for all of them; there,
    // running loaded code is the proof.
    if std::env::var_os("RELINK_TEST_RUNNER").is_none() {
        assert!(
            relink_mappings().iter().any(|(p, _)| p.contains('x')),
            "code is executable: {:#?}",
            relink_mappings()
        );
    }
    let ping: extern "C" fn(i32) -> i32 = unsafe { l.function("ping").unwrap() };
    assert_eq!(ping(2), 3);
    let id = l.load_file(obj("weak")).unwrap();
    l.load_file(obj("strong")).unwrap();
    check("after a rebinding load");
    let ping_id = l.objects().find(|(_, n)| n.ends_with("ping.o")).unwrap().0;
    l.replace(ping_id, &std::fs::read(obj("ping_v2")).unwrap())
        .unwrap();
    check("after replace");
    unsafe { l.reclaim() };
    check("after reclaim");
    l.unload(id).unwrap();
    check("after unload");
    assert!(seen > 0);
}

#[test]
fn misaligned_input_bytes_are_copied_not_refused() {
    let bytes = std::fs::read(obj("math")).unwrap();
    let mut shifted = vec![0u8; bytes.len() + 1];
    shifted[1..].copy_from_slice(&bytes);
    let odd = &shifted[1..];
    assert_ne!(odd.as_ptr() as usize % 8, 0);
    let mut l = Linker::new().unwrap();
    let id = l.load_bytes("math.o", odd).unwrap();
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { l.function("add").unwrap() };
    assert_eq!(add(20, 22), 42);
    // A new version from misaligned bytes too (replace copies them as well).
    l.replace_with(id, odd, relink::ReplaceOptions::new())
        .unwrap();
    let add: extern "C" fn(i32, i32) -> i32 = unsafe { l.function("add").unwrap() };
    assert_eq!(add(20, 22), 42);
}

/// `Linker::detach`: the bookkeeping goes, the code stays — functions handed
/// out before still run, calls between objects still go through their stubs,
/// data keeps its values, from any thread.
#[test]
fn code_outlives_a_detached_linker() {
    let mut linker = load(&["math", "ping", "pong"]);
    let ping: extern "C" fn(i32) -> i32 = unsafe { linker.function("ping") }.unwrap();
    let bump: extern "C" fn() -> i32 = unsafe { linker.function("bump") }.unwrap();
    let apply: extern "C" fn(i32, i32, i32) -> i32 = unsafe { linker.function("apply") }.unwrap();
    let counter = linker.address("counter").unwrap() as usize;
    assert_eq!(bump(), 41);
    let (ping9, ping5) = (ping(9), ping(5));
    assert_eq!((ping9, ping5), (113, 107));
    linker.detach();
    assert_eq!(ping(9), ping9, "ping -> pong -> ping through stubs");
    assert_eq!(bump(), 42);
    assert_eq!(apply(1, 10, 4), 6, "a function pointer in data");
    let from_thread = std::thread::spawn(move || (ping(5), bump()))
        .join()
        .unwrap();
    assert_eq!(from_thread, (ping5, 43));
    // SAFETY: `counter` is the loaded `int counter`, still mapped.
    assert_eq!(unsafe { *(counter as *const i32) }, 43);
}
