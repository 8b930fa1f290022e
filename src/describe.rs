//! What an object holds, for people (`relink info`): its sections, symbols and
//! relocations as the readers see them.

use std::fmt::Write as _;

use crate::error::Result;
use crate::input::Object;

/// Describes the object `bytes` (named `name` in messages): sections, symbols,
/// and relocations with their kinds and targets.
pub fn describe(name: &str, bytes: &[u8]) -> Result<String> {
    let copy = crate::input::Aligned::if_needed(bytes);
    let bytes = copy.as_ref().map_or(bytes, crate::input::Aligned::as_slice);
    let object = crate::input::parse(name, bytes)?;
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_object(&mut out, name, &object);
    Ok(out)
}

fn write_object(out: &mut String, name: &str, object: &Object) -> std::fmt::Result {
    writeln!(out, "{name}: {} object", object.arch)?;
    writeln!(out, "sections:")?;
    for (i, s) in object.sections.iter().enumerate() {
        writeln!(
            out,
            "  [{i:2}] {:<24} {:<8} size {:#8x} align {:<5} {:?}{}",
            s.name,
            format!("{:?}", s.class),
            s.size,
            s.align,
            s.role,
            s.group.map_or(String::new(), |g| format!(
                " comdat {}",
                object.groups[g].signature
            )),
        )?;
    }
    writeln!(out, "symbols:")?;
    for (i, s) in object.symbols.iter().enumerate().skip(1) {
        writeln!(
            out,
            "  [{i:3}] {:<32} {:<6} {:<8} size {:<6} {:?}{}",
            s.name,
            format!("{:?}", s.binding),
            format!("{:?}", s.kind),
            s.size,
            s.definition,
            if s.hidden { " hidden" } else { "" },
        )?;
    }
    for s in object.sections.iter().filter(|s| !s.relocs.is_empty()) {
        writeln!(out, "relocations in {}:", s.name)?;
        for r in &s.relocs {
            let minus = r
                .minus
                .map_or(String::new(), |m| format!(" - {}", object.symbol(m).name));
            writeln!(
                out,
                "  {:#8x} {:<22} {}{minus} {}{}",
                r.offset,
                r.kind.to_string(),
                object.symbol(r.symbol).name,
                if r.addend < 0 { "" } else { "+" },
                crate::arch::hex(r.addend)
            )?;
        }
    }
    Ok(())
}
