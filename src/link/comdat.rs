//! COMDAT groups across unload and replace.
//!
//! The first object loaded with a group keeps it (its *owner*); later objects with
//! the same signature discard their copy and use the owner's (their *users*). When
//! the owner is unloaded, or replaced by a version without the group, while a user
//! is still loaded, the owner's memory is **kept alive**: the group's names stay
//! bound to the owner's copy (code, and state such as an inline function's static
//! local, whose address users hold directly), now owned by a *keeper* id that no
//! longer appears in `Linker::objects`. Everything else of the owner is gone (its
//! other names trap or fall back, its destructors ran). The keeper is released —
//! names unbound, memory retired — once no user of any of its groups remains.
//!
//! This keeps hot reload working without refusing unloads, at the cost of keeping
//! the old owner's pieces (not just the group's sections: group code may refer to
//! the owner's mergeable strings and other local data) until its last user goes.

use crate::input::{Binding as Bind, Definition, Object};
use crate::link::Linked;
use crate::symbols::ObjectId;

/// Per COMDAT signature: the global names the owner's copy defines, and the other
/// loaded objects that had the group and discarded their copy.
#[derive(Default)]
pub(crate) struct GroupUse {
    names: Vec<String>,
    users: Vec<ObjectId>,
}

impl Linked {
    /// Records `object`'s groups at commit: it owns those no one else had, and
    /// uses the others. `placed`: where its sections went (`None`: discarded).
    pub(crate) fn record_comdats(
        &mut self,
        object: &Object,
        id: ObjectId,
        placed: &[Option<u64>],
        replacing: bool,
    ) {
        if replacing {
            self.forget_comdat_user(id);
        }
        for (gi, group) in object.groups.iter().enumerate() {
            let owner = *self
                .comdats
                .entry(group.signature.to_string())
                .or_insert(id);
            let uses = self
                .comdat_uses
                .entry(group.signature.to_string())
                .or_default();
            if owner != id {
                if !uses.users.contains(&id) {
                    uses.users.push(id);
                }
                continue;
            }
            uses.names = object
                .symbols
                .iter()
                .filter(|s| s.binding != Bind::Local && !s.name.is_empty())
                .filter(|s| match s.definition {
                    Definition::Section { section, .. } => {
                        object.section(section).group == Some(gi)
                            && placed[section.0 as usize].is_some()
                    }
                    _ => false,
                })
                .map(|s| s.name.to_string())
                .collect();
        }
    }

    /// Forgets `id` as a user of every group (it is unloaded or being replaced).
    pub(crate) fn forget_comdat_user(&mut self, id: ObjectId) {
        for uses in self.comdat_uses.values_mut() {
            uses.users.retain(|u| *u != id);
        }
    }

    /// Groups `id` owns that another loaded object uses — and, when replacing, that
    /// the new version `next` does not have.
    pub(crate) fn groups_to_keep(&self, id: ObjectId, next: Option<&Object>) -> Vec<String> {
        let mut out: Vec<String> = self
            .comdats
            .iter()
            .filter(|(_, owner)| **owner == id)
            .filter(|(sig, _)| next.is_none_or(|o| o.groups.iter().all(|g| g.signature != *sig)))
            .filter(|(sig, _)| {
                self.comdat_uses.get(*sig).is_some_and(|u| {
                    u.users
                        .iter()
                        .any(|o| *o != id && self.objects.contains_key(o))
                })
            })
            .map(|(sig, _)| sig.clone())
            .collect();
        out.sort();
        out
    }

    /// The global names of groups `sigs`.
    pub(crate) fn group_names(&self, sigs: &[String]) -> Vec<String> {
        sigs.iter()
            .filter_map(|s| self.comdat_uses.get(s))
            .flat_map(|u| u.names.iter().cloned())
            .collect()
    }

    /// Moves groups `sigs` (and their names' definitions) from `from` to `to`.
    pub(crate) fn move_groups(&mut self, sigs: &[String], from: ObjectId, to: ObjectId) {
        for sig in sigs {
            if let Some(owner) = self.comdats.get_mut(sig) {
                *owner = to;
            }
        }
        for name in self.group_names(sigs) {
            if let Some(e) = self.symbols.get_mut(&name) {
                for d in e.defs.iter_mut().filter(|d| d.object == from) {
                    d.object = to;
                }
            }
        }
    }

    /// Hands `sigs` to a new keeper id (see the module doc); `None` if empty.
    pub(crate) fn hand_to_keeper(&mut self, id: ObjectId, sigs: &[String]) -> Option<ObjectId> {
        if sigs.is_empty() {
            return None;
        }
        let keeper = self.new_id();
        self.move_groups(sigs, id, keeper);
        Some(keeper)
    }

    /// Releases keepers none of whose groups has a loaded user any more.
    pub(crate) fn release_unused_keepers(&mut self) {
        let idle: Vec<ObjectId> = self
            .kept
            .keys()
            .copied()
            .filter(|k| self.groups_to_keep(*k, None).is_empty())
            .collect();
        for keeper in idle {
            let Some(loaded) = self.kept.remove(&keeper) else {
                continue;
            };
            let sigs: Vec<String> = self
                .comdats
                .iter()
                .filter(|(_, o)| **o == keeper)
                .map(|(s, _)| s.clone())
                .collect();
            let names = self.group_names(&sigs);
            for sig in &sigs {
                self.comdats.remove(sig);
                self.comdat_uses.remove(sig);
            }
            let ids: Vec<_> = names.iter().filter_map(|n| self.symbols.id(n)).collect();
            for name in ids {
                self.symbols
                    .entry_mut(name)
                    .defs
                    .retain(|d| d.object != keeper);
                // Their users are gone: only the host or other objects can still
                // hold the stub, which now traps or falls back.
                _ = self.rebind(name);
                let e = self.symbols.entry(name);
                if e.is_unused() && e.slot.is_none() {
                    self.symbols.remove(name);
                }
            }
            self.retired.retire(loaded);
        }
    }
}

impl Linked {
    /// Sections of COMDAT groups whose signature another object already provides
    /// (`id` itself, when replacing, does not count); empty (nothing excluded,
    /// and nothing allocated) for an object without groups: see [`excluded`].
    pub(crate) fn comdat_losers(&self, object: &Object, id: ObjectId) -> Vec<bool> {
        if object.groups.is_empty() {
            return Vec::new();
        }
        let mut excluded = vec![false; object.sections.len()];
        for group in &object.groups {
            if self.comdats.get(group.signature).is_some_and(|o| *o != id) {
                for s in &group.sections {
                    excluded[s.0 as usize] = true;
                }
            }
        }
        excluded
    }
}

/// Whether section `i` is excluded, by a list from [`Linked::comdat_losers`].
pub(crate) fn excluded(list: &[bool], i: usize) -> bool {
    list.get(i).copied().unwrap_or(false)
}
