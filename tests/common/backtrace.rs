//! Backtraces taken from inside loaded code: the host hands loaded code a
//! callback (`capture`) that walks the stack with libgcc's `_Unwind_Backtrace`
//! and records each frame's IP, so a test can check that the walk goes through
//! the loaded frames and on into the host ([`call_chain`]).

use std::ffi::c_void;
use std::sync::Mutex;

extern "C" {
    fn _Unwind_Backtrace(
        trace: extern "C" fn(*mut c_void, *mut c_void) -> i32,
        arg: *mut c_void,
    ) -> i32;
    fn _Unwind_GetIP(context: *mut c_void) -> usize;
}

static FRAMES: Mutex<Vec<usize>> = Mutex::new(Vec::new());

extern "C" fn record_frame(context: *mut c_void, _arg: *mut c_void) -> i32 {
    // SAFETY: `context` is the unwinder's, valid during this callback.
    let ip = unsafe { _Unwind_GetIP(context) };
    FRAMES.lock().unwrap().push(ip);
    0 // _URC_NO_REASON: keep walking
}

/// Called by loaded code; records the backtrace from here.
extern "C" fn capture(x: i32) -> i32 {
    FRAMES.lock().unwrap().clear();
    // SAFETY: libgcc's _Unwind_Backtrace with a callback that only reads the IP.
    unsafe { _Unwind_Backtrace(record_frame, std::ptr::null_mut()) };
    x + 100
}

/// A loaded function that calls its first argument (`capture`) somewhere down
/// its own chain of calls.
pub type Chain = extern "C" fn(extern "C" fn(i32) -> i32, i32) -> i32;

/// Calls `f(capture, x)`: the return addresses in this host function are the
/// frames after the loaded ones.
#[inline(never)]
pub fn call_chain(f: Chain, x: i32) -> i32 {
    std::hint::black_box(f(capture, x))
}

/// The IPs the last `capture` recorded, innermost first.
pub fn frames() -> Vec<usize> {
    FRAMES.lock().unwrap().clone()
}
