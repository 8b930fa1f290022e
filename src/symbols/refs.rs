//! The objects that refer to each name, kept for the whole table in one pool.
//!
//! A name's [`Refs`] (in its [`Entry`](super::Entry)) is the head of a chain
//! of nodes in the table's [`RefPool`]: one node per referring object, with
//! whether all that object's references are weak, the newest first. It
//! replaced a short list per name ([`Few`](super::Few)), which allocated room
//! for eight objects when a name got its second and grew eightfold after
//! that: with the 10 to 40 objects that refer to most of the wide corpus's
//! names, about two thirds of its 4 MB went unused at wide 1,001 (6,800
//! lists of room for 64), and every list was a `malloc` (and a `realloc`) of
//! the linking thread. A node is 12
//! bytes in two arrays that grow at their ends, which another thread faults in
//! ahead (`SymbolTable::fault_ahead`), and adding one writes there and in the
//! name's entry, which binding the object has just read.
//!
//! Walking a chain reads a node per referring object wherever it lies, which
//! only what is rare does: a replace, an unload, a name nothing defines.

use super::ObjectId;

/// A name's referring objects: the head of its chain in the [`RefPool`] and
/// counts the entry answers by itself.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Refs {
    /// The newest node's index + 1; 0: none.
    head: u32,
    len: u32,
    /// Nodes whose references are not all weak.
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

/// Flag of a node's word: all the object's references to the name are weak.
const WEAK: u64 = 1 << 63;

/// The nodes of every name's chain.
#[derive(Default)]
pub(crate) struct RefPool {
    /// Per node: the object's id, with [`WEAK`].
    words: Vec<u64>,
    /// Per node: the next (older) node's index + 1; 0 ends the chain. Free
    /// nodes chain the same way from `free`.
    next: Vec<u32>,
    /// The first free node's index + 1; 0: none.
    free: u32,
}

impl RefPool {
    fn pack((object, weak): (ObjectId, bool)) -> u64 {
        debug_assert_eq!(object.0 & WEAK, 0, "object ids stay below 2^63");
        object.0 | if weak { WEAK } else { 0 }
    }

    fn unpack(word: u64) -> (ObjectId, bool) {
        (ObjectId(word & !WEAK), word & WEAK != 0)
    }

    /// Whether the next [`RefPool::push`] may move the arrays (so that what
    /// faults them in ahead must stop first).
    pub(crate) fn full(&self) -> bool {
        self.free == 0
            && (self.words.len() == self.words.capacity() || self.next.len() == self.next.capacity())
    }

    /// The arrays, for faulting their spare capacity in ahead: `words`, `next`.
    pub(crate) fn arrays(&self) -> (&Vec<u64>, &Vec<u32>) {
        (&self.words, &self.next)
    }

    /// Adds `r` at the head of `list`.
    pub(crate) fn push(&mut self, list: &mut Refs, r: (ObjectId, bool)) {
        let word = Self::pack(r);
        let node = match self.free {
            0 => {
                self.words.push(word);
                self.next.push(list.head);
                self.words.len() as u32
            }
            free => {
                let at = free as usize - 1;
                self.free = self.next[at];
                (self.words[at], self.next[at]) = (word, list.head);
                free
            }
        };
        list.head = node;
        list.len += 1;
        list.strong += u32::from(!r.1);
    }

    /// The objects in `list`, the newest first.
    pub(crate) fn iter<'p>(
        &'p self,
        list: &Refs,
    ) -> impl Iterator<Item = (ObjectId, bool)> + Clone + 'p {
        let mut at = list.head;
        std::iter::from_fn(move || {
            let i = at.checked_sub(1)? as usize;
            at = self.next[i];
            Some(Self::unpack(self.words[i]))
        })
    }

    pub(crate) fn contains(&self, list: &Refs, r: (ObjectId, bool)) -> bool {
        let word = Self::pack(r);
        let mut at = list.head;
        while let Some(i) = at.checked_sub(1).map(|i| i as usize) {
            if self.words[i] == word {
                return true;
            }
            at = self.next[i];
        }
        false
    }

    /// Keeps the objects of `list` for which `keep` is true, in their order.
    pub(crate) fn retain(&mut self, list: &mut Refs, mut keep: impl FnMut((ObjectId, bool)) -> bool) {
        // `prev`: the node whose `next` points at `at` (0: the list's head).
        let (mut prev, mut at) = (0u32, list.head);
        while let Some(i) = at.checked_sub(1).map(|i| i as usize) {
            let next = self.next[i];
            let r = Self::unpack(self.words[i]);
            if keep(r) {
                prev = at;
            } else {
                match prev {
                    0 => list.head = next,
                    p => self.next[p as usize - 1] = next,
                }
                self.next[i] = self.free;
                self.free = at;
                list.len -= 1;
                list.strong -= u32::from(!r.1);
            }
            at = next;
        }
    }

    /// Empties `list`, its nodes free for others.
    pub(crate) fn clear(&mut self, list: &mut Refs) {
        self.retain(list, |_| false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(pool: &RefPool, list: &Refs) -> Vec<(ObjectId, bool)> {
        pool.iter(list).collect()
    }

    #[test]
    fn chains_keep_their_order_through_removals_and_reuse_freed_nodes() {
        let mut pool = RefPool::default();
        let (mut a, mut b) = (Refs::default(), Refs::default());
        for n in 1..=5 {
            pool.push(&mut a, (ObjectId(n), n % 2 == 0));
            pool.push(&mut b, (ObjectId(10 + n), false));
        }
        let newest_first = |ids: &[u64]| -> Vec<(ObjectId, bool)> {
            ids.iter().map(|&n| (ObjectId(n), n % 2 == 0)).collect()
        };
        assert_eq!(all(&pool, &a), newest_first(&[5, 4, 3, 2, 1]));
        assert_eq!((a.len(), a.strong, b.strong), (5, 3, 5));
        assert!(pool.contains(&a, (ObjectId(4), true)));
        assert!(!pool.contains(&a, (ObjectId(4), false)));
        // Head, middle and tail removed.
        pool.retain(&mut a, |(o, _)| ![5, 3, 1].contains(&o.0));
        assert_eq!(all(&pool, &a), newest_first(&[4, 2]));
        assert_eq!((a.len(), a.strong, a.any_strong()), (2, 0, false));
        assert_eq!(b.len(), 5, "another chain is untouched");
        // Freed nodes are taken before the arrays grow.
        let grown = pool.words.len();
        for n in 6..=8 {
            pool.push(&mut a, (ObjectId(n), false));
        }
        assert_eq!(pool.words.len(), grown);
        assert_eq!(all(&pool, &a).len(), 5);
        pool.push(&mut a, (ObjectId(9), false));
        assert_eq!(pool.words.len(), grown + 1);
        pool.clear(&mut a);
        assert!(a.is_empty() && all(&pool, &a).is_empty() && !a.any_strong());
        assert_eq!(all(&pool, &b).len(), 5);
        assert_eq!(format!("{b:?}"), "5 refs (5 strong)");
    }
}
