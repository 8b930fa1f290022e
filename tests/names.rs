//! Global names within one object. Binding an object's names takes a fast path
//! when no two of its global symbols share a name (`Facts::distinct_names`,
//! worked out where the object is read) and the general one, which keeps the
//! first symbol's definition of a name and one reference per name, otherwise.
//! Compilers never emit two global symbols of one name, so the second object
//! here is made by hand: the object of the first test, assembled with `llvm-mc`,
//! with the symbol `second` renamed `first` (its name pointed at `first`'s).

mod common;

use std::path::{Path, PathBuf};

use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::{elf, LittleEndian as LE};
use relink::Linker;

/// `first` returns 7, `second` 9; `call_second` tail-calls `second` and `ptr`
/// holds its address: both through relocations against the symbol `second`.
fn source() -> &'static str {
    match common::arch() {
        "x86_64" => {
            ".text\n.globl first\n.type first,@function\nfirst:\n movl $7, %eax\n ret\n\
             .globl second\n.type second,@function\nsecond:\n movl $9, %eax\n ret\n\
             .globl call_second\n.type call_second,@function\ncall_second:\n jmp second@PLT\n\
             .data\n.globl ptr\n.p2align 3\nptr:\n .quad second\n"
        }
        _ => {
            ".text\n.globl first\n.type first,@function\nfirst:\n mov w0, #7\n ret\n\
             .globl second\n.type second,@function\nsecond:\n mov w0, #9\n ret\n\
             .globl call_second\n.type call_second,@function\ncall_second:\n b second\n\
             .data\n.globl ptr\n.p2align 3\nptr:\n .quad second\n"
        }
    }
}

/// The object with `second`'s name pointed at `first`'s: two global symbols
/// named `first`, the one at `first`'s code before the one at `second`'s.
fn renamed(bytes: &[u8]) -> Vec<u8> {
    let header = elf::FileHeader64::<LE>::parse(bytes).unwrap();
    let sections = header.sections(LE, bytes).unwrap();
    let (index, symtab) = (sections.iter().enumerate())
        .find(|(_, s)| s.sh_type(LE) == elf::SHT_SYMTAB)
        .expect("a symbol table");
    let symbols = sections
        .symbol_table_by_index(LE, bytes, object::SectionIndex(index))
        .unwrap();
    let name_of = |wanted: &[u8]| {
        (symbols.iter().enumerate())
            .find(|(_, s)| symbols.symbol_name(LE, *s).unwrap() == wanted)
            .map(|(i, s)| (i, s.st_name(LE)))
            .unwrap()
    };
    let ((first, first_name), (second, _)) = (name_of(b"first"), name_of(b"second"));
    assert!(first < second, "llvm-mc put `first` before `second`");
    let entry = symtab.sh_offset(LE) as usize + second * std::mem::size_of::<elf::Sym64<LE>>();
    let mut out = bytes.to_vec();
    // st_name is an entry's first field.
    out[entry..entry + 4].copy_from_slice(&first_name.to_le_bytes());
    out
}

/// What `first`, `call_second` and the function `ptr` points to return.
fn results(linker: &mut Linker) -> [i32; 3] {
    type F = extern "C" fn() -> i32;
    // SAFETY: all three are `int (void)` functions; `ptr` holds a function's address.
    unsafe {
        let first = linker.function::<F>("first").unwrap();
        let call_second = linker.function::<F>("call_second").unwrap();
        let ptr = *(linker.address("ptr").unwrap() as *const F);
        [first(), call_second(), ptr()]
    }
}

fn dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("names-{}", common::arch()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_object_with_distinct_names_binds_each_symbol_to_its_own_definition() {
    let bytes = std::fs::read(common::assemble(&dir(), "distinct.o", source())).unwrap();
    let mut linker = Linker::new().unwrap();
    linker.load_bytes("names.o", &bytes).unwrap();
    assert_eq!(results(&mut linker), [7, 9, 9]);
}

#[test]
fn two_symbols_of_one_name_bind_to_the_first_ones_definition() {
    let bytes = renamed(&std::fs::read(common::assemble(&dir(), "renamed.o", source())).unwrap());
    let mut linker = Linker::new().unwrap();
    linker.load_bytes("renamed.o", &bytes).unwrap();
    // The references against the second symbol named `first` reach the first
    // symbol's code, as any reference to `first` does.
    assert_eq!(results(&mut linker), [7, 7, 7]);
    assert!(
        linker.address("second").is_err(),
        "no symbol is named `second`"
    );
}
