//! See `relink::fuzz::sequence`: load/replace/unload/lookup sequences over these
//! seeds and mutations of them. Run: `cargo +nightly fuzz run sequence`.
#![no_main]

use libfuzzer_sys::fuzz_target;

macro_rules! seeds {
    ($($name:literal),*) => {
        [$(&include_bytes!(concat!("../../testdata/obj/x86_64/api/", $name, ".o"))[..]),*]
    };
}

fuzz_target!(|data: &[u8]| {
    let seeds: [&[u8]; 9] =
        seeds!("lib_v1", "lib_v2", "lib_v3", "lib_v4", "user", "ping", "pong", "weak", "strong");
    relink::fuzz::sequence(data, &seeds);
});
