//! Darwin C library names: what clang's x86_64 and arm64 Mach-O output (and code
//! written against Darwin's headers) calls that glibc has under another name or
//! not at all. [`lookup`] is the last step of resolution — after loaded objects,
//! host definitions and the process — so a definition anywhere else always wins (an
//! ELF object defining `__error`, a host `define`, AArch64 glibc's own
//! `__stack_chk_guard` in ld.so). Names are as relink sees them: Mach-O's leading
//! `_` already removed (`___error` is `__error`).
//!
//! | Darwin name | provided as | why |
//! |---|---|---|
//! | `__stack_chk_guard` | a process-wide `long[8]`, word 0 random ([`GUARD`]) | x86-64 glibc keeps its canary at `%fs:0x28` and exports no variable (AArch64 glibc exports one: that wins) |
//! | `__stdinp`, `__stdoutp`, `__stderrp` | alias of `stdin`, `stdout`, `stderr` | Darwin's `stdout` macro reads `__stdoutp`; both are `FILE *` variables |
//! | `__error` | alias of `__errno_location` | Darwin's `errno` is `(*__error())`; same signature |
//! | `__exp10`, `__exp10f` | alias of `exp10`, `exp10f` (libm) | LLVM's name for `exp10` (and `pow(10, x)`) on Darwin |
//! | `__sincos_stret`, `__sincosf_stret` | Rust shims returning `{sin, cos}` | LLVM fuses `sin(x)`/`cos(x)` into them on Darwin; the pair comes back in registers (`xmm0`/`xmm1`, `d0`/`d1`; the float pair packed in `xmm0` on x86_64, `s0`/`s1` on arm64), which a `#[repr(C)]` struct returned by value gives on both |
//! | `memset_pattern4`, `memset_pattern8`, `memset_pattern16` | Rust shims | LLVM turns pattern-storing loops into them on Darwin |
//! | `_DefaultRuneLocale` | the C locale's `_RuneLocale` ([`RUNE_LOCALE`]) | Darwin's inline `isalpha` etc. read `__runetype[c]` for ASCII |
//! | `__maskrune`, `__toupper`, `__tolower` | Rust shims over the same table | Darwin's ctype macros call them |
//! | `strlcpy`, `strlcat` | Rust shims | BSD functions glibc before 2.38 lacks |
//! | `reallocf` | Rust shim over `realloc` | BSD: frees the block when `realloc` fails |
//! | `getprogname` | Rust shim reading `program_invocation_short_name` | BSD |
//! | `_NSGetEnviron` | Rust shim returning `&environ` | `<crt_externs.h>` |
//! | `fpurge` | Rust shim over `__fpurge`, returning 0 | glibc's returns nothing |
//!
//! Knowingly not provided:
//! - `__srget`, `__swbuf` (Darwin's `getc_unlocked`/`putc_unlocked` macros): they
//!   come with inline code that reads Darwin's `FILE` fields, which glibc's `FILE`
//!   does not have; no shim can make that code right.
//! - `__chkstk_darwin` (stack probes): clang 14 does not emit it.
//! - variadic `__sprintf_chk` and friends keep glibc's (same names and signatures);
//!   on arm64 any variadic call into glibc is wrong anyway (Darwin passes variadic
//!   arguments on the stack).
//! - Names that are the same on both (`__stack_chk_fail`, `__bzero`, `bzero`,
//!   `__memcpy_chk`, `__strcpy_chk`, ...) need nothing: the process has them.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use super::ProcessSymbol;

/// What a Darwin name becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provided {
    /// The process's definition of another name (glibc's).
    Alias(&'static str),
    /// A definition in relink.
    Shim,
}

/// Every Darwin name relink provides, and what it maps to.
pub const NAMES: &[(&str, Provided)] = &[
    ("__stack_chk_guard", Provided::Shim),
    ("__stdinp", Provided::Alias("stdin")),
    ("__stdoutp", Provided::Alias("stdout")),
    ("__stderrp", Provided::Alias("stderr")),
    ("__error", Provided::Alias("__errno_location")),
    ("__exp10", Provided::Alias("exp10")),
    ("__exp10f", Provided::Alias("exp10f")),
    ("__sincos_stret", Provided::Shim),
    ("__sincosf_stret", Provided::Shim),
    ("memset_pattern4", Provided::Shim),
    ("memset_pattern8", Provided::Shim),
    ("memset_pattern16", Provided::Shim),
    ("_DefaultRuneLocale", Provided::Shim),
    ("__maskrune", Provided::Shim),
    ("__toupper", Provided::Shim),
    ("__tolower", Provided::Shim),
    ("strlcpy", Provided::Shim),
    ("strlcat", Provided::Shim),
    ("reallocf", Provided::Shim),
    ("getprogname", Provided::Shim),
    ("_NSGetEnviron", Provided::Shim),
    ("fpurge", Provided::Shim),
];

/// The definition of Darwin name `name`, if relink provides one and the process
/// has what it needs; `None` for every other name.
pub fn lookup(name: &str) -> Option<ProcessSymbol> {
    let provided = NAMES.iter().find(|(n, _)| *n == name)?.1;
    match provided {
        Provided::Alias(glibc) => crate::memory::process::lookup(glibc),
        Provided::Shim => Some(shim(name)?),
    }
}

fn shim(name: &str) -> Option<ProcessSymbol> {
    let function = |f: usize| ProcessSymbol {
        address: f as u64,
        size: 0,
        function: true,
    };
    let data = |address: usize, size: usize| ProcessSymbol {
        address: address as u64,
        size: size as u64,
        function: false,
    };
    Some(match name {
        "__stack_chk_guard" => {
            init_guard();
            data(GUARD.as_ptr() as usize, std::mem::size_of_val(&GUARD))
        }
        "_DefaultRuneLocale" => data(
            &RUNE_LOCALE as *const RuneLocale as usize,
            std::mem::size_of::<RuneLocale>(),
        ),
        "__sincos_stret" => function(sincos_stret as *const () as usize),
        "__sincosf_stret" => function(sincosf_stret as *const () as usize),
        "memset_pattern4" => function(memset_pattern4 as *const () as usize),
        "memset_pattern8" => function(memset_pattern8 as *const () as usize),
        "memset_pattern16" => function(memset_pattern16 as *const () as usize),
        "__maskrune" => function(maskrune as *const () as usize),
        "__toupper" => function(toupper as *const () as usize),
        "__tolower" => function(tolower as *const () as usize),
        "strlcpy" => function(strlcpy as *const () as usize),
        "strlcat" => function(strlcat as *const () as usize),
        "reallocf" => function(reallocf as *const () as usize),
        "getprogname" => function(getprogname as *const () as usize),
        "_NSGetEnviron" => function(ns_get_environ as *const () as usize),
        "fpurge" => function(fpurge as *const () as usize),
        _ => return None,
    })
}

// ---- __stack_chk_guard ------------------------------------------------------------

/// Darwin's `long __stack_chk_guard[8]`: code compares word 0 with the copy it
/// pushed. One value for the whole process, fixed before any loaded code reads it.
pub static GUARD: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

fn init_guard() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: getauxval only reads the auxiliary vector; AT_RANDOM, when
        // present, points at 16 random bytes the kernel placed for the process.
        let random = unsafe { libc::getauxval(libc::AT_RANDOM) } as *const u8;
        let mut bytes = [0u8; 8];
        if !random.is_null() {
            // SAFETY: AT_RANDOM's 16 bytes are readable for the process's lifetime;
            // the first 8 (glibc's canary) are read from offset 8 onward, unaligned.
            unsafe { std::ptr::copy_nonoverlapping(random.add(8), bytes.as_mut_ptr(), 8) };
        }
        // A zero low byte stops string overflows, as glibc's canary does.
        let value = (u64::from_le_bytes(bytes) & !0xff) | 0x5a00;
        GUARD[0].store(value, Ordering::Relaxed);
    });
}

// ---- math ---------------------------------------------------------------------

/// What `__sincos_stret` returns: two doubles in registers.
#[repr(C)]
pub struct SinCos {
    sin: f64,
    cos: f64,
}

/// What `__sincosf_stret` returns: two floats in registers.
#[repr(C)]
pub struct SinCosF {
    sin: f32,
    cos: f32,
}

extern "C" fn sincos_stret(x: f64) -> SinCos {
    SinCos {
        sin: x.sin(),
        cos: x.cos(),
    }
}

extern "C" fn sincosf_stret(x: f32) -> SinCosF {
    SinCosF {
        sin: x.sin(),
        cos: x.cos(),
    }
}

// ---- memset_pattern -----------------------------------------------------------

/// Fills `len` bytes at `dst` with copies of the `N`-byte pattern, the last one cut
/// short.
///
/// # Safety
/// `dst` must be writable for `len` bytes and `pattern` readable for `N`.
unsafe fn memset_pattern<const N: usize>(dst: *mut c_void, pattern: *const c_void, len: usize) {
    let dst = dst.cast::<u8>();
    let pattern = pattern.cast::<u8>();
    for i in 0..len {
        // SAFETY: the caller guarantees `dst[..len]` and `pattern[..N]`.
        unsafe { dst.add(i).write(pattern.add(i % N).read()) };
    }
}

unsafe extern "C" fn memset_pattern4(dst: *mut c_void, pattern: *const c_void, len: usize) {
    // SAFETY: the C contract of memset_pattern4 is this function's.
    unsafe { memset_pattern::<4>(dst, pattern, len) }
}

unsafe extern "C" fn memset_pattern8(dst: *mut c_void, pattern: *const c_void, len: usize) {
    // SAFETY: the C contract of memset_pattern8 is this function's.
    unsafe { memset_pattern::<8>(dst, pattern, len) }
}

unsafe extern "C" fn memset_pattern16(dst: *mut c_void, pattern: *const c_void, len: usize) {
    // SAFETY: the C contract of memset_pattern16 is this function's.
    unsafe { memset_pattern::<16>(dst, pattern, len) }
}

// ---- strlcpy, strlcat ---------------------------------------------------------

/// # Safety
/// `src` is a C string; `dst` is writable for `size` bytes.
unsafe extern "C" fn strlcpy(dst: *mut u8, src: *const u8, size: usize) -> usize {
    // SAFETY: `src` is a C string (the caller's contract).
    let len = unsafe { libc::strlen(src.cast()) };
    if size > 0 {
        let n = len.min(size - 1);
        // SAFETY: `n < size` bytes fit in `dst`, and `src` has `len >= n` bytes.
        unsafe {
            std::ptr::copy(src, dst, n);
            dst.add(n).write(0);
        }
    }
    len
}

/// # Safety
/// `src` is a C string; `dst` is writable for `size` bytes and holds a C string
/// (or `size` bytes without a terminator).
unsafe extern "C" fn strlcat(dst: *mut u8, src: *const u8, size: usize) -> usize {
    // SAFETY: `dst` is readable for `size` bytes (the caller's contract).
    let used = unsafe { libc::strnlen(dst.cast(), size) };
    if used == size {
        // SAFETY: `src` is a C string.
        return size + unsafe { libc::strlen(src.cast()) };
    }
    // SAFETY: `dst + used` is writable for `size - used > 0` bytes.
    used + unsafe { strlcpy(dst.add(used), src, size - used) }
}

// ---- BSD extras ---------------------------------------------------------------

/// # Safety
/// `p` is null or a live `malloc` block.
unsafe extern "C" fn reallocf(p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: the caller's contract is realloc's.
    let q = unsafe { libc::realloc(p, size) };
    if q.is_null() && size != 0 {
        // SAFETY: realloc failed and left `p` allocated; reallocf frees it.
        unsafe { libc::free(p) };
    }
    q
}

/// The address of a glibc variable (`environ`, `program_invocation_short_name`).
fn glibc_variable(name: &'static str) -> *mut c_void {
    crate::memory::process::lookup(name).map_or(std::ptr::null_mut(), |s| s.address as *mut c_void)
}

extern "C" fn getprogname() -> *const std::ffi::c_char {
    let at = glibc_variable("program_invocation_short_name").cast::<*const std::ffi::c_char>();
    if at.is_null() {
        return c"".as_ptr();
    }
    // SAFETY: glibc's `char *program_invocation_short_name`, set before main.
    unsafe { at.read() }
}

extern "C" fn ns_get_environ() -> *mut c_void {
    glibc_variable("environ")
}

extern "C" {
    fn __fpurge(stream: *mut libc::FILE);
}

/// # Safety
/// `stream` is an open `FILE`.
unsafe extern "C" fn fpurge(stream: *mut libc::FILE) -> i32 {
    // SAFETY: the caller's contract is __fpurge's.
    unsafe { __fpurge(stream) };
    0
}

// ---- ctype --------------------------------------------------------------------

/// Darwin's `_CTYPE_*` masks (`<_ctype.h>`).
mod mask {
    pub const A: u32 = 0x100; // alpha
    pub const C: u32 = 0x200; // control
    pub const D: u32 = 0x400; // digit
    pub const G: u32 = 0x800; // graph
    pub const L: u32 = 0x1000; // lower
    pub const P: u32 = 0x2000; // punct
    pub const S: u32 = 0x4000; // space
    pub const U: u32 = 0x8000; // upper
    pub const X: u32 = 0x10000; // hex digit
    pub const B: u32 = 0x20000; // blank
    pub const R: u32 = 0x40000; // print
    pub const SW1: u32 = 0x4000_0000; // one column wide
}

/// `_CACHED_RUNES`: the table covers these code points.
const CACHED_RUNES: usize = 256;

/// The head of Darwin's `_RuneLocale`, through `__mapupper` (what the inline ctype
/// functions read), then room for the rest of the struct, zeroed (no range tables,
/// no character classes).
#[repr(C)]
pub struct RuneLocale {
    magic: [u8; 8],
    encoding: [u8; 32],
    sgetrune: usize,
    sputrune: usize,
    invalid_rune: i32,
    runetype: [u32; CACHED_RUNES],
    maplower: [i32; CACHED_RUNES],
    mapupper: [i32; CACHED_RUNES],
    rest: [u64; 16],
}

/// The C locale, as Darwin's `_DefaultRuneLocale` holds it for ASCII (bytes 128
/// and up are nothing).
pub static RUNE_LOCALE: RuneLocale = RuneLocale {
    magic: *b"RuneMagA",
    encoding: *b"NONE\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    sgetrune: 0,
    sputrune: 0,
    invalid_rune: 0xfffd,
    runetype: runetype_table(),
    maplower: map_table(false),
    mapupper: map_table(true),
    rest: [0; 16],
};

const fn runetype(c: u8) -> u32 {
    use mask::*;
    let mut t = 0;
    if c.is_ascii_control() {
        t |= C;
    }
    if c == b' ' || c == b'\t' {
        t |= B;
    }
    if c.is_ascii_whitespace() || c == 0x0b {
        t |= S;
    }
    if c.is_ascii_graphic() || c == b' ' {
        t |= R | SW1;
    }
    if c.is_ascii_graphic() {
        t |= G;
    }
    if c.is_ascii_punctuation() {
        t |= P;
    }
    if c.is_ascii_alphabetic() {
        t |= A;
    }
    if c.is_ascii_uppercase() {
        t |= U;
    }
    if c.is_ascii_lowercase() {
        t |= L;
    }
    if c.is_ascii_digit() {
        t |= D | X | (c - b'0') as u32;
    } else if c.is_ascii_hexdigit() {
        t |= X | (c.to_ascii_lowercase() - b'a' + 10) as u32;
    }
    t
}

const fn runetype_table() -> [u32; CACHED_RUNES] {
    let mut table = [0; CACHED_RUNES];
    let mut c = 0;
    while c < 128 {
        table[c] = runetype(c as u8);
        c += 1;
    }
    table
}

const fn map_table(upper: bool) -> [i32; CACHED_RUNES] {
    let mut table = [0; CACHED_RUNES];
    let mut c = 0;
    while c < CACHED_RUNES {
        let b = c as u8;
        table[c] = if c >= 128 {
            c as i32
        } else if upper {
            b.to_ascii_uppercase() as i32
        } else {
            b.to_ascii_lowercase() as i32
        };
        c += 1;
    }
    table
}

/// `__maskrune(c, f)`: `c`'s type bits under mask `f` (0 outside the table).
extern "C" fn maskrune(c: i32, f: u64) -> i32 {
    let t = usize::try_from(c)
        .ok()
        .and_then(|i| RUNE_LOCALE.runetype.get(i))
        .copied()
        .unwrap_or(0);
    (u64::from(t) & f) as i32
}

fn map(c: i32, table: &[i32; CACHED_RUNES]) -> i32 {
    usize::try_from(c)
        .ok()
        .and_then(|i| table.get(i))
        .copied()
        .unwrap_or(c)
}

extern "C" fn toupper(c: i32) -> i32 {
    map(c, &RUNE_LOCALE.mapupper)
}

extern "C" fn tolower(c: i32) -> i32 {
    map(c, &RUNE_LOCALE.maplower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_in_this_process() {
        // libm is linked into relink (the sincos shims use it), so the aliases of
        // exp10/exp10f resolve too.
        for (name, _) in NAMES {
            assert!(lookup(name).is_some(), "{name} does not resolve");
        }
        assert!(lookup("puts").is_none(), "only Darwin names are provided");
    }

    #[test]
    fn rune_table_matches_the_c_locale() {
        // Darwin's layout: __runetype right after the int __invalid_rune at 56.
        assert_eq!(std::mem::offset_of!(RuneLocale, runetype), 60);
        assert_eq!(std::mem::offset_of!(RuneLocale, maplower), 60 + 1024);
        for c in 0..=255u8 {
            let t = RUNE_LOCALE.runetype[c as usize];
            assert_eq!(t & mask::A != 0, c.is_ascii_alphabetic(), "{c}");
            assert_eq!(t & mask::D != 0, c.is_ascii_digit(), "{c}");
            assert_eq!(t & mask::X != 0, c.is_ascii_hexdigit(), "{c}");
            assert_eq!(t & mask::P != 0, c.is_ascii_punctuation(), "{c}");
            assert_eq!(toupper(c as i32), c.to_ascii_uppercase() as i32);
        }
        assert_eq!(maskrune(-1, u64::from(mask::A)), 0);
        assert_eq!(toupper(-1), -1);
    }

    #[test]
    fn bsd_extras_behave_as_on_darwin() {
        extern "C" {
            static environ: *const *const std::ffi::c_char;
        }
        // SAFETY: only addresses and glibc's program name are read; the block is
        // malloc's.
        unsafe {
            assert_eq!(ns_get_environ().cast_const(), (&raw const environ).cast());
            let name = std::ffi::CStr::from_ptr(getprogname()).to_string_lossy().into_owned();
            let exe = std::env::args().next().unwrap();
            assert!(exe.ends_with(&name) && !name.is_empty(), "{name} vs {exe}");
            let p = reallocf(std::ptr::null_mut(), 16);
            assert!(!p.is_null());
            libc::free(reallocf(p, 32));
        }
    }

    #[test]
    fn memset_pattern_cuts_the_last_copy() {
        let mut buf = [0u8; 11];
        let pat = [1u8, 2, 3, 4];
        // SAFETY: buf has 11 bytes, pat 4.
        unsafe { memset_pattern4(buf.as_mut_ptr().cast(), pat.as_ptr().cast(), 11) };
        assert_eq!(buf, [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3]);
    }

    #[test]
    fn strlcpy_and_strlcat_truncate_and_return_the_full_length() {
        let mut buf = [0xffu8; 6];
        // SAFETY: buf has 6 bytes; the sources are C strings.
        unsafe {
            assert_eq!(strlcpy(buf.as_mut_ptr(), c"abc".as_ptr().cast(), 6), 3);
            assert_eq!(strlcat(buf.as_mut_ptr(), c"defgh".as_ptr().cast(), 6), 8);
        }
        assert_eq!(&buf, b"abcde\0");
    }
}
