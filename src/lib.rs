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
//! The pipeline, one module per stage: [`input`] (parse ELF into a format-neutral
//! [`input::Object`]) → layout ([`memory`]) → resolve ([`symbols`]) → fixup
//! ([`arch`]) → finalize (protect, constructors, and [`runtime`]: unwind tables
//! registered with the process's unwinder, the GDB JIT interface, perf maps).
//! See `DESIGN` in the README.

#![deny(unsafe_op_in_unsafe_fn)]
// Errors are the cold path, and their variants are flat and structured on
// purpose (object, section, offset, symbol): boxing them would only make matching
// on them clumsier.
#![allow(clippy::result_large_err)]
pub mod arch;
pub mod archive;
mod batch;
mod capi;
mod comdat;
pub mod error;
pub mod fuzz;
mod ifunc;
pub mod input;
mod linker;
pub(crate) mod load;
pub mod memory;
mod placement;
pub mod runtime;
pub mod symbols;
pub(crate) mod tls;
mod unload;

pub use error::{Error, Result};
pub use linker::{Linker, LinkerOptions, MemoryStats, ObjectId, ReplaceOptions, Stage, Stats};
pub use memory::Placement;
pub use runtime::{Registrations, Symbolized};
