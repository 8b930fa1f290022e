// R_AARCH64_ABS16 against an external symbol the test defines far away.
        .data
        .globl  narrow
narrow: .hword  far_away
