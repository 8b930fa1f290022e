//! The records of an unwind section — ELF `.eh_frame`, Mach-O `__eh_frame` —
//! walked in one place: each record's length (32-bit DWARF only), where it
//! ends, whether it is a CIE or an FDE, and which CIE an FDE's pointer names.
//! What a record says is its reader's business: the Mach-O reader adds the
//! pointers the assembler left without relocations (`macho.rs`), the runtime
//! validates sections before the unwinder sees them (`runtime/unwind.rs`).
//!
//! A section is a sequence of records, each
//! `length: u32, id: u32, body: [u8; length - 4]`; `id` is 0 for a CIE, and
//! for an FDE the distance back from the `id` field to its CIE. A zero length
//! ends the section (the terminator libgcc's `__register_frame` and `gimli`
//! stop at); a length of `0xffff_ffff` announces a 64-bit DWARF record, which
//! libgcc does not read: refused.

/// Why a section's records cannot be walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bad {
    /// A 64-bit DWARF record.
    Dwarf64,
    /// A record (or its length field) runs past the section, or is too short
    /// for its id.
    PastEnd,
    /// An FDE's CIE pointer names no CIE before it.
    NoCie,
}

/// A record the walk refuses: the offset of its length field, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadRecord {
    pub offset: usize,
    pub why: Bad,
}

impl BadRecord {
    /// What is wrong, for an error message.
    pub(crate) fn reason(self) -> &'static str {
        match self.why {
            Bad::Dwarf64 => "a 64-bit DWARF unwind record",
            Bad::PastEnd => "unwind record runs past the section",
            Bad::NoCie => "FDE names no CIE before it",
        }
    }
}

/// Why a walk stopped early.
#[derive(Debug)]
pub(crate) enum Stop<E> {
    /// The walk refused a record.
    Record(BadRecord),
    /// A callback returned an error.
    Callback(E),
}

/// Walks `bytes`' records in order. `cie` gets each CIE (the offset of its
/// length field, and its body: from the version byte to its end) and returns
/// what its FDEs need of it; `fde` gets each FDE (offset, body: from the
/// initial location to its end) with that value for its CIE.
#[inline]
pub(crate) fn walk<'b, C, E>(
    bytes: &'b [u8],
    mut cie: impl FnMut(usize, &'b [u8]) -> Result<C, E>,
    mut fde: impl FnMut(usize, &'b [u8], &C) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    // Objects have one CIE or a few, each before the FDEs that use it.
    let mut cies: Vec<(usize, C)> = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let bad = |why| Stop::Record(BadRecord { offset, why });
        let (id, body) = match record(bytes, offset) {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(why) => return Err(bad(why)),
        };
        if id == 0 {
            cies.push((offset, cie(offset, body).map_err(Stop::Callback)?));
        } else {
            let at = (offset + 4).checked_sub(id as usize);
            let Some((_, c)) = cies.iter().rev().find(|(o, _)| Some(*o) == at) else {
                return Err(bad(Bad::NoCie));
            };
            fde(offset, body, c).map_err(Stop::Callback)?;
        }
        offset += 8 + body.len();
    }
    Ok(())
}

/// The id and body of the record at `offset`; `None` at a terminator.
#[inline]
fn record(bytes: &[u8], offset: usize) -> Result<Option<(u32, &[u8])>, Bad> {
    let length = read_u32(bytes, offset).ok_or(Bad::PastEnd)?;
    match length {
        0 => return Ok(None),
        u32::MAX => return Err(Bad::Dwarf64),
        _ => {}
    }
    let end = (offset + 4)
        .checked_add(length as usize)
        .ok_or(Bad::PastEnd)?;
    let body = bytes.get(offset + 8..end).ok_or(Bad::PastEnd)?;
    let id = read_u32(bytes, offset + 4).ok_or(Bad::PastEnd)?;
    Ok(Some((id, body)))
}

/// The little-endian `u32` at `at`, if it is inside `bytes`.
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record: length, id, body.
    fn record(id: u32, body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32 + 4).to_le_bytes().to_vec();
        out.extend(id.to_le_bytes());
        out.extend(body);
        out
    }

    /// One call of a callback: ("cie"|"fde", offset, body length, CIE tag).
    type Call = (&'static str, usize, usize, u8);

    /// The walk's calls, in order, and the record it refused.
    fn calls(bytes: &[u8]) -> (Vec<Call>, Option<BadRecord>) {
        let mut seen = Vec::new();
        let mut fdes = Vec::new();
        let result = walk::<u8, ()>(
            bytes,
            |offset, body| {
                seen.push(("cie", offset, body.len(), body[0]));
                Ok(body[0])
            },
            |offset, body, tag| {
                fdes.push(("fde", offset, body.len(), *tag));
                Ok(())
            },
        );
        seen.extend(fdes);
        seen.sort_by_key(|c| c.1);
        let bad = match result {
            Ok(()) => None,
            Err(Stop::Record(bad)) => Some(bad),
            Err(Stop::Callback(())) => unreachable!(),
        };
        (seen, bad)
    }

    #[test]
    fn fdes_get_the_cie_their_pointer_names() {
        // A pointer is the distance back from the FDE's id field (offset + 4).
        let mut bytes = record(0, &[1, 0, 0, 0]); // CIE tagged 1 at 0
        bytes.extend(record(16, &[0; 8])); // FDE at 12 -> 0
        bytes.extend(record(0, &[2, 0, 0, 0])); // CIE tagged 2 at 28
        bytes.extend(record(44, &[0; 4])); // FDE at 40 -> 0
        bytes.extend(record(28, &[0; 4])); // FDE at 52 -> 28
        bytes.extend(record(24, &[0; 4])); // FDE at 64 -> 44: no CIE there
        let (seen, bad) = calls(&bytes);
        assert_eq!(
            seen,
            [
                ("cie", 0, 4, 1),
                ("fde", 12, 8, 1),
                ("cie", 28, 4, 2),
                ("fde", 40, 4, 1),
                ("fde", 52, 4, 2),
            ]
        );
        let why = Bad::NoCie;
        assert_eq!(bad, Some(BadRecord { offset: 64, why }));
    }

    #[test]
    fn a_zero_length_ends_the_walk() {
        let mut bytes = record(0, &[1, 0, 0, 0]);
        bytes.extend([0; 4]);
        bytes.extend([0xff; 12]); // not read
        assert_eq!(calls(&bytes), (vec![("cie", 0, 4, 1)], None));
    }

    #[test]
    fn refused_records() {
        let cie = record(0, &[1, 0, 0, 0]);
        let with = |tail: &[u8]| [&cie[..], tail].concat();
        let bad = |offset, why| Some(BadRecord { offset, why });
        let cases: [(Vec<u8>, Option<BadRecord>); 6] = [
            (with(&[0xff; 4]), bad(12, Bad::Dwarf64)),
            (with(&[8, 0, 0, 0, 0, 0, 0, 0]), bad(12, Bad::PastEnd)),
            (with(&[2, 0, 0, 0, 0, 0]), bad(12, Bad::PastEnd)), // shorter than its id
            (with(&[4, 0]), bad(12, Bad::PastEnd)),             // a partial length
            (with(&record(20, &[])), bad(12, Bad::NoCie)),      // before the section
            (with(&record(8, &[])), bad(12, Bad::NoCie)),       // not at a CIE
        ];
        for (bytes, want) in cases {
            assert_eq!(calls(&bytes).1, want, "{bytes:x?}");
        }
    }

    #[test]
    fn callback_errors_stop_the_walk() {
        let mut bytes = record(0, &[1]); // 9 bytes
        bytes.extend(record(13, &[])); // FDE at 9: pointer 13 -> 0
        bytes.extend(record(0, &[2]));
        let mut cies = 0;
        let result = walk(
            &bytes,
            |_, _| {
                cies += 1;
                Ok(())
            },
            |offset, _, _| Err(offset),
        );
        assert!(matches!(result, Err(Stop::Callback(9))));
        assert_eq!(cies, 1);
    }
}
