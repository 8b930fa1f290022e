//! See `relink::fuzz::sequence` and `relink::fuzz::model_sequence`: the same input
//! drives load/replace/unload/lookup sequences over the api seeds and mutations of
//! them, and the model of issue 16 over testdata/obj/x86_64/model (twelve objects,
//! four versions, checked against the model after every step).
//! Run: `cargo +nightly fuzz run sequence`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relink::fuzz::model::Corpus;

macro_rules! seeds {
    ($($name:literal),*) => {
        [$(&include_bytes!(concat!("../../testdata/obj/x86_64/api/", $name, ".o"))[..]),*]
    };
}

/// `(object, version, bytes)` for every model object built by testdata/build-model.sh.
macro_rules! model {
    ($(($i:literal, $v:literal)),*) => {
        vec![$(($i, $v, &include_bytes!(concat!(
            "../../testdata/obj/x86_64/model/m", $i, "_v", $v, ".o"))[..])),*]
    };
}

fuzz_target!(|data: &[u8]| {
    let seeds: [&[u8]; 9] =
        seeds!("lib_v1", "lib_v2", "lib_v3", "lib_v4", "user", "ping", "pong", "weak", "strong");
    relink::fuzz::sequence(data, &seeds);
    let corpus = Corpus {
        objects: model!(
            (0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2), (1, 3),
            (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3), (3, 4),
            (4, 1), (4, 2), (4, 3), (5, 1), (5, 2), (5, 3),
            (6, 1), (6, 2), (6, 3), (6, 4), (7, 1), (7, 2), (7, 3),
            (8, 1), (8, 2), (8, 3), (9, 1), (9, 2), (9, 3), (9, 4),
            (10, 1), (10, 2), (10, 3), (11, 1), (11, 2), (11, 3)
        ),
    };
    relink::fuzz::model_sequence(data, &corpus);
});
