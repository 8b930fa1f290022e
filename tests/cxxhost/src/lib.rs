//! Test support for relink: host C++ that calls into loaded code and catches the
//! exceptions it throws (the host side of "exceptions cross from loaded code into
//! the process"). See `catch.cpp`.

use std::ffi::{c_char, c_int, CStr};

extern "C" {
    fn cxxhost_try2(
        f: extern "C" fn(c_int, c_int) -> c_int,
        a: c_int,
        b: c_int,
        what: *mut c_char,
        n: usize,
    ) -> c_int;
    fn cxxhost_try1(
        f: extern "C" fn(c_int) -> c_int,
        a: c_int,
        what: *mut c_char,
        n: usize,
    ) -> c_int;
}

/// What a call through a C++ `try` block gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Returned(i32),
    /// A `std::exception` was caught; its `what()`.
    Threw(String),
    /// Something else was thrown (an `int`, or an unknown type).
    ThrewOther(i32),
}

fn outcome(r: c_int, what: &[c_char; 256]) -> Outcome {
    match r {
        -1 => {
            // SAFETY: catch.cpp NUL-terminates `what` whenever it returns -1.
            let text = unsafe { CStr::from_ptr(what.as_ptr()) };
            Outcome::Threw(text.to_string_lossy().into_owned())
        }
        r if r < -1 => Outcome::ThrewOther(r),
        r => Outcome::Returned(r),
    }
}

/// Calls `f(a, b)` inside C++ `try { } catch (...)` in the host.
pub fn call2(f: extern "C" fn(c_int, c_int) -> c_int, a: i32, b: i32) -> Outcome {
    let mut what = [0 as c_char; 256];
    // SAFETY: `f` is a valid function; `what` has room for 256 bytes.
    let r = unsafe { cxxhost_try2(f, a, b, what.as_mut_ptr(), what.len()) };
    outcome(r, &what)
}

/// Calls `f(a)` inside C++ `try { } catch (...)` in the host.
pub fn call1(f: extern "C" fn(c_int) -> c_int, a: i32) -> Outcome {
    let mut what = [0 as c_char; 256];
    // SAFETY: as in `call2`.
    let r = unsafe { cxxhost_try1(f, a, what.as_mut_ptr(), what.len()) };
    outcome(r, &what)
}
