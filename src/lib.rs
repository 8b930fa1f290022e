#![deny(unsafe_op_in_unsafe_fn)]
// Errors are the cold path, and their variants are flat and structured on
// purpose (object, section, offset, symbol): boxing them would only make matching
// on them clumsier.
#![allow(clippy::result_large_err)]
pub mod arch;
pub mod error;
pub mod input;
mod linker;
mod load;
pub mod memory;
mod placement;
mod runtime;
pub mod symbols;
mod unload;

pub use error::{Error, Result};
pub use linker::{Linker, LinkerOptions, ObjectId, Stats};
pub use memory::Placement;
