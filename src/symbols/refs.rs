//! The objects that refer to each name, kept for the whole table in one pool.
//!
//! A name's [`Refs`] (in its [`Entry`](super::Entry)) is a block of the
//! table's [`RefPool`]: one word per referring object, with whether all that
//! object's references are weak, in the order they were added. Blocks hold a
//! power of two of words; a full one is copied into a block twice as large and
//! goes on a free list for its size, which later names reuse as they grow.
//!
//! It replaced a short list per name ([`Few`](super::Few)), which allocated
//! room for eight objects when a name got its second and grew eightfold after
//! that: with the 10 to 40 objects that refer to most of the wide corpus's
//! names, about two thirds of its 4 MB went unused at wide 1,001 (6,800 lists
//! of room for 64), and every list was a `malloc` (and a `realloc`) of the
//! linking thread. The pool is one array that grows at its end, which another
//! thread faults in ahead (`SymbolTable::fault_ahead`). A name's words stay
//! together, so that taking an object out of them (a replace, an unload) reads
//! them in one sweep, as a list did, however many objects refer to the name.

use super::ObjectId;

/// A name's referring objects: its block in the [`RefPool`] and counts the
/// entry answers by itself.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Refs {
    /// The block's first word.
    at: u32,
    /// Words in the block (a power of two; 0: no block).
    room: u32,
    len: u32,
    /// Objects whose references are not all weak.
    strong: u32,
}

impl Refs {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether some object refers to the name other than weakly only.
    pub fn any_strong(&self) -> bool {
        self.strong != 0
    }
}

impl std::fmt::Debug for Refs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} refs ({} strong)", self.len, self.strong)
    }
}

/// Flag of a word: all the object's references to the name are weak.
const WEAK: u64 = 1 << 63;

/// Free lists, one per block size (2^i words).
const SIZES: usize = 32;

/// The blocks of every name's referring objects.
#[derive(Default)]
pub(crate) struct RefPool {
    /// Per word: an object's id, with [`WEAK`]. A free block's first word is
    /// the next free block of its size (its first word's index + 1; 0: none).
    words: Vec<u64>,
    /// Per size, the first free block (its first word's index + 1; 0: none).
    free: [u32; SIZES],
}

impl RefPool {
    fn pack((object, weak): (ObjectId, bool)) -> u64 {
        debug_assert_eq!(object.0 & WEAK, 0, "object ids stay below 2^63");
        object.0 | if weak { WEAK } else { 0 }
    }

    fn unpack(word: u64) -> (ObjectId, bool) {
        (ObjectId(word & !WEAK), word & WEAK != 0)
    }

    /// The words of `list`.
    fn slice(&self, list: &Refs) -> &[u64] {
        &self.words[list.at as usize..][..list.len as usize]
    }

    /// Whether adding to `list` may move the pool's array (so that what faults
    /// it in ahead must stop first).
    pub(crate) fn may_move(&self, list: &Refs) -> bool {
        let room = (list.room * 2).max(1);
        list.len == list.room
            && self.free[room.trailing_zeros() as usize] == 0
            && self.words.len() + room as usize > self.words.capacity()
    }

    /// Room for `more` words without moving the array (whose pages are
    /// touched only as blocks are handed out).
    pub(crate) fn reserve(&mut self, more: usize) {
        self.words.reserve(more);
    }

    /// Asks the CPU to bring the word the next push to `list` writes into
    /// its cache, and, when the block is full, the first word of the free
    /// block it would move to (its free list's next).
    #[inline]
    pub(crate) fn prefetch(&self, list: &Refs) {
        let word = |at: usize| self.words.get(at).map(|w| w as *const u64 as *const u8);
        if list.len < list.room {
            if let Some(at) = word((list.at + list.len) as usize) {
                super::prefetch(at);
            }
            return;
        }
        // The block is read to be copied (one line for most).
        if let Some(at) = word(list.at as usize) {
            super::prefetch(at);
        }
        let room = (list.room * 2).max(1);
        if let Some(at) = self.free[room.trailing_zeros() as usize].checked_sub(1) {
            if let Some(at) = word(at as usize) {
                super::prefetch(at);
            }
        }
    }

    /// The array, for faulting its spare capacity in ahead.
    pub(crate) fn words(&self) -> &Vec<u64> {
        &self.words
    }

    /// A free block of `room` words (a power of two): one freed before, or
    /// new at the array's end.
    fn take(&mut self, room: u32) -> u32 {
        let size = room.trailing_zeros() as usize;
        match self.free[size] {
            0 => {
                let at = self.words.len();
                self.words.resize(at + room as usize, 0);
                at as u32
            }
            head => {
                let at = head - 1;
                self.free[size] = self.words[at as usize] as u32;
                at
            }
        }
    }

    /// Puts `list`'s block on its free list.
    fn give_back(&mut self, list: &mut Refs) {
        if list.room != 0 {
            let size = list.room.trailing_zeros() as usize;
            self.words[list.at as usize] = u64::from(self.free[size]);
            self.free[size] = list.at + 1;
        }
        *list = Refs::default();
    }

    /// Adds `r` at the end of `list`.
    pub(crate) fn push(&mut self, list: &mut Refs, r: (ObjectId, bool)) {
        if list.len == list.room {
            let room = (list.room * 2).max(1);
            let at = self.take(room);
            let (from, len) = (list.at as usize, list.len as usize);
            self.words.copy_within(from..from + len, at as usize);
            let (kept_len, kept_strong) = (list.len, list.strong);
            self.give_back(list);
            *list = Refs {
                at,
                room,
                len: kept_len,
                strong: kept_strong,
            };
        }
        self.words[(list.at + list.len) as usize] = Self::pack(r);
        list.len += 1;
        list.strong += u32::from(!r.1);
    }

    /// The objects in `list`, in the order they were added.
    pub(crate) fn iter<'p>(
        &'p self,
        list: &Refs,
    ) -> impl Iterator<Item = (ObjectId, bool)> + Clone + 'p {
        self.slice(list).iter().map(|&w| Self::unpack(w))
    }

    pub(crate) fn contains(&self, list: &Refs, r: (ObjectId, bool)) -> bool {
        self.slice(list).contains(&Self::pack(r))
    }

    /// Keeps the objects of `list` for which `keep` is true, in their order.
    pub(crate) fn retain(
        &mut self,
        list: &mut Refs,
        mut keep: impl FnMut((ObjectId, bool)) -> bool,
    ) {
        let (at, len) = (list.at as usize, list.len as usize);
        let mut kept = 0;
        for i in at..at + len {
            let word = self.words[i];
            let r = Self::unpack(word);
            if keep(r) {
                self.words[at + kept] = word;
                kept += 1;
            } else {
                list.strong -= u32::from(!r.1);
            }
        }
        list.len = kept as u32;
        if kept == 0 {
            self.give_back(list);
        }
    }

    /// Empties `list`, its block free for others.
    pub(crate) fn clear(&mut self, list: &mut Refs) {
        self.give_back(list);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(pool: &RefPool, list: &Refs) -> Vec<(ObjectId, bool)> {
        pool.iter(list).collect()
    }

    fn refs(ids: &[u64]) -> Vec<(ObjectId, bool)> {
        ids.iter().map(|&n| (ObjectId(n), n % 2 == 0)).collect()
    }

    #[test]
    fn blocks_keep_their_order_through_growth_and_removals_and_are_reused() {
        let mut pool = RefPool::default();
        let (mut a, mut b) = (Refs::default(), Refs::default());
        for n in 1..=5 {
            pool.push(&mut a, (ObjectId(n), n % 2 == 0));
            pool.push(&mut b, (ObjectId(10 + n), false));
        }
        assert_eq!(all(&pool, &a), refs(&[1, 2, 3, 4, 5]));
        assert_eq!((a.len(), a.room, a.strong, b.strong), (5, 8, 3, 5));
        assert!(pool.contains(&a, (ObjectId(4), true)));
        assert!(!pool.contains(&a, (ObjectId(4), false)));
        // Both grew 1 → 2 → 4 → 8: the blocks of 1, 2 and 4 they left are free.
        assert_eq!(pool.words.len(), 2 * (1 + 2 + 4 + 8));
        let mut c = Refs::default();
        for n in 1..=4 {
            pool.push(&mut c, (ObjectId(20 + n), false));
        }
        assert_eq!(pool.words.len(), 30, "a third list grows into freed blocks");
        assert_eq!(all(&pool, &c), [21, 22, 23, 24].map(|n| (ObjectId(n), false)));
        // First, middle and last removed.
        pool.retain(&mut a, |(o, _)| ![1, 3, 5].contains(&o.0));
        assert_eq!(all(&pool, &a), refs(&[2, 4]));
        assert_eq!((a.len(), a.strong, a.any_strong()), (2, 0, false));
        assert_eq!(all(&pool, &b), (11..=15).map(|n| (ObjectId(n), false)).collect::<Vec<_>>());
        pool.push(&mut a, (ObjectId(7), false));
        assert_eq!(all(&pool, &a), refs(&[2, 4, 7]));
        // Emptied, a block is freed and taken again.
        pool.retain(&mut a, |_| false);
        assert!(a.is_empty() && all(&pool, &a).is_empty() && !a.any_strong());
        let mut d = Refs::default();
        for n in 1..=8 {
            pool.push(&mut d, (ObjectId(n), false));
        }
        assert_eq!(pool.words.len(), 30, "a's block of 8 went to d");
        pool.clear(&mut d);
        pool.clear(&mut b);
        assert!(d.is_empty() && b.is_empty());
        assert_eq!(all(&pool, &c).len(), 4);
        assert_eq!(format!("{c:?}"), "4 refs (4 strong)");
    }

    #[test]
    fn whether_a_push_may_move_the_array() {
        let mut pool = RefPool::default();
        let mut a = Refs::default();
        pool.words.reserve_exact(3);
        assert!(!pool.may_move(&a), "room for a block of 1");
        pool.push(&mut a, (ObjectId(1), false));
        assert!(!pool.may_move(&a), "room for a block of 2");
        pool.push(&mut a, (ObjectId(2), false));
        assert!(pool.may_move(&a), "a block of 4 does not fit in what is left");
        let cap = pool.words.capacity();
        pool.push(&mut a, (ObjectId(3), false));
        assert!(pool.words.capacity() > cap);
        assert!(!pool.may_move(&a), "room in its block of 4");
    }
}
