//! See `relink::fuzz::fixup`. Run: `cargo +nightly fuzz run fixup`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    relink::fuzz::fixup(data);
});
