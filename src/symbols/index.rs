//! The symbol table's hash index: name → [`NameId`], open addressing with
//! linear probing, one 8-byte slot per name holding its hash's tag and its id.
//!
//! It replaced a `hashbrown` table, which keeps its control bytes apart from
//! its elements: interning a new name read a control group (the lookup that
//! found the name absent) and then wrote the element elsewhere, two cache
//! misses where a slot that holds the element itself takes one — the probe
//! that finds the name absent ends at the slot the name then goes in. With
//! some 315,000 names (wide 5,001 objects) binding names was the linking
//! thread's largest cost and grew faster than the objects; this index took
//! its resolve stage from 160 to 128 ms (10 paired runs, faster in all).

use super::NameId;

/// One slot: empty while `id` is 0. No more than that: a probe for a name not
/// yet in the table — most probes while a batch is bound — reads slots up to
/// an empty one, a run of several at three quarters full, and at 16 bytes
/// (with the name's span) binding 1,001 objects' names took longer.
#[derive(Clone, Copy, Default)]
#[repr(C, align(8))]
struct Slot {
    /// The high 32 bits of the name's hash, which also place it (see
    /// [`NameIndex::home`]), so growing rereads no text.
    tag: u32,
    /// The name's id + 1.
    id: u32,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 8);

/// Slots of a new index.
const FIRST_SLOTS: usize = 1024;

#[derive(Default)]
pub(super) struct NameIndex {
    /// At most three quarters full, and of any length: a batch reserves room
    /// for the names it expects, and rounding that up to a power of two (as
    /// masking the home slot would need) left wide 1,001's index at a quarter
    /// full and peak memory 0.5 MiB higher than hashbrown's.
    slots: Vec<Slot>,
    len: usize,
}

/// Where a probe for `hash` ended: the name's slot, or the empty slot that
/// ends its run (where the name goes).
pub(super) enum Probe {
    Found(NameId),
    Vacant(usize),
}

impl NameIndex {
    #[cfg(any(test, feature = "testing"))]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Where the probe for a name with tag `tag` starts in `slots` slots: the
    /// tag scaled to the table (multiply and shift, not a modulo).
    fn home(tag: u32, slots: usize) -> usize {
        ((u64::from(tag) * slots as u64) >> 32) as usize
    }

    /// Where the probe for `hash` starts in this index.
    fn start(&self, hash: u64) -> usize {
        Self::home((hash >> 32) as u32, self.slots.len())
    }

    /// The slot after `at` in `slots` slots, wrapping round.
    fn next(at: usize, slots: usize) -> usize {
        if at + 1 == slots {
            0
        } else {
            at + 1
        }
    }

    /// Probes for `hash`: the first name with its tag that `is` accepts.
    /// With no room (an empty index), `Vacant` names no slot: call
    /// [`NameIndex::reserve`] before inserting.
    #[inline]
    pub(super) fn probe(&self, hash: u64, is: impl Fn(NameId) -> bool) -> Probe {
        if self.slots.is_empty() {
            return Probe::Vacant(usize::MAX);
        }
        let tag = (hash >> 32) as u32;
        let mut at = self.start(hash);
        loop {
            let slot = &self.slots[at];
            if slot.id == 0 {
                return Probe::Vacant(at);
            }
            if slot.tag == tag && is(NameId(slot.id - 1)) {
                return Probe::Found(NameId(slot.id - 1));
            }
            at = Self::next(at, self.slots.len());
        }
    }

    /// Asks the CPU to bring the slot where a probe for `hash` starts into
    /// its cache.
    #[inline]
    pub(super) fn prefetch(&self, hash: u64) {
        if let Some(slot) = self.slots.get(self.start(hash)) {
            super::prefetch(slot as *const Slot as *const u8);
        }
    }

    /// Puts a name in the empty slot `at`, which a [`NameIndex::probe`] for
    /// `hash` returned with no change to the index since (and after a
    /// [`NameIndex::reserve`] that made room for it).
    #[inline]
    pub(super) fn insert_at(&mut self, at: usize, hash: u64, id: NameId) {
        debug_assert!(self.slots[at].id == 0);
        self.slots[at] = Slot {
            tag: (hash >> 32) as u32,
            id: id.0 + 1,
        };
        self.len += 1;
    }

    /// Room for `more` names without growing (which moves every slot).
    pub(super) fn reserve(&mut self, more: usize) {
        let need = self.len + more;
        if need * 4 > self.slots.len() * 3 {
            let slots = (need * 4 / 3 + 1).max(FIRST_SLOTS);
            self.grow_to(slots.max(self.slots.len() * 2));
        }
    }

    fn grow_to(&mut self, slots: usize) {
        // Not faulted in ahead, as the dictionary's index is: faulting in the
        // block's pages (from the page that holds its start, which is inside a
        // heap page) measured no faster (wide 5,001, two sets of 10 pairs:
        // wall +10.2 and −3.5 ms).
        let mut grown = vec![Slot::default(); slots];
        for slot in self.slots.iter().filter(|s| s.id != 0) {
            let mut at = Self::home(slot.tag, slots);
            while grown[at].id != 0 {
                at = Self::next(at, slots);
            }
            grown[at] = *slot;
        }
        self.slots = grown;
    }

    /// Takes `id` (whose hash is `hash`) out; `false` if it is not there.
    pub(super) fn remove(&mut self, hash: u64, id: NameId) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let n = self.slots.len();
        let mut at = self.start(hash);
        loop {
            match self.slots[at].id {
                0 => return false,
                i if i == id.0 + 1 => break,
                _ => at = Self::next(at, n),
            }
        }
        // Backward shift: each later slot of the run moves into the hole if
        // its home does not lie between the hole and it (a probe for it then
        // still finds it before an empty slot).
        let distance = |from: usize, to: usize| (to + n - from) % n;
        let mut hole = at;
        let mut next = Self::next(hole, n);
        while self.slots[next].id != 0 {
            let home = Self::home(self.slots[next].tag, n);
            if distance(home, next) >= distance(hole, next) {
                self.slots[hole] = self.slots[next];
                hole = next;
            }
            next = Self::next(next, n);
        }
        self.slots[hole] = Slot::default();
        self.len -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model: names with chosen hashes (colliding ones too), inserted and
    /// removed in a mixed order, always found where a map says they are.
    #[test]
    fn names_are_found_after_inserts_growth_and_removals() {
        let mut index = NameIndex::default();
        let mut model = std::collections::HashMap::new();
        // Hashes collide in groups of 7 (same tag and home) and crowd the
        // first slots and the last ones, whose runs wrap round to the first;
        // `names` gives each id's name.
        let hash = |i: u32| {
            let tag = if i.is_multiple_of(2) { i / 7 } else { u32::MAX - i / 7 };
            (u64::from(tag) << 32) | u64::from(i)
        };
        let mut names: Vec<u32> = Vec::new();
        for round in 0..6u32 {
            for i in round * 1000..round * 1000 + 1500 {
                index.reserve(1);
                match index.probe(hash(i), |id| names[id.0 as usize] == i) {
                    Probe::Found(id) => assert_eq!(model.get(&i), Some(&id), "name {i}"),
                    Probe::Vacant(at) => {
                        assert!(!model.contains_key(&i), "name {i} lost");
                        let id = NameId(names.len() as u32);
                        names.push(i);
                        index.insert_at(at, hash(i), id);
                        model.insert(i, id);
                    }
                }
            }
            // Remove every third name so far.
            let gone: Vec<u32> = model.keys().copied().filter(|i| i % 3 == round % 3).collect();
            for i in gone {
                let id = model.remove(&i).unwrap();
                assert!(index.remove(hash(i), id));
                assert!(!index.remove(hash(i), id), "removed once");
            }
            assert_eq!(index.len(), model.len());
            for i in 0..round * 1000 + 1500 {
                let found = match index.probe(hash(i), |id| names[id.0 as usize] == i) {
                    Probe::Found(id) => Some(id),
                    Probe::Vacant(_) => None,
                };
                assert_eq!(found, model.get(&i).copied(), "round {round}, name {i}");
            }
        }
        assert!(index.slots.len() > FIRST_SLOTS, "the index grew");
    }
}
