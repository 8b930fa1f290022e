//! Bytes → relink's normalized object. Must never panic, whatever the input.
//! Run: `cargo +nightly fuzz run parse fuzz/seeds` (seeds: testdata objects).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    relink::fuzz::parse(data);
});
