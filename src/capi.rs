//! The C API (`include/relink.h`, built into `librelink.so` and `librelink.a`).
//!
//! Every exported function checks its handle against the set of live linkers
//! before using it, catches panics, and leaves a message in the handle (or, when
//! there is no handle to hold it, in a thread-local) for `relink_last_error`.
//! This file uses only the crate's public API, and every call into [`Linker`]
//! goes through the small [`ops`] section, so that an API change is a one-line
//! change there. `tests/capi.rs` checks that the header matches the functions,
//! constants and structs here.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ffi::{c_char, c_int, c_void, CStr, CString, OsStr};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

use crate::{Error, Linker, LinkerOptions, Placement};

/// Every call into [`Linker`]: the only lines to change when its API does.
mod ops {
    use crate::{Error, Linker, LinkerOptions, ObjectId, ReplaceOptions, Symbolized};
    use std::path::Path;

    pub fn new(options: LinkerOptions) -> Result<Linker, Error> {
        Linker::with_options(options)
    }
    pub fn load_file(l: &mut Linker, path: &Path) -> Result<ObjectId, Error> {
        l.load_file(path)
    }
    pub fn load_bytes(l: &mut Linker, name: &str, bytes: &[u8]) -> Result<ObjectId, Error> {
        l.load_bytes(name, bytes)
    }
    pub fn load_archive(l: &mut Linker, path: &Path) -> Result<(), Error> {
        l.load_archive(path).map(drop)
    }
    pub fn load_library(l: &mut Linker, name: &str) -> Result<(), Error> {
        l.load_library(name)
    }
    pub fn define(l: &mut Linker, name: &str, address: *const u8) -> Result<(), Error> {
        l.define(name, address)
    }
    pub fn address(l: &mut Linker, name: &str) -> Result<*const u8, Error> {
        l.address(name)
    }
    pub fn check_resolved(l: &Linker) -> Result<(), Error> {
        l.check_resolved()
    }
    /// `(symbol, objects needing it)` for every undefined symbol.
    pub fn undefined(l: &Linker) -> Vec<(String, Vec<String>)> {
        let list = l.undefined().into_iter();
        list.map(|u| (u.symbol, u.needed_by)).collect()
    }
    pub fn symbolize(l: &Linker, pc: u64) -> Option<Symbolized> {
        l.symbolize(pc)
    }
    pub fn replace(l: &mut Linker, id: ObjectId, bytes: &[u8], keep: bool) -> Result<(), Error> {
        l.replace_with(id, bytes, ReplaceOptions::new().keep_state(keep))
            .map(|_| ())
    }
    pub fn replace_many(
        l: &mut Linker,
        items: &[(ObjectId, &[u8])],
        keep: bool,
    ) -> Result<(), Error> {
        l.replace_many(items, ReplaceOptions::new().keep_state(keep))
            .map(|_| ())
    }
    pub fn unload(l: &mut Linker, id: ObjectId) -> Result<(), Error> {
        l.unload(id)
    }
    /// # Safety
    /// No thread may be executing, or about to return into, retired code.
    pub unsafe fn reclaim(l: &mut Linker) {
        // SAFETY: our caller passes on the C caller's guarantee (relink.h:
        // relink_reclaim) that no thread is in retired code.
        unsafe { l.reclaim() };
    }
    pub fn object_id(raw: u64) -> ObjectId {
        ObjectId(raw)
    }
    pub fn raw_id(id: ObjectId) -> u64 {
        id.0
    }
    pub fn is_archive(bytes: &[u8]) -> bool {
        crate::archive::is_archive(bytes)
    }
}

// The header's rule "any thread may make the calls, one at a time" needs this.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Linker>();
};

/// `relink_linker`: a linker, and what its calls hand back to C.
pub struct Handle {
    linker: Linker,
    /// The last call's message ("" after a success).
    error: CString,
    /// Set when a call panicked: the linker may be inconsistent.
    poisoned: Option<String>,
    /// Strings handed out by the last call (`relink_undefined`, `relink_symbolize`).
    strings: Vec<CString>,
}

pub type RelinkObjectId = u64;
pub type RelinkFn = Option<unsafe extern "C" fn()>;

pub const RELINK_OK: c_int = 0;
pub const RELINK_ERR_INVALID: c_int = 1;
pub const RELINK_ERR_IO: c_int = 2;
pub const RELINK_ERR_LINK: c_int = 3;
pub const RELINK_ERR_UNDEFINED: c_int = 4;
pub const RELINK_ERR_NOT_FOUND: c_int = 5;
pub const RELINK_ERR_UNKNOWN_OBJECT: c_int = 6;
pub const RELINK_ERR_IN_USE: c_int = 7;
pub const RELINK_ERR_PANIC: c_int = 8;

pub const RELINK_PLACEMENT_AUTO: i32 = 0;
pub const RELINK_PLACEMENT_LOW: i32 = 1;
pub const RELINK_PLACEMENT_NEAR_PROCESS: i32 = 2;
pub const RELINK_PLACEMENT_ANYWHERE: i32 = 3;

/// `relink_options`.
#[repr(C)]
pub struct RelinkOptions {
    pub size: usize,
    pub placement: i32,
    pub stub_capacity: u32,
    pub region_size: u64,
    pub link_only: i32,
    pub debugger: i32,
    pub perf_map: i32,
    pub reserved: i32,
}

/// `relink_replacement`.
#[repr(C)]
pub struct RelinkReplacement {
    pub id: RelinkObjectId,
    pub bytes: *const c_void,
    pub len: usize,
}

/// `relink_undefined_symbol`.
#[repr(C)]
pub struct RelinkUndefinedSymbol {
    pub symbol: *const c_char,
    pub needed_by: *const c_char,
}

/// `relink_symbolized`.
#[repr(C)]
pub struct RelinkSymbolized {
    pub object: *const c_char,
    pub function: *const c_char,
    pub offset: u64,
}

/// Why a call failed: a status code and the message for `relink_last_error`.
struct Failure {
    code: c_int,
    message: String,
}

impl Failure {
    fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            code: RELINK_ERR_INVALID,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = match &e {
            Error::Io { .. } => RELINK_ERR_IO,
            Error::Undefined { .. } => RELINK_ERR_UNDEFINED,
            Error::NotFound(_) => RELINK_ERR_NOT_FOUND,
            Error::UnknownObject(_) => RELINK_ERR_UNKNOWN_OBJECT,
            Error::InUse { .. } => RELINK_ERR_IN_USE,
            _ => RELINK_ERR_LINK,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Addresses of the live handles: a handle is used only if it is here.
static LIVE: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

thread_local! {
    /// The last failure that had no handle to hold it.
    static THREAD_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn is_live(handle: *const Handle) -> bool {
    let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.contains(&(handle as usize))
}

/// A C string from a message (an interior NUL would end it early: escaped).
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

fn set_thread_error(message: &str) {
    THREAD_ERROR.with(|e| *e.borrow_mut() = c_string(message));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("internal error (a bug in relink): {text}")
}

/// Runs `body` on the live handle `l` for the C function `what`: reports a NULL
/// or dead handle without touching it, records the outcome for
/// `relink_last_error`, and turns a panic into `RELINK_ERR_PANIC`.
fn call<T>(
    l: *const Handle,
    what: &str,
    body: impl FnOnce(&mut Handle) -> Result<T, Failure>,
) -> Result<T, c_int> {
    if l.is_null() {
        set_thread_error(&format!("{what}: the linker is NULL"));
        return Err(RELINK_ERR_INVALID);
    }
    if !is_live(l) {
        set_thread_error(&format!(
            "{what}: {l:p} is not a live relink_linker (freed, or not from relink_new)"
        ));
        return Err(RELINK_ERR_INVALID);
    }
    // SAFETY: `l` is in LIVE, so it came from Box::into_raw in relink_new and has
    // not been freed; relink.h requires that calls on one linker do not overlap,
    // so no other reference to it exists during this call.
    let handle = unsafe { &mut *(l as *mut Handle) };
    handle.error = CString::default();
    if let Some(message) = &handle.poisoned {
        handle.error = c_string(&format!("{what}: refused after an earlier {message}"));
        return Err(RELINK_ERR_PANIC);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| body(handle))).unwrap_or_else(|payload| {
        let message = panic_message(payload.as_ref());
        handle.poisoned = Some(message.clone());
        Err(Failure {
            code: RELINK_ERR_PANIC,
            message,
        })
    });
    outcome.map_err(|f| {
        handle.error = c_string(&format!("{what}: {}", f.message));
        f.code
    })
}

fn status(result: Result<(), c_int>) -> c_int {
    match result {
        Ok(()) => RELINK_OK,
        Err(code) => code,
    }
}

/// A required C string argument as UTF-8.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string.
unsafe fn text<'a>(s: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if s.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-null, and the caller promises a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|_| {
        let escaped = bytes.escape_ascii();
        Failure::invalid(format!("{what} `{escaped}` is not UTF-8"))
    })
}

/// A required path argument (any bytes but NUL).
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string.
unsafe fn path<'a>(s: *const c_char) -> Result<&'a Path, Failure> {
    if s.is_null() {
        return Err(Failure::invalid("the path is NULL"));
    }
    // SAFETY: non-null, and the caller promises a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    Ok(Path::new(OsStr::from_bytes(bytes)))
}

/// Whether `path` starts like an archive (an unreadable file is not: loading
/// it reports why).
fn is_archive_file(path: &Path) -> bool {
    let mut magic = [0; 8];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    read.is_ok() && ops::is_archive(&magic)
}

/// A byte buffer argument; NULL is allowed when `len` is 0.
///
/// # Safety
/// `bytes` is NULL or points to `len` readable bytes.
unsafe fn buffer<'a>(bytes: *const c_void, len: usize) -> Result<&'a [u8], Failure> {
    if bytes.is_null() {
        return match len {
            0 => Ok(&[]),
            _ => Err(Failure::invalid(format!(
                "the bytes are NULL, with len {len}"
            ))),
        };
    }
    // SAFETY: non-null, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(bytes.cast::<u8>(), len) })
}

/// Stores `value` through an optional out-pointer.
///
/// # Safety
/// `out` is NULL or valid for a write of `T`.
unsafe fn store<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-null, and the caller promises it is writable.
        unsafe { out.write(value) };
    }
}

fn options_from(o: &RelinkOptions) -> Result<LinkerOptions, Failure> {
    if o.size != std::mem::size_of::<RelinkOptions>() {
        return Err(Failure::invalid(format!(
            "relink_options.size is {}, this library's relink_options has {} bytes \
             (a header from another version?)",
            o.size,
            std::mem::size_of::<RelinkOptions>()
        )));
    }
    let placement = match o.placement {
        RELINK_PLACEMENT_AUTO => Placement::Auto,
        RELINK_PLACEMENT_LOW => Placement::Low,
        RELINK_PLACEMENT_NEAR_PROCESS => Placement::NearProcess,
        RELINK_PLACEMENT_ANYWHERE => Placement::Anywhere,
        other => return Err(Failure::invalid(format!("unknown placement {other}"))),
    };
    let debugger = match o.debugger {
        -1 => None,
        0 => Some(false),
        1 => Some(true),
        other => {
            return Err(Failure::invalid(format!(
                "debugger is {other}, not -1, 0 or 1"
            )))
        }
    };
    Ok(LinkerOptions::new()
        .placement(placement)
        .region_size(o.region_size)
        .stub_capacity(o.stub_capacity)
        .link_only(o.link_only != 0)
        .debugger(debugger)
        .perf_map(o.perf_map != 0))
}

fn default_options() -> RelinkOptions {
    let d = LinkerOptions::default();
    let placement = match d.placement {
        Placement::Low => RELINK_PLACEMENT_LOW,
        Placement::NearProcess => RELINK_PLACEMENT_NEAR_PROCESS,
        Placement::Anywhere => RELINK_PLACEMENT_ANYWHERE,
        Placement::Auto => RELINK_PLACEMENT_AUTO,
    };
    RelinkOptions {
        size: std::mem::size_of::<RelinkOptions>(),
        placement,
        stub_capacity: d.stub_capacity,
        region_size: d.region_size,
        link_only: i32::from(d.link_only),
        debugger: d.debugger.map_or(-1, i32::from),
        perf_map: i32::from(d.perf_map),
        reserved: 0,
    }
}

/// Creates a handle, reporting failures in the thread-local error.
fn new_handle(options: Result<LinkerOptions, Failure>) -> *mut Handle {
    let made = catch_unwind(|| options.and_then(|o| ops::new(o).map_err(Failure::from)));
    let linker = match made {
        Ok(Ok(linker)) => linker,
        Ok(Err(f)) => {
            set_thread_error(&format!("relink_new: {}", f.message));
            return std::ptr::null_mut();
        }
        Err(payload) => {
            set_thread_error(&format!("relink_new: {}", panic_message(payload.as_ref())));
            return std::ptr::null_mut();
        }
    };
    let handle = Box::into_raw(Box::new(Handle {
        linker,
        error: CString::default(),
        poisoned: None,
        strings: Vec::new(),
    }));
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.insert(handle as usize);
    handle
}

/// A linker with default options (include/relink.h).
#[no_mangle]
pub extern "C" fn relink_new() -> *mut Handle {
    new_handle(Ok(LinkerOptions::default()))
}

/// # Safety
/// `options` is NULL or valid for writing a `relink_options`.
#[no_mangle]
pub unsafe extern "C" fn relink_options_init(options: *mut RelinkOptions) {
    // SAFETY: the caller passes NULL or a writable relink_options.
    unsafe { store(options, default_options()) };
}

/// # Safety
/// `options` is NULL or points to a `relink_options`.
#[no_mangle]
pub unsafe extern "C" fn relink_new_with_options(options: *const RelinkOptions) -> *mut Handle {
    // SAFETY: the caller passes NULL or a readable relink_options.
    let options = match unsafe { options.as_ref() } {
        None => Ok(LinkerOptions::default()),
        Some(o) => options_from(o),
    };
    new_handle(options)
}

/// # Safety
/// `l` is NULL or a handle; no other call on it, nor loaded code, runs (relink.h).
#[no_mangle]
pub unsafe extern "C" fn relink_free(l: *mut Handle) {
    if l.is_null() {
        return;
    }
    let removed = {
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        live.remove(&(l as usize))
    };
    if !removed {
        set_thread_error(&format!(
            "relink_free: {l:p} is not a live relink_linker (freed, or not from relink_new)"
        ));
        return;
    }
    // SAFETY: `l` was live (from Box::into_raw in new_handle) and is now removed
    // from LIVE, so this is the only owner.
    let handle = unsafe { Box::from_raw(l) };
    if catch_unwind(AssertUnwindSafe(|| drop(handle))).is_err() {
        set_thread_error("relink_free: a destructor or the linker panicked while freeing");
    }
}

/// # Safety
/// `l` is NULL or a handle with no call on it in progress.
#[no_mangle]
pub unsafe extern "C" fn relink_last_error(l: *const Handle) -> *const c_char {
    if !l.is_null() && is_live(l) {
        // SAFETY: live (see `call`), and calls on one linker do not overlap.
        return unsafe { (*l).error.as_ptr() };
    }
    // The thread-local lives as long as the thread; its buffer changes only at
    // this thread's next failure without a handle.
    THREAD_ERROR.with(|e| e.borrow().as_ptr())
}

/// # Safety
/// `l` is NULL or a handle; `path` NULL or a C string; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn relink_load_file(
    l: *mut Handle,
    path: *const c_char,
    out: *mut RelinkObjectId,
) -> c_int {
    status(call(l, "relink_load_file", |h| {
        // SAFETY: the caller passes NULL or a C string.
        let path = unsafe { self::path(path) }?;
        if is_archive_file(path) {
            return Err(Failure::invalid(format!(
                "{} is an archive: load it with relink_load_archive",
                path.display()
            )));
        }
        let id = ops::load_file(&mut h.linker, path)?;
        // SAFETY: the caller passes NULL or a writable relink_object_id.
        unsafe { store(out, ops::raw_id(id)) };
        Ok(())
    }))
}

/// # Safety
/// `l` is NULL or a handle; `name` NULL or a C string; `bytes` NULL or `len`
/// readable bytes; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn relink_load_bytes(
    l: *mut Handle,
    name: *const c_char,
    bytes: *const c_void,
    len: usize,
    out: *mut RelinkObjectId,
) -> c_int {
    status(call(l, "relink_load_bytes", |h| {
        // SAFETY: the caller passes NULL or a C string, and NULL or `len` bytes.
        let (name, bytes) = unsafe { (text(name, "the name")?, buffer(bytes, len)?) };
        let id = ops::load_bytes(&mut h.linker, name, bytes)?;
        // SAFETY: the caller passes NULL or a writable relink_object_id.
        unsafe { store(out, ops::raw_id(id)) };
        Ok(())
    }))
}

/// # Safety
/// `l` is NULL or a handle; `path` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn relink_load_archive(l: *mut Handle, path: *const c_char) -> c_int {
    status(call(l, "relink_load_archive", |h| {
        // SAFETY: the caller passes NULL or a C string.
        let path = unsafe { self::path(path) }?;
        Ok(ops::load_archive(&mut h.linker, path)?)
    }))
}

/// # Safety
/// `l` is NULL or a handle; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn relink_load_library(l: *mut Handle, name: *const c_char) -> c_int {
    status(call(l, "relink_load_library", |h| {
        // SAFETY: the caller passes NULL or a C string.
        let name = unsafe { text(name, "the library name") }?;
        Ok(ops::load_library(&mut h.linker, name)?)
    }))
}

/// # Safety
/// `l` is NULL or a handle; `name` NULL or a C string; `address` is what loaded
/// code will call or read under that name.
#[no_mangle]
pub unsafe extern "C" fn relink_define(
    l: *mut Handle,
    name: *const c_char,
    address: *const c_void,
) -> c_int {
    status(call(l, "relink_define", |h| {
        // SAFETY: the caller passes NULL or a C string.
        let name = unsafe { text(name, "the name") }?;
        if address.is_null() {
            return Err(Failure::invalid(format!("the address of `{name}` is NULL")));
        }
        Ok(ops::define(&mut h.linker, name, address.cast())?)
    }))
}

/// # Safety
/// `l` is NULL or a handle; `name` NULL or a C string; `function` is what loaded
/// code will call under that name.
#[no_mangle]
pub unsafe extern "C" fn relink_define_function(
    l: *mut Handle,
    name: *const c_char,
    function: RelinkFn,
) -> c_int {
    status(call(l, "relink_define_function", |h| {
        // SAFETY: the caller passes NULL or a C string.
        let name = unsafe { text(name, "the name") }?;
        let Some(function) = function else {
            return Err(Failure::invalid(format!("the function `{name}` is NULL")));
        };
        Ok(ops::define(&mut h.linker, name, function as *const u8)?)
    }))
}

/// The address of `name` for `relink_lookup` (`checked`) and `relink_address`.
///
/// # Safety
/// `name` is NULL or a C string.
unsafe fn find(h: &mut Handle, name: *const c_char, checked: bool) -> Result<*mut c_void, Failure> {
    // SAFETY: the caller passes NULL or a C string.
    let name = unsafe { text(name, "the name") }?;
    if checked {
        ops::check_resolved(&h.linker)?;
    }
    Ok(ops::address(&mut h.linker, name)?.cast_mut().cast())
}

/// # Safety
/// `l` is NULL or a handle; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn relink_lookup(l: *mut Handle, name: *const c_char) -> *mut c_void {
    // SAFETY: the caller passes NULL or a C string.
    call(l, "relink_lookup", |h| unsafe { find(h, name, true) }).unwrap_or(std::ptr::null_mut())
}

/// # Safety
/// `l` is NULL or a handle; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn relink_function(l: *mut Handle, name: *const c_char) -> RelinkFn {
    // SAFETY: the caller passes NULL or a C string.
    let found = call(l, "relink_function", |h| unsafe { find(h, name, true) });
    let address = found.unwrap_or(std::ptr::null_mut());
    // SAFETY: a function pointer and a data pointer have the same size and
    // representation on the targets relink supports (as dlsym relies on); NULL
    // becomes None. Calling it with the right type is the C caller's business.
    unsafe { std::mem::transmute::<*mut c_void, RelinkFn>(address) }
}

/// # Safety
/// `l` is NULL or a handle; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn relink_address(l: *mut Handle, name: *const c_char) -> *mut c_void {
    // SAFETY: the caller passes NULL or a C string.
    call(l, "relink_address", |h| unsafe { find(h, name, false) }).unwrap_or(std::ptr::null_mut())
}

/// # Safety
/// `l` is NULL or a handle.
#[no_mangle]
pub unsafe extern "C" fn relink_check_resolved(l: *mut Handle) -> c_int {
    status(call(l, "relink_check_resolved", |h| {
        Ok(ops::check_resolved(&h.linker)?)
    }))
}

/// # Safety
/// `l` is NULL or a handle; `out` NULL or writable for `capacity` entries;
/// `count` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn relink_undefined(
    l: *mut Handle,
    out: *mut RelinkUndefinedSymbol,
    capacity: usize,
    count: *mut usize,
) -> c_int {
    status(call(l, "relink_undefined", |h| {
        if count.is_null() {
            return Err(Failure::invalid("count is NULL"));
        }
        if out.is_null() && capacity > 0 {
            return Err(Failure::invalid(format!(
                "out is NULL, with capacity {capacity}"
            )));
        }
        let list = ops::undefined(&h.linker);
        h.strings.clear();
        for (i, (symbol, needed_by)) in list.iter().take(capacity).enumerate() {
            h.strings.push(c_string(symbol));
            h.strings.push(c_string(&needed_by.join(", ")));
            let entry = RelinkUndefinedSymbol {
                symbol: h.strings[2 * i].as_ptr(),
                needed_by: h.strings[2 * i + 1].as_ptr(),
            };
            // SAFETY: i < capacity, and the caller promises `capacity` entries;
            // the strings live in the handle until its next call.
            unsafe { out.add(i).write(entry) };
        }
        // SAFETY: checked non-null; the caller promises it is writable.
        unsafe { count.write(list.len()) };
        Ok(())
    }))
}

/// # Safety
/// `l` is NULL or a handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn relink_symbolize(
    l: *mut Handle,
    pc: *const c_void,
    out: *mut RelinkSymbolized,
) -> c_int {
    status(call(l, "relink_symbolize", |h| {
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        let Some(found) = ops::symbolize(&h.linker, pc as u64) else {
            return Err(Failure {
                code: RELINK_ERR_NOT_FOUND,
                message: format!("{pc:p} is not in a loaded function"),
            });
        };
        h.strings = vec![c_string(&found.object), c_string(&found.function)];
        let result = RelinkSymbolized {
            object: h.strings[0].as_ptr(),
            function: h.strings[1].as_ptr(),
            offset: found.offset,
        };
        // SAFETY: checked non-null; the caller promises it is writable. The
        // strings live in the handle until its next call.
        unsafe { out.write(result) };
        Ok(())
    }))
}

/// # Safety
/// `l` is NULL or a handle; `bytes` NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn relink_replace(
    l: *mut Handle,
    id: RelinkObjectId,
    bytes: *const c_void,
    len: usize,
    keep_state: c_int,
) -> c_int {
    status(call(l, "relink_replace", |h| {
        // SAFETY: the caller passes NULL or `len` readable bytes.
        let bytes = unsafe { buffer(bytes, len) }?;
        let id = ops::object_id(id);
        Ok(ops::replace(&mut h.linker, id, bytes, keep_state != 0)?)
    }))
}

/// # Safety
/// `l` is NULL or a handle; `path` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn relink_replace_file(
    l: *mut Handle,
    id: RelinkObjectId,
    path: *const c_char,
    keep_state: c_int,
) -> c_int {
    status(call(l, "relink_replace_file", |h| {
        // SAFETY: the caller passes NULL or a C string.
        let path = unsafe { self::path(path) }?;
        let bytes = std::fs::read(path).map_err(|e| Failure {
            code: RELINK_ERR_IO,
            message: format!("{}: {e}", path.display()),
        })?;
        let id = ops::object_id(id);
        Ok(ops::replace(&mut h.linker, id, &bytes, keep_state != 0)?)
    }))
}

/// # Safety
/// `l` is NULL or a handle; `items` NULL or `n` readable replacements, each
/// with NULL or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn relink_replace_many(
    l: *mut Handle,
    items: *const RelinkReplacement,
    n: usize,
    keep_state: c_int,
) -> c_int {
    status(call(l, "relink_replace_many", |h| {
        let items: &[RelinkReplacement] = match (items.is_null(), n) {
            (_, 0) => &[],
            (true, n) => {
                return Err(Failure::invalid(format!("the items are NULL, with n {n}")));
            }
            // SAFETY: non-null, and the caller promises `n` readable items.
            (false, n) => unsafe { std::slice::from_raw_parts(items, n) },
        };
        let mut list = Vec::with_capacity(items.len());
        for item in items {
            // SAFETY: the caller passes NULL or `len` readable bytes.
            let bytes = unsafe { buffer(item.bytes, item.len) }?;
            list.push((ops::object_id(item.id), bytes));
        }
        Ok(ops::replace_many(&mut h.linker, &list, keep_state != 0)?)
    }))
}

/// # Safety
/// `l` is NULL or a handle.
#[no_mangle]
pub unsafe extern "C" fn relink_unload(l: *mut Handle, id: RelinkObjectId) -> c_int {
    status(call(l, "relink_unload", |h| {
        Ok(ops::unload(&mut h.linker, ops::object_id(id))?)
    }))
}

/// # Safety
/// `l` is NULL or a handle, and no thread is executing or will return into
/// code of replaced or unloaded versions (relink.h).
#[no_mangle]
pub unsafe extern "C" fn relink_reclaim(l: *mut Handle) -> c_int {
    status(call(l, "relink_reclaim", |h| {
        // SAFETY: the C caller guarantees that no thread is in retired code.
        unsafe { ops::reclaim(&mut h.linker) };
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_reported_and_poisons_the_handle() {
        let l = relink_new();
        let r: Result<(), c_int> = call(l, "relink_test", |_| panic!("on purpose"));
        assert_eq!(r, Err(RELINK_ERR_PANIC));
        // SAFETY: `l` is live; its message is a C string.
        let message = unsafe { CStr::from_ptr(relink_last_error(l)) };
        assert_eq!(
            message.to_str().unwrap(),
            "relink_test: internal error (a bug in relink): on purpose"
        );
        // SAFETY: `l` is live; the name is a C string.
        let again = unsafe { relink_check_resolved(l) };
        assert_eq!(again, RELINK_ERR_PANIC);
        // SAFETY: `l` is live.
        let message = unsafe { CStr::from_ptr(relink_last_error(l)) };
        assert!(message
            .to_str()
            .unwrap()
            .starts_with("relink_check_resolved: refused after an earlier internal error"));
        // SAFETY: `l` is live and nothing runs in it.
        unsafe { relink_free(l) };
    }
}
