//! Copies of process variables: what a static linker's copy relocation does,
//! done in a running process.
//!
//! Code built `-fno-pic` reads a variable of a shared library (`stdout`,
//! `std::cout`) with a narrow field: an absolute 32-bit address, or a 32-bit
//! PC-relative displacement from code that its other absolute references keep in
//! the low 2 GiB. The library's variable is out of reach. `ld` gives such an
//! executable its own copy of the variable, and the dynamic linker binds every
//! other reference in the process to that copy, so there is one variable again.
//!
//! [`make`] does the same: it copies the variable's current value into the
//! *copy area* (private anonymous memory in the low 2 GiB, never unmapped: the
//! copy is the process's variable from then on, whichever linker made it), and
//! rebinds every reference the process's libraries make to it through their
//! dynamic relocations — the `GLOB_DAT` entries of their GOTs and `ABS64`
//! pointers in their data, found by walking each library's `PT_DYNAMIC` with
//! `dl_iterate_phdr`. A GOT entry in `PT_GNU_RELRO` is made writable for the one
//! store and read-only again.
//!
//! A copy is only sound when the library reaches its variable through such a
//! relocation. A variable its own library writes or reads PC-relatively (a
//! `-fPIC` library's hidden data, an executable's own data) cannot be made one:
//! `make` refuses a variable of the executable, and a *writable* variable whose
//! defining library has no symbolic relocation for it. A read-only variable (a VTT, a typeinfo) never changes, so
//! its copy is a faithful one even where nothing is rebound.
//!
//! What a copy does not reach: pointers to the old storage that the program made
//! before the copy, other than those in the defining library's writable data
//! (which are redirected: `std::cin`'s tie to `std::cout`) — on the heap, say.
//! A write to the old storage by another thread while the copy is made may be
//! lost. Linkers that bound the name before the copy existed keep the old
//! storage; within one `Linker`, objects loaded earlier are rebound
//! (`Linker::ensure_space`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::process::ProcessSymbol;

/// One copy: where the variable was, where it is now, its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copy {
    pub original: u64,
    pub copy: u64,
    pub size: u64,
    /// GOT entries and data pointers rebound to the copy.
    pub rebound: usize,
}

struct Copies {
    by_name: HashMap<String, Copy>,
    /// Original address → copy (aliases such as `environ` and `__environ` name
    /// one variable).
    by_original: HashMap<u64, Copy>,
    /// The free part of the newest copy-area chunk: `[next, end)`.
    next: u64,
    end: u64,
}

static COPIES: Mutex<Option<Copies>> = Mutex::new(None);
/// Set once the first copy exists: lookups skip the lock until then.
static ANY: AtomicBool = AtomicBool::new(false);

/// The process symbol `found` (what `dlsym` returned), or the copy that is the
/// variable now if one was made (under this name or an alias).
pub fn moved(found: ProcessSymbol) -> ProcessSymbol {
    if !ANY.load(Ordering::Acquire) || found.function {
        return found;
    }
    let copies = COPIES.lock().unwrap_or_else(|e| e.into_inner());
    match copies.as_ref().and_then(|c| c.by_original.get(&found.address)) {
        Some(c) => ProcessSymbol {
            address: c.copy,
            size: c.size,
            function: false,
        },
        None => found,
    }
}

/// Every copy made so far, by name.
pub fn all() -> Vec<(String, Copy)> {
    let copies = COPIES.lock().unwrap_or_else(|e| e.into_inner());
    let mut out: Vec<(String, Copy)> = copies
        .as_ref()
        .map(|c| c.by_name.iter().map(|(n, c)| (n.clone(), *c)).collect())
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The highest address a copy may end at: every narrow field reaches the low
/// 2 GiB (`R_X86_64_32S` sign-extends).
pub const COPY_LIMIT: u64 = 1 << 31;

/// Makes each process variable of `wanted` (a name, and the symbol found for it)
/// one that code in the low 2 GiB reaches: copies it there and rebinds the
/// process's references to it. Returns the copies, in order; or, at the first
/// variable that cannot be made one, its index and why (the copies before it
/// are made). The process's objects and their dynamic relocations are read
/// once for all of them.
pub fn make(wanted: &[(&str, ProcessSymbol)]) -> Result<Vec<ProcessSymbol>, (usize, String)> {
    let mut guard = COPIES.lock().unwrap_or_else(|e| e.into_inner());
    let copies = guard.get_or_insert_with(|| Copies {
        by_name: HashMap::new(),
        by_original: HashMap::new(),
        next: 0,
        end: 0,
    });
    // What each variable is ([`Wanted`]), or why it cannot be copied.
    let prepared: Vec<Result<Wanted, String>> = (wanted.iter())
        .map(|&(_, symbol)| prepare(copies, symbol))
        .collect();
    let objects = loaded_objects();
    // Every reference to any of them, in one pass over the relocations.
    let mut ranges: Vec<(u64, u64, usize)> = (prepared.iter().enumerate())
        .filter_map(|(i, p)| p.as_ref().ok().map(|w| (w.original, w.size, i)))
        .collect();
    // Aliases (`environ`, `__environ`) are one variable: their references go to
    // the first, and the others find its copy.
    ranges.sort_unstable();
    ranges.dedup_by_key(|r| r.0);
    let mut slots: Vec<Vec<Slot>> = wanted.iter().map(|_| Vec::new()).collect();
    for o in &objects {
        o.references(&ranges, &mut slots);
    }
    let mut out = Vec::with_capacity(wanted.len());
    for (i, (&(name, _), prepared)) in wanted.iter().zip(prepared).enumerate() {
        let w = prepared.map_err(|why| (i, why))?;
        let copy = match copies.by_original.get(&w.original) {
            // Made already, under this name or an alias.
            Some(c) => *c,
            None => copy_one(copies, &objects, name, &w, &slots[i]).map_err(|why| (i, why))?,
        };
        copies.by_name.entry(name.to_string()).or_insert(copy);
        out.push(ProcessSymbol {
            address: copy.copy,
            size: copy.size,
            function: false,
        });
    }
    Ok(out)
}

/// A process variable to copy: where it is, its size, its library's file.
struct Wanted {
    original: u64,
    size: u64,
    library: String,
}

/// What `symbol` is, for a copy: not thread-local, of a known size.
fn prepare(copies: &Copies, symbol: ProcessSymbol) -> Result<Wanted, String> {
    let original = symbol.address;
    if let Some(c) = copies.by_original.get(&original) {
        return Ok(Wanted {
            original,
            size: c.size,
            library: String::new(),
        });
    }
    let at = super::process::symbol_at(original)
        .ok_or_else(|| format!("no loaded library holds {original:#x}"))?;
    let (library, (kind, size)) = (at.file(), at.symbol.unwrap_or((0, 0)));
    if kind == STT_TLS {
        return Err("it is a thread-local variable".into());
    }
    let size = if size != 0 { size } else { symbol.size };
    if size == 0 {
        return Err(format!("{library}'s symbol table gives it no size"));
    }
    Ok(Wanted {
        original,
        size,
        library,
    })
}

/// Copies variable `name` ([`Wanted`]), whose references are `slots`, into the
/// copy area and rebinds them; refuses where a copy would split it.
fn copy_one(
    copies: &mut Copies,
    objects: &[Loaded],
    name: &str,
    w: &Wanted,
    slots: &[Slot],
) -> Result<Copy, String> {
    let (original, size) = (w.original, w.size);
    let Some(home) = objects.iter().find(|o| o.holds(original)) else {
        return Err(format!("no loaded library holds {original:#x}"));
    };
    if home.executable {
        // Its own code reads it PC-relatively (its definition, or its copy
        // relocation's copy): no rebinding reaches those reads.
        return Err("it lives in the executable, whose code reads it directly, so a copy in \
                    reach of the loaded code would split it in two"
            .into());
    }
    let writable = home.writable(original, size);
    let home_refers = slots.iter().any(|s| s.symbolic && home.holds(s.at));
    if writable && !home_refers {
        return Err(format!(
            "{} reaches its own `{name}` directly, not through a dynamic relocation, \
             so a copy in reach of the loaded code would split it in two",
            w.library
        ));
    }

    // The copy: aligned as the original is (up to 64), in the copy area.
    let align = 1u64 << original.trailing_zeros().min(6);
    let copy = allocate(copies, size, align)?;
    let delta = copy.wrapping_sub(original);
    // SAFETY: `[original, +size)` is the variable (its library's mapped data, per
    // its symbol's size); `[copy, +size)` is fresh memory of the copy area.
    unsafe {
        std::ptr::copy_nonoverlapping(original as *const u8, copy as *mut u8, size as usize);
    }
    // Pointers into the variable itself (a C++ stream's `_M_word` points at its
    // own `_M_local_word`) follow it.
    redirect_words(copy, size, original, size, delta);
    for s in slots {
        rebind(s, delta);
    }
    // Pointers to it stored in its library's writable data (`std::cin`'s tie).
    let mut redirected = 0;
    if writable {
        for (lo, hi) in home.writable_ranges() {
            let (lo, hi) = (lo.next_multiple_of(8), hi & !7);
            for part in split_around(lo, hi, original, original + size) {
                redirected += redirect_words(part.0, part.1 - part.0, original, size, delta);
            }
        }
    }
    let c = Copy {
        original,
        copy,
        size,
        rebound: slots.len() + redirected,
    };
    copies.by_original.insert(original, c);
    ANY.store(true, Ordering::Release);
    Ok(c)
}

/// Adds `delta` to every aligned word in `[at, at + len)` that points into
/// `[original, original + size)`; returns how many.
fn redirect_words(at: u64, len: u64, original: u64, size: u64, delta: u64) -> usize {
    let mut n = 0;
    let mut p = at.next_multiple_of(8);
    while p + 8 <= at + len {
        // SAFETY: `[at, at + len)` is readable and writable memory (the copy, or a
        // library's writable data outside RELRO); words are 8-aligned.
        unsafe {
            let w = p as *mut u64;
            let v = w.read_volatile();
            if v >= original && v < original + size {
                w.write_volatile(v.wrapping_add(delta));
                n += 1;
            }
        }
        p += 8;
    }
    n
}

/// `[lo, hi)` without `[a, b)`.
fn split_around(lo: u64, hi: u64, a: u64, b: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if lo < a.min(hi) {
        out.push((lo, a.min(hi)));
    }
    if b.max(lo) < hi {
        out.push((b.max(lo), hi));
    }
    out
}

/// `size` bytes aligned to `align` from the copy area, which grows by chunks
/// mapped in the low 2 GiB.
fn allocate(copies: &mut Copies, size: u64, align: u64) -> Result<u64, String> {
    let at = copies.next.next_multiple_of(align);
    if copies.next != 0 && at + size <= copies.end {
        copies.next = at + size;
        return Ok(at);
    }
    let chunk = (size + align).next_multiple_of(super::page_size()).max(64 << 10);
    let base = map_low(chunk).ok_or_else(|| {
        format!("could not map {chunk} bytes for copies in the low 2 GiB of the address space")
    })?;
    let at = base.next_multiple_of(align);
    copies.next = at + size;
    copies.end = base + chunk;
    Ok(at)
}

/// Private read-write memory ending below [`COPY_LIMIT`].
fn map_low(len: u64) -> Option<u64> {
    // Below the hints the low region uses first (memory::place), then anywhere
    // free the kernel agrees to.
    let hints = (1..64u64).map(|i| 0x1000_0000 - i * (1 << 20)).chain([0x7000_0000, 0x6000_0000]);
    for hint in hints {
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; the
        // result is checked.
        let p = unsafe {
            libc::mmap(
                hint as *mut libc::c_void,
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            continue;
        }
        if p as u64 != hint || hint + len > COPY_LIMIT {
            // SAFETY: the mapping just made, not at the address asked for.
            unsafe { libc::munmap(p, len as usize) };
            continue;
        }
        return Some(hint);
    }
    None
}

const STT_TLS: u8 = 6;

/// One loaded ELF object of the process, as `dl_iterate_phdr` shows it.
struct Loaded {
    base: u64,
    /// The main program (`dl_iterate_phdr` reports it first).
    executable: bool,
    /// Its `PT_LOAD` segments: (start, end, writable).
    segments: Vec<(u64, u64, bool)>,
    relro: Option<(u64, u64)>,
    dynamic: Option<u64>,
}

/// A dynamic relocation's target that holds the variable's address.
struct Slot {
    at: u64,
    /// Bound by name (`GLOB_DAT`, `ABS64`), not a `RELATIVE` one.
    symbolic: bool,
    /// In `PT_GNU_RELRO`: read-only once the loader is done.
    relro: bool,
}

impl Loaded {
    fn holds(&self, address: u64) -> bool {
        self.segments
            .iter()
            .any(|&(lo, hi, _)| (lo..hi).contains(&address))
    }

    fn writable(&self, address: u64, size: u64) -> bool {
        let in_relro = self
            .relro
            .is_some_and(|(lo, hi)| address >= lo && address + size <= hi);
        !in_relro
            && self
                .segments
                .iter()
                .any(|&(lo, hi, w)| w && address >= lo && address + size <= hi)
    }

    /// Its writable data outside RELRO.
    fn writable_ranges(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for &(lo, hi, w) in &self.segments {
            if !w {
                continue;
            }
            match self.relro {
                Some((a, b)) => out.extend(split_around(lo, hi, a, b)),
                None => out.push((lo, hi)),
            }
        }
        out
    }

    /// Pushes onto `out[i]` the targets of its dynamic relocations that hold an
    /// address inside `ranges`' variable `i` (`(original, size, i)`, sorted):
    /// the variable's GOT entries and pointers to it in data, whichever of its
    /// names (`environ`, `__environ`) they bind.
    fn references(&self, ranges: &[(u64, u64, usize)], out: &mut [Vec<Slot>]) {
        let Some(dynamic) = self.dynamic else { return };
        let (mut rela, mut relasz, mut relaent) = (0u64, 0u64, 24u64);
        // `Elf64_Dyn`: a tag and a value, 8 bytes each.
        let mut p = dynamic as *const [u64; 2];
        loop {
            // SAFETY: the loader's own `PT_DYNAMIC` array, ended by DT_NULL.
            let [tag, value] = unsafe { p.read() };
            match tag {
                0 => break,
                7 => rela = value,
                8 => relasz = value,
                9 => relaent = value,
                _ => {}
            }
            // SAFETY: still inside the array (DT_NULL not reached).
            p = unsafe { p.add(1) };
        }
        if rela == 0 || relaent < 24 {
            return;
        }
        // glibc rewrites the table's address in place; the vDSO's stays an offset.
        let rela = if rela < self.base { rela + self.base } else { rela };
        for i in 0..relasz / relaent {
            // SAFETY: DT_RELA/DT_RELASZ of a loaded object describe its mapped
            // relocation table.
            let r = unsafe { ((rela + i * relaent) as *const libc::Elf64_Rela).read_unaligned() };
            let kind = (r.r_info & 0xffff_ffff) as u32;
            let symbolic = SYMBOLIC.contains(&kind);
            if !symbolic && kind != RELATIVE {
                continue;
            }
            let at = self.base.wrapping_add(r.r_offset);
            if !self.holds(at) || at % 8 != 0 {
                continue;
            }
            // SAFETY: a relocated, mapped, 8-aligned word of this object.
            let value = unsafe { (at as *const u64).read_volatile() };
            // The last variable starting at or below the value, if it holds it.
            let below = ranges.partition_point(|&(original, _, _)| original <= value);
            let Some(&(original, size, i)) = below.checked_sub(1).map(|b| &ranges[b]) else {
                continue;
            };
            if value >= original + size.max(1) {
                continue;
            }
            let relro = self.relro.is_some_and(|(lo, hi)| (lo..hi).contains(&at));
            out[i].push(Slot { at, symbolic, relro });
        }
    }
}

/// Dynamic relocation kinds that store a symbol's address: `GLOB_DAT`, `ABS64`.
#[cfg(target_arch = "x86_64")]
const SYMBOLIC: [u32; 2] = [6, 1];
#[cfg(target_arch = "aarch64")]
const SYMBOLIC: [u32; 2] = [1025, 257];
/// `RELATIVE`: a pointer the library stores to its own data, by address.
#[cfg(target_arch = "x86_64")]
const RELATIVE: u32 = 8;
#[cfg(target_arch = "aarch64")]
const RELATIVE: u32 = 1027;

/// Moves `slot`'s address by `delta`, making a RELRO page writable for it.
fn rebind(slot: &Slot, delta: u64) {
    let page = super::page_size();
    let start = slot.at & !(page - 1);
    // SAFETY: the page holds a relocated GOT entry of a loaded library; it is
    // made writable for one aligned store and read-only again (RELRO's state).
    unsafe {
        if slot.relro {
            libc::mprotect(
                start as *mut libc::c_void,
                page as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            );
        }
        let w = slot.at as *mut u64;
        w.write_volatile(w.read_volatile().wrapping_add(delta));
        if slot.relro {
            libc::mprotect(start as *mut libc::c_void, page as usize, libc::PROT_READ);
        }
    }
}

/// Every loaded object of the process.
fn loaded_objects() -> Vec<Loaded> {
    let mut out: Vec<Loaded> = Vec::new();
    super::process::each_library(|info| {
        let base = info.dlpi_addr;
        let mut o = Loaded {
            base,
            executable: out.is_empty(),
            segments: Vec::new(),
            relro: None,
            dynamic: None,
        };
        for i in 0..info.dlpi_phnum as usize {
            // SAFETY: `dlpi_phnum` headers at `dlpi_phdr`.
            let ph = unsafe { &*info.dlpi_phdr.add(i) };
            let (lo, hi) = (base + ph.p_vaddr, base + ph.p_vaddr + ph.p_memsz);
            match ph.p_type {
                libc::PT_LOAD => o.segments.push((lo, hi, ph.p_flags & libc::PF_W != 0)),
                libc::PT_GNU_RELRO => {
                    // The loader protects whole pages: start and end rounded down.
                    let page = super::page_size();
                    o.relro = Some((lo & !(page - 1), hi & !(page - 1)));
                }
                libc::PT_DYNAMIC => o.dynamic = Some(lo),
                _ => {}
            }
        }
        out.push(o);
        false
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_around_cuts_a_hole() {
        assert_eq!(split_around(0, 100, 10, 20), vec![(0, 10), (20, 100)]);
        assert_eq!(split_around(0, 100, 0, 20), vec![(20, 100)]);
        assert_eq!(split_around(0, 100, 90, 120), vec![(0, 90)]);
        assert_eq!(split_around(0, 100, 200, 300), vec![(0, 100)]);
    }
}
