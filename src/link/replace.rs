//! Replace: what a replaced object's data becomes — inherited variables keep the
//! old version's storage, the rest is retired.

use super::Layout;
use crate::error::{Result, Unresolved};
use crate::input::Binding as Bind;
use crate::input::{Class, Definition, Object, SectionId, SymbolKind};
use crate::link::Defs;
use crate::link::Linked;
use crate::link::{is_global, Loaded};

use crate::memory::pack::Piece;
use crate::symbols::ObjectId;
use crate::symbols::{NameId, SymbolTable};

/// What replacing an object keeps from the version before.
pub(crate) struct Replacing {
    pub id: ObjectId,
    pub keep_state: bool,
    /// The old version's global writable data: (name, address, size), sorted.
    pub data: Vec<(NameId, u64, u64)>,
    /// The old version's statics: (name, address, size).
    pub statics: Vec<(String, u64, u64)>,
}

/// What a new version inherits from the old one: data ranges redirected to the
/// old storage, and what happened to each of the old version's variables.
#[derive(Default)]
pub(crate) struct Inherited {
    /// `[lo, hi)` of the new version's data that lives on at `to`.
    pub redirects: Vec<(u64, u64, u64)>,
    /// Sections reached through an anchor, and how far their anchored
    /// variables moved.
    pub anchors: Vec<(SectionId, u64)>,
    pub notes: ReplaceReport,
}

/// Writable data of the new version that keeps the old version's address:
/// globals of the same name and size whose kept address has the alignment the
/// new definition asks for, and statics matched the same way by a name unique
/// in both versions (without `keep_state` commit gives them their new initial
/// value, as a fresh static would have). Everything else (new names, changed
/// sizes or alignment, anchored variables whose layout changed) gets fresh
/// storage; other objects' direct references to a moved global are re-patched
/// through the reverse index.
pub(crate) fn inherited(
    object: &Object,
    layout: &Layout,
    r: &Replacing,
    symbols: &SymbolTable,
) -> Inherited {
    let mut out = Inherited::default();
    let note = |name: &str, why: String| Note {
        object: object.name.to_string(),
        name: name.to_string(),
        why,
    };
    // Variables matched with the old version's: (symbol, its new address, old
    // address, old size).
    let mut matches: Vec<(usize, u64, u64, u64)> = Vec::new();
    // Per section: its variables (to tell whether all of an anchored one match).
    let mut variables: Vec<(SectionId, usize)> = Vec::new();
    for (i, sym) in object.symbols.iter().enumerate() {
        if sym.size == 0 {
            continue;
        }
        let global = is_global(sym.binding);
        let old_global = || {
            let name = symbols.id(sym.name)?;
            let k = r.data.binary_search_by_key(&name, |d| d.0).ok()?;
            Some((r.data[k].1, r.data[k].2))
        };
        if sym.kind == SymbolKind::Tls && global {
            if old_global().is_some() {
                let why = "became thread-local".to_string();
                out.notes.reinitialised.push(note(sym.name, why));
            }
            continue;
        }
        let (Some(addr), true) = (layout.addresses[i], writable_variable(object, sym)) else {
            continue;
        };
        if let Definition::Section { section, .. } = sym.definition {
            variables.push((section, i));
        }
        let old = if global {
            old_global()
        } else if sym.kind == SymbolKind::Data {
            // Statics match by a name unique in both versions.
            let unique = |list: &[(String, u64, u64)]| {
                let mut same = list.iter().filter(|(n, _, _)| n == sym.name);
                same.next()
                    .filter(|_| same.next().is_none())
                    .map(|(_, a, z)| (*a, *z))
            };
            unique(&r.statics).filter(|_| unique(&layout.statics).is_some())
        } else {
            None
        };
        let Some((old, size)) = old else {
            continue;
        };
        let align = variable_align(object, sym);
        if size != sym.size {
            let why = format!("size changed from {size} to {} bytes", sym.size);
            out.notes.reinitialised.push(note(sym.name, why));
        } else if align >= SIMD_ALIGN && !old.is_multiple_of(align) {
            let why = format!("needs {align}-byte alignment, which its address had not");
            out.notes.reinitialised.push(note(sym.name, why));
        } else {
            matches.push((i, addr, old, size));
        }
    }
    // A section the code reaches through a base plus an offset the instruction
    // adds (gcc's AArch64 section anchors, `.LANCHOR0`): the variables reached
    // so — those the code never names — live on only all together, at one
    // common distance, which every reference through the base then takes
    // (`Inherited::anchors`). Otherwise all of them start afresh.
    let anchored = anchored(object);
    let named = match anchored.is_empty() {
        true => Vec::new(),
        false => named_from_code(object),
    };
    for section in anchored {
        let reached = |i: usize| {
            !named.contains(&i) && variables.iter().any(|&(s, j)| s == section && j == i)
        };
        let (inside, rest): (Vec<_>, Vec<_>) = matches.drain(..).partition(|m| reached(m.0));
        matches = rest;
        let all = (variables.iter())
            .filter(|&&(s, j)| s == section && !named.contains(&j))
            .count();
        let delta = |m: &(usize, u64, u64, u64)| m.2.wrapping_sub(m.1);
        let together = inside.len() == all && inside.iter().all(|m| delta(m) == delta(&inside[0]));
        if together && !inside.is_empty() {
            out.anchors.push((section, delta(&inside[0])));
            matches.extend(inside);
        } else {
            out.anchors.push((section, 0));
            for m in &inside {
                let why = "reached through a section anchor, with variables that moved apart";
                (out.notes.reinitialised).push(note(object.symbols[m.0].name, why.into()));
            }
        }
    }
    for (i, addr, old, size) in matches {
        let sym = &object.symbols[i];
        out.redirects.push((addr, addr + size, old));
        let why = if is_global(sym.binding) {
            "same name and size"
        } else {
            "static, same name and size"
        };
        out.notes.kept.push(note(sym.name, why.to_string()));
    }
    out
}

/// The symbols the object's code names directly (not through a section symbol
/// or a label).
fn named_from_code(object: &Object) -> Vec<usize> {
    let mut out: Vec<usize> = (object.sections.iter())
        .filter(|s| s.class == Class::Code)
        .flat_map(|s| &s.relocs)
        .map(|r| r.symbol.0 as usize)
        .filter(|&i| {
            object
                .symbols
                .get(i)
                .is_some_and(|s| s.kind != SymbolKind::Section && s.size > 0)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Data sections the object's code reaches through a section symbol or a label
/// plus an offset its instructions add (AArch64 only: gcc's section anchors).
fn anchored(object: &Object) -> Vec<SectionId> {
    if object.arch != crate::arch::Arch::Aarch64 {
        return Vec::new();
    }
    let mut out: Vec<SectionId> = (object.sections.iter())
        .filter(|s| s.class == Class::Code)
        .flat_map(|s| &s.relocs)
        .filter_map(|r| {
            let sym = object.symbols.get(r.symbol.0 as usize)?;
            let base = sym.kind == SymbolKind::Section || sym.size == 0;
            match sym.definition {
                Definition::Section { section, .. } if base => Some(section),
                _ => None,
            }
        })
        .filter(|s| matches!(object.section(*s).class, Class::Data | Class::Zero))
        .collect();
    out.sort_unstable_by_key(|s| s.0);
    out.dedup();
    out
}

/// The smallest alignment a kept address must have for the new definition.
/// Below it both architectures read and write misaligned data (atomics aside,
/// whose natural alignment a same-size variable already had); at 16 and above
/// code may use aligned vector instructions (`movaps`, `vmovaps`), which fault.
/// What an object tells of a variable's alignment is only an upper bound (its
/// section's, as far as its offset keeps it), so smaller ones are not trusted
/// with moving state.
const SIMD_ALIGN: u64 = 16;

/// The alignment a variable's definition asks for, as far as the object tells:
/// its section's, as far as its offset keeps it, and no more than its size's
/// largest power of two (an `int` at offset 8 of a 16-aligned section needs 4).
fn variable_align(object: &Object, sym: &crate::input::Symbol) -> u64 {
    match sym.definition {
        Definition::Section { section, offset } => {
            let align = object.section(section).align.clamp(1, 4096);
            let by_size = 1 << (63 - sym.size.max(1).leading_zeros());
            align.min(1 << offset.trailing_zeros().min(12)).min(by_size)
        }
        Definition::Common { align, .. } => align.max(1),
        _ => 1,
    }
}

/// The object's statics (local, sized variables in writable memory): name,
/// address (as placed) and size, for a later replace to match.
pub(crate) fn statics(object: &Object, layout: &Layout) -> Vec<(String, u64, u64)> {
    // Which symbols they are was worked out where the object was read.
    (super::prepare::facts(object).statics.iter())
        .filter_map(|&i| {
            let s = object.symbols.get(i as usize)?;
            Some((s.name.to_string(), layout.addresses[i as usize]?, s.size))
        })
        .collect()
}

/// Whether `s` is one of [`statics`]: a local variable in writable memory.
pub(crate) fn is_static(object: &Object, s: &crate::input::Symbol) -> bool {
    !is_global(s.binding)
        && s.kind == SymbolKind::Data
        && s.size > 0
        && writable_variable(object, s)
}

/// A variable in writable memory whose size (from the file) lies within its
/// section: only such symbols carry contents across a replace. A size running past
/// its section is not trusted with memory (a fuzzed object had one).
pub(crate) fn writable_variable(object: &Object, sym: &crate::input::Symbol) -> bool {
    match sym.definition {
        Definition::Section { section, offset } => {
            let s = object.section(section);
            matches!(s.class, Class::Data | Class::Zero)
                && offset
                    .checked_add(sym.size)
                    .is_some_and(|end| end <= s.size)
        }
        Definition::Common { .. } => true,
        _ => false,
    }
}

impl Linked {
    /// The pieces the new version uses: its own, and the old version's data
    /// pieces that still hold inherited variables. The old version's other pieces
    /// (its code among them) are retired: another thread may still be running it.
    pub(crate) fn keep_data(&mut self, layout: &Layout, old: Option<&Loaded>) -> Vec<Piece> {
        let mut pieces = layout.pieces.clone();
        let Some(old) = old else { return pieces };
        let target = self.space.as_ref().map_or(0, |s| s.region.target_base());
        for piece in &old.pieces {
            let (lo, hi) = (target + piece.offset, target + piece.offset + piece.len);
            let data = matches!(piece.class, Class::Data | Class::Zero);
            if data
                && layout
                    .redirects
                    .iter()
                    .any(|(_, _, to)| *to >= lo && *to < hi)
            {
                pieces.push(*piece);
            } else {
                self.retired.pieces.push(*piece);
            }
        }
        pieces
    }
}

impl Linked {
    /// Refuses new versions that drop a variable other objects (outside the
    /// set) still use, or turn one into a thread-local (their code would use it
    /// as ordinary data). A variable that moves to another object of the set is
    /// not dropped. `objects[i]` is the new version of `ids[i]`.
    pub(crate) fn check_dropped_data(&self, ids: &[ObjectId], objects: &[Object]) -> Result<()> {
        for (&id, object) in ids.iter().zip(objects) {
            let ordinary = |name: &str| {
                let data = self
                    .objects
                    .get(&id)
                    .map_or(&[][..], |o| &o.data_symbols[..]);
                (self.symbols.id(name)).is_some_and(|n| data.iter().any(|d| d.0 == n))
            };
            let kept = |name: &str| {
                (objects.iter().flat_map(|o| &o.symbols)).any(|s| {
                    s.name == name
                        && s.binding != Bind::Local
                        && s.is_defined()
                        && !(s.kind == SymbolKind::Tls && ordinary(name))
                })
            };
            // Variables of COMDAT groups kept alive for their users do not count.
            let groups = self.group_names(&self.groups_to_keep(id, Some(object)));
            crate::link::unload::check(self, id, ids, |name| {
                !kept(name) && !groups.iter().any(|g| g == name)
            })?;
        }
        Ok(())
    }
}

/// What a replace did with the old version's variables: returned by
/// [`Linker::replace_with`](crate::Linker::replace_with).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplaceReport {
    /// Variables that kept their storage (and, with `keep_state`, their
    /// contents): globals of the same name and size; statics matched by a name
    /// unique in both versions and their size.
    pub kept: Vec<Note>,
    /// Variables of the new version that got fresh storage and their initial
    /// value although the old version had one of that name, and why (size or
    /// alignment changed, became thread-local, reached through a section anchor
    /// whose variables moved apart).
    pub reinitialised: Vec<Note>,
    /// Pointers in kept variables that pointed into the old version's code or
    /// data: redirected to the new version's function of the same name, or the
    /// old memory they point into kept alive while the object is loaded.
    pub pointers: Vec<Note>,
}

impl ReplaceReport {
    pub(crate) fn extend(&mut self, other: ReplaceReport) {
        self.kept.extend(other.kept);
        self.reinitialised.extend(other.reinitialised);
        self.pointers.extend(other.pointers);
    }
}

/// One line of a [`ReplaceReport`]: `object: name: why`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub object: String,
    pub name: String,
    pub why: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: `{}`: {}", self.object, self.name, self.why)
    }
}

/// How [`Linker::replace_with`](crate::Linker::replace_with) treats the old version's state:
/// `ReplaceOptions::new().keep_state(true)`.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct ReplaceOptions {
    pub(crate) keep_state: bool,
    pub(crate) allow_undefined: bool,
}

impl ReplaceOptions {
    /// Re-initialise inherited variables; run destructors and constructors.
    pub fn new() -> ReplaceOptions {
        ReplaceOptions::default()
    }

    /// Keep the current contents of inherited global variables (live coding)
    /// instead of re-initialising them; constructors and destructors do not run.
    pub fn keep_state(mut self, keep: bool) -> ReplaceOptions {
        self.keep_state = keep;
        self
    }

    /// Let through a new version that leaves names undefined (its own references,
    /// or names the old version defined that others use): calls to them trap
    /// with the name, as after an unload. By default such a replace is refused
    /// and nothing changes.
    pub fn allow_undefined(mut self, allow: bool) -> ReplaceOptions {
        self.allow_undefined = allow;
        self
    }
}

/// One new version of a replace, as the checks over the whole set see it.
pub(crate) struct NewVersion<'a> {
    pub id: ObjectId,
    pub name: &'a str,
    pub defs: &'a Defs,
    pub refs: &'a [(NameId, bool)],
}

impl Linked {
    /// Names the new versions `set` would leave undefined that are defined now,
    /// with who needs them: their strong references nothing would define, and
    /// names the old versions defined that no new one does while other objects
    /// refer to them strongly. A name loaded code already needs undefined (its
    /// definer not loaded yet) is no news. The process is asked first.
    pub(crate) fn left_undefined(&mut self, set: &[NewVersion]) -> Vec<Unresolved> {
        let replaced = |o: ObjectId| set.iter().any(|v| v.id == o);
        let defined_new = |name: NameId| set.iter().any(|v| v.defs.get(name).is_some());
        let mut out = Vec::new();
        let olds: Vec<NameId> = (set.iter())
            .filter_map(|v| self.objects.get(&v.id))
            .flat_map(|o| o.defines.iter().copied())
            .filter(|n| !defined_new(*n))
            .collect();
        for &name in &olds {
            if self
                .symbols
                .entry(name)
                .defs
                .iter()
                .all(|d| replaced(d.object))
            {
                self.symbols.entry_with_process(name);
            }
        }
        let defined_after = |e: &crate::symbols::Entry, name: NameId| {
            defined_new(name)
                || e.defs.iter().any(|d| !replaced(d.object))
                || e.host().is_some()
                || matches!(e.process(), Some(Some(_)))
        };
        for v in set {
            for &(name, weak) in v.refs {
                let e = self.symbols.entry(name);
                let needed_already = e.is_unresolved() && !e.refs.is_empty();
                if !weak && !needed_already && !defined_after(e, name) {
                    out.push(Unresolved {
                        symbol: self.symbols.name(name).to_string(),
                        needed_by: vec![v.name.to_string()],
                        hint: None,
                    });
                }
            }
        }
        for name in olds {
            let e = self.symbols.entry(name);
            if defined_after(e, name) {
                continue;
            }
            out.extend(self.needed_by(name, |o, weak| !replaced(o) && !weak));
        }
        out.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        out.dedup_by(|a, b| {
            let same = a.symbol == b.symbol;
            if same {
                b.needed_by.append(&mut a.needed_by);
                b.needed_by.sort();
                b.needed_by.dedup();
            }
            same
        });
        out
    }
}

impl Linked {
    /// With `keep_state`: pointers the new version's variables kept that point
    /// into memory the old version is giving up, or into a global variable
    /// that moved (resized or more aligned). One into a moved variable follows
    /// it to the same byte of its new storage (if that is still inside); one
    /// into the old code is redirected to the new version's function of the
    /// same name (at the same offset); any other keeps the piece it points into
    /// alive, as part of the new version, so `reclaim` cannot free it. Only the
    /// variables themselves are looked at (8-byte words, aligned): a copy of
    /// such a pointer on the heap is the caller's. (With `link_only` no
    /// function is known, so a pointer into code keeps that code alive too.)
    pub(crate) fn keep_pointers_valid(
        &mut self,
        id: ObjectId,
        old: &Loaded,
        report: &mut ReplaceReport,
    ) {
        let Some(space) = self.space.as_mut() else {
            return;
        };
        let Some(new) = self.objects.get_mut(&id) else {
            return;
        };
        let base = space.region.target_base();
        let going = |p: &Piece| self.retired.pieces.contains(p);
        let mut leaving: Vec<Piece> = old.pieces.iter().copied().filter(going).collect();
        let variables: Vec<(&str, u64, u64)> = (new.data_symbols.iter())
            .map(|&(n, a, z)| (self.symbols.name(n), a, z))
            .chain(new.statics.iter().map(|(n, a, z)| (n.as_str(), *a, *z)))
            .collect();
        // Variables of both versions the new one gave fresh storage (resized
        // or more aligned): old range, new address and size.
        let moved: Vec<(u64, u64, u64, u64)> = (old.data_symbols.iter())
            .filter_map(|&(n, a, z)| {
                let i = (new.data_symbols).binary_search_by_key(&n, |d| d.0).ok()?;
                let (_, to, size) = new.data_symbols[i];
                (to != a).then_some((a, z, to, size))
            })
            .collect();
        let mut pinned = Vec::new();
        for (name, at, size) in variables {
            let first = at.next_multiple_of(8);
            for word in (first..at + size)
                .step_by(8)
                .take_while(|w| w + 8 <= at + size)
            {
                let bytes = space.region.bytes(word - base, 8);
                let value = u64::from_le_bytes(bytes.try_into().unwrap_or_default());
                let field = || format!("{name}+{:#x}", word - at);
                let followed = (moved.iter())
                    .find(|(a, z, _, size)| value >= *a && value - a < (*z).min(*size).max(1));
                if let Some((a, _, to, _)) = followed {
                    // Into a variable that moved: to the same byte of its new storage.
                    let to = to + (value - a);
                    let bytes = space.region.bytes_mut(word - base, 8);
                    bytes.copy_from_slice(&to.to_le_bytes());
                    report.pointers.push(Note {
                        object: new.name.clone(),
                        name: field(),
                        why: "pointed into a variable that moved: now into its new storage".into(),
                    });
                    continue;
                }
                let inside =
                    |p: &&Piece| value >= base + p.offset && value < base + p.offset + p.len;
                let Some(piece) = leaving.iter().find(inside).copied() else {
                    continue;
                };
                let same = (piece.class == Class::Code)
                    .then(|| old.functions.find(value))
                    .flatten()
                    .and_then(|(f, start)| {
                        let off = value - start;
                        let (_, to, size) = new.functions.iter().find(|(n, _, _)| *n == f)?;
                        (off < size.max(1)).then(|| (f.to_string(), to + off))
                    });
                let why = match same {
                    Some((function, to)) => {
                        space
                            .region
                            .bytes_mut(word - base, 8)
                            .copy_from_slice(&to.to_le_bytes());
                        format!("pointed into the old version's `{function}`: now the new one's")
                    }
                    None => {
                        leaving.retain(|p| *p != piece);
                        pinned.push(piece);
                        format!(
                            "points into the old version's {:?} memory, kept until unload",
                            piece.class
                        )
                    }
                };
                report.pointers.push(Note {
                    object: new.name.clone(),
                    name: field(),
                    why,
                });
            }
        }
        self.retired.pieces.retain(|p| !pinned.contains(p));
        new.pieces.extend(pinned);
    }
}
