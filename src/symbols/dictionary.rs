//! Numbering a batch's names where its objects are read, so that the linking
//! thread finds a name's [`NameId`] by index instead of by hash.
//!
//! A batch read ahead (`linker/batch.rs`) gives every global name its reading
//! threads meet a number, the same for every object that names it
//! ([`Dictionary`]): hashing the name and comparing its text is done there, off
//! the linking thread. The linking thread keeps, per number, the name's id in
//! the symbol table once it has interned or found it ([`Numbered`]), so that
//! every later object naming it costs an array read — where it cost a probe of
//! the symbol table's hash index and a comparison of the text, most of the time
//! that binding an object's names took.
//!
//! Numbers say nothing about ids: ids are still given out by the symbol table,
//! in link order, so the link is the same whichever thread numbered what.

use super::{NameId, SymbolTable};
use allocator_api2::alloc::{AllocError, Allocator, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Every name the batch's readers have met, numbered from 0 in the order met.
/// Its memory is mapped for it alone ([`Mapped`]).
///
/// An open-addressing hash index of its own rather than a `hashbrown` table:
/// an object's names are looked up together ([`Dictionary::number_all`]), in
/// passes that first bring each name's index slot, then its candidate's
/// span, then its text into the cache, so that the cache misses of an
/// object's names overlap instead of following one another (numbering was a
/// third of the reading thread's time at 5,001 objects, most of it waiting
/// for the index and the text). And its slots hold what growing needs, so
/// growing rereads no text.
pub(crate) struct Dictionary {
    /// Linear probing; per slot 0 (empty), or the name's tag (the high 32
    /// bits of its hash, which also place it) above its number + 1. A power
    /// of two long, at most three quarters full.
    slots: allocator_api2::vec::Vec<u64, Mapped>,
    /// `64 - log2(slots.len())`: a hash's home slot is `hash >> shift`.
    shift: u32,
    /// Per number: where its name lies in `text` (start, length).
    spans: allocator_api2::vec::Vec<(u32, u32), Mapped>,
    /// The names' text, one after another.
    text: allocator_api2::vec::Vec<u8, Mapped>,
}

/// Slots of a new dictionary's index.
const FIRST_SLOTS: usize = 1024;

/// Where the probe for a name with hash `hash` starts, in an index of
/// `2^(64 - shift)` slots: at the hash's top bits.
fn home(hash: u64, shift: u32) -> usize {
    hash.checked_shr(shift).unwrap_or(0) as usize
}

impl Default for Dictionary {
    fn default() -> Dictionary {
        Dictionary {
            slots: allocator_api2::vec::Vec::new_in(Mapped),
            shift: 64,
            spans: allocator_api2::vec::Vec::new_in(Mapped),
            text: allocator_api2::vec::Vec::new_in(Mapped),
        }
    }
}

impl Dictionary {
    /// Names numbered so far.
    fn count(&self) -> u32 {
        self.spans.len() as u32
    }

    /// The text of the name numbered `number`.
    fn text_of(&self, number: u32) -> &[u8] {
        let (start, len) = self.spans[number as usize];
        &self.text[start as usize..(start + len) as usize]
    }

    /// An index of `slots` empty slots (a power of two, at least
    /// [`FIRST_SLOTS`]) holding every name so far. Fresh mapped memory reads
    /// as zeros, so the slots start empty without being written.
    fn grow_to(&mut self, slots: usize) {
        let mut grown: allocator_api2::vec::Vec<u64, Mapped> =
            allocator_api2::vec::Vec::with_capacity_in(slots, Mapped);
        // SAFETY: `Mapped` allocated the capacity just now as a new anonymous
        // mapping, which the kernel fills with zeros, and zero is a `u64`.
        unsafe { grown.set_len(slots) };
        // Faulted in for writing now, in one call: probes read a slot before
        // it is written, and a page first read maps the kernel's shared zero
        // page, whose replacement at the first write is a second fault and a
        // TLB flush on every core that runs the process (an interrupt to the
        // linking thread's).
        // SAFETY: the mapping just made, which stays mapped during the call.
        unsafe {
            crate::memory::populate_write(
                grown.as_mut_ptr() as u64,
                (slots * std::mem::size_of::<u64>()) as u64,
            )
        };
        let shift = 64 - slots.trailing_zeros();
        let mask = slots - 1;
        for &slot in self.slots.iter().filter(|&&s| s != 0) {
            // The tag is the hash's high half, which places it.
            let mut at = home((slot >> 32) << 32, shift);
            while grown[at] != 0 {
                at = (at + 1) & mask;
            }
            grown[at] = slot;
        }
        (self.slots, self.shift) = (grown, shift);
    }

    /// Room for `more` names without growing.
    fn reserve(&mut self, more: usize) {
        let need = self.count() as usize + more;
        if need * 4 > self.slots.len() * 3 {
            let slots = (need * 4 / 3 + 1).next_power_of_two().max(FIRST_SLOTS);
            self.grow_to(slots.max(self.slots.len() * 2));
        }
    }

    /// Probes for `hash` (in an index [`Dictionary::reserve`] made room in):
    /// the number of the first name with `hash`'s tag that `is` accepts, or
    /// the empty slot that ends the probe.
    fn probe(&self, hash: u64, is: impl Fn(u32) -> bool) -> Result<u32, usize> {
        let (tag, mask) = (hash >> 32, self.slots.len() - 1);
        let mut at = home(hash, self.shift);
        loop {
            match self.slots[at] {
                0 => return Err(at),
                s if s >> 32 == tag && is(s as u32 - 1) => return Ok(s as u32 - 1),
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// The number of `name`, whose symbol-table hash is `hash`
    /// ([`crate::input::name_hash`]); numbered now if new.
    pub(crate) fn number(&mut self, name: &str, hash: u64) -> u32 {
        self.reserve(1);
        let at = match self.probe(hash, |n| self.text_of(n) == name.as_bytes()) {
            Ok(number) => return number,
            Err(at) => at,
        };
        let number = self.count();
        self.spans.push((self.text.len() as u32, name.len() as u32));
        self.text.extend_from_slice(name.as_bytes());
        self.slots[at] = ((hash >> 32) << 32) | u64::from(number + 1);
        number
    }

    /// The numbers of `names` (each with its hash, as for
    /// [`Dictionary::number`]), new ones numbered in order, pushed to `out`.
    pub(crate) fn number_all(&mut self, names: &[(&str, u64)], out: &mut Vec<u32>) {
        // No growing between the passes (which would leave their hints
        // pointing at the old index).
        self.reserve(names.len());
        for &(_, hash) in names {
            super::prefetch(&self.slots[home(hash, self.shift)] as *const u64 as *const u8);
        }
        let candidates: Vec<u32> = (names.iter())
            .map(|&(_, hash)| {
                // The first name with its tag: its own, unless another name
                // shares the 32-bit tag.
                let c = self.probe(hash, |_| true).unwrap_or(NONE);
                if let Some(span) = self.spans.get(c as usize) {
                    super::prefetch(span as *const (u32, u32) as *const u8);
                }
                c
            })
            .collect();
        for &c in &candidates {
            if let Some(&(start, _)) = self.spans.get(c as usize) {
                super::prefetch(self.text[start as usize..].as_ptr());
            }
        }
        for (&(name, hash), &c) in names.iter().zip(&candidates) {
            // Not the candidate (new, or another name with its tag): probed
            // again, which also finds a name that came earlier in `names`.
            let found = self.spans.get(c as usize).is_some() && self.text_of(c) == name.as_bytes();
            out.push(if found { c } else { self.number(name, hash) });
        }
    }
}

/// Memory mapped for each allocation and unmapped when it is freed, for the
/// dictionary: several MiB at 5,001 objects, in blocks that grow by doubling.
/// From the heap, once freed, they stayed in the reading thread's arena, and
/// counted in the process's peak memory while the linking thread went on.
#[derive(Clone, Copy)]
pub(crate) struct Mapped;

/// What [`Mapped`] rounds a block's length up to and aligns it at (at most
/// the system's page size, which the kernel rounds `mmap` and `munmap` to).
const PAGE: usize = 4096;

impl Mapped {
    fn length(layout: Layout) -> usize {
        layout.size().next_multiple_of(PAGE)
    }
}

// SAFETY: a block is mapped for each allocation, at a page boundary (which
// meets any alignment up to a page; larger ones fail), and stays valid until
// it is unmapped in `deallocate`; copies of `Mapped` are interchangeable.
unsafe impl Allocator for Mapped {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.align() > PAGE {
            return Err(AllocError);
        }
        if layout.size() == 0 {
            let dangling = NonNull::new(layout.align() as *mut u8).ok_or(AllocError)?;
            return Ok(NonNull::slice_from_raw_parts(dangling, 0));
        }
        let length = Self::length(layout);
        // SAFETY: a new private anonymous mapping; no existing memory is touched.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if at == libc::MAP_FAILED {
            return Err(AllocError);
        }
        let at = NonNull::new(at as *mut u8).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(at, length))
    }

    unsafe fn deallocate(&self, at: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the caller's: `at` was allocated here with `layout`, so
            // it is a mapping of this length, and nothing uses it any more.
            let unmapped =
                unsafe { libc::munmap(at.as_ptr() as *mut libc::c_void, Self::length(layout)) };
            debug_assert_eq!(unmapped, 0);
        }
    }
}

/// A batch's dictionary, shared by the threads that read its files. The last
/// of them to be done frees it: the linking thread goes on for longer, and the
/// process's memory peaks at its end, which then does not include the names'
/// second copy.
pub(crate) struct Shared {
    pub(crate) names: Mutex<Dictionary>,
    /// Threads still reading.
    readers: AtomicUsize,
}

impl Shared {
    /// For `readers` threads, each of which calls [`Shared::done`] once.
    pub(crate) fn new(readers: usize) -> Shared {
        Shared {
            names: Mutex::default(),
            readers: AtomicUsize::new(readers),
        }
    }

    /// One reading thread is done: the last frees the dictionary. Numbering
    /// after that would start from 0 again, so every reader must be done.
    pub(crate) fn done(&self) {
        if self.readers.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            drop(std::mem::take(&mut *names));
        }
    }
}

/// No number: a symbol that is local, unnamed, or was not numbered.
pub(crate) const NONE: u32 = u32::MAX;

/// The linking thread's side: per number, the name's id once known.
#[derive(Default)]
pub(crate) struct Numbered {
    /// Per number: its name's id + 1 (0: not known yet).
    ids: Vec<u32>,
    /// The symbol table's [`SymbolTable::removals`] when `ids` was filled: a
    /// name removed since (a load rolled back) may have had its id handed out
    /// again, so the ids are forgotten then.
    removals: u64,
}

impl Numbered {
    /// The id of the name numbered `number`, if known and still valid.
    #[inline]
    pub(crate) fn get(&mut self, symbols: &SymbolTable, number: u32) -> Option<NameId> {
        if self.removals != symbols.removals() {
            self.ids.clear();
            self.removals = symbols.removals();
            return None;
        }
        match self.ids.get(number as usize) {
            Some(&id) if id != 0 => Some(NameId(id - 1)),
            _ => None,
        }
    }

    /// Asks the CPU to bring the id of the name numbered `number` into its
    /// cache (see [`SymbolTable::prefetch`]).
    #[inline]
    pub(crate) fn prefetch(&self, number: u32) {
        if let Some(id) = self.ids.get(number as usize) {
            super::prefetch(id as *const u32 as *const u8);
        }
    }

    /// Records that the name numbered `number` has id `id`.
    #[inline]
    pub(crate) fn set(&mut self, symbols: &SymbolTable, number: u32, id: NameId) {
        if self.removals != symbols.removals() {
            self.ids.clear();
            self.removals = symbols.removals();
        }
        let i = number as usize;
        if self.ids.len() <= i {
            self.ids.resize((i + 1).next_power_of_two(), 0);
        }
        self.ids[i] = id.0 + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_has_one_number_and_its_id_is_forgotten_after_a_removal() {
        let mut dictionary = Dictionary::default();
        let h = |n: &str| crate::input::name_hash(n);
        let (a, b) = (dictionary.number("puts", h("puts")), dictionary.number("main", h("main")));
        assert_eq!((a, b), (0, 1));
        assert_eq!(dictionary.number("puts", h("puts")), a);
        // Many names: the index grows and every name keeps its number.
        let names: Vec<String> = (0..1000).map(|i| format!("f{i}")).collect();
        let numbers: Vec<u32> = names.iter().map(|n| dictionary.number(n, h(n))).collect();
        for (n, &k) in names.iter().zip(&numbers) {
            assert_eq!(dictionary.number(n, h(n)), k);
        }

        let mut symbols = SymbolTable::default();
        let mut numbered = Numbered::default();
        let (puts, _) = symbols.intern("puts");
        assert_eq!(numbered.get(&symbols, a), None);
        numbered.set(&symbols, a, puts);
        assert_eq!(numbered.get(&symbols, a), Some(puts));
        assert_eq!(numbered.get(&symbols, 999), None);
        let (other, _) = symbols.intern("other");
        symbols.remove(other);
        assert_eq!(numbered.get(&symbols, a), None, "forgotten after a removal");
    }

    #[test]
    fn numbering_an_objects_names_together_gives_the_numbers_one_at_a_time_would() {
        let h = |n: &str| crate::input::name_hash(n);
        let (mut together, mut alone) = (Dictionary::default(), Dictionary::default());
        // Objects naming new names and earlier ones, one name twice, and
        // enough of them in all that the index grows several times.
        for object in 0..40 {
            let names: Vec<String> = (0..100)
                .map(|i| format!("n{}", (object * 37 + i * 11) % 1500))
                .chain([format!("twice{object}"), format!("twice{object}")])
                .collect();
            let names: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), h(n))).collect();
            let mut numbers = Vec::new();
            together.number_all(&names, &mut numbers);
            let one_at_a_time: Vec<u32> = names.iter().map(|&(n, h)| alone.number(n, h)).collect();
            assert_eq!(numbers, one_at_a_time, "object {object}");
        }
        assert!(together.slots.len() > FIRST_SLOTS, "the index grew");
        // Names whose hashes share the tag (here: are equal) are told apart by
        // their text, together and one at a time.
        let same = 0x1234_5678_0000_0001;
        let mut numbers = Vec::new();
        let names = [("left", same), ("right", same), ("left", same), ("right", same)];
        together.number_all(&names, &mut numbers);
        let (left, right) = (numbers[0], numbers[1]);
        assert_ne!(left, right);
        assert_eq!(numbers, [left, right, left, right]);
        assert_eq!((together.number("right", same), together.number("left", same)), (right, left));
    }

    #[test]
    fn the_dictionary_is_freed_when_the_last_reader_is_done() {
        let h = |n: &str| crate::input::name_hash(n);
        let shared = Shared::new(2);
        let names: std::vec::Vec<String> = (0..20_000).map(|i| format!("name_{i}")).collect();
        let (text, first) = {
            let mut dictionary = shared.names.lock().unwrap();
            for (k, n) in names.iter().enumerate() {
                assert_eq!(dictionary.number(n, h(n)), k as u32);
            }
            (dictionary.text.as_ptr() as usize, dictionary.number("name_0", h("name_0")))
        };
        assert_eq!(first, 0);
        // A block of its own starts a page; glibc's heap (where the text was
        // before) puts a chunk's header there, even for a block it maps.
        assert_eq!(text % PAGE, 0, "the names' text lies in a mapping of its own");
        // One reader done: the other still numbers, and finds the same numbers.
        shared.done();
        {
            let mut dictionary = shared.names.lock().unwrap();
            assert_eq!(dictionary.number("name_19999", h("name_19999")), 19_999);
            assert_eq!(dictionary.number("new", h("new")), 20_000);
        }
        // The last: the dictionary is emptied.
        shared.done();
        let mut dictionary = shared.names.lock().unwrap();
        assert_eq!(dictionary.count(), 0);
        // Its blocks were given back (`Mapped::deallocate` unmaps them; another
        // test's thread may map the same addresses at once, so this checks
        // the capacities rather than the maps).
        assert_eq!((dictionary.text.capacity(), dictionary.slots.capacity()), (0, 0));
        assert_eq!(dictionary.number("name_5", h("name_5")), 0);
    }

    #[test]
    fn mapped_blocks_are_page_aligned_and_hold_their_size() {
        use allocator_api2::alloc::Allocator;
        let layout = Layout::from_size_align(10_000, 64).unwrap();
        let block = Mapped.allocate(layout).unwrap();
        assert_eq!(block.as_ptr() as *mut u8 as usize % PAGE, 0);
        assert!(block.len() >= 10_000);
        // SAFETY: the block was just allocated with this layout, its
        // length (at least `layout.size()`) checked above.
        unsafe {
            let bytes = std::slice::from_raw_parts_mut(block.as_ptr() as *mut u8, 10_000);
            bytes.fill(0xa5);
            assert!(bytes.iter().all(|&b| b == 0xa5));
            Mapped.deallocate(NonNull::new(block.as_ptr() as *mut u8).unwrap(), layout);
        }
        let empty = Layout::from_size_align(0, 8).unwrap();
        assert_eq!(Mapped.allocate(empty).unwrap().len(), 0);
        let huge_alignment = Layout::from_size_align(8, 1 << 16).unwrap();
        assert!(Mapped.allocate(huge_alignment).is_err());
    }
}
