//! The free lists (`take_first_fit`, `take_next_fit`, `carve`, `give_back`) on their own, and
//! the region and its pools (`pack.rs`) through their public operations.

use std::collections::BTreeMap;

use super::pack::Pools;
use super::{carve, give_back, take_first_fit, take_next_fit, Block, Placement, Region};
use crate::error::Error;
use crate::input::Class;

/// A free map from `(offset, length)` pairs.
fn free_map(ranges: &[(u64, u64)]) -> BTreeMap<u64, u64> {
    ranges.iter().copied().collect()
}

fn ranges(free: &BTreeMap<u64, u64>) -> Vec<(u64, u64)> {
    free.iter().map(|(&o, &l)| (o, l)).collect()
}

#[test]
fn first_fit_takes_the_lowest_range_that_fits() {
    let mut free = free_map(&[(0, 16), (100, 64), (300, 256)]);
    assert_eq!(take_first_fit(&mut free, 0, 32, 1), Some(100));
    assert_eq!(ranges(&free), [(0, 16), (132, 32), (300, 256)]);
    // The range left behind is used before a later, larger one.
    assert_eq!(take_first_fit(&mut free, 0, 32, 1), Some(132));
    assert_eq!(ranges(&free), [(0, 16), (300, 256)]);
    assert_eq!(take_first_fit(&mut free, 0, 16, 1), Some(0));
    assert_eq!(ranges(&free), [(300, 256)]);
}

#[test]
fn first_fit_aligns_target_addresses_and_keeps_the_padding() {
    // Offsets are aligned as target addresses: base 0x1008, so offset 0x8 is
    // at 0x1010, 16-aligned.
    let mut free = free_map(&[(0, 0x100)]);
    assert_eq!(take_first_fit(&mut free, 0x1008, 0x10, 16), Some(0x8));
    assert_eq!(ranges(&free), [(0, 0x8), (0x18, 0xe8)]);
    // A range too small once aligned is passed over.
    let mut free = free_map(&[(0x1, 0x40), (0x80, 0x40)]);
    assert_eq!(take_first_fit(&mut free, 0, 0x40, 0x40), Some(0x80));
    assert_eq!(ranges(&free), [(0x1, 0x40)]);
    // An exact fit removes the range.
    assert_eq!(take_first_fit(&mut free, 0, 0x40, 1), Some(0x1));
    assert!(free.is_empty());
}

#[test]
fn first_fit_fails_when_nothing_fits() {
    let mut free = free_map(&[(0, 16), (32, 16)]);
    assert_eq!(take_first_fit(&mut free, 0, 17, 1), None);
    assert_eq!(take_first_fit(&mut free, 8, 16, 64), None); // no 64-aligned address
    assert_eq!(
        ranges(&free),
        [(0, 16), (32, 16)],
        "a failed take changed it"
    );
    let mut empty = BTreeMap::new();
    assert_eq!(take_first_fit(&mut empty, 0, 1, 1), None);
}

#[test]
fn carve_keeps_what_lies_either_side() {
    // (at, len, the free ranges left of [100, 200))
    type Case = (u64, u64, &'static [(u64, u64)]);
    let cases: [Case; 4] = [
        (100, 50, &[(150, 50)]),            // from the start
        (150, 50, &[(100, 50)]),            // to the end
        (120, 20, &[(100, 20), (140, 60)]), // the middle
        (100, 100, &[]),                    // all of it
    ];
    for (at, len, want) in cases {
        let mut free = free_map(&[(0, 10), (100, 100)]);
        carve(&mut free, 100, 100, at, len);
        let mut want = want.to_vec();
        want.insert(0, (0, 10));
        assert_eq!(ranges(&free), want, "[{at}, {})", at + len);
    }
}

#[test]
fn give_back_coalesces_with_free_neighbours() {
    // Between two free ranges: one range.
    let mut free = free_map(&[(0, 10), (20, 10)]);
    give_back(&mut free, 10, 10);
    assert_eq!(ranges(&free), [(0, 30)]);
    // After one, before one, and touching neither.
    let mut free = free_map(&[(0, 10), (50, 10)]);
    give_back(&mut free, 10, 5);
    assert_eq!(ranges(&free), [(0, 15), (50, 10)]);
    give_back(&mut free, 40, 10);
    assert_eq!(ranges(&free), [(0, 15), (40, 20)]);
    give_back(&mut free, 30, 5);
    assert_eq!(ranges(&free), [(0, 15), (30, 5), (40, 20)]);
    give_back(&mut free, 15, 15);
    give_back(&mut free, 35, 5);
    assert_eq!(ranges(&free), [(0, 60)]);
}

#[test]
fn taking_everything_and_giving_it_back_in_any_order_leaves_one_range() {
    let orders: [[usize; 5]; 3] = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]];
    for order in orders {
        let mut free = free_map(&[(0, 500)]);
        let taken: Vec<u64> = (0..5)
            .map(|_| take_first_fit(&mut free, 0, 100, 1).unwrap())
            .collect();
        assert_eq!(taken, [0, 100, 200, 300, 400]);
        assert!(free.is_empty());
        for i in order {
            give_back(&mut free, taken[i], 100);
        }
        assert_eq!(ranges(&free), [(0, 500)], "{order:?}");
    }
}

fn region(size: u64) -> Region {
    Region::reserve(size, Placement::Anywhere).expect("a region")
}

#[test]
fn region_allocates_pages_first_fit_and_reuses_freed_ones() {
    let mut r = region(1 << 20);
    let page = r.page_size();
    let a = r.alloc(1, 1).unwrap();
    assert_eq!((a.offset, a.len), (0, page), "rounded up to a page");
    let b = r.alloc(page + 1, 1).unwrap();
    assert_eq!((b.offset, b.len), (page, 2 * page));
    assert_eq!(r.in_use(), 3 * page);
    r.free(a);
    assert_eq!(r.in_use(), 2 * page);
    let c = r.alloc(page, 1).unwrap();
    assert_eq!(c.offset, 0, "the freed page is the first fit");
    // Alignment is of target addresses.
    let d = r.alloc(page, 16 * page).unwrap();
    assert_eq!((r.target_base() + d.offset) % (16 * page), 0);
    for block in [b, c, d] {
        r.free(block);
    }
    assert_eq!(r.in_use(), 0);
    // Coalesced again: the whole region in one block.
    let all = r.alloc(r.size(), 1).unwrap();
    assert_eq!((all.offset, all.len), (0, r.size()));
}

#[test]
fn an_exhausted_region_is_an_error_and_changes_nothing() {
    let mut r = region(64 << 10);
    let page = r.page_size();
    let blocks: Vec<Block> = (0..r.size() / page)
        .map(|_| r.alloc(page, 1).unwrap())
        .collect();
    let e = r.alloc(1, 1).unwrap_err();
    assert!(matches!(e, Error::Exhausted(_)), "{e}");
    assert!(e.to_string().contains("no room"), "{e}");
    assert_eq!(r.in_use(), r.size());
    let too_big = region(64 << 10).alloc(128 << 10, 1).unwrap_err();
    assert!(matches!(too_big, Error::Exhausted(_)), "{too_big}");
    for block in blocks {
        r.free(block);
    }
    assert_eq!(r.in_use(), 0);
}

#[test]
fn pieces_of_one_class_share_a_chunk_and_are_aligned() {
    let mut r = region(4 << 20);
    let mut pools = Pools::default();
    let a = pools.alloc(&mut r, Class::Data, 10, 1).unwrap();
    let b = pools.alloc(&mut r, Class::Data, 24, 16).unwrap();
    let c = pools.alloc(&mut r, Class::Code, 0, 1).unwrap();
    assert_eq!(
        b.offset,
        (a.offset + 10).next_multiple_of(16),
        "first fit, aligned"
    );
    assert_eq!((r.target_base() + b.offset) % 16, 0);
    assert_eq!(c.len, 1, "an empty piece still takes a byte");
    let page = r.page_size();
    assert_ne!(
        c.offset / page,
        a.offset / page,
        "classes keep pages of their own"
    );
    assert!(a.fresh && b.fresh && c.fresh);
    assert_eq!(pools.used(), 10 + 24 + 1);
    let [code, _, data, _] = pools.by_class();
    assert_eq!(data.0, 34);
    assert_eq!(code.0, 1);
    assert_eq!(r.in_use(), code.1 + data.1, "one chunk per class");
}

#[test]
fn freed_pieces_are_reused_zeroed_and_empty_chunks_go_back() {
    let mut r = region(4 << 20);
    let mut pools = Pools::default();
    let a = pools.alloc(&mut r, Class::Data, 64, 8).unwrap();
    let b = pools.alloc(&mut r, Class::Data, 64, 8).unwrap();
    let keep = pools.alloc(&mut r, Class::Data, 64, 8).unwrap();
    // Pieces are taken next-fit: fill the chunk, so the next search wraps around.
    let chunk = pools.by_class()[Class::Data as usize].1;
    let filler = pools.alloc(&mut r, Class::Data, chunk - 3 * 64, 8).unwrap();
    assert_eq!(pools.by_class()[Class::Data as usize].1, chunk, "one chunk");
    r.bytes_mut(a.offset, a.len).fill(0xaa);
    pools.free(&mut r, a);
    // The same bytes again, cleared, and not fresh (code may have run there).
    let again = pools.alloc(&mut r, Class::Data, 48, 8).unwrap();
    assert_eq!(again.offset, a.offset);
    assert!(!again.fresh);
    assert!(r.bytes(again.offset, 48).iter().all(|&x| x == 0));
    assert_eq!(
        r.bytes(again.offset + 48, 16),
        [0xaa; 16],
        "only the piece is cleared"
    );
    // Freed neighbours coalesce: a piece of both their sizes fits where they were.
    pools.free(&mut r, again);
    pools.free(&mut r, b);
    let both = pools.alloc(&mut r, Class::Data, 128, 8).unwrap();
    assert_eq!(both.offset, a.offset);
    for piece in [both, keep, filler] {
        pools.free(&mut r, piece);
    }
    assert_eq!(pools.used(), 0);
    assert_eq!(r.in_use(), 0, "the empty chunk went back to the region");
    let new = pools.alloc(&mut r, Class::Data, 128, 8).unwrap();
    assert!(new.fresh, "a new chunk's bytes were never used");
}

#[test]
fn large_pieces_get_chunks_of_their_own_and_alignment_holds() {
    let mut r = region(4 << 20);
    let mut pools = Pools::default();
    let page = r.page_size();
    let small = pools.alloc(&mut r, Class::ReadOnly, 8, 8).unwrap();
    let shared = r.in_use();
    let big = pools.alloc(&mut r, Class::ReadOnly, 256 << 10, 8).unwrap();
    assert_eq!(r.in_use() - shared, (256 << 10) + page);
    let aligned = pools.alloc(&mut r, Class::ReadOnly, 8, 4 * page).unwrap();
    assert_eq!((r.target_base() + aligned.offset) % (4 * page), 0);
    for piece in [big, aligned] {
        pools.free(&mut r, piece);
    }
    assert_eq!(r.in_use(), shared, "the big piece's chunk went back");
    pools.free(&mut r, small);
    assert_eq!(r.in_use(), 0);
}

#[test]
fn pieces_placed_together_share_one_run_of_pages() {
    let mut r = region(4 << 20);
    let mut pools = Pools::default();
    let page = r.page_size();
    let requests = [
        (Class::Code, 100, 16),
        (Class::ReadOnly, 0, 1),
        (Class::Data, page + 1, 8),
    ];
    let pieces = pools.alloc_together(&mut r, &requests).unwrap();
    let offsets: Vec<u64> = pieces.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, [0, page, 2 * page]);
    assert_eq!(r.in_use(), 4 * page);
    // The rest of those pages serves other pieces of the same class.
    let next = pools.alloc(&mut r, Class::Code, 8, 8).unwrap();
    assert_eq!(next.offset, (100u64).next_multiple_of(8));
    for piece in pieces.into_iter().chain([next]) {
        pools.free(&mut r, piece);
    }
    assert_eq!((pools.used(), r.in_use()), (0, 0));
}

#[test]
fn next_fit_starts_where_the_last_piece_ended_and_wraps_around() {
    let mut free = free_map(&[(0, 16), (100, 8), (200, 100)]);
    // From inside the range at 200: taken there, not in the earlier holes.
    assert_eq!(take_next_fit(&mut free, 0, 8, 1, 250), Some(200));
    assert_eq!(take_next_fit(&mut free, 0, 92, 1, 250), Some(208));
    // Nothing from there on fits 16 bytes: wraps to the first range that does.
    assert_eq!(take_next_fit(&mut free, 0, 16, 1, 300), Some(0));
    assert_eq!(ranges(&free), [(100, 8)]);
    assert_eq!(take_next_fit(&mut free, 0, 9, 1, 0), None);
    // Aligned, from the range holding `from`.
    let mut free = free_map(&[(200, 100)]);
    assert_eq!(take_next_fit(&mut free, 0, 8, 32, 210), Some(224));
}

/// Which of the `pages` pages from `at` are resident (`mincore`).
fn resident(at: usize, pages: usize) -> Vec<bool> {
    let mut vec = vec![0u8; pages];
    let len = pages * super::page_size() as usize;
    // SAFETY: `at` is page-aligned and the range is mapped (callers' own mappings).
    let ok = unsafe { libc::mincore(at as *mut libc::c_void, len, vec.as_mut_ptr()) };
    assert_eq!(ok, 0, "mincore");
    vec.iter().map(|v| v & 1 == 1).collect()
}

/// A fresh private anonymous mapping of `len` bytes, none of it faulted in
/// (`super::unmap` gives it back).
fn anonymous(len: usize) -> usize {
    // SAFETY: a new mapping wherever the kernel puts it; nothing else is touched.
    let at = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(at, libc::MAP_FAILED);
    at as usize
}

/// Whether `MADV_POPULATE_WRITE` faults pages in here: Linux since 5.14 does;
/// qemu-user accepts the advice and does nothing (the suite's aarch64 run), as
/// does an older kernel. Where it does nothing, faulting in ahead is a no-op
/// and the tests below check only that it changes no contents.
fn populate_works() -> bool {
    let page = super::page_size() as usize;
    let at = anonymous(page);
    // SAFETY: the page just mapped.
    unsafe { super::populate_write(at as u64, page as u64) };
    let works = resident(at, 1)[0];
    super::unmap(at as u64, page as u64);
    if !works {
        eprintln!("MADV_POPULATE_WRITE does nothing here: checking contents only");
    }
    works
}

#[test]
fn heap_ahead_faults_in_just_above_what_is_filled_and_nothing_once_retired() {
    use super::HeapAhead;
    let page = super::page_size() as usize;
    let pages = 4 * HeapAhead::AHEAD / page;
    // A buffer of its own mapping, so that nothing else faults its pages in.
    let at = anonymous(pages * page);
    let end = at + pages * page;
    let ahead = HeapAhead::default();
    // Filled up to the middle of page 2.
    ahead.expect(&[(at, at + 2 * page + 8, end)]);
    ahead.run();
    let want = |from: usize, to: usize| -> Vec<bool> {
        (0..pages).map(|p| p >= from && p < to).collect()
    };
    let ahead_pages = HeapAhead::AHEAD / page;
    let works = populate_works();
    let none = vec![false; pages];
    // From the page being filled to AHEAD above the next byte.
    let first = if works { want(2, 3 + ahead_pages) } else { none.clone() };
    assert_eq!(resident(at, pages), first);
    // Filled further, past what was faulted in: the pages between were the
    // owner's to fault in; AHEAD above its next byte are added.
    let next = 2 * ahead_pages;
    ahead.advance(0, at + next * page);
    ahead.run();
    let both = |p: usize| (2..3 + ahead_pages).contains(&p) || (next..next + ahead_pages).contains(&p);
    let both: Vec<bool> = match works {
        true => (0..pages).map(both).collect(),
        false => none,
    };
    assert_eq!(resident(at, pages), both);
    // Retired (the owner is about to move the buffer): nothing more is touched.
    ahead.advance(0, at + 3 * ahead_pages * page);
    ahead.retire();
    ahead.run();
    assert_eq!(resident(at, pages), both);
    // The contents are what was there: zeros.
    // SAFETY: the mapping is ours and readable.
    let bytes = unsafe { std::slice::from_raw_parts(at as *const u8, pages * page) };
    assert!(bytes.iter().all(|&b| b == 0));
    super::unmap(at as u64, (pages * page) as u64);
}

#[test]
fn prefault_faults_in_the_free_space_and_arrays_just_above_their_next_element() {
    use super::Prefault;
    let page = super::page_size();
    let mut region = region(64 << 20);
    let block = region.alloc(64 * page, page).expect("a block");
    let working = region.bytes(0, 1).as_ptr() as usize;
    let base = working + block.offset as usize;
    // One array of 8-byte elements in the block's second half.
    let array = (block.offset + 32 * page, 32 * page, 8);
    let prefault = region.prefault().with_arrays(&[array]);
    prefault.expect(&mut region);
    prefault.expect_index(page); // the array's element `page`: its ninth page
    prefault.run();
    let works = populate_works();
    let got = resident(base, 64);
    assert!(got[..32].iter().all(|r| !r), "the block is not free: {got:?}");
    let ahead = (Prefault::ARRAY_AHEAD / page) as usize;
    let want: Vec<bool> = (0..32).map(|p| works && p >= 8 && p < 8 + ahead).collect();
    assert_eq!(got[32..], want[..]);
    // The free space above the block: the next allocation's pages.
    let free = working + (block.offset + 64 * page) as usize;
    assert!(resident(free, 4).iter().all(|r| *r == works));
    // Nothing faulted in changed: the block and the free space read as zeros.
    let all = region.bytes(block.offset, 64 * page + 4 * page);
    assert!(all.iter().all(|&b| b == 0));
}

/// Whether each of `pages` pages from `at` is mapped in this process's page
/// tables (`/proc/self/pagemap`'s present bit): unlike `mincore`, which says
/// whether a shared page exists at all, this tells one view of it from the other.
fn mapped(at: usize, pages: usize) -> Vec<bool> {
    use std::os::unix::fs::FileExt;
    let pagemap = std::fs::File::open("/proc/self/pagemap").expect("pagemap");
    let page = super::page_size() as usize;
    (0..pages)
        .map(|p| {
            let mut entry = [0u8; 8];
            let at = ((at / page + p) * 8) as u64;
            pagemap.read_exact_at(&mut entry, at).expect("a pagemap entry");
            u64::from_le_bytes(entry) >> 63 == 1
        })
        .collect()
}

#[test]
fn a_region_populating_later_leaves_its_chunks_to_a_prefault() {
    let page = super::page_size();
    let mut region = region(64 << 20);
    let prefault = region.prefault();
    region.populate_later(true);
    let chunk = |region: &mut Region| {
        let block = region.alloc(16 * page, page).expect("a block");
        region.protect(block.offset, block.len, Class::ReadOnly).expect("protected");
        region.populate(block.offset, block.len);
        block
    };
    let block = chunk(&mut region);
    let working = region.bytes(block.offset, 1).as_ptr() as usize;
    let target = (region.target_base() + block.offset) as usize;
    assert_eq!(resident(working, 16), vec![false; 16], "left for later");
    assert_eq!(mapped(target, 16), vec![false; 16], "left for later");
    // Handed over and populated on "another thread", in both views.
    prefault.expect(&mut region);
    prefault.run();
    let works = populate_works();
    assert_eq!(resident(working, 16), vec![works; 16]);
    if works {
        assert_eq!(mapped(target, 16), vec![true; 16]);
    }
    // Freed before the prefault got to it: finishing leaves it alone. One
    // still allocated is populated by `finish`, and later ones at once.
    let freed = chunk(&mut region);
    let kept = chunk(&mut region);
    let (freed_at, kept_at) = (region.target_base() + freed.offset, region.target_base() + kept.offset);
    region.free(freed);
    prefault.expect(&mut region);
    prefault.finish(&mut region);
    assert_eq!(mapped(freed_at as usize, 16), vec![false; 16]);
    let after = chunk(&mut region);
    if works {
        assert_eq!(mapped(kept_at as usize, 16), vec![true; 16]);
        let after_at = region.target_base() + after.offset;
        assert_eq!(mapped(after_at as usize, 16), vec![true; 16]);
    }
    // Populating changed nothing: zeros.
    assert!(region.bytes(block.offset, 48 * page).iter().all(|&b| b == 0));
}

/// Asserts the target view's permissions at `offset` of `r`, as
/// `/proc/self/maps` gives them (`r-xs`, `---s`, ...). qemu-user, which runs
/// the AArch64 build's tests, lists its read-only pages as executable too:
/// there the `x` is not compared.
fn assert_perms(r: &Region, offset: u64, want: &str) {
    let got = target_perms(r, offset);
    let relevant = |p: &str| -> String {
        match cfg!(target_arch = "x86_64") {
            true => p.to_string(),
            false => p.chars().enumerate().filter(|&(i, _)| i != 2).map(|(_, c)| c).collect(),
        }
    };
    assert_eq!(relevant(&got), relevant(want), "the target view at {offset:#x}: {got}");
}

/// The target view's permissions at `offset` of `r`, as `/proc/self/maps`
/// gives them.
fn target_perms(r: &Region, offset: u64) -> String {
    let at = r.target_base() + offset;
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    maps.lines()
        .find_map(|line| {
            let (range, rest) = line.split_once(' ')?;
            let (lo, hi) = range.split_once('-')?;
            let (lo, hi) = (u64::from_str_radix(lo, 16).ok()?, u64::from_str_radix(hi, 16).ok()?);
            (lo <= at && at < hi).then(|| rest[..4].to_string())
        })
        .expect("a mapping of the target view")
}

#[test]
fn in_a_batch_code_and_read_only_chunks_are_cut_from_runs() {
    let mut r = region(8 << 20);
    let mut pools = Pools::default();
    pools.use_runs(&r);
    // Four 15 KiB pieces fill a 64 KiB chunk: ten pieces take three chunks.
    let code: Vec<_> = (0..10)
        .map(|_| pools.alloc(&mut r, Class::Code, 15 << 10, 16).unwrap())
        .collect();
    let ro = pools.alloc(&mut r, Class::ReadOnly, 100, 8).unwrap();
    let data = pools.alloc(&mut r, Class::Data, 100, 8).unwrap();
    let [code_chunks, ro_chunks, data_chunks, _] = pools.by_class().map(|c| c.1);
    assert_eq!((code_chunks, ro_chunks, data_chunks), (3 << 16, 1 << 16, 1 << 16));
    // One run per class taken, not one region range per chunk: the code
    // chunks lie one after the other.
    let first = code[0].offset;
    assert!(code.iter().all(|p| p.fresh && (first..first + (3 << 16)).contains(&p.offset)));
    assert_eq!(r.in_use(), (2 << 20) + (1 << 16), "two runs and a data chunk");
    // The rest of the code run is readable and executable, never writable,
    // and reads as zeros; data chunks are protected one by one.
    let rest = first + (3 << 16);
    assert_perms(&r, first, "r-xs");
    assert_perms(&r, rest, "r-xs");
    assert_perms(&r, ro.offset, "r--s");
    assert_perms(&r, data.offset, "rw-s");
    // Past the data chunk: free, inaccessible.
    assert_perms(&r, data.offset + (1 << 16), "---s");
    assert!(r.bytes(rest, 1 << 16).iter().all(|&b| b == 0));
    // The batch's end gives the runs' rest back, inaccessible again.
    pools.end_runs(&mut r);
    assert_eq!(r.in_use(), (5 << 16), "the chunks alone");
    assert_perms(&r, rest, "---s");
    assert_perms(&r, first, "r-xs");
    // After the batch, a chunk is taken and protected on its own again.
    let more: Vec<_> = (0..4)
        .map(|_| pools.alloc(&mut r, Class::Code, 15 << 10, 16).unwrap())
        .collect();
    assert_eq!(pools.by_class()[Class::Code as usize].1, 4 << 16);
    assert_eq!(r.in_use(), (6 << 16));
    for piece in code.into_iter().chain(more).chain([ro, data]) {
        pools.free(&mut r, piece);
    }
    assert_eq!((pools.used(), r.in_use()), (0, 0));
}

#[test]
fn a_region_too_full_for_a_run_still_takes_chunks() {
    // Room for one run: the second class's chunk needs the first's rest.
    let mut r = region(1 << 20);
    let mut pools = Pools::default();
    pools.use_runs(&r);
    let code = pools.alloc(&mut r, Class::Code, 100, 16).unwrap();
    assert_eq!(r.in_use(), 1 << 20, "the code run took the region");
    let ro = pools.alloc(&mut r, Class::ReadOnly, 100, 8).unwrap();
    assert_eq!(r.in_use(), 2 << 16, "the run's rest went back: two chunks");
    // Too large for the code chunk's room: a chunk of its own.
    let more = pools.alloc(&mut r, Class::Code, 64 << 10, 16).unwrap();
    let chunks: u64 = pools.by_class().iter().map(|c| c.1).sum();
    let own = ((64 << 10) + 16u64).div_ceil(r.page_size()) * r.page_size();
    assert_eq!((r.in_use(), chunks), (chunks, (2 << 16) + own));
    assert_perms(&r, ro.offset, "r--s");
    assert_perms(&r, more.offset, "r-xs");
    pools.end_runs(&mut r);
    for piece in [code, ro, more] {
        pools.free(&mut r, piece);
    }
    assert_eq!(r.in_use(), 0);
}
