# Absolute (SHN_ABS) symbols for relocs.s: the R_X86_64_16 / R_X86_64_8
# references there are to these undefined-in-relocs.o symbols, so the linker
# must resolve them across objects to plain numbers, not addresses.
        .globl  ABS_SMALL16
        .set    ABS_SMALL16, 0x1234
        .globl  ABS_SMALL8
        .set    ABS_SMALL8, 0x5a
        .section .note.GNU-stack,"",@progbits
