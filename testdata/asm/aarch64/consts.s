// Absolute (SHN_ABS) symbols for relocs.s: its R_AARCH64_ABS32/ABS16 data and
// its MOVW_UABS_G0/G1 and MOVW_SABS_G0/G1/G2 instructions refer to these
// undefined-in-relocs.o symbols, so the linker must resolve them across
// objects to plain numbers, not addresses. Assemble with:
//   llvm-mc -filetype=obj -triple=aarch64-linux-gnu consts.s -o consts.o
        .globl  ABS_NEG16
        .set    ABS_NEG16, -0x1234
        .globl  ABS_POS16
        .set    ABS_POS16, 0xfedc
        .globl  ABS_NEG32
        .set    ABS_NEG32, -0x12345678
        .globl  ABS_POS32
        .set    ABS_POS32, 0xfedcba98
        .globl  ABS_NEG48
        .set    ABS_NEG48, -0x123456789abc
        .globl  ABS_POS48
        .set    ABS_POS48, 0xfedcba987654
        .section .note.GNU-stack,"",@progbits
