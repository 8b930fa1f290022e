//! What an object or archive holds, for people (`relink info`): aligned tables
//! of sections, symbols and relocations as the readers see them, in the spirit
//! of `llvm-readobj` and `objdump -r`; an archive's members as a table. Also how
//! `relink check` and `relink info` open a file: its magic number first, then
//! mapped, never read whole.

use std::fmt::Write as _;
use std::path::Path;

use object::read::archive::ArchiveFile;

use crate::error::{Error, Location, Result};
use crate::input::{Binding, Class, Definition, Object, Role, SymbolKind};
use crate::linker::archive::is_archive;

/// Which members of an archive [`describe_with`] shows in full.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ArchiveMembers {
    /// A table of the members only (name, size, architecture, counts).
    #[default]
    Summary,
    /// The table, then the tables of the members with these names.
    Named(Vec<String>),
    /// The table, then every member's tables.
    All,
}

/// Describes the object or archive `bytes` (named `name` in messages): an
/// object's sections, symbols and relocations; an archive's members.
pub fn describe(name: &str, bytes: &[u8]) -> Result<String> {
    describe_with(name, bytes, &ArchiveMembers::Summary)
}

/// As [`describe`], showing the archive members `members` asks for in full.
/// A thin archive's members are not read (their files are elsewhere); use
/// [`describe_file`] for those.
pub fn describe_with(name: &str, bytes: &[u8], members: &ArchiveMembers) -> Result<String> {
    let mut out = String::new();
    if is_archive(bytes) {
        write_archive(&mut out, name, bytes, None, members)?;
    } else {
        write_object_bytes(&mut out, name, bytes)?;
    }
    Ok(out)
}

/// [`describe_with`] for the file at `path`, opened as [`map_input`] opens it.
pub fn describe_file(path: &Path, members: &ArchiveMembers) -> Result<String> {
    let map = map_input(path)?;
    let name = path.display().to_string();
    let mut out = String::new();
    if is_archive(&map) {
        let dir = path.parent().unwrap_or(Path::new("."));
        write_archive(&mut out, &name, &map, Some(dir), members)?;
    } else {
        write_object_bytes(&mut out, &name, &map)?;
    }
    Ok(out)
}

/// Opens an input of `relink check` or `relink info`: reads its first bytes,
/// refuses anything but an ELF or Mach-O object or an archive, then maps it
/// (as `run` maps large inputs). A 4 GiB file of zeros or `/dev/zero` is
/// refused after reading eight bytes.
pub fn map_input(path: &Path) -> Result<memmap2::Mmap> {
    use std::io::Read;
    let io = |e| Error::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 8];
    let mut len = 0;
    while len < magic.len() {
        match file.read(&mut magic[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    let magic = &magic[..len];
    let known = magic.starts_with(b"\x7fELF")
        || magic.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
        || is_archive(magic);
    if !known {
        let hex: Vec<String> = magic.iter().map(|b| format!("{b:02x}")).collect();
        let start = if hex.is_empty() {
            "it is empty".to_string()
        } else {
            format!("it starts with {}", hex.join(" "))
        };
        return Err(Error::malformed(
            Location::object(&path.display().to_string()),
            format!(
                "not a relocatable object or archive: {start} (expected \\x7fELF, \
                 Mach-O cf fa ed fe, or !<arch>)"
            ),
        ));
    }
    crate::linker::map_file(path)
}

fn write_object_bytes(out: &mut String, name: &str, bytes: &[u8]) -> Result<()> {
    let copy = crate::input::Aligned::if_needed(bytes);
    let bytes = copy.as_ref().map_or(bytes, crate::input::Aligned::as_slice);
    let object = crate::input::parse(name, bytes)?;
    write_object(out, name, &object);
    Ok(())
}

/// Columns of text, each as wide as its widest cell; `right` columns are
/// right-aligned (numbers).
struct Table {
    header: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&'static str, bool)]) -> Table {
        Table {
            header: columns.iter().map(|c| c.0).collect(),
            right: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn write(&self, out: &mut String) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::from(" ");
            for ((cell, &w), &right) in row.iter().zip(&widths).zip(&self.right) {
                let pad = w - cell.chars().count();
                line.push(' ');
                if right {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

fn write_object(out: &mut String, name: &str, object: &Object) {
    let relocs: usize = object.sections.iter().map(|s| s.relocs.len()).sum();
    let format = match object.format {
        crate::input::Format::Elf => "ELF",
        crate::input::Format::MachO => "Mach-O",
    };
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "{name}: {format} relocatable object, {}, {} sections, {} symbols, {relocs} relocations",
        object.arch,
        object.sections.len(),
        object.symbols.len().saturating_sub(1),
    );
    write_sections(out, object);
    write_symbols(out, object);
    write_relocations(out, object);
}

fn class_name(class: Class) -> (&'static str, &'static str) {
    match class {
        Class::Code => ("code", "r-x"),
        Class::ReadOnly => ("read-only", "r--"),
        Class::Data => ("data", "rw-"),
        Class::Zero => ("zero-fill", "rw-"),
    }
}

fn role_name(role: Role) -> Option<String> {
    match role {
        Role::Plain => None,
        Role::InitArray { priority } => Some(format!("init_array({priority})")),
        Role::FiniArray { priority } => Some(format!("fini_array({priority})")),
        Role::Ctors => Some("ctors".into()),
        Role::Dtors => Some("dtors".into()),
        Role::EhFrame => Some("eh_frame".into()),
        Role::Tls => Some("tls".into()),
    }
}

fn write_sections(out: &mut String, object: &Object) {
    out.push_str("\nSections:\n");
    let mut table = Table::new(&[
        ("#", true),
        ("Name", false),
        ("Kind", false),
        ("Size", true),
        ("Align", true),
        ("Flags", false),
    ]);
    for (i, s) in object.sections.iter().enumerate() {
        let (kind, perms) = class_name(s.class);
        let mut flags = vec![perms.to_string()];
        flags.extend(role_name(s.role));
        if let Some(g) = s.group.and_then(|g| object.groups.get(g)) {
            flags.push(format!("comdat={}", g.signature));
        }
        table.row(vec![
            i.to_string(),
            s.name.to_string(),
            kind.into(),
            format!("{:#x}", s.size),
            s.align.to_string(),
            flags.join(" "),
        ]);
    }
    table.write(out);
}

fn write_symbols(out: &mut String, object: &Object) {
    out.push_str("\nSymbols:\n");
    let mut table = Table::new(&[
        ("#", true),
        ("Value", true),
        ("Size", true),
        ("Type", false),
        ("Bind", false),
        ("Vis", false),
        ("Section", false),
        ("Name", false),
    ]);
    for (i, s) in object.symbols.iter().enumerate().skip(1) {
        let (value, section) = match s.definition {
            Definition::Undefined => (String::new(), "UND".to_string()),
            Definition::Section { section, offset } => (
                format!("{offset:#x}"),
                (object.sections.get(section.0 as usize))
                    .map_or_else(|| format!("#{}", section.0), |s| s.name.to_string()),
            ),
            Definition::Absolute(v) => (format!("{v:#x}"), "ABS".into()),
            Definition::Common { align, .. } => (format!("align {align}"), "COMMON".into()),
        };
        let kind = match s.kind {
            SymbolKind::Function => "func",
            SymbolKind::Data => "data",
            SymbolKind::Section => "section",
            SymbolKind::Tls => "tls",
            SymbolKind::Ifunc => "ifunc",
            SymbolKind::Unknown => "notype",
        };
        let binding = match s.binding {
            Binding::Local => "local",
            Binding::Global => "global",
            Binding::Weak => "weak",
        };
        table.row(vec![
            i.to_string(),
            value,
            s.size.to_string(),
            kind.into(),
            binding.into(),
            (if s.hidden { "hidden" } else { "default" }).into(),
            section,
            (if s.name.is_empty() { "-" } else { s.name }).to_string(),
        ]);
    }
    table.write(out);
}

fn write_relocations(out: &mut String, object: &Object) {
    for s in object.sections.iter().filter(|s| !s.relocs.is_empty()) {
        let _ = writeln!(out, "\nRelocations in {} ({}):", s.name, s.relocs.len());
        let mut table = Table::new(&[
            ("Offset", true),
            ("Kind", false),
            ("Addend", true),
            ("Target", false),
        ]);
        for r in &s.relocs {
            let mut target = object.symbol(r.symbol).name.to_string();
            if let Some(m) = r.minus {
                let _ = write!(target, " - {}", object.symbol(m).name);
            }
            table.row(vec![
                format!("{:#x}", r.offset),
                r.kind.to_string(),
                crate::arch::hex(r.addend),
                target,
            ]);
        }
        table.write(out);
    }
}

/// One member of an archive: its name and bytes (`None`: a thin member not read).
struct Member<'a> {
    name: String,
    bytes: Option<std::borrow::Cow<'a, [u8]>>,
}

fn archive_members<'a>(name: &str, bytes: &'a [u8], dir: Option<&Path>) -> Result<Vec<Member<'a>>> {
    let malformed = |reason: String| Error::malformed(Location::object(name), reason);
    let archive = ArchiveFile::parse(bytes).map_err(|e| malformed(e.to_string()))?;
    let mut members = Vec::new();
    for member in archive.members() {
        let member = member.map_err(|e| malformed(e.to_string()))?;
        let member_name = String::from_utf8_lossy(member.name()).into_owned();
        let bytes = if member.is_thin() {
            match dir {
                Some(dir) => {
                    let map = map_input(&dir.join(&member_name))?;
                    Some(std::borrow::Cow::Owned(map.to_vec()))
                }
                None => None,
            }
        } else {
            let data = member.data(bytes).map_err(|e| malformed(e.to_string()))?;
            Some(std::borrow::Cow::Borrowed(data))
        };
        members.push(Member {
            name: member_name,
            bytes,
        });
    }
    Ok(members)
}

fn write_archive(
    out: &mut String,
    name: &str,
    bytes: &[u8],
    dir: Option<&Path>,
    which: &ArchiveMembers,
) -> Result<()> {
    let members = archive_members(name, bytes, dir)?;
    let _ = writeln!(out, "{name}: archive, {} members", members.len());
    out.push_str("\nMembers:\n");
    let mut table = Table::new(&[
        ("#", true),
        ("Size", true),
        ("Object", false),
        ("Sections", true),
        ("Symbols", true),
        ("Defined", true),
        ("Relocations", true),
        ("Name", false),
    ]);
    let (mut shown, mut notes) = (Vec::new(), Vec::new());
    for (i, m) in members.iter().enumerate() {
        let member_name = format!("{name}({})", m.name);
        let Some(bytes) = &m.bytes else {
            let mut row = vec![String::new(); 8];
            (row[0], row[2], row[7]) = (i.to_string(), "thin, not read".into(), m.name.clone());
            table.row(row);
            continue;
        };
        let copy = crate::input::Aligned::if_needed(bytes);
        let bytes = copy
            .as_ref()
            .map_or(&bytes[..], crate::input::Aligned::as_slice);
        let object = match crate::input::parse(&member_name, bytes) {
            Ok(object) => object,
            // One unreadable member does not hide the others: a row, and the
            // error under the table (an error if its tables were asked for).
            Err(e) if !wants(which, &m.name) => {
                let mut row = vec![String::new(); 8];
                (row[0], row[1]) = (i.to_string(), bytes.len().to_string());
                (row[2], row[7]) = ("unreadable".into(), m.name.clone());
                table.row(row);
                notes.push(format!("  #{i} {e}"));
                continue;
            }
            Err(e) => return Err(e),
        };
        let defined = (object.symbols.iter())
            .filter(|s| s.binding != Binding::Local && s.is_defined())
            .count();
        let relocs: usize = object.sections.iter().map(|s| s.relocs.len()).sum();
        table.row(vec![
            i.to_string(),
            bytes.len().to_string(),
            object.arch.to_string(),
            object.sections.len().to_string(),
            object.symbols.len().saturating_sub(1).to_string(),
            defined.to_string(),
            relocs.to_string(),
            m.name.clone(),
        ]);
        if wants(which, &m.name) {
            let mut text = String::from("\n");
            write_object(&mut text, &member_name, &object);
            shown.push(text);
        }
    }
    table.write(out);
    if !notes.is_empty() {
        out.push_str("\nUnreadable members:\n");
        out.push_str(&notes.join("\n"));
        out.push('\n');
    }
    if let ArchiveMembers::Named(names) = which {
        if let Some(missing) = names
            .iter()
            .find(|n| !members.iter().any(|m| m.name == **n))
        {
            let reason = format!("no member named `{missing}`");
            let e = std::io::Error::new(std::io::ErrorKind::NotFound, reason);
            return Err(Error::io(name, e));
        }
    }
    for text in shown {
        out.push_str(&text);
    }
    Ok(())
}

fn wants(which: &ArchiveMembers, member: &str) -> bool {
    match which {
        ArchiveMembers::Summary => false,
        ArchiveMembers::Named(names) => names.iter().any(|n| n == member),
        ArchiveMembers::All => true,
    }
}
