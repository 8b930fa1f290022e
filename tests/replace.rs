//! Hot replacement and unloading of single objects (issue 5): results switch,
//! stored pointers follow, variables keep their address, failures change nothing,
//! unloaded functions trap, threads calling through stubs survive replacement.
//! Objects: testdata/api/{lib_v1..v4,lib_bad,user,ping,pong,ping_v2}.c.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use relink::{Error, Linker, ReplaceOptions};

fn obj(name: &str) -> PathBuf {
    common::object("api", name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(obj(name)).unwrap()
}

type Get = extern "C" fn() -> i32;

unsafe fn get(l: &mut Linker, name: &str) -> Get {
    unsafe { l.function(name).unwrap() }
}

/// lib_v1 + user, and the library's id.
fn library() -> (Linker, relink::ObjectId) {
    let mut l = Linker::new().unwrap();
    let lib = l.load_file(obj("lib_v1")).unwrap();
    l.load_file(obj("user")).unwrap();
    (l, lib)
}

#[test]
fn replace_switches_calls_and_every_stored_pointer_follows() {
    let (mut l, lib) = library();
    let version = unsafe { get(&mut l, "version") };
    let before = l.address("version").unwrap();
    let (user_version, user_via_pointer) =
        unsafe { (get(&mut l, "user_version"), get(&mut l, "user_via_pointer")) };
    assert_eq!([version(), user_version(), user_via_pointer()], [1, 1, 1]);

    l.replace(lib, &bytes("lib_v2")).unwrap();
    // The host's pointer, the other object's call and its stored pointer all follow.
    assert_eq!([version(), user_version(), user_via_pointer()], [2, 2, 2]);
    assert_eq!(
        l.address("version").unwrap(),
        before,
        "the canonical address is stable"
    );
    assert_eq!(l.objects().count(), 2, "the id names the new version");
    assert_eq!(l.memory().objects, 2);
}

#[test]
fn variables_keep_their_address_and_are_reset_or_kept() {
    let (mut l, lib) = library();
    let counter = l.address("counter").unwrap() as *const i32;
    let (bump, user_counter) = unsafe { (get(&mut l, "bump"), get(&mut l, "user_counter")) };
    let user_address: extern "C" fn() -> *const i32 =
        unsafe { l.function("user_counter_address").unwrap() };
    assert_eq!(user_address(), counter);
    assert_eq!([bump(), bump()], [2, 3]);

    // Default: the new version's initial value, at the same address.
    l.replace(lib, &bytes("lib_v2")).unwrap();
    assert_eq!(l.address("counter").unwrap() as *const i32, counter);
    assert_eq!(user_address(), counter);
    assert_eq!(unsafe { *counter }, 100);
    assert_eq!(user_counter(), 100);
    assert_eq!(bump(), 110);

    // keep_state: the running value survives, the new code uses it.
    l.replace_with(
        lib,
        &bytes("lib_v1"),
        ReplaceOptions::new().keep_state(true),
    )
    .unwrap();
    assert_eq!(user_counter(), 110);
    assert_eq!(bump(), 111);
    assert_eq!(unsafe { *counter }, 111);
}

#[test]
fn static_variables_start_afresh() {
    let (mut l, lib) = library();
    let calls = unsafe { get(&mut l, "calls_so_far") };
    assert_eq!([calls(), calls()], [1, 2]);
    l.replace(lib, &bytes("lib_v2")).unwrap();
    assert_eq!(calls(), 51);
}

#[test]
fn a_resized_variable_moves_and_direct_references_are_repatched() {
    let (mut l, lib) = library();
    let user_table: extern "C" fn(i32) -> i32 = unsafe { l.function("user_table").unwrap() };
    let old_table = l.address("table").unwrap();
    assert_eq!(user_table(3), 13);
    l.replace(lib, &bytes("lib_v3")).unwrap();
    assert_ne!(
        l.address("table").unwrap(),
        old_table,
        "8 ints do not fit in the old 4"
    );
    assert_eq!(
        (0..8).map(|i| user_table(i)).collect::<Vec<_>>(),
        (30..38).collect::<Vec<_>>()
    );
    // `counter` kept its size and address; v3 re-initialised it.
    let user_counter = unsafe { get(&mut l, "user_counter") };
    assert_eq!(user_counter(), 300);
}

/// user.c built -fPIC reads `counter` and `table` through the GOT. On x86-64
/// those loads of another object's variables are relaxed to computing their
/// address; whenever a variable moves (resized), or stays only weakly defined,
/// they load through the slot again and follow it (on AArch64 they always do).
#[test]
fn got_loads_of_another_objects_variables_follow_them_when_they_move() {
    let mut l = Linker::new().unwrap();
    let lib = l.load_file(obj("lib_v1")).unwrap();
    let relaxed = l.stats().relaxed_got;
    l.load_file(obj("user_pic")).unwrap();
    if cfg!(target_arch = "x86_64") {
        // `counter` twice (read, address), `table` once; `stored` is its own.
        assert!(
            l.stats().relaxed_got >= relaxed + 3,
            "{} then {}",
            relaxed,
            l.stats().relaxed_got
        );
    }
    let user_table: extern "C" fn(i32) -> i32 = unsafe { l.function("user_table").unwrap() };
    let user_address: extern "C" fn() -> *const i32 =
        unsafe { l.function("user_counter_address").unwrap() };
    let (user_counter, bump) = unsafe { (get(&mut l, "user_counter"), get(&mut l, "bump")) };
    let counter = l.address("counter").unwrap() as *const i32;
    // x86-64: the opcode of each function's first instruction, `movq
    // v@GOTPCREL(%rip), %rax` (0x8b) or, relaxed, `leaq v(%rip), %rax` (0x8d).
    // A function's address is its stub, `jmp rel32` to the code.
    let opcode = |f: usize| unsafe {
        assert_eq!(*(f as *const u8), 0xe9, "a stub that jumps straight");
        let rel = (f as *const u8).add(1).cast::<i32>().read_unaligned();
        let code = (f + 5).wrapping_add(rel as isize as usize);
        *(code as *const u8).add(1)
    };
    let (table_load, counter_load) = (user_table as usize, user_counter as usize);
    if cfg!(target_arch = "x86_64") {
        assert_eq!([opcode(table_load), opcode(counter_load)], [0x8d, 0x8d]);
    }
    assert_eq!(
        (user_table(3), user_counter(), user_address()),
        (13, 1, counter)
    );
    assert_eq!(bump(), 2);
    assert_eq!(user_counter(), 2);

    // `table` grows and moves; `counter` stays where it was.
    let table = l.address("table").unwrap();
    l.replace(lib, &bytes("lib_v3")).unwrap();
    assert_ne!(l.address("table").unwrap(), table);
    assert_eq!(
        (0..8).map(|i| user_table(i)).collect::<Vec<_>>(),
        (30..38).collect::<Vec<_>>()
    );
    assert_eq!((user_counter(), user_address()), (300, counter));
    if cfg!(target_arch = "x86_64") {
        // Only the load of what moved goes through the slot again.
        assert_eq!([opcode(table_load), opcode(counter_load)], [0x8b, 0x8d]);
    }
    assert_eq!(bump(), 400);
    assert_eq!(user_counter(), 400);
    // Back to four ints, and again.
    l.replace(lib, &bytes("lib_v1")).unwrap();
    assert_eq!((user_table(3), user_counter()), (13, 1));
    l.replace(lib, &bytes("lib_v3")).unwrap();
    assert_eq!((user_table(7), user_counter()), (37, 300));

    // Unloading the library while user_pic reads its variables is refused, and
    // changes nothing.
    let err = l.unload(lib).unwrap_err();
    assert!(matches!(err, Error::InUse { .. }), "{err}");
    assert_eq!((user_table(7), user_counter()), (37, 300));

    // Only weakly defined now (same size, same place), then a strong
    // definition elsewhere takes `counter` over: user_pic follows it.
    l.replace(lib, &bytes("lib_weak")).unwrap();
    assert_eq!(
        (user_table(0), user_counter(), user_address()),
        (50, 5, counter)
    );
    if cfg!(target_arch = "x86_64") {
        assert_eq!(opcode(counter_load), 0x8b);
    }
    l.load_file(obj("counter_strong")).unwrap();
    let strong = l.address("counter").unwrap() as *const i32;
    assert_ne!(strong, counter);
    assert_eq!((user_counter(), user_address()), (7, strong));
}

#[test]
fn dropping_a_variable_others_use_is_refused_and_nothing_changes() {
    let (mut l, lib) = library();
    let version = unsafe { get(&mut l, "version") };
    let before = l.memory();
    let err = l.replace(lib, &bytes("lib_v4")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::InUse { .. }), "{msg}");
    assert!(
        msg.contains("`counter` is used by") && msg.contains("user.o"),
        "{msg}"
    );
    assert_eq!(version(), 1);
    assert_eq!(l.memory(), before);
}

#[test]
fn a_replace_that_fails_leaves_the_old_version_running() {
    let (mut l, lib) = library();
    let (version, user_version) = unsafe { (get(&mut l, "version"), get(&mut l, "user_version")) };
    let before = l.memory();
    for (what, new) in [
        ("garbage", b"not an object".to_vec()),
        ("tls", bytes("lib_bad")),
    ] {
        let err = l.replace(lib, &new).unwrap_err();
        assert!(err.to_string().contains("lib_v1.o"), "{what}: {err}");
        assert_eq!([version(), user_version()], [1, 1], "{what}");
        assert_eq!(l.memory(), before, "{what}");
    }
    // A version that would duplicate another object's symbol is refused too.
    let err = l.replace(lib, &bytes("user")).unwrap_err();
    assert!(
        matches!(err, Error::Duplicate { .. }) || matches!(err, Error::InUse { .. }),
        "{err}"
    );
    assert_eq!(version(), 1);
    l.replace(lib, &bytes("lib_v2")).unwrap();
    assert_eq!(version(), 2);
}

#[test]
fn mutual_dependencies_replace_one_side() {
    let mut l = Linker::new().unwrap();
    let ping_id = l.load_file(obj("ping")).unwrap();
    l.load_file(obj("pong")).unwrap();
    let pong: extern "C" fn(i32) -> i32 = unsafe { l.function("pong").unwrap() };
    // pong(3) = 2 + ping(2) = 2 + 1 + pong(1) = 3 + 2 + ping(0) = 5.
    assert_eq!(pong(3), 5);
    l.replace(ping_id, &bytes("ping_v2")).unwrap();
    // pong(3) = 2 + ping'(2) = 2 + 3 + pong(1) = 5 + 2 + ping'(0) = 7 + 7 = 14.
    assert_eq!(pong(3), 14);
}

#[test]
fn unload_is_refused_while_another_object_reads_its_variables() {
    let (mut l, lib) = library();
    let err = l.unload(lib).unwrap_err();
    assert!(err.to_string().contains("`counter` is used by"), "{err}");
    let version = unsafe { get(&mut l, "version") };
    assert_eq!(version(), 1, "still loaded");
    let user = l.objects().find(|(_, n)| n.ends_with("user.o")).unwrap().0;
    l.unload(user).unwrap();
    l.unload(lib).unwrap();
    assert_eq!(l.objects().count(), 0);
    assert!(unsafe { l.reclaim() } > 0);
}

#[test]
fn calling_an_unloaded_function_traps_with_its_name() {
    if std::env::var_os("RELINK_CHILD").is_some() {
        let mut l = Linker::new().unwrap();
        l.load_file(obj("ping")).unwrap();
        let pong = l.load_file(obj("pong")).unwrap();
        let ping: extern "C" fn(i32) -> i32 = unsafe { l.function("ping").unwrap() };
        assert_eq!(ping(0), 0);
        l.unload(pong).unwrap();
        ping(3);
        unreachable!("the trap returned");
    }
    let out = common::run_child("calling_an_unloaded_function_traps_with_its_name");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("relink: call to `pong`, which was unloaded with")
            && stderr.contains("pong.o"),
        "{stderr}"
    );
}

#[test]
fn threads_calling_through_stubs_survive_hundreds_of_replacements() {
    use std::sync::atomic::AtomicU64;
    let (mut l, lib) = library();
    let version = unsafe { get(&mut l, "version") };
    let user_via_pointer = unsafe { get(&mut l, "user_via_pointer") };
    let stop = Arc::new(AtomicBool::new(false));
    let calls: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let workers: Vec<_> = [version, user_via_pointer]
        .into_iter()
        .enumerate()
        .map(|(w, f)| {
            let (stop, calls) = (stop.clone(), calls.clone());
            std::thread::spawn(move || {
                let mut seen = [0u64; 3];
                while !stop.load(Ordering::Relaxed) {
                    let v = f();
                    assert!(v == 1 || v == 2, "impossible version {v}");
                    seen[v as usize] += 1;
                    calls[w].fetch_add(1, Ordering::Release);
                }
                seen
            })
        })
        .collect();
    let v1 = bytes("lib_v1");
    let v2 = bytes("lib_v2");
    for i in 0..300 {
        // keep_state: the variables another thread may read are left alone.
        let new = if i % 2 == 0 { &v2 } else { &v1 };
        l.replace_with(lib, new, ReplaceOptions::new().keep_state(true))
            .unwrap();
        // Let both workers call at least once into this version (however busy
        // the machine is), so both versions are observed by construction.
        let marks = [0, 1].map(|w| calls[w].load(Ordering::Acquire));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while (0..2).any(|w| calls[w].load(Ordering::Acquire) <= marks[w] + 1) {
            assert!(
                std::time::Instant::now() < deadline,
                "a worker stopped calling"
            );
            std::thread::yield_now();
        }
        // Retired code is not reclaimed while the workers may be inside it.
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let seen = w.join().unwrap();
        assert!(
            seen[1] > 0 && seen[2] > 0,
            "both versions observed: {seen:?}"
        );
    }
    // Now no thread can be in retired code.
    assert!(unsafe { l.reclaim() } > 0);
    assert_eq!(l.memory().retired, 0);
}

#[test]
fn load_unload_cycles_do_not_grow_the_process() {
    // 100,000 natively; under qemu (about 20x slower) 20,000 keep the suite short
    // while still far past any warm-up.
    let cycles = if std::env::var_os("RELINK_TEST_RUNNER").is_some() {
        20_000
    } else {
        100_000
    };
    let math = bytes("math");
    let mut l = Linker::new().unwrap();
    let warm = |l: &mut Linker| {
        let id = l.load_bytes("math.o", &math).unwrap();
        l.unload(id).unwrap();
        unsafe { l.reclaim() };
    };
    for _ in 0..1000 {
        warm(&mut l);
    }
    let before = common::rss_kib();
    let memory = l.memory();
    for _ in 0..cycles {
        warm(&mut l);
    }
    let grown = common::rss_kib().saturating_sub(before);
    assert_eq!(l.memory(), memory, "relink's own accounting is unchanged");
    assert!(
        grown < 8 * 1024,
        "RSS grew by {grown} KiB over {cycles} cycles"
    );
}

#[test]
fn replace_works_for_static_model_objects() {
    let mut l = Linker::new().unwrap();
    // One batch, so the placement serves both (user_static needs the low 2 GiB).
    let ids = l
        .load_files(&[obj("lib_v1_static"), obj("user_static")])
        .unwrap();
    let lib = ids[0];
    if cfg!(target_arch = "x86_64") {
        assert_eq!(
            l.region().unwrap().2,
            relink::Placement::Low,
            "-fno-pic needs the low 2 GiB"
        );
    }
    let (user_version, user_via_pointer, user_counter) = unsafe {
        (
            get(&mut l, "user_version"),
            get(&mut l, "user_via_pointer"),
            get(&mut l, "user_counter"),
        )
    };
    let user_table: extern "C" fn(i32) -> i32 = unsafe { l.function("user_table").unwrap() };
    let counter = l.address("counter").unwrap();
    assert_eq!(
        [
            user_version(),
            user_via_pointer(),
            user_counter(),
            user_table(2)
        ],
        [1, 1, 1, 12]
    );
    let report = l
        .replace_with(lib, &bytes("lib_v2_static"), ReplaceOptions::new())
        .unwrap();
    assert_eq!(
        [
            user_version(),
            user_via_pointer(),
            user_counter(),
            user_table(2)
        ],
        [2, 2, 100, 22]
    );
    // gcc reaches -fno-pic AArch64 data through section anchors: when the
    // section's layout changes (v2 moves the static `calls` into `.data`), its
    // variables move together, and the report says so.
    let moved =
        (report.reinitialised.iter()).any(|n| n.name == "counter" && n.why.contains("anchor"));
    if !moved {
        assert_eq!(l.address("counter").unwrap(), counter);
    }
    assert!(!moved || cfg!(target_arch = "aarch64"), "{report:?}");
    l.replace(lib, &bytes("lib_v3_static")).unwrap();
    assert_eq!(
        [user_version(), user_counter(), user_table(7)],
        [3, 300, 37]
    );
}

/// A replaced or unloaded version's local GOT slots stay valid until `reclaim`
/// (its code may still run) and are released then: slot use does not grow with
/// replaces.
#[test]
fn local_got_slots_of_old_versions_are_released_at_reclaim() {
    let mut l = Linker::new().unwrap();
    let before = l.memory().slots;
    let id = l.load_file(obj("local_got")).unwrap();
    // SAFETY: `int local_got_value(void)`.
    let old: extern "C" fn() -> i32 = unsafe { l.function("local_got_value").unwrap() };
    // The object's local slot and the name's stub (what `function` returns).
    let loaded = l.memory().slots;
    assert_eq!(old(), 42);
    let new = bytes("local_got");
    l.replace(id, &new).unwrap();
    // The old version still runs through its own slot until reclaim.
    assert_eq!(old(), 42);
    assert!(l.memory().slots > loaded);
    unsafe { l.reclaim() };
    for _ in 0..100 {
        l.replace(id, &new).unwrap();
        unsafe { l.reclaim() };
    }
    assert_eq!(l.memory().slots, loaded, "local slots leaked");
    // SAFETY: as above.
    let f: extern "C" fn() -> i32 = unsafe { l.function("local_got_value").unwrap() };
    assert_eq!(f(), 42);
    l.unload(id).unwrap();
    unsafe { l.reclaim() };
    assert!(l.memory().slots <= loaded && l.memory().slots >= before);
}
