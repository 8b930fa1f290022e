# R_X86_64_8 against an external symbol the test defines far away.
        .data
        .globl  narrow
narrow: .byte   far_away
        .byte   0
