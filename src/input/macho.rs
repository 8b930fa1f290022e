//! Mach-O 64-bit relocatable objects (`MH_OBJECT`, x86_64 and arm64).
//! (Being written: see issue 4.)

use super::Object;
use crate::error::{Error, Location, Result};

/// Parses a Mach-O relocatable object.
pub fn parse<'a>(name: &str, _bytes: &'a [u8]) -> Result<Object<'a>> {
    Err(Error::Unsupported {
        at: Location::object(name),
        what: "Mach-O objects are not supported yet".into(),
    })
}
