//! Static archives (`ar`: `!<arch>`, and thin `!<thin>` archives whose members
//! stay in their own files), loaded on demand the way a static linker reads them.
//!
//! - A member is linked only when it defines a name that is still **needed**: some
//!   loaded object refers to it with a strong (non-weak) reference, and no loaded
//!   object and no host [`Linker::define`] provides it. The process does not count:
//!   an archive comes before the C library, as on a linker's command line. Weak
//!   undefined references never pull a member (as in GNU ld).
//! - Members pulled by one scan are linked as one batch (they may refer to each
//!   other), and the archive is scanned again until no member is pulled, so a member
//!   may need one placed before it. A name two members define is taken from the
//!   first one in the archive's index; the other is linked only if it is needed for
//!   another name (and then the duplicate is an error, as in ld).
//! - The index is the archive's symbol table (GNU `/` and `/SYM64/`, BSD
//!   `__.SYMDEF` and `__.SYMDEF_64`, long member names of both kinds). Without one,
//!   every member is parsed once to build it. A member that is never needed is not
//!   read beyond the symbol table and takes no memory.
//! - A call is one transaction: constructors run once every member it pulled is
//!   linked, and if any member fails, every object the call linked is removed
//!   again and the linker is as it was before the call.
//!
//! Members become ordinary objects named `libz.a(deflate.o)`: [`Linker::unload`]
//! and [`Linker::replace`] apply to them.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use object::read::archive::{ArchiveFile, ArchiveMember, ArchiveOffset};
use rustc_hash::FxHashSet;

use crate::error::{Error, Result};
use crate::input::{self, Binding};
use crate::linker::{map_file, Linker};
use crate::symbols::ObjectId;
use crate::symbols::{stubs, Map};

/// Whether `bytes` are an archive: they start with `!<arch>\n` or `!<thin>\n`.
pub fn is_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(b"!<arch>\n") || bytes.starts_with(b"!<thin>\n")
}

impl Linker {
    /// Loads the members of a static archive that the objects loaded so far need,
    /// and what those members need in turn (see `linker/archive.rs`).
    /// Returns the members linked, in link order; none if nothing needs them.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), relink::Error> {
    /// let mut linker = relink::Linker::new()?;
    /// linker.load_file("prog.o")?; // calls compress2()
    /// let members = linker.load_archive("/usr/lib/x86_64-linux-gnu/libz.a")?;
    /// for (id, name) in linker.objects() {
    ///     println!("{id} {name}"); // #2 /usr/lib/x86_64-linux-gnu/libz.a(compress.o) ...
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn load_archive(&mut self, path: impl AsRef<Path>) -> Result<Vec<ObjectId>> {
        self.load_archive_for(path, &[])
    }

    /// Like [`Linker::load_archive`], and the host needs `symbols` too (`ld -u`):
    /// their members are pulled as if a loaded object referred to them. Names
    /// already defined are left alone.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), relink::Error> {
    /// let mut linker = relink::Linker::new()?;
    /// linker.load_archive_for("/usr/lib/x86_64-linux-gnu/libz.a", &["crc32"])?;
    /// let crc32: extern "C" fn(u64, *const u8, u32) -> u64 =
    ///     unsafe { linker.function("crc32")? };
    /// assert_eq!(crc32(0, b"abc".as_ptr(), 3), 0x352441c2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn load_archive_for(
        &mut self,
        path: impl AsRef<Path>,
        symbols: &[&str],
    ) -> Result<Vec<ObjectId>> {
        let path = path.as_ref();
        let map = map_file(path)?;
        let name = path.display().to_string();
        self.transaction(|linker, ids| {
            let mut archive = Archive::parse(&name, &map, dir_of(path))?;
            linker.pull(std::slice::from_mut(&mut archive), symbols, ids)
        })
    }

    /// [`Linker::load_archive`] from bytes. `name` is used in messages and member
    /// names; a thin archive's members are read relative to its directory.
    pub fn load_archive_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<Vec<ObjectId>> {
        self.load_archive_group(&[(name.to_string(), bytes)])
    }

    /// Searches several archives together, like `ld --start-group a.a b.a
    /// --end-group`: each is scanned in turn, and all of them again until none
    /// pulls a member, so they may need each other in any order.
    pub fn load_archive_group(&mut self, archives: &[(String, &[u8])]) -> Result<Vec<ObjectId>> {
        self.transaction(|linker, ids| {
            let mut parsed = archives
                .iter()
                .map(|(name, bytes)| Archive::parse(name, bytes, dir_of(Path::new(name))))
                .collect::<Result<Vec<_>>>()?;
            linker.pull(&mut parsed, &[], ids)
        })
    }

    /// Loads objects and archives (told apart by their first bytes) in command-line
    /// order, as `relink run` does: consecutive objects are linked as one batch, and
    /// each archive is searched at its position for what the inputs before it need.
    /// At the end, if objects after an archive still need names, all archives are
    /// searched once more, together (friendlier than ld, which would need
    /// `--start-group`). Constructors run after everything is linked. One
    /// transaction: on failure nothing stays loaded.
    pub fn load_inputs<P: AsRef<Path>>(&mut self, paths: &[P]) -> Result<Vec<ObjectId>> {
        let maps = paths
            .iter()
            .map(|p| map_file(p.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        self.transaction(|linker, ids| linker.link_inputs(paths, &maps, ids))
    }

    /// The body of [`Linker::load_inputs`], with the files mapped: links into
    /// `ids` and runs no constructor (`load_files` uses it too, for a batch that
    /// turns out to hold an archive).
    pub(crate) fn link_inputs<P: AsRef<Path>>(
        &mut self,
        paths: &[P],
        maps: &[memmap2::Mmap],
        ids: &mut Vec<ObjectId>,
    ) -> Result<()> {
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.as_ref().display().to_string())
            .collect();
        let first_archive = maps.iter().position(|m| is_archive(m));
        let object_after_archive =
            first_archive.is_some_and(|first| maps[first..].iter().any(|m| !is_archive(m)));
        if object_after_archive && self.linked.space.is_none() {
            // The first batch is not all the objects: place for all of them.
            let objects: Vec<(String, &[u8])> = (0..maps.len())
                .filter(|i| !is_archive(&maps[*i]))
                .map(|i| (names[i].clone(), &maps[i][..]))
                .collect();
            self.reserve_for(&objects)?;
        }
        let mut archives = Vec::new();
        let mut pending: Vec<(String, &[u8])> = Vec::new();
        for (i, map) in maps.iter().enumerate() {
            if !is_archive(map) {
                pending.push((names[i].clone(), map));
                continue;
            }
            self.link_pending(&mut pending, ids)?;
            let dir = dir_of(paths[i].as_ref());
            archives.push(Archive::parse(&names[i], map, dir)?);
            let last = archives.len() - 1;
            self.pull(&mut archives[last..], &[], ids)?;
        }
        self.link_pending(&mut pending, ids)?;
        self.pull(&mut archives, &[], ids)
    }

    fn link_pending(
        &mut self,
        pending: &mut Vec<(String, &[u8])>,
        ids: &mut Vec<ObjectId>,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let result = self.load_all_at_once(pending, ids);
        pending.clear();
        result
    }

    /// Pulls members from `archives` until none defines a needed name (or one of
    /// `roots`), linking each scan's members as a batch.
    fn pull(
        &mut self,
        archives: &mut [Archive],
        roots: &[&str],
        ids: &mut Vec<ObjectId>,
    ) -> Result<()> {
        loop {
            let mut pulled = false;
            for archive in archives.iter_mut() {
                loop {
                    let keys = archive.wanted(|name| self.needs(name, roots))?;
                    if keys.is_empty() {
                        break;
                    }
                    pulled = true;
                    let members = keys
                        .iter()
                        .map(|k| archive.read_key(*k))
                        .collect::<Result<Vec<_>>>()?;
                    let inputs: Vec<(String, &[u8])> =
                        members.iter().map(|(n, b)| (n.clone(), &b[..])).collect();
                    self.load_all_at_once(&inputs, ids)?;
                }
            }
            if !pulled || archives.len() < 2 {
                return Ok(());
            }
        }
    }

    /// A name an archive member should provide: referred to strongly (or asked
    /// for by the host) and defined by no loaded object and no host definition.
    fn needs(&self, name: &str, roots: &[&str]) -> bool {
        match self.linked.symbols.get(name) {
            Some(e) if !e.defs.is_empty() || e.host().is_some() => false,
            Some(e) => e.refs.any_strong() || roots.contains(&name),
            None => roots.contains(&name),
        }
    }

    /// Runs `body`, which links objects into `ids`; then their constructors, or,
    /// if it fails, removes them all again (see [`Linker::undo`]).
    fn transaction(
        &mut self,
        body: impl FnOnce(&mut Linker, &mut Vec<ObjectId>) -> Result<()>,
    ) -> Result<Vec<ObjectId>> {
        let mark = Mark {
            retired: self.linked.retired_mark(),
            slots: self.linked.space.as_ref().map(|s| s.stubs.mark()),
        };
        let mut ids = Vec::new();
        let body = |linker: &mut Linker, ids: &mut Vec<ObjectId>| {
            body(linker, ids)?;
            linker.load_default_libraries(ids)
        };
        if let Err(e) = body(self, &mut ids) {
            self.undo(mark, &ids);
            self.linked.pending_ifuncs.clear();
            return Err(e);
        }
        self.linked.run_pending_resolvers()?;
        self.run_constructors_of(&ids);
        Ok(ids)
    }

    /// Removes objects linked since `mark` (their constructors never ran, so no
    /// code of theirs can be running): their memory is freed at once, the slots
    /// they added are taken back, and names only they used are forgotten.
    fn undo(&mut self, mark: Mark, ids: &[ObjectId]) {
        let mut defined = Vec::new();
        for id in ids.iter().rev() {
            if let Some(o) = self.linked.objects.get(id) {
                defined.extend(o.defines.iter().cloned());
            }
            // Re-binding names to what they were bound to before cannot fail.
            let _ = crate::link::unload::remove(&mut self.linked, *id);
        }
        // Their local slots were allocated since the mark: `reset_to` takes them.
        let (removed, _) = self.linked.take_retired_since(&mark.retired);
        let Some(slots) = mark.slots else {
            // This transaction reserved the region: give it back.
            if self.linked.objects.is_empty() {
                self.linked.space = None;
            }
            return;
        };
        let Some(space) = self.linked.space.as_mut() else {
            return;
        };
        for piece in removed {
            space.pools.free(&mut space.region, piece);
        }
        let mut gone = Vec::new();
        for (name, _, e) in self.linked.symbols.iter_mut() {
            if let Some(slot) = e.slot.filter(|s| space.stubs.allocated_since(&slots, *s)) {
                let message = "call through a released slot".to_string();
                space.stubs.release(&mut space.region, slot, message);
                e.slot = None;
                if e.is_unused() {
                    gone.push(name);
                }
            }
        }
        for name in gone {
            self.linked.symbols.remove(name);
        }
        space.stubs.reset_to(slots);
        for name in defined {
            // The trap message goes back to "undefined (needed by ...)".
            if self.linked.symbols.contains(name) {
                let _ = self.linked.refresh_slot(name);
            }
        }
    }
}

/// What a transaction restores on failure.
struct Mark {
    /// What objects unloaded before had retired.
    retired: crate::link::RetiredMark,
    /// `None`: the region did not exist yet.
    slots: Option<stubs::Mark>,
}

/// A symbol-table name as relink names it: without a Mach-O member's `_`.
fn own_name(name: &str, macho: bool) -> Option<&str> {
    if macho {
        name.strip_prefix('_')
    } else {
        Some(name)
    }
}

fn dir_of(path: &Path) -> PathBuf {
    path.parent().map_or_else(PathBuf::new, Path::to_path_buf)
}

/// A member, as far as relink looks at it before it is needed.
#[derive(Clone, Copy)]
struct Member<'a> {
    name: &'a [u8],
    /// Offset and size of its bytes in the archive; `None` for a thin member.
    data: Option<(u64, u64)>,
}

impl<'a> Member<'a> {
    fn of(m: &ArchiveMember<'a>) -> Member<'a> {
        Member {
            name: m.name(),
            data: (!m.is_thin()).then(|| m.file_range()),
        }
    }
}

/// One archive being searched: its index, and the members this search pulled.
struct Archive<'a> {
    name: String,
    bytes: &'a [u8],
    file: ArchiveFile<'a>,
    /// The directory a thin archive's members are relative to.
    dir: PathBuf,
    /// Defined names and the key of the member defining each, in index order.
    /// A key is a member header's offset (index from the symbol table) or a
    /// member's position in `listed` (index built from the members).
    symbols: Vec<(Box<str>, u64)>,
    /// Per key: its entries in `symbols`.
    by_member: Map<u64, Vec<u32>>,
    /// Members in archive order, when there was no symbol table.
    listed: Option<Vec<Member<'a>>>,
    /// Keys of Mach-O members (their symbol-table names start with `_`, which
    /// relink's names do not), looked up when first needed.
    macho: Map<u64, bool>,
    pulled: FxHashSet<u64>,
}

impl<'a> Archive<'a> {
    fn parse(name: &str, bytes: &'a [u8], dir: PathBuf) -> Result<Archive<'a>> {
        let malformed = |reason: String| Error::MalformedArchive {
            archive: name.to_string(),
            member: None,
            offset: None,
            reason,
        };
        if !is_archive(bytes) {
            return Err(malformed("no `!<arch>` or `!<thin>` header".into()));
        }
        let file = ArchiveFile::parse(bytes).map_err(|e| malformed(e.to_string()))?;
        let mut archive = Archive {
            name: name.to_string(),
            bytes,
            file,
            dir,
            symbols: Vec::new(),
            by_member: Map::default(),
            listed: None,
            macho: Map::default(),
            pulled: FxHashSet::default(),
        };
        match file.symbols().map_err(|e| malformed(e.to_string()))? {
            Some(table) => {
                for symbol in table {
                    let symbol = symbol.map_err(|e| malformed(format!("symbol table: {e}")))?;
                    let name = String::from_utf8_lossy(symbol.name());
                    archive.add(&name, symbol.offset().0);
                }
            }
            None => archive.index_members()?,
        }
        Ok(archive)
    }

    fn add(&mut self, name: &str, key: u64) {
        if name.is_empty() {
            return;
        }
        let at = self.symbols.len() as u32;
        self.symbols.push((name.into(), key));
        self.by_member.entry(key).or_default().push(at);
    }

    /// Builds the index from the members' defined global names (no symbol table).
    /// Members that are not objects (no ELF or Mach-O magic) are skipped.
    fn index_members(&mut self) -> Result<()> {
        let mut listed = Vec::new();
        for member in self.file.members() {
            let member = member.map_err(|e| self.malformed(None, None, e.to_string()))?;
            listed.push(Member::of(&member));
        }
        for (key, member) in listed.iter().enumerate() {
            let (name, bytes) = self.read(member, key as u64)?;
            if !(bytes.starts_with(b"\x7fELF") || bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])) {
                continue;
            }
            let copy = input::Aligned::new(&bytes);
            let object = input::parse(&name, copy.as_slice())?;
            for s in &object.symbols {
                if s.binding != Binding::Local && s.is_defined() {
                    self.add(s.name, key as u64);
                }
            }
        }
        self.listed = Some(listed);
        Ok(())
    }

    /// Keys of the members not pulled yet that define a name `needed` wants, in
    /// archive order, marked pulled. Of several members defining a name, only the
    /// first in the index is taken.
    fn wanted(&mut self, needed: impl Fn(&str) -> bool) -> Result<Vec<u64>> {
        let raw = self.listed.is_none();
        let mut picked = Vec::new();
        let mut claimed: FxHashSet<String> = FxHashSet::default();
        for i in 0..self.symbols.len() {
            let key = self.symbols[i].1;
            if self.pulled.contains(&key) {
                continue;
            }
            let name = &*self.symbols[i].0;
            let stripped = name.strip_prefix('_').filter(|_| raw);
            if !needed(name) && !stripped.is_some_and(&needed) {
                continue;
            }
            // A Mach-O member's names carry the `_` relink's names lose.
            let macho = raw && self.is_macho(key)?;
            let own = |n| own_name(n, macho);
            if !own(&self.symbols[i].0).is_some_and(|n| needed(n) && !claimed.contains(n)) {
                continue;
            }
            self.pulled.insert(key);
            picked.push(key);
            for j in self.by_member.get(&key).into_iter().flatten() {
                if let Some(n) = own(&self.symbols[*j as usize].0) {
                    claimed.insert(n.to_string());
                }
            }
        }
        picked.sort_unstable();
        Ok(picked)
    }

    fn is_macho(&mut self, key: u64) -> Result<bool> {
        if let Some(m) = self.macho.get(&key) {
            return Ok(*m);
        }
        let (_, bytes) = self.read_key(key)?;
        let m = bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe]);
        self.macho.insert(key, m);
        Ok(m)
    }

    /// The member `key` names, as `archive(member)` and its bytes.
    fn read_key(&self, key: u64) -> Result<(String, Cow<'a, [u8]>)> {
        let member = match &self.listed {
            Some(listed) => listed
                .get(key as usize)
                .copied()
                .ok_or_else(|| self.malformed(None, None, format!("no member #{key}")))?,
            None => self
                .file
                .member(ArchiveOffset(key))
                .map(|m| Member::of(&m))
                .map_err(|e| {
                    self.malformed(
                        None,
                        Some(key),
                        format!("the symbol table points at a bad member: {e}"),
                    )
                })?,
        };
        self.read(&member, key)
    }

    fn read(&self, member: &Member<'a>, key: u64) -> Result<(String, Cow<'a, [u8]>)> {
        let shown = String::from_utf8_lossy(member.name).into_owned();
        let name = format!("{}({shown})", self.name);
        let header = self.listed.is_none().then_some(key);
        let bytes = match member.data {
            Some((offset, size)) => {
                let range = usize::try_from(offset)
                    .ok()
                    .zip(usize::try_from(size).ok())
                    .and_then(|(o, s)| self.bytes.get(o..)?.get(..s));
                Cow::Borrowed(range.ok_or_else(|| {
                    self.malformed(Some(&shown), header, "the member runs past the end".into())
                })?)
            }
            None => {
                let path = self.dir.join(OsStr::from_bytes(member.name));
                Cow::Owned(std::fs::read(&path).map_err(|e| {
                    let reason = format!("thin member file {}: {e}", path.display());
                    self.malformed(Some(&shown), header, reason)
                })?)
            }
        };
        Ok((name, bytes))
    }

    fn malformed(&self, member: Option<&str>, offset: Option<u64>, reason: String) -> Error {
        Error::MalformedArchive {
            archive: self.name.clone(),
            member: member.map(str::to_string),
            offset,
            reason,
        }
    }
}
