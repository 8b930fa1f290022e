//! Linking thread-local storage: each object's TLS *image*, its module, and the
//! cells thread-local relocations point at. The run-time half (blocks per thread,
//! `__tls_get_addr`, the TLS descriptor resolver, freeing) is `runtime/tls.rs`,
//! whose module doc describes the whole model and its limits.
//!
//! - **Image.** An object's `Role::Tls` sections are laid out contiguously in its
//!   read-only memory, initialised ones (`.tdata`) first, zero-fill ones (`.tbss`)
//!   after, the whole aligned to the largest section alignment. A thread-local
//!   symbol's "address" is its address in this image; relocations in `.tdata` are
//!   applied there like anywhere else. The image is registered as a TLS module;
//!   the module lives as long as the memory of the image (it is freed when that
//!   memory is: `Linker::reclaim`, a failed load, or dropping the linker).
//! - **Variables.** A thread-local relocation's `S` (an address in some image) is
//!   turned into `(module, offset in the block)`: the object's own image, or one
//!   of another loaded object (a global `__thread` variable defined there).
//!   `_TLS_MODULE_BASE_` (clang's local dynamic on AArch64) is offset 0 of the
//!   object's own module.
//! - **Process variables.** A variable no loaded object defines is looked for
//!   in the process (a shared library's, `runtime/process_tls.rs`): its cells
//!   get the C library's module id and offset, or its thread-pointer offset
//!   when its library is in static TLS (initial exec; local exec too, written
//!   at once). Initial exec of a variable in dynamic TLS is refused by name.
//! - **Cells.** General dynamic code passes a `TlsIndex {module, offset}` to
//!   `__tls_get_addr`, local dynamic code `{module, 0}`; descriptors (AArch64,
//!   x86-64 gnu2) are `{resolver, module, offset}`; initial-exec code loads the
//!   variable's thread-pointer offset from a cell. relink allocates them (24
//!   bytes each, one per distinct value) in the object's read-only memory and
//!   writes them before the object's code can run: at resolve time, or — for a
//!   variable a later object of the same batch defines — when the batch ends
//!   ([`PendingCell`]); nothing writes them afterwards.
//! - **Static TLS.** Initial- and local-exec relocations need the module's
//!   thread-pointer offset, known once the module is made static
//!   (`runtime/static_tls.rs`), which needs its final image: their fixups wait
//!   until the object's other fixups are applied ([`StaticUse`]). x86-64
//!   `movq`/`addq x@gottpoff(%rip)` is then relaxed to an immediate. A new
//!   version's module takes the static block of a reclaimed one when it fits,
//!   so replaces do not use up the C library's surplus; its thread-locals start
//!   from its own image (with `keep_state` too) on the replacing thread and on
//!   threads created later, not on other running threads (`runtime/tls.rs`).

use crate::arch::TlsTarget;
use crate::error::{Error, Result};
use crate::input::{Definition, Object, Role, SymbolId};
use crate::link::resolve::Binder;
use crate::link::Linked;
use crate::memory::pack::Piece;
use crate::memory::Region;
use crate::runtime::tls as rt;
use crate::symbols::Map;
use crate::symbols::ObjectId;

/// The [`StaticUse::module`] of a process variable (no module of relink's is 0).
pub(crate) const PROCESS_MODULE: u64 = 0;

/// Bytes of one cell: a `TlsIndex` (16) or a descriptor (24).
pub(crate) const CELL_SIZE: u64 = 24;

/// A registered TLS image: region offsets `[start, end)` and its module id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Image {
    pub start: u64,
    /// End of the initialised part (`.tdata`).
    pub init_end: u64,
    pub end: u64,
    pub module: u64,
}

/// Where an object's TLS sections go, as class-relative offsets from `put`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ImagePlan {
    pub start: u64,
    pub init_end: u64,
    pub end: u64,
    pub align: u64,
}

/// Places the object's TLS sections with `put` (class-relative offsets), data
/// first; records each section's offset in `section_at`. `None` if it has none.
pub(crate) fn plan_image(
    object: &Object,
    excluded: &[bool],
    mut put: impl FnMut(u64, u64) -> u64,
    mut section_at: impl FnMut(usize, u64),
) -> Option<ImagePlan> {
    let tls: Vec<usize> = (0..object.sections.len())
        .filter(|&i| !super::comdat::excluded(excluded, i) && object.sections[i].role == Role::Tls)
        .collect();
    let align = tls.iter().map(|i| object.sections[*i].align).max()?;
    let start = put(0, align);
    let mut init_end = start;
    let mut end = start;
    for initialised in [true, false] {
        for &i in &tls {
            let s = &object.sections[i];
            if s.data.is_empty() == initialised {
                continue;
            }
            let at = put(s.size, s.align);
            section_at(i, at);
            end = at + s.size;
            if initialised {
                init_end = end;
            }
        }
    }
    Some(ImagePlan {
        start,
        init_end,
        end,
        align,
    })
}

/// Distinct cells an object may need (an upper bound: one per symbol, addend and
/// kind of cell).
pub(crate) fn cell_count(object: &Object) -> u64 {
    let mut keys: Vec<(SymbolId, i64, u8)> = object
        .sections
        .iter()
        .flat_map(|s| s.relocs.iter())
        .filter_map(|r| match r.kind.info().target {
            crate::arch::Target::Tls(
                t @ (TlsTarget::Index | TlsTarget::Descriptor | TlsTarget::TpCell),
            ) => Some((r.symbol, r.addend, t as u8)),
            crate::arch::Target::Tls(TlsTarget::ModuleIndex) => Some((r.symbol, 0, 9)),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len() as u64
}

/// The cells of one object being linked: region offset of the area, capacity and
/// those handed out.
pub(crate) struct Cells {
    pub offset: u64,
    pub capacity: u64,
    used: Map<(u8, u64, u64), u64>,
}

impl Cells {
    pub fn new(offset: u64, capacity: u64) -> Cells {
        Cells {
            offset,
            capacity,
            used: Map::default(),
        }
    }
}

/// A static-TLS relocation (initial or local exec) whose values wait for its
/// module's thread-pointer offset (see [`Linker::static_tls_offset`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StaticUse {
    /// Relink's module, or [`PROCESS_MODULE`]: a variable of the process whose
    /// thread-pointer offset is known already (the cell's offset holds it).
    pub module: u64,
    /// For a cell (`TpCell`): its region offset and the variable's offset in the
    /// block; the cell gets their sum with the module's offset. Otherwise `s`
    /// holds the variable's offset in the block and gets the module's added.
    pub cell: Option<(u64, u64)>,
}

/// A cell for a thread-local variable that no object defined yet when its user
/// was linked, in a batch: written when the batch ends (see
/// [`Linker::finish_pending_tls`]), when the object defining it has been linked.
pub(crate) struct PendingCell {
    pub object: ObjectId,
    pub name: String,
    pub target: TlsTarget,
    /// Region offset of the cell.
    pub at: u64,
    /// Added to the variable's offset (AArch64's addend).
    pub addend: u64,
    pub location: crate::error::Location,
}

/// A thread-local relocation, before and after [`Linker::tls_fix`].
pub(crate) struct TlsFix<'f> {
    /// The object being linked.
    pub object: ObjectId,
    pub target: TlsTarget,
    pub symbol: SymbolId,
    /// `S` (an image address), then what the kind needs.
    pub s: &'f mut u64,
    pub a: &'f mut i64,
    pub slot: &'f mut u64,
}

impl Linked {
    /// Writes the cells of [`PendingCell`]s whose variables the batch defined.
    /// An object whose variable is still undefined is taken out again (none of
    /// the batch's code has run yet), unless another object already uses its
    /// variables; the first such problem is the error.
    pub(crate) fn finish_pending_tls(&mut self, pending: Vec<PendingCell>) -> Result<()> {
        let mut first_error = None;
        let mut failed = Vec::new();
        for p in pending {
            if !self.objects.contains_key(&p.object) || failed.contains(&p.object) {
                continue; // its object was rolled back, or fails already
            }
            if let Err(e) = self.write_pending(&p) {
                first_error.get_or_insert(e);
                failed.push(p.object);
            }
        }
        for id in failed {
            if crate::link::unload::check(self, id, &[id], |_| true).is_ok() {
                self.discard_unrun(id);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Removes an object whose code never ran and frees its memory at once (as
    /// an archive transaction's undo does).
    pub(crate) fn discard_unrun(&mut self, id: ObjectId) {
        let mark = self.retired_mark();
        if crate::link::unload::remove(self, id).is_err() {
            return;
        }
        let (pieces, slots) = self.take_retired_since(&mark);
        if let Some(space) = self.space.as_mut() {
            for slot in slots {
                let message = "call through a released slot".to_string();
                space.stubs.release(&mut space.region, slot, message);
            }
            for piece in pieces {
                space.pools.free(&mut space.region, piece);
            }
        }
    }

    fn write_pending(&mut self, p: &PendingCell) -> Result<()> {
        let s = self.definition_address(&p.name);
        let space = self.space.as_ref();
        let found = s.zip(space).and_then(|(s, s_)| {
            let (module, base) = module_at(&s_.region, &self.tls_images, s, None)?;
            Some((module, base, s))
        });
        let Some((module, base, s)) = found else {
            // No loaded object defines it: a variable of the process.
            let host = crate::runtime::Host(self.symbols.remote());
            let words = process_cell(host, p.target, &p.name, p.addend, self.link_only)
                .map_err(|why| process_error(p.target, &p.name, why, p.location.clone()))?;
            write_cell(&mut self.space()?.region, p.at, words);
            return Ok(());
        };
        let offset = s.wrapping_sub(base).wrapping_add(p.addend);
        let words = match p.target {
            TlsTarget::TpCell => {
                let at = || p.location.clone();
                let tp = self.static_tls_offset(module, None, &p.name, at)?;
                [(tp as u64).wrapping_add(offset), 0, 0]
            }
            target => cell_words(
                crate::runtime::Host(self.symbols.remote()),
                target,
                module,
                offset,
            ),
        };
        write_cell(&mut self.space()?.region, p.at, words);
        Ok(())
    }

    /// The thread-pointer offset of `module`, made static TLS now if it is not
    /// yet (`runtime/static_tls.rs`): this object's own module once its image is
    /// relocated, or a loaded object's whose blocks no thread has taken yet. A
    /// link-only linker runs nothing and takes no static TLS: 0.
    pub(crate) fn static_tls_offset(
        &mut self,
        module: u64,
        own: Option<Image>,
        symbol: &str,
        what: impl Fn() -> crate::error::Location,
    ) -> Result<i64> {
        if self.link_only {
            return Ok(0);
        }
        let remote = self.symbols.remote().cloned();
        let host = crate::runtime::Host(remote.as_ref());
        if let Some(offset) = host.static_offset(module) {
            return Ok(offset);
        }
        let found = (own.iter().chain(self.tls_images.iter()))
            .find(|i| i.module == module)
            .copied();
        let space = self.space()?;
        let image = found
            .map(|i| space.region.bytes(i.start, i.init_end - i.start).to_vec())
            .unwrap_or_default();
        host.make_static(module, &image)
            .map_err(|why| Error::Unsupported {
                at: what(),
                what: format!(
                    "initial-exec/local-exec reference to thread-local `{symbol}`, which needs \
                 static TLS (a fixed offset from the thread pointer): {why}. The C library's \
                 static TLS surplus is small; enlarge it at process start with \
                 GLIBC_TUNABLES=glibc.rtld.optional_static_tls=BYTES, or compile with -fPIC \
                 (general dynamic) or -femulated-tls"
                ),
            })
    }

    /// Writes a static-TLS cell: the variable's offset from the thread pointer.
    pub(crate) fn write_tp_cell(&mut self, at: u64, value: u64) -> Result<()> {
        write_cell(&mut self.space()?.region, at, [value, 0, 0]);
        Ok(())
    }

    /// Registers the module of an object's image at region offset `plan.start`.
    pub(crate) fn register_tls(&mut self, object: &Object, plan: ImagePlan) -> Result<Image> {
        let base = self.space()?.region.target_base();
        let template = rt::Template {
            image: base + plan.start,
            init_len: plan.init_end - plan.start,
            size: plan.end - plan.start,
            align: plan.align,
        };
        let module = crate::runtime::Host(self.symbols.remote())
            .register(template)
            .ok_or_else(|| {
                Error::malformed(
                    crate::error::Location::object(&object.name),
                    format!(
                        "thread-local storage of {} bytes aligned to {} cannot be allocated",
                        template.size, template.align
                    ),
                )
            })?;
        Ok(Image {
            start: plan.start,
            init_end: plan.init_end,
            end: plan.end,
            module,
        })
    }

    /// Frees the TLS modules whose images lie in `pieces` (their memory is about
    /// to be freed or dropped).
    pub(crate) fn release_tls(&mut self, pieces: &[Piece]) {
        self.tls_images.retain(|i| {
            let inside = pieces
                .iter()
                .any(|p| i.start >= p.offset && i.start < p.offset + p.len.max(1));
            if inside {
                crate::runtime::Host(self.symbols.remote()).unregister(i.module);
            }
            !inside
        });
    }

    /// Frees every TLS module (the linker is going away).
    pub(crate) fn release_all_tls(&mut self) {
        let host = crate::runtime::Host(self.symbols.remote());
        for i in self.tls_images.drain(..) {
            host.unregister(i.module);
        }
    }
}

/// A cell's words: a descriptor `{resolver, module, offset}`, or a `TlsIndex`
/// `{module, offset}` (a static-TLS cell's word is written over it later).
fn cell_words(host: crate::runtime::Host, target: TlsTarget, module: u64, offset: u64) -> [u64; 3] {
    match target {
        TlsTarget::Descriptor => [host.tlsdesc_resolver(), module, offset],
        _ => [module, offset, 0],
    }
}

/// The words of a cell for thread-local `name` of the process (a shared
/// library's; `runtime/process_tls.rs`) plus `addend`: a `TlsIndex` or a
/// descriptor of the C library's module (relink's `__tls_get_addr` passes it
/// on to glibc's), or for initial exec its offset from the thread pointer.
/// A link-only linker takes no static TLS: 0 then.
fn process_cell(
    host: crate::runtime::Host,
    target: TlsTarget,
    name: &str,
    addend: u64,
    link_only: bool,
) -> std::result::Result<[u64; 3], String> {
    let (module, offset) = host.process_variable(name)?;
    let offset = offset.wrapping_add(addend);
    Ok(match target {
        TlsTarget::TpCell if link_only => [0; 3],
        TlsTarget::TpCell => [process_tp(host, name)?.wrapping_add(addend), 0, 0],
        _ => cell_words(host, target, module, offset),
    })
}

/// The thread-pointer offset of thread-local `name` of the process.
fn process_tp(host: crate::runtime::Host, name: &str) -> std::result::Result<u64, String> {
    host.thread_pointer_offset(name).map(|tp| tp as u64)
}

/// The error for a reference to a process thread-local that cannot be made:
/// `why` is the C library's answer.
fn process_error(target: TlsTarget, name: &str, why: String, at: crate::error::Location) -> Error {
    let what = if why.contains("undefined symbol") {
        format!(
            "thread-local reference to `{name}`, which no loaded object defines as a \
             thread-local variable, nor any library of the process"
        )
    } else if matches!(target, TlsTarget::TpCell | TlsTarget::TpOffset) {
        format!(
            "initial-exec/local-exec reference to thread-local `{name}` of the process: \
             {why}; compile the object with -fPIC (general dynamic or TLS descriptors) to \
             reach it"
        )
    } else {
        format!("thread-local reference to `{name}` of the process: {why}")
    };
    Error::Unsupported { at, what }
}

/// Whether a symbol is a thread-local variable (for relocations that are not
/// thread-local kinds, which must not refer to one).
pub(crate) fn is_tls_symbol(object: &Object, id: SymbolId) -> bool {
    let sym = object.symbol(id);
    sym.kind == crate::input::SymbolKind::Tls
        || matches!(sym.definition, Definition::Section { section, .. }
            if object.section(section).role == Role::Tls)
}

/// Whether a symbol this object leaves undefined, and does not declare
/// thread-local, names a thread-local variable of the process (a library's):
/// relocations other than thread-local ones must not refer to it (a static
/// linker refuses them too; `memory/process.rs` gives such a variable no
/// address). Weak references and branches are left alone.
/// `names`: the host's [`crate::runtime::Host::library_thread_locals`], asked
/// for once per object, and only if needed (asking walks the process's
/// libraries).
/// `memo`: per symbol of the object, 0 (not asked yet), 1 (no) or 2 (yes): a
/// symbol is looked up once, not once per relocation (a hash of its name each).
pub(crate) fn is_process_tls<'n>(
    names: impl FnOnce() -> &'n crate::memory::process::ThreadLocalNames,
    object: &Object,
    id: SymbolId,
    kind: crate::arch::RelocKind,
    memo: &mut [u8],
) -> bool {
    // A call or jump names a function: not worth a look-up per call site.
    if kind.info().reach != crate::arch::Reach::Exact {
        return false;
    }
    let names_it = || {
        let (sym, i) = (object.symbol(id), id.0 as usize);
        if sym.is_defined()
            || sym.kind == crate::input::SymbolKind::Tls
            || sym.binding == crate::input::Binding::Weak
        {
            return false;
        }
        let names = names();
        !names.is_empty()
            && match super::prepare::named_global(sym) {
                // Its hash was worked out where the object was read.
                true => {
                    names.contains_hashed(sym.name, super::prepare::facts(object).name_hashes[i])
                }
                false => names.contains(sym.name),
            }
    };
    match memo.get_mut(id.0 as usize) {
        Some(known @ 1..=2) => *known == 2,
        Some(unknown) => {
            let yes = names_it();
            *unknown = 1 + u8::from(yes);
            yes
        }
        None => names_it(),
    }
}

/// The module holding target address `s`: this object's own `image`, or a
/// loaded object's (in `images`); with its image's target address.
pub(crate) fn module_at(
    region: &Region,
    images: &[Image],
    s: u64,
    own: Option<Image>,
) -> Option<(u64, u64)> {
    let base = region.target_base();
    own.iter()
        .chain(images.iter())
        .find(|i| s >= base + i.start && s <= base + i.end)
        .map(|i| (i.module, base + i.start))
}

/// Writes a cell's three words at region offset `at`.
pub(crate) fn write_cell(region: &mut Region, at: u64, words: [u64; 3]) {
    let out = region.bytes_mut(at, CELL_SIZE);
    for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
}

impl Binder<'_> {
    /// Turns a thread-local relocation's `S` into what its kind needs (see the
    /// module doc); allocates and writes cells. `what` names the place for errors.
    /// A static-TLS kind's values are finished later: see [`StaticUse`].
    pub(crate) fn tls_fix(
        &mut self,
        object: &Object,
        own: Option<Image>,
        f: TlsFix,
        cells: &mut Cells,
        what: impl Fn() -> crate::error::Location,
    ) -> Result<Option<StaticUse>> {
        let sym = object.symbol(f.symbol);
        let found = module_at(&self.space.region, self.tls_images, *f.s, own);
        let forward = matches!(
            f.target,
            TlsTarget::Index | TlsTarget::Descriptor | TlsTarget::TpCell
        );
        if found.is_none()
            && !sym.is_defined()
            && forward
            && self.deferred.as_ref().is_some_and(|d| d.more)
        {
            // A later object of the batch may define it (the last one fails now,
            // and its load is undone like any other that fails).
            return self.pending_cell(object, f, cells, &what);
        }
        let Some((module, base)) = found else {
            if !sym.is_defined() {
                return self.process_tls_fix(object, f, cells, &what);
            }
            return Err(Error::Unsupported {
                at: what(),
                what: format!(
                    "thread-local reference to `{}`, which is not in a thread-local section",
                    sym.name
                ),
            });
        };
        let offset = f.s.wrapping_sub(base);
        let key = match f.target {
            TlsTarget::Offset => {
                *f.s = offset;
                return Ok(None);
            }
            TlsTarget::TpOffset => {
                *f.s = offset;
                return Ok(Some(StaticUse { module, cell: None }));
            }
            TlsTarget::Module => {
                *f.s = module;
                return Ok(None);
            }
            TlsTarget::ModuleIndex => (0u8, module, 0u64),
            TlsTarget::Index | TlsTarget::Descriptor | TlsTarget::TpCell => {
                let addend = object.arch.tls_addend().take_variable_part(f.a);
                let off = offset.wrapping_add(addend);
                (f.target as u8, module, off)
            }
        };
        if f.target == TlsTarget::ModuleIndex {
            object.arch.tls_addend().take_variable_part(f.a);
        }
        *f.slot = self.tls_cell(key, f.target, cells, &what)?;
        if f.target == TlsTarget::TpCell {
            let base = self.space.region.target_base();
            let cell = Some((*f.slot - base, key.2));
            return Ok(Some(StaticUse { module, cell }));
        }
        Ok(None)
    }

    /// A thread-local relocation against a variable no loaded object defines:
    /// one of the process (see [`process_cell`]).
    fn process_tls_fix(
        &mut self,
        object: &Object,
        f: TlsFix,
        cells: &mut Cells,
        what: impl Fn() -> crate::error::Location,
    ) -> Result<Option<StaticUse>> {
        let host = crate::runtime::Host(self.space.region.remote());
        let name = object.symbol(f.symbol).name;
        let fail = |why| process_error(f.target, name, why, what());
        match f.target {
            TlsTarget::Module | TlsTarget::Offset => {
                let (module, offset) = host.process_variable(name).map_err(fail)?;
                *f.s = if f.target == TlsTarget::Module {
                    module
                } else {
                    offset
                };
                return Ok(None);
            }
            TlsTarget::TpOffset => {
                // Sound: a variable in static TLS has one offset in every thread.
                *f.s = process_tp(host, name).map_err(fail)?;
                return Ok(None);
            }
            TlsTarget::ModuleIndex => {
                return Err(Error::Unsupported {
                    at: what(),
                    what: format!(
                        "local-dynamic reference to `{name}`, a thread-local variable of \
                         another module"
                    ),
                })
            }
            TlsTarget::Index | TlsTarget::Descriptor | TlsTarget::TpCell => {}
        }
        let addend = object.arch.tls_addend().take_variable_part(f.a);
        let words = process_cell(host, f.target, name, addend, false).map_err(fail)?;
        // C-library module ids are below 2^32, relink's above: keys never meet.
        let key = match f.target {
            TlsTarget::TpCell => (f.target as u8, 0, words[0]),
            TlsTarget::Descriptor => (f.target as u8, words[1], words[2]),
            _ => (f.target as u8, words[0], words[1]),
        };
        *f.slot = self.tls_cell(key, f.target, cells, &what)?;
        let at = *f.slot - self.space.region.target_base();
        write_cell(&mut self.space.region, at, words);
        if f.target == TlsTarget::TpCell {
            // Finished with the object's static uses: x86-64 relaxes it.
            let cell = Some((at, words[0]));
            return Ok(Some(StaticUse {
                module: PROCESS_MODULE,
                cell,
            }));
        }
        Ok(None)
    }

    /// A cell for an undefined variable, written at the batch's end.
    pub(crate) fn pending_cell(
        &mut self,
        object: &Object,
        f: TlsFix,
        cells: &mut Cells,
        what: impl Fn() -> crate::error::Location,
    ) -> Result<Option<StaticUse>> {
        let name = object.symbol(f.symbol).name.to_string();
        let addend = object.arch.tls_addend().take_variable_part(f.a);
        // One cell per (kind, name, addend): a key no defined variable has.
        let id = self.symbols.id(&name).map_or(u64::MAX, |n| u64::from(n.0));
        let key = (f.target as u8 | 0x80, id, addend);
        *f.slot = self.tls_cell(key, f.target, cells, &what)?;
        let at = *f.slot - self.space.region.target_base();
        if let Some(d) = self.deferred.as_mut() {
            d.tls.push(PendingCell {
                object: f.object,
                name,
                target: f.target,
                at,
                addend,
                location: what(),
            });
        }
        Ok(None)
    }

    pub(crate) fn tls_cell(
        &mut self,
        key: (u8, u64, u64),
        target: TlsTarget,
        cells: &mut Cells,
        what: impl Fn() -> crate::error::Location,
    ) -> Result<u64> {
        let base = self.space.region.target_base();
        if let Some(at) = cells.used.get(&key) {
            return Ok(base + at);
        }
        let n = cells.used.len() as u64;
        if n >= cells.capacity {
            return Err(Error::Unsupported {
                at: what(),
                what: "more thread-local cells than counted".into(),
            });
        }
        let at = cells.offset + n * CELL_SIZE;
        let (_, module, offset) = key;
        let words = cell_words(
            crate::runtime::Host(self.space.region.remote()),
            target,
            module,
            offset,
        );
        write_cell(&mut self.space.region, at, words);
        cells.used.insert(key, at);
        Ok(base + at)
    }
}
