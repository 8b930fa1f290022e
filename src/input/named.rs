//! An object's named code: its functions as its symbol table gives them, for
//! symbolizing and perf maps.

use super::{Class, Definition, Object, SectionId, SymbolKind};

/// An object's named code as its symbol table gives it, worked out from the
/// object alone (`Object::named_code`: on a batch's reading thread). Sizes
/// come from the symbol table; where it has none (Mach-O), from the next
/// symbol in the section.
#[derive(Debug, Default)]
pub struct NamedCode {
    pub(crate) names: String,
    /// `(section, offset, size, end of the name in `names`)`, sorted by section
    /// and offset; a name starts where the previous one ends.
    pub(crate) list: Vec<(SectionId, u64, u64, usize)>,
}

impl NamedCode {
    pub(crate) fn of(object: &Object) -> NamedCode {
        let mut starts: Vec<(SectionId, u64, &str, u64)> = object
            .symbols
            .iter()
            .filter(|s| !s.name.is_empty() && s.kind != SymbolKind::Section)
            .filter(|s| !is_mapping_symbol(s.name))
            .filter_map(|s| match s.definition {
                Definition::Section { section, offset }
                    if object.section(section).class == Class::Code =>
                {
                    Some((section, offset, s.name, s.size))
                }
                _ => None,
            })
            .collect();
        starts.sort_by_key(|(s, o, _, _)| (*s, *o));
        let mut names = String::with_capacity(starts.iter().map(|f| f.2.len()).sum());
        let mut list = Vec::with_capacity(starts.len());
        for (i, &(section, offset, name, size)) in starts.iter().enumerate() {
            let end = starts
                .get(i + 1)
                .filter(|n| n.0 == section && n.1 > offset)
                .map_or(object.section(section).size, |n| n.1);
            let size = if size > 0 {
                size
            } else {
                end.saturating_sub(offset)
            };
            if size > 0 {
                names.push_str(name);
                list.push((section, offset, size, names.len()));
            }
        }
        NamedCode { names, list }
    }
}

/// AArch64 ELF mapping symbols (`$x`, `$d`, `$x.N`, `$d.N`: AAELF64 5.7) mark
/// where code or data starts; they are not functions, and one sits at the start
/// of the first function of every section.
fn is_mapping_symbol(name: &str) -> bool {
    // The part before the first dot is `$x` or `$d`; read without scanning the
    // name (every symbol of every object is asked).
    matches!(
        name.as_bytes(),
        [b'$', b'x' | b'd'] | [b'$', b'x' | b'd', b'.', ..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn mapping_symbols_are_dollar_x_or_d_with_an_optional_dotted_suffix() {
        for name in ["$x", "$d", "$x.0", "$d.17", "$x."] {
            assert!(super::is_mapping_symbol(name), "{name}");
        }
        for name in ["", "$", "$t", "$x0", "$dx", "x", "$a.1", ".L$x", "f$x", "$xd.1"] {
            assert!(!super::is_mapping_symbol(name), "{name}");
        }
    }
}
