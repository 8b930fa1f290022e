//! `STT_GNU_IFUNC`: a function whose implementation is chosen at link time. The
//! symbol's address is a *resolver*; relink calls it once and binds the name to the
//! address it returns, the way the dynamic linker handles `R_*_IRELATIVE`.
//!
//! Every reference to an ifunc goes through a slot and its stub (calls inside its
//! own object too, and a local ifunc gets a local slot), so the canonical address
//! (`Linker::address`, pointers in data, GOT entries) is the stub and the resolver
//! is never called by anyone else.
//!
//! When: after the object is placed, relocated and its code made coherent, and
//! before anything can call the function. If every name the object refers to is
//! already bound, that is before the object is committed — so a hot `replace`
//! re-runs the new version's resolver and publishes the result with the usual one
//! store per slot. Otherwise (a resolver may call a function of an object later in
//! the same batch) the resolvers run once the batch is linked, before any
//! constructor. With `link_only` (`relink check`) resolvers never run: the name stays
//! bound to the resolver, and no code runs anyway.

use crate::error::{Error, Location, Result};
use crate::input::{Object, SymbolKind};
use crate::link::is_global;
use crate::link::Defs;
use crate::link::Linked;
use crate::memory::Target;
use crate::runtime;
use crate::symbols::ObjectId;
use crate::symbols::{Binding, NameId, SlotId, SymbolTable};

/// Resolvers of one object whose run waits for the end of its batch.
pub(crate) struct Pending {
    object: ObjectId,
    /// Global ifuncs: name and resolver address.
    globals: Vec<(NameId, u64)>,
    /// Local ifuncs: slot and resolver address.
    locals: Vec<(SlotId, u64)>,
}

/// The global ifuncs an object defines, with their resolvers.
fn global_ifuncs(object: &Object, symbols: &SymbolTable, defs: &Defs) -> Vec<(NameId, u64)> {
    if !super::prepare::facts(object).global_ifuncs {
        return Vec::new(); // looked for where the object was read
    }
    object
        .symbols
        .iter()
        .filter(|s| s.kind == SymbolKind::Ifunc && is_global(s.binding))
        .filter_map(|s| {
            let name = symbols.id(s.name)?;
            defs.get(name).map(|d| (name, d.address))
        })
        .collect()
}

impl Linked {
    /// Runs `object`'s resolvers now (updating `defs` and the local slots) if every
    /// name it refers to is bound, or queues them for the end of the batch.
    pub(crate) fn run_resolvers(
        &mut self,
        object: &Object,
        id: ObjectId,
        code: &[(u64, u64, bool)],
        defs: &mut Defs,
        refs: &[(NameId, bool)],
        locals: &[(SlotId, u64)],
    ) -> Result<()> {
        let globals = global_ifuncs(object, &self.symbols, defs);
        if self.link_only || (globals.is_empty() && locals.is_empty()) {
            return Ok(());
        }
        let bound = refs.iter().all(|(name, weak)| {
            *weak
                || !matches!(
                    self.symbols.entry(*name).binding(defs.get(*name)),
                    Binding::Unresolved { .. }
                )
        });
        // Only a later input of the batch can still bind a name: otherwise the
        // resolvers run now, so a failing one fails the load before commit.
        let later = self.deferred.as_ref().is_some_and(|d| d.more);
        if !bound && later {
            self.pending_ifuncs.push(Pending {
                object: id,
                globals,
                locals: locals.to_vec(),
            });
            return Ok(());
        }
        let space = self.space()?;
        for &(target, len, reused) in code {
            Target::code_written(&space.region, target, len, reused);
        }
        let remote = self.symbols.remote().cloned();
        for (name, resolver) in globals {
            let symbol = self.symbols.name(name);
            let address = resolve(
                runtime::Host(remote.as_ref()),
                &object.name,
                symbol,
                resolver,
            )?;
            if let Some(d) = defs.get_mut(name) {
                d.address = address;
            }
        }
        for &(slot, resolver) in locals {
            let address = resolve(
                runtime::Host(remote.as_ref()),
                &object.name,
                "(local ifunc)",
                resolver,
            )?;
            let space = self.space()?;
            space.stubs.set_slot(&mut space.region, slot, address);
        }
        Ok(())
    }

    /// Runs the resolvers queued by the batch just linked (objects since unloaded
    /// are skipped). An object one of whose resolvers returns null is removed
    /// again (none of the batch's code has run), unless another object already
    /// uses its variables; the first such error is reported after the others ran.
    pub(crate) fn run_pending_resolvers(&mut self) -> Result<()> {
        let mut first_error = None;
        let mut failed = Vec::new();
        let remote = self.symbols.remote().cloned();
        for p in std::mem::take(&mut self.pending_ifuncs) {
            let Some(name) = self.objects.get(&p.object).map(|o| o.name.clone()) else {
                continue;
            };
            let mut fail = |e| {
                first_error.get_or_insert(e);
                failed.push(p.object);
            };
            for (symbol, resolver) in p.globals {
                match resolve(
                    runtime::Host(remote.as_ref()),
                    &name,
                    self.symbols.name(symbol),
                    resolver,
                ) {
                    Ok(address) => self.rebind_ifunc(p.object, symbol, address)?,
                    Err(e) => fail(e),
                }
            }
            for (slot, resolver) in p.locals {
                match resolve(
                    runtime::Host(remote.as_ref()),
                    &name,
                    "(local ifunc)",
                    resolver,
                ) {
                    Ok(address) => {
                        let space = self.space()?;
                        space.stubs.set_slot(&mut space.region, slot, address);
                    }
                    Err(e) => fail(e),
                }
            }
        }
        failed.dedup();
        for id in failed {
            if crate::link::unload::check(self, id, &[id], |_| true).is_ok() {
                self.discard_unrun(id);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn rebind_ifunc(&mut self, object: ObjectId, name: NameId, address: u64) -> Result<()> {
        // A name may have been removed since (its object unloaded).
        if !self.symbols.contains(name) {
            return Ok(());
        }
        let e = self.symbols.entry_mut(name);
        for d in e.defs.iter_mut().filter(|d| d.object == object) {
            d.address = address;
        }
        self.rebind(name)
    }
}

/// Calls the resolver at `resolver` (an address in loaded, relocated code),
/// where code runs.
fn resolve(host: runtime::Host, object: &str, symbol: &str, resolver: u64) -> Result<u64> {
    match host.call_resolver(resolver)? {
        0 => Err(Error::Unsupported {
            at: Location::object(object),
            what: format!("the ifunc resolver of `{symbol}` returned a null address"),
        }),
        address => Ok(address),
    }
}
