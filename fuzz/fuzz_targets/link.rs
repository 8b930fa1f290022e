//! See `relink::fuzz::link`. Run: `cargo +nightly fuzz run link`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    relink::fuzz::link(data);
});
