//! Hot replace at scale (issue 16): one storage for every variable whatever the
//! reference form, failures that change nothing, refusals, state kept safely.
//! Objects: testdata/replace/*.{ll,c} (testdata/build-replace.sh).

mod common;

use relink::{Linker, ReplaceOptions};

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(common::object("replace", name)).unwrap()
}

type Get = extern "C" fn() -> i64;

fn get(l: &mut Linker, name: &str) -> Get {
    // SAFETY: every function these tests look up is `long f(void)`.
    unsafe { l.function(name).unwrap() }
}

/// llc pic reaches its own `dso_local` variable section-relative (`.bss - 4` on
/// x86-64): after a replace, the new version's own code, the callers (through
/// the GOT and directly) and the host must all see one `seen`.
#[test]
fn llc_pic_own_variable_is_one_storage_after_replace() {
    for keep_state in [true, false] {
        let mut l = Linker::new().unwrap();
        let callee = l.load_bytes("seen.o", &bytes("seen_v1")).unwrap();
        l.load_bytes("got.o", &bytes("seen_caller_got")).unwrap();
        l.load_bytes("direct.o", &bytes("seen_caller_direct"))
            .unwrap();
        let (inc_got, inc_direct) = (get(&mut l, "inc_got"), get(&mut l, "inc_direct"));
        let (read_got, read_direct) = (get(&mut l, "read_got"), get(&mut l, "read_direct"));
        let seen = l.address("seen").unwrap() as *const i64;
        assert_eq!((inc_got(), inc_direct(), read_got()), (1, 2, 2));
        let options = ReplaceOptions::new().keep_state(keep_state);
        l.replace_with(callee, &bytes("seen_v2"), options).unwrap();
        let bump = get(&mut l, "bump");
        let base = if keep_state { 2 } else { 0 };
        assert_eq!(l.address("seen").unwrap() as *const i64, seen, "moved");
        // SAFETY: `seen` is a loaded, live i64.
        assert_eq!(unsafe { *seen }, base);
        assert_eq!(bump(), base + 1, "the new version's own code");
        assert_eq!(inc_got(), base + 2, "a caller through the GOT");
        assert_eq!(inc_direct(), base + 3, "a caller reading directly");
        assert_eq!(read_got(), base + 3 + 1000, "the new value()");
        assert_eq!(read_direct(), base + 3 + 1000);
        // SAFETY: as above.
        assert_eq!(unsafe { *seen }, base + 3, "the host");
    }
}

/// An IFUNC resolver returning null fails the load before anything is
/// published, even when the object also refers to a name nothing defines yet.
#[test]
fn a_null_ifunc_resolver_fails_the_load_and_changes_nothing() {
    let mut l = Linker::new().unwrap();
    l.load_bytes("table_v1.o", &bytes("table_v1")).unwrap();
    let before = l.state_digest();
    let e = l
        .load_bytes("ifunc_null.o", &bytes("ifunc_null"))
        .unwrap_err();
    assert!(e.to_string().contains("returned a null address"), "{e}");
    assert_eq!(l.state_digest(), before, "the failed load changed state");
    assert_eq!(l.objects().count(), 1);
    assert!(l.address("ifunc_value").is_err());
}

/// The same object as a new version: refused for its undefined name by
/// default; let through, its resolver fails it, and the old version stays.
#[test]
fn a_null_ifunc_resolver_fails_the_replace_and_the_old_version_stays() {
    let mut l = Linker::new().unwrap();
    let id = l.load_bytes("ifunc.o", &bytes("ifunc_ok")).unwrap();
    let (chosen, value) = (get(&mut l, "chosen"), get(&mut l, "ifunc_value"));
    let before = l.state_digest();
    let e = l.replace(id, &bytes("ifunc_null")).unwrap_err();
    assert!(e.to_string().contains("`later`"), "{e}");
    assert_eq!(l.state_digest(), before);
    let options = ReplaceOptions::new().allow_undefined(true);
    let e = l
        .replace_with(id, &bytes("ifunc_null"), options)
        .unwrap_err();
    assert!(e.to_string().contains("returned a null address"), "{e}");
    assert_eq!(l.state_digest(), before, "the failed replace changed state");
    assert_eq!((chosen(), value()), (7, 2));
}

/// Unloading an object whose constant the C library also defines would rebind
/// a direct reader to the library's copy: if that is out of the reader's reach
/// the unload fails having changed nothing; if not, the reader reads it.
#[test]
fn an_unload_that_cannot_repatch_a_reader_changes_nothing() {
    let mut l = Linker::new().unwrap();
    let ids = l
        .load_files(&[
            common::object("replace", "tz_def"),
            common::object("replace", "tz_reader"),
        ])
        .unwrap();
    let read_tz = get(&mut l, "read_tz");
    assert_eq!(read_tz(), 5);
    let before = l.state_digest();
    match l.unload(ids[0]) {
        Err(e) => {
            assert!(e.to_string().contains("timezone"), "{e}");
            assert_eq!(l.state_digest(), before, "the failed unload changed state");
            assert_eq!(read_tz(), 5);
        }
        Ok(()) => {
            extern "C" {
                static timezone: std::ffi::c_long;
            }
            // SAFETY: the C library's `timezone`, read like the loaded reader.
            assert_eq!(read_tz(), unsafe { timezone });
        }
    }
}

/// Constant data another object reads is protected like writable data: an
/// unload, or a replace whose new version drops it, is refused by name.
#[test]
fn const_data_others_read_is_not_dropped() {
    let mut l = Linker::new().unwrap();
    let id = l.load_bytes("table.o", &bytes("table_v1")).unwrap();
    l.load_bytes("reader.o", &bytes("table_reader")).unwrap();
    let read = get(&mut l, "read_table");
    assert_eq!(read(), 50);
    let before = l.state_digest();
    let e = l.unload(id).unwrap_err();
    assert!(e.to_string().contains("`table` is used by reader.o"), "{e}");
    let e = l.replace(id, &bytes("table_v2")).unwrap_err();
    assert!(e.to_string().contains("`table` is used by reader.o"), "{e}");
    assert_eq!(l.state_digest(), before);
    assert_eq!(read(), 50);
}

fn c_str(p: *const std::ffi::c_char) -> String {
    // SAFETY: the loaded code returns a NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

/// `keep_state` carries statics (file- and function-local, gcc's `count.0`)
/// matched by name and size; a kept pointer into the old version's code is
/// redirected to the new version's function of that name, one into its
/// read-only data keeps that memory alive through `reclaim` and later loads.
#[test]
fn keep_state_carries_statics_and_kept_pointers_stay_valid() {
    let mut l = Linker::new().unwrap();
    let id = l.load_bytes("kp.o", &bytes("kp_v1")).unwrap();
    let bump: extern "C" fn() -> i32 = unsafe { l.function("bump").unwrap() };
    let call_hook: extern "C" fn(i32) -> i32 = unsafe { l.function("call_hook").unwrap() };
    let get_name: extern "C" fn() -> *const std::ffi::c_char =
        unsafe { l.function("get_name").unwrap() };
    assert_eq!((bump(), bump(), call_hook(1)), (101, 202, 2));
    let options = ReplaceOptions::new().keep_state(true);
    let report = l.replace_with(id, &bytes("kp_v2"), options).unwrap();
    let kept: Vec<&str> = report.kept.iter().map(|n| n.name.as_str()).collect();
    for name in ["name", "hook", "counter"] {
        assert!(kept.contains(&name), "{name} not kept: {report:?}");
    }
    assert!(kept.iter().any(|n| n.starts_with("count")), "{report:?}");
    assert_eq!(report.pointers.len(), 2, "{report:?}");
    // SAFETY: nothing runs loaded code now.
    unsafe { l.reclaim() };
    // Memory freed by reclaim is reused by the next loads.
    for i in 0..4 {
        let filler = l.load_bytes(&format!("filler{i}.o"), &bytes("table_v1"));
        l.unload(filler.unwrap()).unwrap();
    }
    assert_eq!(bump(), 303, "statics kept");
    assert_eq!(call_hook(1), 3, "the hook calls the new helper");
    assert_eq!(c_str(get_name()), "v1", "the kept string is still there");
    // Without keep_state everything starts afresh from the new version.
    l.replace(id, &bytes("kp_v2")).unwrap();
    unsafe { l.reclaim() };
    assert_eq!((bump(), call_hook(1)), (101, 3));
    assert_eq!(c_str(get_name()), "v2");
}

/// A variable whose new definition asks for more alignment than its kept
/// address has gets fresh, aligned storage and its new initial value.
#[test]
fn a_variable_needing_more_alignment_moves() {
    let mut l = Linker::new().unwrap();
    let id = l.load_bytes("align.o", &bytes("align_v1")).unwrap();
    let old = l.address("vec").unwrap() as u64;
    let options = ReplaceOptions::new().keep_state(true);
    let report = l.replace_with(id, &bytes("align_v2"), options).unwrap();
    let vec = l.address("vec").unwrap() as u64;
    assert_eq!(vec % 32, 0, "vec at {vec:#x}");
    if !old.is_multiple_of(32) {
        assert_ne!(vec, old);
        assert!(
            report.reinitialised.iter().any(|n| n.name == "vec"),
            "{report:?}"
        );
        // SAFETY: `vec` is `float[8]`, loaded.
        assert_eq!(unsafe { *(vec as *const f32) }, 2.0);
    } else {
        assert_eq!(vec, old, "an address that suits is kept");
    }
}

/// A variable that becomes `__thread` is not patched as ordinary data: with a
/// reader it is refused by name (the reader's code reads ordinary data); alone
/// it is re-initialised as a thread-local.
#[test]
fn a_variable_that_becomes_thread_local_is_refused_or_reinitialised() {
    let mut l = Linker::new().unwrap();
    let id = l.load_bytes("hits.o", &bytes("hits_v1")).unwrap();
    let reader = l.load_bytes("reader.o", &bytes("hits_reader")).unwrap();
    let hit = get(&mut l, "hit");
    assert_eq!(hit(), 1);
    let before = l.state_digest();
    let e = l.replace(id, &bytes("hits_v2")).unwrap_err();
    assert!(e.to_string().contains("`hits` is used by reader.o"), "{e}");
    assert_eq!(l.state_digest(), before);
    l.unload(reader).unwrap();
    let options = ReplaceOptions::new().keep_state(true);
    let report = l.replace_with(id, &bytes("hits_v2"), options).unwrap();
    assert!(
        (report.reinitialised.iter()).any(|n| n.name == "hits" && n.why.contains("thread")),
        "{report:?}"
    );
    assert_eq!((hit(), hit()), (1, 2));
}

/// Several objects as one transaction: a variable moves from one object to
/// another (neither replace alone is possible), a direct reader follows it, and
/// a set with one bad version changes nothing.
#[test]
fn replace_many_switches_all_or_none() {
    let mut l = Linker::new().unwrap();
    let a = l.load_bytes("a.o", &bytes("mv_a_v1")).unwrap();
    let b = l.load_bytes("b.o", &bytes("mv_b_v1")).unwrap();
    l.load_bytes("c.o", &bytes("mv_c")).unwrap();
    let (a_version, b_get, c_get) = (
        get(&mut l, "a_version"),
        get(&mut l, "b_get"),
        get(&mut l, "c_get"),
    );
    assert_eq!((a_version(), b_get(), c_get()), (1, 5, 5));
    let before = l.state_digest();
    let e = l.replace(a, &bytes("mv_a_v2")).unwrap_err();
    assert!(e.to_string().contains("`shared` is used by"), "{e}");
    let e = l.replace(b, &bytes("mv_b_v2")).unwrap_err();
    assert!(e.to_string().contains("duplicate symbol `shared`"), "{e}");
    assert_eq!(l.state_digest(), before);

    // One bad version: refused after both were linked; nothing switched.
    let (a2, b2, b3) = (bytes("mv_a_v2"), bytes("mv_b_v2"), bytes("mv_b_v3"));
    let e = (l.replace_many(&[(a, &a2), (b, &b3)], ReplaceOptions::new())).unwrap_err();
    assert!(e.to_string().contains("`missing`"), "{e}");
    assert_eq!(l.state_digest(), before);
    for stage in [relink::Stage::Layout, relink::Stage::Finalize] {
        l.set_fail_at(Some(stage));
        assert!((l.replace_many(&[(a, &a2), (b, &b2)], ReplaceOptions::new())).is_err());
        assert_eq!(l.state_digest(), before, "failed after {stage:?}");
    }
    l.set_fail_at(None);
    assert_eq!((a_version(), b_get(), c_get()), (1, 5, 5));

    let report = (l.replace_many(&[(a, &a2), (b, &b2)], ReplaceOptions::new())).unwrap();
    assert!(report.kept.is_empty(), "{report:?}");
    assert_eq!((a_version(), b_get(), c_get()), (2, 1007, 7));
    let shared = l.address("shared").unwrap() as *mut i32;
    // SAFETY: `shared` is a loaded int.
    unsafe { *shared = 9 };
    assert_eq!((b_get(), c_get()), (1009, 9), "one storage");
}

type Addr = extern "C" fn() -> *mut i64;

fn addr(l: &mut Linker, name: &str) -> Addr {
    // SAFETY: every function these tests look up this way is `long *f(void)`.
    unsafe { l.function(name).unwrap() }
}

/// An object's loads of its own strong variables' addresses through the GOT
/// (gcc -fPIC `GOTPCRELX`, llc pic plain `GOTPCREL`, AArch64 `adrp` + `ldr`) are
/// relaxed to compute the address (3 loads per version here: 6 relocations on
/// AArch64); on x86-64 so are the reader's 2 loads of `own`, another object's
/// strong variable loaded before it. Every other form of reference — another
/// object's GOT load and direct reference, the pointer stored in data, the
/// host's `address()` — must still reach the same storage, before and after a
/// replace that keeps it and one that moves it (the reader's relaxed loads then
/// load through the slot again).
#[test]
fn relaxed_own_variable_loads_reach_the_one_storage() {
    let per_version = if cfg!(target_arch = "aarch64") { 6 } else { 3 };
    let reader = if cfg!(target_arch = "aarch64") { 0 } else { 2 };
    for (v1, v2) in [("own_v1", "own_v2"), ("own_llc_v1", "own_llc_v2")] {
        for keep_state in [true, false] {
            let mut l = Linker::new().unwrap();
            let id = l.load_bytes("own.o", &bytes(v1)).unwrap();
            assert_eq!(l.stats().relaxed_got, per_version, "{v1}");
            l.load_bytes("reader.o", &bytes("own_reader")).unwrap();
            l.load_bytes("direct.o", &bytes("own_reader_direct"))
                .unwrap();
            assert_eq!(
                l.stats().relaxed_got,
                per_version + reader,
                "readers' loads"
            );
            let (own_addr, own_stored) = (addr(&mut l, "own_addr"), addr(&mut l, "own_stored"));
            let (reader_addr, direct_addr) =
                (addr(&mut l, "reader_addr"), addr(&mut l, "direct_addr"));
            let (reader_bump, direct_bump) =
                (get(&mut l, "reader_bump"), get(&mut l, "direct_bump"));
            let own = l.address("own").unwrap() as *mut i64;
            let every = |what: &str| {
                let seen = [own_addr(), own_stored(), reader_addr(), direct_addr()];
                assert_eq!(seen, [own; 4], "{v1} {what}: own, stored, GOT, direct");
            };
            every("loaded");
            let own_bump = get(&mut l, "own_bump");
            assert_eq!((own_bump(), reader_bump(), direct_bump()), (6, 7, 8));
            // SAFETY: `own` is a loaded, live i64.
            assert_eq!(unsafe { *own }, 8);

            let options = ReplaceOptions::new().keep_state(keep_state);
            l.replace_with(id, &bytes(v2), options).unwrap();
            assert_eq!(l.stats().relaxed_got, 2 * per_version + reader, "{v2}");
            assert_eq!(l.address("own").unwrap() as *mut i64, own, "kept storage");
            every("replaced");
            let own_bump = get(&mut l, "own_bump");
            let base = if keep_state { 8 } else { 50 };
            assert_eq!(own_bump(), base + 10, "{v2}'s relaxed load");
            assert_eq!((reader_bump(), direct_bump()), (base + 11, base + 12));
            // SAFETY: as above.
            assert_eq!(unsafe { *own }, base + 12, "the host");
        }
    }
    // A version where `own` grows to two words: it moves, and the new code's
    // relaxed loads, the slot, the direct reader's sites and the kept pointer
    // to it follow it.
    let mut l = Linker::new().unwrap();
    let id = l.load_bytes("own.o", &bytes("own_v1")).unwrap();
    l.load_bytes("reader.o", &bytes("own_reader")).unwrap();
    l.load_bytes("direct.o", &bytes("own_reader_direct"))
        .unwrap();
    let old = l.address("own").unwrap() as *mut i64;
    let options = ReplaceOptions::new().keep_state(true);
    let report = l.replace_with(id, &bytes("own_v3"), options).unwrap();
    let own = l.address("own").unwrap() as *mut i64;
    assert_ne!(own, old, "{report:?}");
    // `own_ptr` (same name and size) is kept, and follows `own`.
    assert!(
        (report.pointers.iter()).any(|n| n.name == "own_ptr+0x0" && n.why.contains("moved")),
        "{report:?}"
    );
    let seen = ["own_addr", "own_stored", "reader_addr", "direct_addr"].map(|f| addr(&mut l, f)());
    assert_eq!(seen, [own; 4], "moved: own, stored, GOT, direct");
    let (own_bump, reader_bump, direct_bump) = (
        get(&mut l, "own_bump"),
        get(&mut l, "reader_bump"),
        get(&mut l, "direct_bump"),
    );
    assert_eq!((own_bump(), reader_bump(), direct_bump()), (107, 108, 109));
}

/// A weak definition's own loads are not relaxed: a strong definition loaded
/// later, or earlier, wins, and the weak object's code reads the winner. (With
/// the strong one loaded first, the weak object's 2 loads on x86-64 are relaxed
/// to it: another object's strong variable.)
#[test]
fn a_weak_variable_is_read_through_its_slot() {
    for strong_first in [false, true] {
        let mut l = Linker::new().unwrap();
        if strong_first {
            l.load_bytes("strong.o", &bytes("own_strong")).unwrap();
        }
        l.load_bytes("weak.o", &bytes("own_weak")).unwrap();
        if !strong_first {
            l.load_bytes("strong.o", &bytes("own_strong")).unwrap();
        }
        let to_strong = if strong_first && cfg!(target_arch = "x86_64") {
            2
        } else {
            0
        };
        assert_eq!(l.stats().relaxed_got, to_strong);
        let read = get(&mut l, "contested_read");
        let at = addr(&mut l, "contested_addr");
        assert_eq!(read(), 2, "strong first: {strong_first}");
        assert_eq!(at(), l.address("contested").unwrap() as *mut i64);
    }
}
