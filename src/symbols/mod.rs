//! The global symbol table: one entry per name, with every definition loaded
//! objects provide, what the host `define`d, what the process has (`dlsym`), the
//! entry's slot/stub index, and the **sites** — direct references from objects that
//! must be re-patched whenever the name's binding changes.
//!
//! Lookup order: loaded objects (the first loaded strong definition, else the
//! largest common — the first loaded of equal sizes —, else the first weak one), then
//! host definitions, then the process, then the Darwin C library names glibc lacks
//! (`darwin.rs`).

pub mod darwin;
pub(crate) mod dictionary;
mod index;
mod refs;
pub mod stubs;

use std::collections::BTreeSet;

/// The symbol table's map. FxHash (what rustc uses for symbol tables) rather than
/// SipHash: keys come from the objects being linked, so hash flooding buys an
/// attacker nothing they could not do with the objects' code itself, and SipHash
/// was a tenth of the time spent linking a thousand objects.
pub type Map<K, V> = rustc_hash::FxHashMap<K, V>;

use crate::arch::RelocKind;
use crate::input::name_hash;
pub use crate::memory::process::ProcessSymbol;

/// Names a loaded object; stays valid until it is unloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub u64);

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}
pub(crate) use refs::RefPool;
pub use refs::Refs;
pub use stubs::{SlotId, StubTable};

/// A definition by a loaded object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectDef {
    pub object: ObjectId,
    pub address: u64,
    pub size: u64,
    /// Lives in code: its canonical address is its stub.
    pub code: bool,
    /// Weak or common: a strong definition elsewhere wins.
    pub weak: bool,
    /// Common (tentative), with log2 of the alignment its object gave it (a
    /// power of two): among commons the largest wins, then the most aligned (ld
    /// gives the one it allocates the largest size and alignment of all), and a
    /// common wins over a weak definition (as in ld).
    pub common: Option<u8>,
    /// log2 of the alignment the definition has in its object (code: what its
    /// stub, its canonical address, keeps when it is handed out after the
    /// definition is known; at most a page).
    pub align_log2: u8,
}

/// What a name resolves to right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Object(ObjectDef),
    Host(ProcessSymbol),
    Process(ProcessSymbol),
    /// Nothing defines it. `weak`: every reference is weak, so it is null.
    Unresolved {
        weak: bool,
    },
}

/// A direct reference to a name from a loaded object (not through its slot/stub).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    pub object: ObjectId,
    /// Offset of the place in the region.
    pub offset: u64,
    /// Target address of the place.
    pub p: u64,
    pub kind: RelocKind,
    pub addend: i64,
    /// Section index and offset within it, for messages.
    pub section: u32,
    pub section_offset: u64,
}

/// A short list that keeps a single element inline: a name's definitions,
/// of which most names have one. (It held the referring objects too, until
/// those moved to one pool for the table: `refs.rs`.) A `Vec` for each (which
/// allocates room for four) was a large part of the time and memory of
/// linking many small objects. More than one element go in a `ThinVec`: one
/// pointer to one allocation that holds the length and capacity before the
/// elements, so that the list is no larger than its element (and a pointer), an
/// [`Entry`] fits a cache line, and a push follows one pointer. (A boxed `Vec`
/// took two allocations, and a push followed two pointers: recording the
/// references of 1,001 objects then took 5.5 ms.)
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Few<T> {
    #[default]
    Zero,
    One(T),
    Many(thin_vec::ThinVec<T>),
}

impl<T: Copy> Few<T> {
    /// Room a list gets when it first needs the heap: 64 bytes, at least four
    /// elements. (Measured when it held referring objects: a name referred to
    /// by a handful of objects then never grew its list, and growing, a
    /// `realloc` that copies, cost more than the push; 128 bytes cost 0.8%
    /// more peak memory on 5,001 such objects, where most of it went unused.)
    const FIRST_MANY: usize = {
        let fit = 64 / std::mem::size_of::<T>();
        if fit > 4 {
            fit
        } else {
            4
        }
    };

    #[inline]
    pub fn push(&mut self, value: T) {
        match self {
            Few::Zero => *self = Few::One(value),
            Few::One(first) => {
                let mut many = thin_vec::ThinVec::with_capacity(Self::FIRST_MANY);
                many.extend([*first, value]);
                *self = Few::Many(many);
            }
            Few::Many(v) => {
                // A list that outgrew its first room is long: make it eight
                // times as large the first time, then quadruple it (when it
                // held referring objects, growing fourfold twice was 3% of a
                // 5,001-object load).
                if v.len() == v.capacity() {
                    let grow = if v.len() <= Self::FIRST_MANY { 7 } else { 3 };
                    v.reserve(grow * v.len());
                }
                v.push(value);
            }
        }
    }

    /// Keeps the elements for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            Few::Zero => {}
            Few::One(v) => {
                if !keep(v) {
                    *self = Few::Zero;
                }
            }
            Few::Many(v) => {
                v.retain(keep);
                match v.len() {
                    0 => *self = Few::Zero,
                    1 => *self = Few::One(v[0]),
                    _ => {}
                }
            }
        }
    }
}

impl<T> std::ops::Deref for Few<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Few::Zero => &[],
            Few::One(v) => std::slice::from_ref(v),
            Few::Many(v) => v,
        }
    }
}

impl<T> std::ops::DerefMut for Few<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Few::Zero => &mut [],
            Few::One(v) => std::slice::from_mut(v),
            Few::Many(v) => v,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Few<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A name's entry: one cache line (lookups and bindings of names were most of
/// the time spent resolving thousands of objects' symbols).
#[derive(Default, Debug)]
#[repr(align(64))]
pub struct Entry {
    pub defs: Few<ObjectDef>,
    /// Objects that refer to the name, each with whether all its references
    /// are weak: a block of the table's pool ([`SymbolTable::refs`]).
    pub refs: Refs,
    pub slot: Option<SlotId>,
    /// See [`Entry::host`], [`Entry::process`] and [`Entry::sites`]: rare (most
    /// names are the objects' own and are referred to through slots and stubs),
    /// so out of line; `None` while all are empty.
    rare: Option<Box<Rare>>,
}

// One cache line per entry: at 152 bytes over three, linking 5,001 objects had
// 11% more L1 and L2 data cache misses.
const _: () = assert!(std::mem::size_of::<Entry>() == 64);

/// The rarely used parts of an [`Entry`].
#[derive(Clone, Default, Debug, PartialEq, Eq)]
struct Rare {
    host: Option<ProcessSymbol>,
    process: Option<Option<ProcessSymbol>>,
    sites: Vec<Site>,
    /// Some site's kind uses the symbol's size (`SIZE32`, `SIZE64`).
    sized: bool,
}

impl Entry {
    /// What the host `define`d.
    pub fn host(&self) -> Option<ProcessSymbol> {
        self.rare.as_ref().and_then(|r| r.host)
    }

    /// `dlsym` result, looked up once — and only while no object defines the name
    /// (`None`: not looked up yet).
    pub fn process(&self) -> Option<Option<ProcessSymbol>> {
        self.rare.as_ref().and_then(|r| r.process)
    }

    /// Direct references to the name from loaded objects.
    pub fn sites(&self) -> &[Site] {
        self.rare.as_ref().map_or(&[], |r| &r.sites)
    }

    /// Sets what the host defined; returns what it was.
    pub fn set_host(&mut self, host: Option<ProcessSymbol>) -> Option<ProcessSymbol> {
        let old = self.host();
        self.update_rare(|r| r.host = host);
        old
    }

    pub fn set_process(&mut self, process: Option<Option<ProcessSymbol>>) {
        self.update_rare(|r| r.process = process);
    }

    pub fn push_site(&mut self, site: Site) {
        self.update_rare(|r| {
            r.sized |= site.kind.info().uses_size;
            r.sites.push(site);
        });
    }

    /// Keeps the sites for which `keep` is true.
    pub fn retain_sites(&mut self, keep: impl FnMut(&Site) -> bool) {
        if self.rare.is_some() {
            self.update_rare(|r| {
                r.sites.retain(keep);
                r.sized = r.sites.iter().any(|s| s.kind.info().uses_size);
            });
        }
    }

    /// Whether some direct reference uses the symbol's size, not its address.
    pub fn sites_use_size(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.sized)
    }

    fn update_rare(&mut self, change: impl FnOnce(&mut Rare)) {
        let rare = self.rare.get_or_insert_with(Default::default);
        change(rare);
        if rare.host.is_none() && rare.process.is_none() && rare.sites.is_empty() {
            self.rare = None;
        }
    }

    /// The binding, with `extra` definitions considered as if already loaded.
    pub fn binding(&self, extra: Option<&ObjectDef>) -> Binding {
        let defs = self.defs.iter().chain(extra);
        self.pick(defs, || !self.refs.any_strong())
    }

    /// The binding a reference (`weak` or not) from an object that defines
    /// `own` sees: as [`Entry::binding`], unresolved and weak only if this
    /// reference and every other are weak. A strong reference to a name nothing
    /// defines does not read the other references (for a name many objects
    /// use, a list out of line: most of the time binding it took).
    pub fn binding_of_reference(&self, own: Option<&ObjectDef>, weak: bool) -> Binding {
        if !weak && own.is_none() && self.is_unresolved() {
            return Binding::Unresolved { weak: false };
        }
        let mut binding = self.binding(own);
        if let Binding::Unresolved { weak: all } = &mut binding {
            *all &= weak;
        }
        binding
    }

    /// The binding as it will be once `without`'s definitions are gone (it is being
    /// replaced or unloaded) and `extra` is loaded.
    /// `pool`: the table's ([`SymbolTable::ref_pool`]).
    pub(crate) fn binding_with(
        &self,
        pool: &RefPool,
        without: Option<ObjectId>,
        extra: Option<&ObjectDef>,
    ) -> Binding {
        let defs = (self.defs.iter())
            .filter(|d| Some(d.object) != without)
            .chain(extra);
        self.pick(defs, || {
            !self.refs.any_strong()
                || (pool.iter(&self.refs))
                    .filter(|(o, _)| Some(*o) != without)
                    .all(|(_, weak)| weak)
        })
    }

    /// The binding once the objects `going` are replaced by versions that
    /// define `extra` and refer to the name with `new_refs` (each weak or not).
    pub(crate) fn binding_after(
        &self,
        pool: &RefPool,
        going: &[ObjectId],
        extra: &[ObjectDef],
        new_refs: &[bool],
    ) -> Binding {
        let defs = (self.defs.iter())
            .filter(|d| !going.contains(&d.object))
            .chain(extra);
        self.pick(defs, || {
            (!self.refs.any_strong()
                || (pool.iter(&self.refs))
                    .filter(|(o, _)| !going.contains(o))
                    .all(|(_, weak)| weak))
                && new_refs.iter().all(|weak| *weak)
        })
    }

    /// Which of `defs` (or the host, the process) a name binds to; `all_weak`
    /// tells an unresolved name's references apart.
    fn pick<'a>(
        &self,
        defs: impl Iterator<Item = &'a ObjectDef> + Clone,
        all_weak: impl Fn() -> bool,
    ) -> Binding {
        if let Some(d) = defs.clone().find(|d| !d.weak) {
            return Binding::Object(*d);
        }
        // The largest common, then the most aligned, then the first loaded
        // (`reduce` keeps it).
        let largest = defs
            .clone()
            .filter_map(|d| d.common.map(|align| (d, (d.size, align))))
            .reduce(|best, d| if d.1 > best.1 { d } else { best })
            .map(|(d, _)| d);
        if let Some(d) = largest {
            return Binding::Object(*d);
        }
        if let Some(d) = defs.clone().next() {
            return Binding::Object(*d);
        }
        if let Some(rare) = &self.rare {
            if let Some(h) = rare.host {
                return Binding::Host(h);
            }
            if let Some(Some(p)) = rare.process {
                return Binding::Process(p);
            }
        }
        Binding::Unresolved { weak: all_weak() }
    }

    /// Whether nothing defines the name (`binding(None)` is `Unresolved`),
    /// without working out whether every reference is weak (which reads every
    /// referring object).
    pub fn is_unresolved(&self) -> bool {
        self.defs.is_empty()
            && self
                .rare
                .as_ref()
                .is_none_or(|r| r.host.is_none() && !matches!(r.process, Some(Some(_))))
    }

    /// The first strong definition by an object other than `except`.
    pub fn is_unused(&self) -> bool {
        self.defs.is_empty() && self.host().is_none() && self.refs.is_empty()
    }
}

/// A name in the [`SymbolTable`]: an index, stable while the name is in the table.
/// Loaded objects and sites hold these instead of strings; a name is hashed once
/// per object that mentions it, not once per relocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameId(pub u32);

/// The table of global names: each name is stored once (interned) and has an
/// [`Entry`]. Names nothing uses any more are removed and their ids reused.
#[derive(Default)]
pub struct SymbolTable {
    /// Hash index over the names (`index.rs`).
    index: index::NameIndex,
    /// Every name's text, one after another (no allocation per name).
    text: String,
    /// Per id: where its name lies in `text` (`len == REMOVED`: no name).
    spans: Vec<Span>,
    entries: Vec<Entry>,
    /// Ids of removed names, reused first.
    free: Vec<NameId>,
    /// Bytes of `text` that removed names left behind.
    garbage: usize,
    /// Names removed so far (ids that may have been handed out again).
    removals: u64,
    /// The process names are looked up in, when it is an executor's.
    remote: Option<std::sync::Arc<crate::memory::remote::Remote>>,
    /// The entries' blocks of referring objects (`refs.rs`).
    refs: RefPool,
    /// While a batch streams: another thread faults the spare capacity of
    /// `spans`, `entries` and the pool's array in ahead
    /// ([`SymbolTable::fault_ahead`]).
    ahead: Option<std::sync::Arc<crate::memory::HeapAhead>>,
}

#[derive(Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// Whether the name at this span is `name`: compared as bytes, which spares
    /// the check that the span's ends are character boundaries (`of` makes it).
    fn is(&self, text: &str, name: &str) -> bool {
        text.as_bytes()
            .get(self.start as usize..(self.start + self.len) as usize)
            == Some(name.as_bytes())
    }

    fn of<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start as usize..(self.start + self.len) as usize]
    }
}

const REMOVED: u32 = u32::MAX;


/// A hint to bring the cache line at `at` into the cache ([`SymbolTable::prefetch`]).
#[inline(always)]
fn prefetch(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes no memory, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(at as *const i8);
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above (`prfm` is a hint).
    unsafe {
        std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) at, options(nostack, readonly, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = at;
}

/// `id`'s name in `text`.
fn text_of<'t>(text: &'t str, spans: &[Span], id: NameId) -> &'t str {
    let Span { start, len } = spans[id.0 as usize];
    if len == REMOVED {
        return "";
    }
    &text[start as usize..(start + len) as usize]
}

impl SymbolTable {
    /// The id of `name`, if the table has it.
    pub fn id(&self, name: &str) -> Option<NameId> {
        self.id_hashed(name, name_hash(name))
    }

    /// As [`SymbolTable::id`], with `name`'s hash already computed ([`name_hash`]).
    pub(crate) fn id_hashed(&self, name: &str, h: u64) -> Option<NameId> {
        debug_assert_eq!(h, name_hash(name));
        let (text, spans) = (&self.text, &self.spans);
        match self.index.probe(h, |id| spans[id.0 as usize].is(text, name)) {
            index::Probe::Found(id) => Some(id),
            index::Probe::Vacant(_) => None,
        }
    }

    /// The first name the index holds under the tag of a name with hash
    /// `hash` — that name itself, unless another shares its 32-bit tag — with
    /// its span asked into the cache; `None` if no name has the tag (the name
    /// is not in the table). With [`SymbolTable::prefetch_text`] and
    /// [`SymbolTable::id_from_candidate`], an object's names are looked up in
    /// passes whose cache misses overlap, where [`SymbolTable::id_hashed`]
    /// waits for the slot, then the span, then the text of each in turn.
    pub(crate) fn candidate(&self, hash: u64) -> Option<NameId> {
        match self.index.probe(hash, |_| true) {
            index::Probe::Found(id) => {
                if let Some(span) = self.spans.get(id.0 as usize) {
                    prefetch(span as *const Span as *const u8);
                }
                Some(id)
            }
            index::Probe::Vacant(_) => None,
        }
    }

    /// Asks the CPU to bring the start of `id`'s name into its cache.
    #[inline]
    pub(crate) fn prefetch_text(&self, id: NameId) {
        let start = self.spans.get(id.0 as usize).map(|s| s.start as usize);
        if let Some(byte) = start.and_then(|s| self.text.as_bytes().get(s)) {
            prefetch(byte);
        }
    }

    /// As [`SymbolTable::id_hashed`], given the name [`SymbolTable::candidate`]
    /// found for `hash` (with no change to the table since): the candidate if
    /// it is `name`, else a probe past it. (No candidate: `name` is not here.)
    pub(crate) fn id_from_candidate(&self, name: &str, h: u64, c: NameId) -> Option<NameId> {
        match self.spans.get(c.0 as usize) {
            Some(span) if span.is(&self.text, name) => Some(c),
            _ => self.id_hashed(name, h),
        }
    }

    /// The id of `name`, added (with an empty entry) if new; `true` if it was new.
    pub fn intern(&mut self, name: &str) -> (NameId, bool) {
        self.intern_hashed(name, name_hash(name))
    }

    /// As [`SymbolTable::intern`], with `name`'s hash already computed.
    pub(crate) fn intern_hashed(&mut self, name: &str, h: u64) -> (NameId, bool) {
        debug_assert_eq!(h, name_hash(name));
        if self.entries.len() == self.entries.capacity()
            || self.spans.len() == self.spans.capacity()
        {
            self.stop_ahead(); // a push below may move them
        }
        // One probe finds the name or the slot it goes to (not a lookup, then
        // an insert that probes again).
        self.index.reserve(1);
        let (text, spans) = (&self.text, &self.spans);
        let at = match self.index.probe(h, |id| spans[id.0 as usize].is(text, name)) {
            index::Probe::Found(id) => return (id, false),
            index::Probe::Vacant(at) => at,
        };
        let span = Span {
            start: self.text.len() as u32,
            len: name.len() as u32,
        };
        self.text.push_str(name);
        let id = match self.free.pop() {
            Some(id) => {
                self.spans[id.0 as usize] = span;
                id
            }
            None => {
                self.spans.push(span);
                self.entries.push(Entry::default());
                NameId(self.spans.len() as u32 - 1)
            }
        };
        self.index.insert_at(at, h, id);
        (id, true)
    }

    /// How many names have been removed so far: while it stays the same, an id
    /// found for a name stays that name's (`dictionary::Numbered`).
    pub(crate) fn removals(&self) -> u64 {
        self.removals
    }

    /// Forgets a name: its entry is cleared and its id may be handed out again.
    pub fn remove(&mut self, id: NameId) {
        if !self.contains(id) {
            return;
        }
        let h = name_hash(self.name(id));
        if self.index.remove(h, id) {
            let span = &mut self.spans[id.0 as usize];
            self.garbage += span.len as usize;
            span.len = REMOVED;
            self.clear_refs(id);
            self.entries[id.0 as usize] = Entry::default();
            self.free.push(id);
            self.removals += 1;
            if self.garbage > 4096 && self.garbage > self.text.len() / 2 {
                self.compact();
            }
        }
    }

    /// Rewrites `text` without the bytes of removed names.
    fn compact(&mut self) {
        let mut text = String::with_capacity(self.text.len() - self.garbage);
        for span in &mut self.spans {
            if span.len != REMOVED {
                let (start, end) = (span.start as usize, (span.start + span.len) as usize);
                span.start = text.len() as u32;
                text.push_str(&self.text[start..end]);
            }
        }
        self.text = text;
        self.garbage = 0;
    }

    /// Whether `id` names something (it was not removed).
    pub fn contains(&self, id: NameId) -> bool {
        self.spans
            .get(id.0 as usize)
            .is_some_and(|s| s.len != REMOVED)
    }

    pub fn name(&self, id: NameId) -> &str {
        text_of(&self.text, &self.spans, id)
    }

    pub fn entry(&self, id: NameId) -> &Entry {
        &self.entries[id.0 as usize]
    }

    /// Asks the CPU to bring `id`'s entry into its cache, a hint that changes
    /// nothing the program sees. Binding an object's names first touches their
    /// entries one after another, each a cache miss that the next waited for;
    /// prefetched together first, the misses overlap.
    #[inline]
    pub(crate) fn prefetch(&self, id: NameId) {
        if let Some(entry) = self.entries.get(id.0 as usize) {
            prefetch(entry as *const Entry as *const u8);
        }
    }

    /// Asks the CPU to bring the index slot where a lookup of a name with
    /// hash `hash` starts into its cache (see [`SymbolTable::prefetch`]).
    #[inline]
    pub(crate) fn prefetch_name(&self, hash: u64) {
        self.index.prefetch(hash);
    }

    /// The objects that refer to `id`, each with whether all its references
    /// are weak, in the order they were linked.
    pub fn refs(&self, id: NameId) -> impl Iterator<Item = (ObjectId, bool)> + Clone + '_ {
        self.refs.iter(&self.entries[id.0 as usize].refs)
    }

    /// Whether `object` refers to `id` (all its references weak, or not).
    pub fn refers(&self, id: NameId, r: (ObjectId, bool)) -> bool {
        self.refs.contains(&self.entries[id.0 as usize].refs, r)
    }

    /// Records that `r.0` refers to `id` (weakly only, `r.1`).
    pub fn push_ref(&mut self, id: NameId, r: (ObjectId, bool)) {
        if self.refs.may_move(&self.entries[id.0 as usize].refs) {
            self.stop_ahead(); // the push below may move the pool's array
        }
        self.refs.push(&mut self.entries[id.0 as usize].refs, r);
    }

    /// Keeps the objects that refer to `id` for which `keep` is true.
    pub fn retain_refs(&mut self, id: NameId, keep: impl FnMut((ObjectId, bool)) -> bool) {
        self.refs.retain(&mut self.entries[id.0 as usize].refs, keep);
    }

    /// Forgets every object that refers to `id`.
    pub fn clear_refs(&mut self, id: NameId) {
        self.refs.clear(&mut self.entries[id.0 as usize].refs);
    }

    /// Asks the CPU to bring what adding an object to `id`'s referring
    /// objects writes into its cache (see [`SymbolTable::prefetch`]).
    #[inline]
    pub(crate) fn prefetch_refs(&self, id: NameId) {
        if let Some(entry) = self.entries.get(id.0 as usize) {
            self.refs.prefetch(&entry.refs);
        }
    }

    /// The pool the entries' [`Refs`] live in, for
    /// [`Entry::binding_with`] and [`Entry::binding_after`].
    pub(crate) fn ref_pool(&self) -> &RefPool {
        &self.refs
    }

    pub fn entry_mut(&mut self, id: NameId) -> &mut Entry {
        &mut self.entries[id.0 as usize]
    }

    /// The entry of `name`, if the table has it.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.id(name).map(|id| self.entry(id))
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.id(name).map(|id| self.entry_mut(id))
    }

    /// Every name in the table with its entry (in no particular order: in the
    /// order of ids, which walks the entries in memory order rather than
    /// jumping about as the hash index would — checking every name's binding
    /// before a lookup was a third of a load's cache misses).
    pub fn iter(&self) -> impl Iterator<Item = (NameId, &str, &Entry)> {
        let text = &self.text;
        self.entries
            .iter()
            .zip(&self.spans)
            .enumerate()
            .filter(|(_, (_, span))| span.len != REMOVED)
            .map(move |(i, (entry, span))| (NameId(i as u32), span.of(text), entry))
    }

    /// As [`SymbolTable::iter`], with the entries mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (NameId, &str, &mut Entry)> {
        let text = &self.text;
        self.entries
            .iter_mut()
            .zip(&self.spans)
            .enumerate()
            .filter(|(_, (_, span))| span.len != REMOVED)
            .map(move |(i, (entry, span))| (NameId(i as u32), span.of(text), entry))
    }

    #[cfg(any(test, feature = "testing"))]
    /// Forgets `name`, if the table has it (see [`SymbolTable::remove`]).
    pub fn remove_name(&mut self, name: &str) {
        if let Some(id) = self.id(name) {
            self.remove(id);
        }
    }

    #[cfg(any(test, feature = "testing"))]
    /// Number of names.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    #[cfg(any(test, feature = "testing"))]
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// Room for `additional` more names without rehashing, and four words per
    /// name in the pool of referring objects. (A batch estimates its names as
    /// half the symbols of its objects, defined and not: the references are
    /// about twice that estimate, and a block leaves room as it grows.)
    /// Growing the pool's array copies it; reserved and not used, it costs
    /// address space only.
    pub fn reserve(&mut self, additional: usize) {
        self.stop_ahead();
        self.spans.reserve(additional);
        self.entries.reserve(additional);
        self.index.reserve(additional);
        self.refs.reserve(additional.saturating_mul(4));
    }

    /// Has `ahead` fault in the spare capacity of the arrays that grow by one
    /// element per new name (`spans`, `entries`) and of the pool of referring
    /// objects, just above what is filled,
    /// until [`SymbolTable::stop_ahead`] or until one must grow. Call again to
    /// record how far they are filled.
    pub(crate) fn fault_ahead(&mut self, ahead: &std::sync::Arc<crate::memory::HeapAhead>) {
        fn buffer<T>(v: &Vec<T>) -> (usize, usize, usize) {
            let (start, size) = (v.as_ptr() as usize, std::mem::size_of::<T>());
            (start, start + v.len() * size, start + v.capacity() * size)
        }
        let buffers = [
            buffer(&self.spans),
            buffer(&self.entries),
            buffer(self.refs.words()),
        ];
        match &self.ahead {
            // The same buffers (a move retires them): only how far they are filled.
            Some(held) => {
                for (i, &(_, filled, _)) in buffers.iter().enumerate() {
                    held.advance(i, filled);
                }
            }
            None => {
                ahead.expect(&buffers);
                self.ahead = Some(ahead.clone());
            }
        }
    }

    /// Ends [`SymbolTable::fault_ahead`]: returns once the other thread no
    /// longer touches the arrays.
    pub(crate) fn stop_ahead(&mut self) {
        if let Some(ahead) = self.ahead.take() {
            ahead.retire();
        }
    }

    /// Looks `id`'s name up in the process once and caches the answer.
    pub fn entry_with_process(&mut self, id: NameId) -> &mut Entry {
        let i = id.0 as usize;
        if self.entries[i].process().is_none() {
            let found = self.process_lookup(self.name(id));
            self.entries[i].set_process(Some(found));
        }
        &mut self.entries[i]
    }

    /// Names are looked up in an executor's process from now on.
    pub fn set_remote(&mut self, remote: std::sync::Arc<crate::memory::remote::Remote>) {
        self.remote = Some(remote);
    }

    /// The executor whose process names are looked up in, if not this one.
    pub fn remote(&self) -> Option<&std::sync::Arc<crate::memory::remote::Remote>> {
        self.remote.as_ref()
    }

    /// Looks `name` up in the process where loaded code runs ([`dlsym`] here,
    /// or the executor's).
    pub fn process_lookup(&self, name: &str) -> Option<ProcessSymbol> {
        match &self.remote {
            Some(remote) => remote.lookup(name),
            None => dlsym(name),
        }
    }

    /// Names referred to by some object that nothing defines, with the objects that
    /// need them (non-weak references only), sorted.
    pub fn unresolved(&self) -> Vec<(String, BTreeSet<ObjectId>)> {
        // A name an object defines is bound: only the others' spans and
        // bindings are read (looking `main` up read every name's, 1.5 ms at
        // wide 5,001, where the entries alone stream in 1 ms).
        let mut out: Vec<_> = (self.entries.iter().enumerate())
            .filter(|(_, e)| e.defs.is_empty())
            .filter(|&(i, _)| self.spans[i].len != REMOVED)
            .filter(|(_, e)| matches!(e.binding(None), Binding::Unresolved { weak: false }))
            .map(|(i, e)| {
                let refs = self.refs.iter(&e.refs);
                let needed = refs.filter(|(_, w)| !w).map(|(o, _)| o).collect();
                (self.spans[i].of(&self.text).to_string(), needed)
            })
            .collect();
        out.sort();
        out
    }
}

/// Looks a symbol up in the process (`dlsym(RTLD_DEFAULT)`), with its type and size
/// from `dladdr1` when the dynamic symbol table has them.
pub fn dlsym(name: &str) -> Option<ProcessSymbol> {
    // Loaded objects' TLS modules are relink's, not the C library's; Mach-O's
    // `__tlv_bootstrap` (the thunk of its variable descriptors) is relink's too.
    let tls = match name {
        "__tls_get_addr" => Some(crate::runtime::tls::get_addr_address()),
        "_tlv_bootstrap" => Some(crate::runtime::tls::tlv_thunk_address()),
        _ => None,
    };
    if let Some(address) = tls {
        return Some(ProcessSymbol {
            address,
            size: 0,
            function: true,
        });
    }
    // Darwin C library names come last: the process (and so anything else) wins.
    // A variable copied into reach of non-PIC code is the process's variable now
    // (also under a Darwin alias: `__stdoutp` is `stdout`).
    crate::memory::process::lookup(name)
        .or_else(|| darwin::lookup(name))
        .map(crate::memory::copies::moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(object: u64, address: u64, weak: bool) -> ObjectDef {
        ObjectDef {
            object: ObjectId(object),
            address,
            size: 4,
            code: true,
            weak,
            common: None,
            align_log2: 0,
        }
    }

    fn common(object: u64, size: u64) -> ObjectDef {
        aligned_common(object, size, 8)
    }

    fn aligned_common(object: u64, size: u64, align: u64) -> ObjectDef {
        ObjectDef {
            size,
            code: false,
            common: Some(align.trailing_zeros() as u8),
            ..def(object, object << 12, true)
        }
    }

    /// The passes `Binder::names` looks names up in (candidate, text,
    /// comparison) find what one probe finds, for names in the table, names
    /// not in it, and names whose 32-bit tag another name shares (12 of these
    /// 250,000 lookups meet another name first, and the test checks it met some).
    #[test]
    fn candidates_find_what_a_probe_finds_tags_shared_or_not() {
        let mut table = SymbolTable::default();
        let names: Vec<String> = (0..200_000).map(|i| format!("h_{i}_{}", i % 7)).collect();
        for name in &names {
            table.intern(name);
        }
        let mut shared = 0;
        for i in 0..names.len() + 50_000 {
            let absent = format!("v_{i}");
            let name = names.get(i).map_or(absent.as_str(), String::as_str);
            let h = name_hash(name);
            let candidate = table.candidate(h);
            if let Some(c) = candidate {
                table.prefetch_text(c);
                shared += usize::from(Some(c) != table.id(name));
            }
            let found = candidate.and_then(|c| table.id_from_candidate(name, h, c));
            assert_eq!(found, table.id(name), "{name}");
            assert_eq!(table.id(name).is_some(), i < names.len(), "{name}");
        }
        assert!(shared > 0, "no name's tag was shared: the fallback went untested");
    }

    #[test]
    fn the_largest_common_wins_over_smaller_ones_and_weak_definitions() {
        let mut e = Entry::default();
        e.defs.push(def(1, 0x1000, true));
        e.defs.push(common(2, 8));
        assert_eq!(e.binding(None), Binding::Object(common(2, 8)));
        e.defs.push(common(3, 8));
        assert_eq!(
            e.binding(None),
            Binding::Object(common(2, 8)),
            "first of equals"
        );
        assert_eq!(
            e.binding(Some(&common(4, 64))),
            Binding::Object(common(4, 64))
        );
        e.defs.push(common(4, 64));
        assert_eq!(
            e.binding_with(&RefPool::default(), Some(ObjectId(4)), None),
            Binding::Object(common(2, 8))
        );
        e.defs.push(def(5, 0x5000, false));
        assert_eq!(e.binding(None), Binding::Object(def(5, 0x5000, false)));
    }

    #[test]
    fn among_commons_of_one_size_the_most_aligned_wins() {
        let mut e = Entry::default();
        e.defs.push(aligned_common(1, 32, 16));
        e.defs.push(aligned_common(2, 32, 128));
        e.defs.push(aligned_common(3, 32, 64));
        assert_eq!(e.binding(None), Binding::Object(aligned_common(2, 32, 128)));
        // Size comes first: the others' memory is too small for the largest.
        e.defs.push(aligned_common(4, 64, 8));
        assert_eq!(e.binding(None), Binding::Object(aligned_common(4, 64, 8)));
    }

    fn process(address: u64) -> ProcessSymbol {
        ProcessSymbol {
            address,
            size: 0,
            function: true,
        }
    }

    #[test]
    fn lookup_order_is_strong_object_then_weak_then_host_then_process() {
        let mut e = Entry::default();
        e.set_process(Some(Some(process(0x7000))));
        assert_eq!(e.binding(None), Binding::Process(process(0x7000)));
        assert!(!e.is_unresolved());
        e.set_host(Some(process(0x6000)));
        assert_eq!(e.binding(None), Binding::Host(process(0x6000)));
        e.defs.push(def(1, 0x1000, true));
        assert_eq!(e.binding(None), Binding::Object(def(1, 0x1000, true)));
        e.defs.push(def(2, 0x2000, false));
        assert_eq!(e.binding(None), Binding::Object(def(2, 0x2000, false)));
        // A definition being loaded counts; one being replaced does not.
        assert_eq!(
            e.binding_with(&RefPool::default(), Some(ObjectId(2)), Some(&def(3, 0x3000, false))),
            Binding::Object(def(3, 0x3000, false))
        );
        assert_eq!(
            e.binding_with(&RefPool::default(), Some(ObjectId(2)), None),
            Binding::Object(def(1, 0x1000, true))
        );
    }

    #[test]
    fn unresolved_is_weak_only_when_every_reference_is() {
        let (mut pool, mut e) = (RefPool::default(), Entry::default());
        pool.push(&mut e.refs, (ObjectId(1), true));
        assert_eq!(e.binding(None), Binding::Unresolved { weak: true });
        assert!(e.is_unresolved());
        e.set_process(Some(None)); // looked up, not found
        assert!(e.is_unresolved());
        pool.push(&mut e.refs, (ObjectId(2), false));
        assert_eq!(e.binding(None), Binding::Unresolved { weak: false });
        assert_eq!(
            e.binding_with(&pool, Some(ObjectId(2)), None),
            Binding::Unresolved { weak: true }
        );
        assert_eq!(
            e.binding_with(&pool, Some(ObjectId(1)), None),
            Binding::Unresolved { weak: false }
        );
        assert_eq!(
            e.binding_after(&pool, &[ObjectId(2)], &[], &[true]),
            Binding::Unresolved { weak: true }
        );
        assert_eq!(
            e.binding_after(&pool, &[ObjectId(2)], &[], &[false]),
            Binding::Unresolved { weak: false }
        );
        assert!(!e.is_unused());
    }

    #[test]
    fn unresolved_lists_names_with_their_strong_users() {
        let mut t = SymbolTable::default();
        let mut entry = |name: &str| {
            let (id, _) = t.intern(name);
            id
        };
        let (b, a, w, d) = (entry("b"), entry("a"), entry("w"), entry("d"));
        t.push_ref(b, (ObjectId(2), false));
        t.push_ref(a, (ObjectId(1), false));
        t.push_ref(a, (ObjectId(4), true));
        t.push_ref(a, (ObjectId(5), false));
        t.push_ref(w, (ObjectId(1), true));
        t.push_ref(d, (ObjectId(1), false));
        t.entry_mut(d).defs.push(def(3, 0x10, false));
        let names: Vec<(String, BTreeSet<ObjectId>)> = t.unresolved();
        let users = |ids: &[u64]| ids.iter().map(|&i| ObjectId(i)).collect::<BTreeSet<_>>();
        let want = [("a".to_string(), users(&[1, 5])), ("b".to_string(), users(&[2]))];
        assert_eq!(names, want);
    }

    #[test]
    fn few_holds_one_inline_and_more_in_a_vec() {
        let mut f: Few<u32> = Few::default();
        assert!(f.is_empty());
        f.push(1);
        assert!(matches!(f, Few::One(1)));
        f.push(2);
        f.push(3);
        assert_eq!(&*f, &[1, 2, 3]);
        f.retain(|v| *v != 2);
        assert_eq!(&*f, &[1, 3]);
        f.retain(|v| *v == 3);
        assert!(matches!(f, Few::One(3)));
        f.retain(|_| false);
        assert!(matches!(f, Few::Zero));
        assert_eq!(format!("{f:?}"), "[]");
    }

    #[test]
    fn names_are_interned_and_ids_reused_after_removal() {
        let mut t = SymbolTable::default();
        let (a, new) = t.intern("alpha");
        assert!(new);
        assert_eq!(t.intern("alpha"), (a, false));
        let (b, _) = t.intern("beta");
        assert_ne!(a, b);
        assert_eq!((t.id("beta"), t.name(b), t.len()), (Some(b), "beta", 2));
        t.push_ref(a, (ObjectId(1), false));
        t.remove(a);
        assert_eq!((t.id("alpha"), t.len()), (None, 1));
        let (c, new) = t.intern("gamma");
        assert!(new);
        assert_eq!(c, a, "a removed id is reused");
        assert!(t.entry(c).refs.is_empty(), "with a fresh entry");
        assert_eq!(t.get("gamma").map(|e| e.refs.len()), Some(0));
        for i in 0..1000 {
            t.intern(&format!("n{i}"));
        }
        assert_eq!(t.id("beta"), Some(b), "ids survive growth");
        assert_eq!(t.iter().count(), 1002);
        t.push_ref(b, (ObjectId(7), true));
        assert_eq!(t.get("beta").map(|e| e.refs.len()), Some(1));
        assert_eq!(t.refs(b).collect::<Vec<_>>(), [(ObjectId(7), true)]);
        assert!(t.refs.words().is_empty(), "one referring object stays in the entry");
        t.remove_name("n999");
        assert_eq!((t.id("n999"), t.len()), (None, 1001));
        // Removed names' bytes are reclaimed; the others keep their ids.
        for round in 0..3 {
            for i in 0..1000 {
                let id = t.intern(&format!("n{i}")).0;
                t.remove(id);
                assert!(!t.contains(id), "round {round}");
            }
        }
        assert_eq!(
            (t.id("beta"), t.id("gamma"), t.len()),
            (Some(b), Some(c), 2)
        );
        assert_eq!((t.name(b), t.name(c)), ("beta", "gamma"));
        assert_eq!(t.iter_mut().count(), 2);
        assert!(t.text.len() < 8192, "{}", t.text.len());
    }

    #[test]
    fn arrays_faulted_in_from_another_thread_while_names_are_added_and_the_arrays_move() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let ahead = std::sync::Arc::new(crate::memory::HeapAhead::default());
        let stop = AtomicBool::new(false);
        let mut t = SymbolTable::default();
        t.reserve(16);
        std::thread::scope(|scope| {
            // The reading thread's part: fault pages in as fast as it can.
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    ahead.run();
                }
            });
            // The linking thread's: the arrays outgrow their room many times
            // (each move retires them first), and are recorded again.
            for i in 0..20_000 {
                t.intern(&format!("name{i}"));
                if i % 64 == 0 {
                    t.fault_ahead(&ahead);
                }
            }
            t.stop_ahead();
            stop.store(true, Ordering::Relaxed);
        });
        for i in (0..20_000).step_by(997) {
            let id = t.id(&format!("name{i}")).expect("interned");
            assert_eq!(t.name(id), format!("name{i}"));
            assert!(t.entry(id).refs.is_empty() && t.entry(id).defs.is_empty());
        }
    }
}
