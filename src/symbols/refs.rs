//! The objects that refer to each name, kept for the whole table in one pool.
//!
//! A name's [`Refs`] (in its [`Entry`](super::Entry)) holds one word per
//! referring object, with whether all that object's references are weak, in
//! the order they were added: a single one in the entry itself, more in a
//! block of the table's [`RefPool`]. Blocks hold a power of two of words, eight
//! at first (the rich corpus's names have about five referring objects); a full
//! one is copied into a block twice as large and goes on a free list for its
//! size, which later names reuse as they grow.
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

/// A name's referring objects: the only one, or its block in the
/// [`RefPool`], and counts the entry answers by itself.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Refs {
    /// With `len` 2 or more, the block's first word and its words (a power of
    /// two); with `len` 1, the one word itself (low half, high half).
    at: u32,
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

    /// How many objects refer to the name other than weakly only.
    pub fn strong_objects(&self) -> u32 {
        self.strong
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

/// A name's first block, when its second object refers to it.
const FIRST: u32 = 8;

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

    /// The words of `list` in the pool (none while it has one at most).
    fn slice(&self, list: &Refs) -> &[u64] {
        match list.len {
            0 | 1 => &[],
            len => &self.words[list.at as usize..][..len as usize],
        }
    }

    /// `list`'s word when it is its only one.
    fn only(list: &Refs) -> Option<u64> {
        (list.len == 1).then(|| u64::from(list.at) | u64::from(list.room) << 32)
    }

    /// Makes `word` the only one of an empty `list`.
    fn set_only(list: &mut Refs, word: u64) {
        (list.at, list.room) = (word as u32, (word >> 32) as u32);
        list.len = 1;
    }

    /// The block size a push to `list` moves it to, if it moves.
    fn next_room(list: &Refs) -> Option<u32> {
        match list.len {
            0 => None,
            1 => Some(FIRST),
            len if len == list.room => Some(list.room * 2),
            _ => None,
        }
    }

    /// Whether adding to `list` may move the pool's array (so that what faults
    /// it in ahead must stop first).
    pub(crate) fn may_move(&self, list: &Refs) -> bool {
        Self::next_room(list).is_some_and(|room| {
            self.free[room.trailing_zeros() as usize] == 0
                && self.words.len() + room as usize > self.words.capacity()
        })
    }

    /// Room for `more` words without moving the array (whose pages are
    /// touched only as blocks are handed out).
    pub(crate) fn reserve(&mut self, more: usize) {
        self.words.reserve(more);
    }

    /// Asks the CPU to bring the word the next push to `list` writes into
    /// its cache, and, when it moves to a new block, that block's first word
    /// (its free list's next) and the block it leaves.
    #[inline]
    pub(crate) fn prefetch(&self, list: &Refs) {
        let word = |at: u32| self.words.get(at as usize).map(|w| w as *const u64 as *const u8);
        if list.len >= 2 {
            // The next word, or the block that is copied (one line for most).
            let at = if list.len < list.room { list.at + list.len } else { list.at };
            if let Some(at) = word(at) {
                super::prefetch(at);
            }
        }
        if let Some(room) = Self::next_room(list) {
            if let Some(at) = self.free[room.trailing_zeros() as usize].checked_sub(1) {
                if let Some(at) = word(at) {
                    super::prefetch(at);
                }
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

    /// Puts `list`'s block (if it has one) on its free list, and empties it.
    fn give_back(&mut self, list: &mut Refs) {
        if list.len >= 2 {
            let size = list.room.trailing_zeros() as usize;
            self.words[list.at as usize] = u64::from(self.free[size]);
            self.free[size] = list.at + 1;
        }
        *list = Refs::default();
    }

    /// Adds `r` at the end of `list`.
    pub(crate) fn push(&mut self, list: &mut Refs, r: (ObjectId, bool)) {
        let word = Self::pack(r);
        if list.len == 0 {
            Self::set_only(list, word);
            list.strong = u32::from(!r.1);
            return;
        }
        if let Some(room) = Self::next_room(list) {
            let at = self.take(room);
            let (len, strong) = (list.len, list.strong);
            match Self::only(list) {
                Some(only) => self.words[at as usize] = only,
                None => {
                    let from = list.at as usize;
                    self.words.copy_within(from..from + len as usize, at as usize);
                }
            }
            self.give_back(list);
            *list = Refs {
                at,
                room,
                len,
                strong,
            };
        }
        self.words[(list.at + list.len) as usize] = word;
        list.len += 1;
        list.strong += u32::from(!r.1);
    }

    /// The objects in `list`, in the order they were added.
    pub(crate) fn iter<'p>(
        &'p self,
        list: &Refs,
    ) -> impl Iterator<Item = (ObjectId, bool)> + Clone + 'p {
        let words = Self::only(list).into_iter();
        words.chain(self.slice(list).iter().copied()).map(Self::unpack)
    }

    pub(crate) fn contains(&self, list: &Refs, r: (ObjectId, bool)) -> bool {
        let word = Self::pack(r);
        Self::only(list) == Some(word) || self.slice(list).contains(&word)
    }

    /// Keeps the objects of `list` for which `keep` is true, in their order.
    pub(crate) fn retain(
        &mut self,
        list: &mut Refs,
        mut keep: impl FnMut((ObjectId, bool)) -> bool,
    ) {
        if list.len <= 1 {
            if Self::only(list).is_some_and(|only| !keep(Self::unpack(only))) {
                *list = Refs::default();
            }
            return;
        }
        let (at, len) = (list.at as usize, list.len as usize);
        let (mut kept, mut strong) = (0, 0);
        for i in at..at + len {
            let word = self.words[i];
            let r = Self::unpack(word);
            if keep(r) {
                self.words[at + kept] = word;
                kept += 1;
                strong += u32::from(!r.1);
            }
        }
        if kept >= 2 {
            (list.len, list.strong) = (kept as u32, strong);
            return;
        }
        // One or none left: in the entry, the block freed.
        let only = self.words[at];
        self.give_back(list);
        if kept == 1 {
            Self::set_only(list, only);
            list.strong = strong;
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

    fn refs(ids: impl IntoIterator<Item = u64>) -> Vec<(ObjectId, bool)> {
        ids.into_iter().map(|n| (ObjectId(n), n % 2 == 0)).collect()
    }

    fn push_all(pool: &mut RefPool, list: &mut Refs, ids: impl IntoIterator<Item = u64>) {
        for (o, weak) in refs(ids) {
            pool.push(list, (o, weak));
        }
    }

    #[test]
    fn one_object_stays_in_the_entry_more_go_to_blocks_that_grow_and_are_reused() {
        let mut pool = RefPool::default();
        let (mut a, mut b) = (Refs::default(), Refs::default());
        push_all(&mut pool, &mut a, [u64::MAX >> 1]);
        assert_eq!(all(&pool, &a), [(ObjectId(u64::MAX >> 1), false)]);
        assert!(pool.words.is_empty(), "one object is kept in the entry");
        pool.clear(&mut a);
        push_all(&mut pool, &mut a, 1..=9);
        push_all(&mut pool, &mut b, 11..=12);
        assert_eq!(all(&pool, &a), refs(1..=9));
        assert_eq!((a.len(), a.room, a.strong, b.strong), (9, 16, 5, 1));
        assert!(pool.contains(&a, (ObjectId(4), true)));
        assert!(!pool.contains(&a, (ObjectId(4), false)));
        // a: a block of 8, then of 16; b: a block of 8, the one a left.
        assert_eq!(pool.words.len(), 8 + 16);
        assert_eq!(all(&pool, &b), refs(11..=12));
        // First, middle and last removed.
        pool.retain(&mut a, |(o, _)| ![1, 5, 9].contains(&o.0));
        assert_eq!(all(&pool, &a), refs([2, 3, 4, 6, 7, 8]));
        assert_eq!((a.len(), a.strong, a.any_strong()), (6, 2, true));
        pool.push(&mut a, (ObjectId(10), true));
        assert_eq!(all(&pool, &a), refs([2, 3, 4, 6, 7, 8, 10]));
        // Down to one: back in the entry, the block freed, and taken again.
        pool.retain(&mut a, |(o, _)| o.0 == 7);
        assert_eq!((all(&pool, &a), a.strong), (refs([7]), 1));
        let mut c = Refs::default();
        push_all(&mut pool, &mut c, 21..=30);
        // c's block of 8 is new, its block of 16 the one a left.
        assert_eq!(pool.words.len(), 32);
        assert_eq!(all(&pool, &c), refs(21..=30));
        pool.retain(&mut a, |_| false);
        assert!(a.is_empty() && all(&pool, &a).is_empty() && !a.any_strong());
        pool.retain(&mut a, |_| false);
        assert!(a.is_empty(), "an empty list stays empty");
        pool.retain(&mut b, |(o, _)| o.0 == 12);
        assert_eq!((all(&pool, &b), b.strong), (refs([12]), 0));
        pool.clear(&mut b);
        pool.clear(&mut c);
        assert!(b.is_empty() && c.is_empty());
        assert_eq!(format!("{c:?}"), "0 refs (0 strong)");
    }

    #[test]
    fn whether_a_push_may_move_the_array() {
        let mut pool = RefPool::default();
        let mut a = Refs::default();
        pool.words.reserve_exact(12);
        assert!(!pool.may_move(&a), "the first object needs no block");
        pool.push(&mut a, (ObjectId(1), false));
        assert!(!pool.may_move(&a), "room for a block of 8");
        push_all(&mut pool, &mut a, 2..=8);
        assert!(pool.may_move(&a), "a block of 16 does not fit in what is left");
        let cap = pool.words.capacity();
        pool.push(&mut a, (ObjectId(9), false));
        assert!(pool.words.capacity() > cap);
        assert!(!pool.may_move(&a), "room in its block of 16");
        assert_eq!(all(&pool, &a), refs(1..=9));
    }
}
