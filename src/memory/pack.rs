//! Packing: the small pieces of many objects share pages of one permission class.
//!
//! Each class (code, read-only, data, zero-fill) has a pool of chunks — runs of
//! pages taken from the region and protected once for that class. An object takes
//! one byte range (a [`Piece`]) per non-empty class, first fit, aligned as its
//! sections need. W^X holds per address as before: relink writes every piece
//! through the working view; the target view of a chunk is R-X, R-- or RW- for its
//! whole life. A freed piece's bytes return to its chunk (zeroed when reused); a
//! chunk whose last piece is freed goes back to the region, and its pages to the
//! kernel. Pieces too large or too aligned for a chunk get a chunk of their own.
//!
//! This is what lets thousands of one-function objects cost a few hundred bytes
//! each instead of three pages.
//!
//! **Runs.** During a batch ([`Pools::use_runs`]), new code and read-only chunks
//! are cut from a [`RUN`] of pages taken and protected once for the class,
//! instead of one `mprotect` of the target view per chunk: each took the
//! address space's lock for writing while the reading thread populated pages
//! under it, and split the view into a mapping per chunk (wide 5,001: over 600).
//! The rest of a run stays with its class until the batch ends
//! ([`Pools::end_runs`]) and goes back to the region then. Those pages are
//! readable (and, for code, executable) in the target view while they are
//! free, never writable: they read as zeros, as free memory does. Data and
//! zero-fill chunks, which are writable, are protected one by one as before, so
//! a stray write into free memory still faults.

use std::collections::BTreeMap;

use super::Target;
use super::{carve, give_back, take_next_fit, Block, Region, HUGE};
use crate::error::{Error, Result};
use crate::input::Class;

/// Bytes of a shared chunk.
const CHUNK: u64 = 64 << 10;

/// Bytes of a run of code or read-only chunks, protected at once (see the
/// module's documentation): sixteen chunks.
const RUN: u64 = 16 * CHUNK;

/// A byte range of the region holding one class of one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub class: Class,
    /// Offset in the region, and length in bytes.
    pub offset: u64,
    pub len: u64,
    /// Whether no earlier piece ever used these bytes (no code ever ran there).
    pub fresh: bool,
}

#[derive(Debug)]
struct Chunk {
    block: Block,
    /// Free ranges: offset (in the region) → length, coalesced.
    free: BTreeMap<u64, u64>,
    used: u64,
    /// End of the highest range ever handed out: bytes at or above it are fresh.
    high: u64,
    /// No free range is longer (an upper bound, made exact whenever a search
    /// fails): a chunk with less room is passed over without searching its free
    /// ranges — thousands of small holes between other objects' pieces made
    /// every allocation cost per object loaded.
    largest: u64,
    /// Where the last piece ended: the next search starts there (next fit).
    cursor: u64,
}

/// A chunk for `class` cut from its run, `None` for a class that takes none
/// (writable ones) or if the region has no room for a new run. A new run is
/// taken when the current one is used up.
fn from_run(run: &mut Option<Block>, region: &mut Region, class: Class) -> Option<Block> {
    if !matches!(class, Class::Code | Class::ReadOnly) {
        return None;
    }
    if run.is_none() {
        let block = region.alloc(RUN, region.page_size()).ok()?;
        if Target::protect(region, block.offset, block.len, class).is_err() {
            region.free(block);
            return None;
        }
        *run = Some(block);
    }
    let rest = run.as_mut()?;
    let chunk = Block {
        offset: rest.offset,
        len: CHUNK,
    };
    (rest.offset, rest.len) = (rest.offset + CHUNK, rest.len - CHUNK);
    if rest.len == 0 {
        *run = None;
    }
    Some(chunk)
}

/// Gives what is left of every run back to the region.
fn release_runs(runs: &mut [Option<Block>; 4], region: &mut Region) {
    for block in runs.iter_mut().filter_map(Option::take) {
        region.free(block);
    }
}

/// One pool of chunks per class.
#[derive(Default)]
pub struct Pools {
    /// Per class: chunk start offset → chunk.
    pools: [BTreeMap<u64, Chunk>; 4],
    /// Bytes handed out in pieces.
    used: u64,
    /// Per class: the chunk that served the last piece, tried first (most
    /// pieces fit where the previous one did; scanning every chunk first made
    /// loading thousands of objects quadratic).
    recent: [Option<u64>; 4],
    /// Whether new code and read-only chunks come from runs ([`Pools::use_runs`]).
    use_runs: bool,
    /// Per class: what is left of its current run, taken from the region and
    /// protected for the class, not yet part of a chunk.
    runs: [Option<Block>; 4],
}

impl Pools {
    /// A zeroed piece of `len` bytes (at least 1) aligned to `align`.
    pub fn alloc(
        &mut self,
        region: &mut Region,
        class: Class,
        len: u64,
        align: u64,
    ) -> Result<Piece> {
        let len = len.max(1);
        let align = align.max(1);
        let pool = &mut self.pools[class as usize];
        let recent = &mut self.recent[class as usize];
        let base = region.target_base();
        let found = recent
            .and_then(|at| Some((at, take(pool.get_mut(&at)?, base, len, align)?)))
            .or_else(|| {
                pool.iter_mut()
                    .find_map(|(at, c)| Some((*at, take(c, base, len, align)?)))
            });
        let (offset, fresh) = match found {
            Some((at, found)) => {
                *recent = Some(at);
                found
            }
            None => {
                let page = region.page_size();
                let size = if len + align > CHUNK / 4 || align > page {
                    (len + align).div_ceil(page) * page
                } else {
                    CHUNK
                };
                // A huge page a batch had made ready, if any.
                let window = class == Class::Code && len + align <= HUGE / 4 && align <= page;
                let window = window.then(|| region.alloc_window()).flatten();
                let from_run = if window.is_none() && size == CHUNK && self.use_runs {
                    from_run(&mut self.runs[class as usize], region, class)
                } else {
                    None
                };
                let block = match (window, from_run) {
                    (Some(block), _) | (None, Some(block)) => block,
                    (None, None) => match region.alloc(size, align.max(page)) {
                        Ok(block) => block,
                        // The runs' rest may be what the region lacks.
                        Err(_) if self.runs.iter().any(Option::is_some) => {
                            release_runs(&mut self.runs, region);
                            region.alloc(size, align.max(page))?
                        }
                        Err(e) => return Err(e),
                    },
                };
                if from_run.is_none() {
                    if let Err(e) = Target::protect(region, block.offset, block.len, class) {
                        region.free(block);
                        return Err(e);
                    }
                }
                match window {
                    Some(window) => region.populate_window(window),
                    None => region.populate(block.offset, block.len),
                }
                let mut chunk = Chunk {
                    block,
                    free: BTreeMap::from([(block.offset, block.len)]),
                    used: 0,
                    high: block.offset,
                    largest: block.len,
                    cursor: block.offset,
                };
                let Some(offset) = take(&mut chunk, region.target_base(), len, align) else {
                    region.free(block);
                    return Err(Error::Exhausted(format!("a {len}-byte piece does not fit")));
                };
                pool.insert(block.offset, chunk);
                *recent = Some(block.offset);
                offset
            }
        };
        if !fresh {
            // Bytes an earlier piece used; fresh ones are zero (free region
            // memory reads as zeros).
            region.bytes_mut(offset, len).fill(0);
        }
        self.used += len;
        Ok(Piece {
            class,
            offset,
            len,
            fresh,
        })
    }

    /// One piece per `(class, len, align)` request, all in one contiguous run of
    /// pages (each class on pages of its own): for objects whose code reaches their
    /// other sections through narrow PC-relative forms (AArch64 `ADR`, `LDR`
    /// literal, `MOVW_PREL`), which need them close. The rest of each class's pages
    /// stays available to other objects.
    pub fn alloc_together(
        &mut self,
        region: &mut Region,
        requests: &[(Class, u64, u64)],
    ) -> Result<Vec<Piece>> {
        let page = region.page_size();
        let mut at = 0u64;
        let mut spans = Vec::with_capacity(requests.len());
        for &(class, len, align) in requests {
            at = at.next_multiple_of(align.max(page));
            let size = len.max(1).div_ceil(page) * page;
            spans.push((class, at, size, len.max(1)));
            at += size;
        }
        let align = requests.iter().map(|r| r.2).max().unwrap_or(1).max(page);
        let block = region.alloc(at, align)?;
        let mut pieces = Vec::with_capacity(spans.len());
        for &(class, rel, size, len) in &spans {
            let span = Block {
                offset: block.offset + rel,
                len: size,
            };
            if let Err(e) = Target::protect(region, span.offset, span.len, class) {
                region.free(block);
                return Err(e);
            }
            region.populate(span.offset, span.len);
            let mut free = BTreeMap::new();
            give_back(&mut free, span.offset, span.len);
            let mut chunk = Chunk {
                block: span,
                free,
                used: 0,
                high: span.offset,
                largest: span.len,
                cursor: span.offset,
            };
            let offset = span.offset;
            take_at(&mut chunk, offset, len);
            self.pools[class as usize].insert(span.offset, chunk);
            self.used += len;
            pieces.push(Piece {
                class,
                offset,
                len,
                fresh: true,
            });
        }
        // Pages between spans (alignment padding) go straight back.
        let mut cursor = block.offset;
        for &(_, rel, size, _) in &spans {
            if block.offset + rel > cursor {
                region.free(Block {
                    offset: cursor,
                    len: block.offset + rel - cursor,
                });
            }
            cursor = block.offset + rel + size;
        }
        Ok(pieces)
    }

    /// Returns a piece; a chunk left empty goes back to the region.
    pub fn free(&mut self, region: &mut Region, piece: Piece) {
        let pool = &mut self.pools[piece.class as usize];
        let Some((&start, chunk)) = pool.range_mut(..=piece.offset).next_back() else {
            return;
        };
        if piece.offset + piece.len > chunk.block.offset + chunk.block.len {
            return;
        }
        give_back(&mut chunk.free, piece.offset, piece.len);
        if let Some((_, &merged)) = chunk.free.range(..=piece.offset).next_back() {
            chunk.largest = chunk.largest.max(merged);
        }
        chunk.used -= piece.len;
        self.used -= piece.len;
        if chunk.used == 0 {
            let block = chunk.block;
            pool.remove(&start);
            region.free(block);
        }
    }

    /// From now on new code and read-only chunks come from runs (see the
    /// module's documentation) where the region protects its own target view
    /// ([`Region::protects_here`]); until [`Pools::end_runs`].
    pub fn use_runs(&mut self, region: &Region) {
        self.use_runs = region.protects_here();
    }

    /// What is left of the code and read-only runs: their next chunks are cut
    /// at its start.
    pub fn run_fronts(&self) -> [Option<Block>; 2] {
        [
            self.runs[Class::Code as usize],
            self.runs[Class::ReadOnly as usize],
        ]
    }

    /// Chunks are protected one by one again; what is left of the runs goes
    /// back to the region.
    pub fn end_runs(&mut self, region: &mut Region) {
        self.use_runs = false;
        release_runs(&mut self.runs, region);
    }

    /// Bytes handed out in pieces.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Per class (in `Class` order): bytes handed out in pieces, and bytes of
    /// the chunks holding them.
    pub fn by_class(&self) -> [(u64, u64); 4] {
        std::array::from_fn(|c| {
            let chunks = self.pools[c].values();
            (
                chunks.clone().map(|k| k.used).sum(),
                chunks.map(|k| k.block.len).sum(),
            )
        })
    }
}

/// First fit of `len` bytes aligned to `align` (in target addresses) in `chunk`:
/// its offset, and whether no earlier piece ever used those bytes.
fn take(chunk: &mut Chunk, target_base: u64, len: u64, align: u64) -> Option<(u64, bool)> {
    if chunk.largest < len {
        return None;
    }
    let found = take_next_fit(&mut chunk.free, target_base, len, align, chunk.cursor);
    let Some(at) = found else {
        chunk.largest = chunk.free.values().copied().max().unwrap_or(0);
        return None;
    };
    chunk.cursor = at + len;
    chunk.used += len;
    let fresh = at >= chunk.high;
    chunk.high = chunk.high.max(at + len);
    Some((at, fresh))
}

/// Takes `[at, at + len)`, which must be free, from `chunk`.
fn take_at(chunk: &mut Chunk, at: u64, len: u64) {
    if let Some((&off, &flen)) = chunk.free.range(..=at).next_back() {
        if at + len <= off + flen {
            carve(&mut chunk.free, off, flen, at, len);
            chunk.used += len;
            chunk.high = chunk.high.max(at + len);
        }
    }
}
