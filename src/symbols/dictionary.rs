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

/// Every name the batch's readers have met, numbered from 0 in the order met.
#[derive(Default)]
pub(crate) struct Dictionary {
    /// Hash index over the names: (number, where its text lies).
    index: hashbrown::HashTable<(u32, u32, u32)>,
    /// The names' text, one after another.
    text: String,
    count: u32,
}

impl Dictionary {
    /// The number of `name`, whose symbol-table hash is `hash`
    /// ([`super::name_hash`]); numbered now if new.
    pub(crate) fn number(&mut self, name: &str, hash: u64) -> u32 {
        let text = &self.text;
        let same = |&(_, start, len): &(u32, u32, u32)| {
            text.as_bytes().get(start as usize..(start + len) as usize) == Some(name.as_bytes())
        };
        if let Some(&(number, _, _)) = self.index.find(hash, same) {
            return number;
        }
        let (number, start) = (self.count, self.text.len() as u32);
        self.count += 1;
        self.text.push_str(name);
        let text = &self.text;
        self.index
            .insert_unique(hash, (number, start, name.len() as u32), |&(_, s, l)| {
                super::hash(&text[s as usize..(s + l) as usize])
            });
        number
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
}
