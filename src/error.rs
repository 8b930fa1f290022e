//! `relink::Error`: every failure says what happened, where (object, section,
//! offset, symbol) and why.

use std::fmt;
use std::path::PathBuf;

use crate::arch::{FixupError, RelocKind};

/// A place in an object: `a.o: .text+0x1c`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Location {
    pub object: String,
    pub section: Option<String>,
    pub offset: Option<u64>,
}

impl Location {
    pub fn object(object: &str) -> Location {
        Location {
            object: object.to_string(),
            ..Location::default()
        }
    }

    pub fn at(object: &str, section: &str, offset: u64) -> Location {
        Location {
            object: object.to_string(),
            section: Some(section.to_string()),
            offset: Some(offset),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.object)?;
        match (&self.section, self.offset) {
            (Some(s), Some(o)) => write!(f, ": {s}+{o:#x}"),
            (Some(s), None) => write!(f, ": {s}"),
            (None, Some(o)) => write!(f, ": offset {o:#x}"),
            (None, None) => Ok(()),
        }
    }
}

/// One unresolved symbol and the objects that refer to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub symbol: String,
    pub needed_by: Vec<String>,
    /// Where a known shared library defines it and how to load that, if so
    /// (`in libm.so.6: add `-l m``).
    pub hint: Option<String>,
}

/// Everything that can go wrong in relink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{at}: malformed object: {reason}")]
    Malformed { at: Location, reason: String },

    /// An archive (`ar`) whose structure is broken: its header, a member header,
    /// its symbol table, or a thin archive's member file.
    #[error("{archive}{}: malformed archive: {reason}", archive_place(.member, .offset))]
    MalformedArchive {
        archive: String,
        member: Option<String>,
        /// Offset of the member header (or table) in the archive, when known.
        offset: Option<u64>,
        reason: String,
    },

    #[error("{at}: unsupported relocation {r_type} against `{symbol}`{}", hint_suffix(.hint))]
    UnsupportedRelocation {
        at: Location,
        r_type: String,
        symbol: String,
        hint: Option<&'static str>,
    },

    #[error("{at}: unsupported: {what}")]
    Unsupported { at: Location, what: String },

    #[error("{at}: {kind} to `{symbol}`: {problem}")]
    Fixup {
        at: Location,
        kind: RelocKind,
        symbol: String,
        problem: FixupError,
    },

    #[error("{}", format_undefined(.symbols))]
    Undefined { symbols: Vec<Unresolved> },

    #[error("duplicate symbol `{symbol}`: defined in {first} and in {second}")]
    Duplicate {
        symbol: String,
        first: String,
        second: String,
    },

    #[error("{object}: built for {found}, but this process runs {expected}")]
    WrongArch {
        object: String,
        found: String,
        expected: String,
    },

    #[error("placement: {0}")]
    Placement(String),

    #[error("memory: {what}: {source}")]
    Memory {
        what: String,
        #[source]
        source: std::io::Error,
    },

    #[error("memory: {0}")]
    Exhausted(String),

    #[error("no symbol `{0}` is defined by any loaded object, the host or the process")]
    NotFound(String),

    #[error("nothing is loaded yet (memory is reserved at the first load)")]
    NothingLoaded,

    #[error("`{symbol}`: {reason}")]
    BadLookup { symbol: String, reason: String },

    #[error("cannot load library `{name}`: {reason}")]
    Library { name: String, reason: String },

    /// A new version that would leave names undefined (see
    /// `ReplaceOptions::allow_undefined`); nothing changed.
    #[error(
        "{object}: the new version would leave {}\n  (nothing changed; ReplaceOptions::allow_undefined lets it through with trap stubs)",
        format_undefined(.symbols)
    )]
    ReplaceUndefined {
        object: String,
        symbols: Vec<Unresolved>,
    },

    #[error("{object} is still in use: {}", format_users(.symbols))]
    InUse {
        object: String,
        symbols: Vec<Unresolved>,
    },

    /// A failure injected by a test hook.
    #[doc(hidden)]
    #[error("injected failure after the {0} stage")]
    Injected(String),

    #[error("executor: {0}")]
    Executor(String),

    #[error("{0}")]
    ExecutorEnded(Ended),

    #[error("no loaded object has id {0}")]
    UnknownObject(u64),
}

/// relink's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn hint_suffix(hint: &Option<&'static str>) -> String {
    hint.map(|h| format!(" ({h})")).unwrap_or_default()
}

fn archive_place(member: &Option<String>, offset: &Option<u64>) -> String {
    let member = member
        .as_ref()
        .map(|m| format!("({m})"))
        .unwrap_or_default();
    let offset = offset
        .map(|o| format!(" at offset {o:#x}"))
        .unwrap_or_default();
    format!("{member}{offset}")
}

fn format_users(symbols: &[Unresolved]) -> String {
    let parts: Vec<String> = symbols
        .iter()
        .map(|u| format!("`{}` is used by {}", u.symbol, u.needed_by.join(", ")))
        .collect();
    parts.join("; ")
}

fn format_undefined(symbols: &[Unresolved]) -> String {
    let mut s = format!("{} undefined symbol(s):", symbols.len());
    for u in symbols {
        s.push_str(&format!(
            "\n  `{}`, needed by {}",
            u.symbol,
            u.needed_by.join(", ")
        ));
    }
    // One line per library that defines some of them.
    let mut hints: Vec<&str> = symbols.iter().filter_map(|u| u.hint.as_deref()).collect();
    hints.sort_unstable();
    hints.dedup();
    for hint in hints {
        let names: Vec<String> = (symbols.iter())
            .filter(|u| u.hint.as_deref() == Some(hint))
            .map(|u| format!("`{}`", u.symbol))
            .collect();
        let (shown, more) = names.split_at(names.len().min(3));
        let listed = match (shown, more.len()) {
            ([one], 0) => format!("{one} is"),
            (_, 0) => format!("{} are", shown.join(", ")),
            (_, n) => format!("{} and {n} more are", shown.join(", ")),
        };
        s.push_str(&format!("\n  {listed} {hint}"));
    }
    if symbols.iter().any(|u| u.symbol.starts_with("__aarch64_")) {
        // gcc/clang's outline atomics (`-moutline-atomics`, AArch64's default).
        s.push_str(
            "\n  (`__aarch64_*` are libgcc's outline atomics, only in the static libgcc.a: \
             pass it as an input, e.g. `$(gcc -print-libgcc-file-name)`)",
        );
    }
    s
}

impl Error {
    pub(crate) fn malformed(at: Location, reason: impl Into<String>) -> Error {
        Error::Malformed {
            at,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The last OS error, for a failed system call.
    pub(crate) fn os(what: impl Into<String>) -> Error {
        Error::Memory {
            what: what.into(),
            source: std::io::Error::last_os_error(),
        }
    }
}

/// How the executor ended: the report it sent, if any, and its status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ended {
    /// Signal that killed it, or `None` if it exited.
    pub signal: Option<i32>,
    /// Exit status if it exited.
    pub status: Option<i32>,
    /// A fault in loaded code: `(signal, faulting address, program counter)`.
    pub fault: Option<(i32, u64, u64)>,
    /// A call through a trap stub: the slot's address.
    pub trap: Option<u64>,
    /// The report in words, with the linker's names for the addresses
    /// (`Linker` fills it in).
    pub described: Option<String>,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.signal, self.status) {
            (Some(s), _) => write!(
                f,
                "the executor was killed by signal {s} ({})",
                signal_name(s)
            ),
            (None, Some(c)) => write!(f, "the executor exited with status {c}"),
            _ => write!(f, "the executor closed its end"),
        }?;
        if let Some(d) = &self.described {
            write!(f, ": {d}")?;
        } else if let Some((s, address, pc)) = self.fault {
            write!(
                f,
                ": {} at pc {pc:#x} (address {address:#x})",
                signal_name(s)
            )?;
        } else if let Some(slot) = self.trap {
            write!(f, ": a call through the trap stub of slot {slot:#x}")?;
        }
        Ok(())
    }
}

/// `SIGSEGV` and the others by name.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}
