//! relink loads relocatable object files (`.o`, and `.a` archives of them) into the
//! running process, links them in memory and runs them — and can unload one object,
//! or replace it, without relinking the others.
//!
//! ```
//! # fn main() -> Result<(), relink::Error> {
//! let dir = format!("{}/testdata/obj/{}/api", env!("CARGO_MANIFEST_DIR"), std::env::consts::ARCH);
//! let mut linker = relink::Linker::new()?;
//! linker.load_file(format!("{dir}/math.o"))?;
//! let add: extern "C" fn(i32, i32) -> i32 = unsafe { linker.function("add")? };
//! assert_eq!(add(2, 3), 5);
//!
//! // Data is shared: the host sees and changes what loaded code sees.
//! let counter = linker.address("counter")? as *mut i32;
//! let bump: extern "C" fn() -> i32 = unsafe { linker.function("bump")? };
//! assert_eq!(bump(), unsafe { *counter });
//!
//! // The host can provide symbols that loaded code calls.
//! extern "C" fn host_add(a: i32, b: i32) -> i32 { a * 10 + b }
//! linker.define("host_add", host_add as *const u8)?;
//! # Ok(())
//! # }
//! ```
//!
//! The pipeline (`ARCHITECTURE.md` has the whole map): `input/` parses ELF and
//! Mach-O into a format-neutral object; `link/` runs it through one file per
//! stage — prepare, layout, resolve, fixup, commit, finalize — over narrow
//! borrows of the symbol table (`symbols/`) and the memory space (`memory/`,
//! the target boundary); `arch/` encodes each relocation kind; `runtime/`
//! registers unwind tables, the GDB JIT interface and perf maps with the
//! process. [`Linker`] owns the state and sequences the stages; the `relink`
//! command-line loader only calls it.

#![deny(unsafe_op_in_unsafe_fn)]
// Errors are the cold path, and their variants are flat and structured on
// purpose (object, section, offset, symbol): boxing them would only make matching
// on them clumsier.
#![allow(clippy::result_large_err)]
// The library's modules are private; the `testing` feature (integration tests,
// benches, the fuzz crate) makes the ones they reach into public. Not a stable
// API.
macro_rules! internal {
    ($($name:ident),*) => {$(
        #[cfg(feature = "testing")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "testing"))]
        mod $name;
    )*};
}
internal!(arch, input, memory, runtime, symbols);

mod capi;
mod describe;
mod error;
mod executor;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzz;
mod link;
mod linker;

pub use arch::RelocKind;
pub use describe::{describe, describe_file, describe_with, map_input, ArchiveMembers};
pub use error::{Error, Location, Result, Unresolved};
/// Serves a linker on standard input (`relink executor`; README, "Executors"):
/// runs until the linker closes its end, and returns the exit status.
pub use executor::serve as serve_executor;
pub use link::replace::{Note, ReplaceOptions, ReplaceReport};
#[cfg(feature = "testing")]
pub use linker::Stage;
pub use linker::{Executor, Exit, FnPtr, Linker, LinkerOptions, MemoryStats, Stats};
pub use memory::copies::{all as process_copies, Copy as ProcessCopy};
pub use memory::Placement;
pub use runtime::perf::jitdump_path;
pub use runtime::{Registrations, Symbolized};
pub use symbols::ObjectId;

/// Static archives: what [`Linker::load_archive`] reads.
pub mod archive {
    pub use crate::linker::archive::is_archive;
}
