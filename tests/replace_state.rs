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
