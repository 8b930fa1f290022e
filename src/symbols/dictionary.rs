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
pub(crate) struct Dictionary {
    /// Hash index over the names: (number, where its text lies).
    index: hashbrown::HashTable<(u32, u32, u32), Mapped>,
    /// The names' text, one after another.
    text: allocator_api2::vec::Vec<u8, Mapped>,
    count: u32,
}

impl Default for Dictionary {
    fn default() -> Dictionary {
        Dictionary {
            index: hashbrown::HashTable::new_in(Mapped),
            text: allocator_api2::vec::Vec::new_in(Mapped),
            count: 0,
        }
    }
}

impl Dictionary {
    /// The number of `name`, whose symbol-table hash is `hash`
    /// ([`super::name_hash`]); numbered now if new.
    pub(crate) fn number(&mut self, name: &str, hash: u64) -> u32 {
        let text = &self.text;
        let same = |&(_, start, len): &(u32, u32, u32)| {
            text.get(start as usize..(start + len) as usize) == Some(name.as_bytes())
        };
        if let Some(&(number, _, _)) = self.index.find(hash, same) {
            return number;
        }
        let (number, start) = (self.count, self.text.len() as u32);
        self.count += 1;
        self.text.extend_from_slice(name.as_bytes());
        let text = &self.text;
        self.index
            .insert_unique(hash, (number, start, name.len() as u32), |&(_, s, l)| {
                let bytes = &text[s as usize..(s + l) as usize];
                // SAFETY: the text is whole names one after another, each
                // copied from a `str`, and an entry spans exactly one of them.
                // (Checking it again here was about a tenth of numbering's
                // time: perf, wide 1,001.)
                super::hash(unsafe { std::str::from_utf8_unchecked(bytes) })
            });
        number
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
        let h = |n: &str| super::super::name_hash(n);
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
    fn the_dictionary_is_freed_when_the_last_reader_is_done() {
        let h = |n: &str| super::super::name_hash(n);
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
        assert_eq!(dictionary.count, 0);
        // Its blocks were given back (`Mapped::deallocate` unmaps them; another
        // test's thread may map the same addresses at once, so this checks
        // the capacities rather than the maps).
        assert_eq!((dictionary.text.capacity(), dictionary.index.capacity()), (0, 0));
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
