//! Lifecycle audit: loads, replaces and unloads a C++ object many times and
//! checks that everything registered for it balances — unwinder registrations,
//! debugger (GDB JIT) entries, constructors and destructors, `__cxa_atexit`
//! static destructors — and that exceptions still work in every version.
//!
//! One test in this binary, so the process-wide counts (the debugger's list,
//! the events) are this test's alone.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{arch, testdata_dir};
use relink::ReplaceOptions;
use relink_cxxhost::{call1, Outcome};

/// host_event(kind) counts: 1 static constructed, 2 static destroyed
/// (`__cxa_atexit`), 3 constructor function, 4 destructor function.
static EVENTS: [AtomicUsize; 5] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

extern "C" fn host_event(kind: i32) {
    EVENTS[kind as usize].fetch_add(1, Ordering::SeqCst);
}

fn events() -> [usize; 5] {
    std::array::from_fn(|i| EVENTS[i].load(Ordering::SeqCst))
}

fn object(variant: &str) -> PathBuf {
    testdata_dir()
        .join("unwind")
        .join(arch())
        .join(format!("{variant}-lifecycle.o"))
}

const CYCLES: usize = 100;

#[test]
fn registrations_and_destructors_balance_over_many_cycles() {
    let versions = [
        std::fs::read(object("gxx")).unwrap(),
        std::fs::read(object("clang-llc")).unwrap(),
    ];
    let mut linker = common::cxx_linker();
    linker
        .define("host_event", host_event as *const u8)
        .unwrap();
    let mut constructed = 0;
    let mut loaded = 0usize;
    for cycle in 0..CYCLES {
        let kept = linker
            .load_bytes(&format!("kept-{cycle}.o"), &versions[cycle % 2])
            .unwrap();
        constructed += 1;
        loaded += 1;
        let throw: extern "C" fn(i32) -> i32 =
            unsafe { linker.function("lifecycle_throw").unwrap() };
        assert_eq!(call1(throw, 0), Outcome::Returned(7));
        assert!(
            matches!(call1(throw, 5), Outcome::ThrewOther(_)),
            "cycle {cycle}"
        );

        linker.replace(kept, &versions[(cycle + 1) % 2]).unwrap();
        constructed += 1;
        let throw: extern "C" fn(i32) -> i32 =
            unsafe { linker.function("lifecycle_throw").unwrap() };
        assert!(
            matches!(call1(throw, 1), Outcome::ThrewOther(_)),
            "cycle {cycle} after replace"
        );
        // keep_state: neither destructors nor constructors run.
        linker
            .replace_with(
                kept,
                &versions[cycle % 2],
                ReplaceOptions::new().keep_state(true),
            )
            .unwrap();
        assert!(matches!(call1(throw, 2), Outcome::ThrewOther(_)));

        let r = linker.registrations();
        assert_eq!(
            r.debugger, loaded,
            "cycle {cycle}: one debugger entry per object"
        );
        assert_eq!(relink::runtime::gdb::registered_entries(), loaded);
        // Loaded objects plus the two replaced versions not yet reclaimed.
        assert_eq!(r.unwind, loaded + 2, "cycle {cycle}");
        unsafe { linker.reclaim() };
        // The version replaced with keep_state registered a static destructor
        // for the state it handed on: its code (and unwind tables) stay until unload.
        assert_eq!(linker.registrations().unwind, loaded + 1);

        linker.unload(kept).unwrap();
        loaded -= 1;
        assert_eq!(relink::runtime::gdb::registered_entries(), loaded);
        assert_eq!(
            linker.registrations().unwind,
            loaded + 2,
            "unloaded, not reclaimed"
        );
        unsafe { linker.reclaim() };
        assert_eq!(linker.registrations().unwind, loaded);
        let e = events();
        assert_eq!(e[1], constructed, "cycle {cycle}: static constructors");
        assert_eq!(e[3], constructed, "cycle {cycle}: constructor functions");
        // Destroyed: every constructed version but the live ones.
        assert_eq!(
            e[2],
            constructed - loaded,
            "cycle {cycle}: __cxa_atexit destructors"
        );
        assert_eq!(
            e[4],
            constructed - loaded,
            "cycle {cycle}: destructor functions"
        );
    }
    // The last one stays loaded: dropping the linker destroys and unregisters it.
    linker.load_bytes("last.o", &versions[0]).unwrap();
    constructed += 1;
    assert_eq!(relink::runtime::gdb::registered_entries(), 1);
    assert_eq!(events()[2], constructed - 1);
    drop(linker);
    let e = events();
    assert_eq!(e[1], e[2], "every static object was destroyed exactly once");
    assert_eq!(e[3], e[4], "every destructor function ran exactly once");
    assert_eq!(e[1], CYCLES * 2 + 1);
    assert_eq!(relink::runtime::gdb::registered_entries(), 0);
}
