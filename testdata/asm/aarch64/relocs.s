// Every AArch64 ELF relocation relink supports, one C-callable function per
// family. Each returns a value that proves the relocations were computed right
// (see a64asm/main.c for the expected numbers). Assemble with:
//   llvm-mc -filetype=obj -triple=aarch64-linux-gnu relocs.s -o relocs.o
//
// Targets are chosen so that the assembler must leave every offset to the
// linker: local labels in *other* sections (.text.cold, .text.lit, .rodata*,
// .data), the data and functions of main.c (c_value, c_long, c_callback,
// c_twice), and the SHN_ABS symbols of consts.s. Nothing here refers to a
// global function of this object, so no value depends on whether the linker
// routes such references through a stub.
        .text

// ---------------------------------------------------------------- branches

// R_AARCH64_CONDBR19: b.eq, cbz (x), cbnz (w) and b.lt from .text to landing
// pads in .text.cold, and a cbnz from .text.cold back into .text (the other
// sign). Every branch is taken; each pad adds its digit to x0 and returns with
// a b (R_AARCH64_JUMP26, local). returns 0x1111, or 0xbad if a branch fell through.
        .globl  r_condbr19
        .type   r_condbr19,@function
        .p2align 2
r_condbr19:
        mov     x0, #0
        mov     x1, #5
        cmp     x1, #5
        b.eq    .Lcb_eq                 // R_AARCH64_CONDBR19 -> .text.cold
        b       .Lcb_bad
.Lcb_1:
        mov     x2, #0
        cbz     x2, .Lcb_cbz            // R_AARCH64_CONDBR19
        b       .Lcb_bad
.Lcb_2:
        mov     w3, #7
        cbnz    w3, .Lcb_cbnz           // R_AARCH64_CONDBR19
        b       .Lcb_bad
.Lcb_3:
        cmp     x1, #9
        b.lt    .Lcb_lt                 // R_AARCH64_CONDBR19
        b       .Lcb_bad
.Lcb_done:
        ret
.Lcb_bad:
        mov     x0, #0xbad
        ret
        .size   r_condbr19, .-r_condbr19

        .section .text.cold,"ax",@progbits
        .p2align 2
.Lcb_eq:
        add     x0, x0, #0x1
        b       .Lcb_1                  // R_AARCH64_JUMP26 -> .text
.Lcb_cbz:
        add     x0, x0, #0x10
        b       .Lcb_2
.Lcb_cbnz:
        add     x0, x0, #0x100
        b       .Lcb_3
.Lcb_lt:
        add     x0, x0, #0x1000
        cbnz    x0, .Lcb_done           // R_AARCH64_CONDBR19 -> .text
        b       .Lcb_bad
        .text

// R_AARCH64_TSTBR14: tbnz on bit 40 (x form), tbz on bit 3 (w form), and a tbz
// from .text.cold back into .text. returns 0x11, or 0xbad.
        .globl  r_tstbr14
        .type   r_tstbr14,@function
        .p2align 2
r_tstbr14:
        mov     x0, #0
        mov     x1, #0x10000000000      // bit 40
        tbnz    x1, #40, .Ltb_nz        // R_AARCH64_TSTBR14 -> .text.cold
        b       .Ltb_bad
.Ltb_1:
        tbz     w1, #3, .Ltb_z          // R_AARCH64_TSTBR14
        b       .Ltb_bad
.Ltb_done:
        ret
.Ltb_bad:
        mov     x0, #0xbad
        ret
        .size   r_tstbr14, .-r_tstbr14

        .section .text.cold,"ax",@progbits
.Ltb_nz:
        add     x0, x0, #0x1
        b       .Ltb_1                  // R_AARCH64_JUMP26 -> .text
.Ltb_z:
        add     x0, x0, #0x10
        tbz     x0, #8, .Ltb_done       // R_AARCH64_TSTBR14 -> .text (bit 8 of 0x11 is clear)
        b       .Ltb_bad
        .text

// R_AARCH64_CALL26 and R_AARCH64_JUMP26 to functions of main.c:
// bl c_callback(3) = 33, +1, then a tail call b c_twice(34).
// returns 68 = 0x44
        .globl  r_call26
        .type   r_call26,@function
        .p2align 2
r_call26:
        stp     x29, x30, [sp, #-16]!
        mov     x29, sp
        mov     w0, #3
        bl      c_callback              // R_AARCH64_CALL26
        add     w0, w0, #1
        ldp     x29, x30, [sp], #16
        b       c_twice                 // R_AARCH64_JUMP26
        .size   r_call26, .-r_call26

// ---------------------------------------------------------------- PC-relative

// R_AARCH64_LD_PREL_LO19: eight literal loads (ldr x, ldr q, ldr d, ldr w,
// ldrsw, ldr s, ldr x) from .text.lit, each literal contributing 0x19 in its own
// byte. returns 0x1919191919191919
        .globl  r_ld_prel_lo19
        .type   r_ld_prel_lo19,@function
        .p2align 2
r_ld_prel_lo19:
        ldr     x0, .Llit_x             // byte 7
        ldr     q1, .Llit_q             // bytes 6 (low half) and 5 (high half)
        ldr     d2, .Llit_d             // byte 4
        ldr     w3, .Llit_w             // byte 3
        ldrsw   x4, .Llit_sw            // byte 2
        ldr     s5, .Llit_s             // byte 1
        ldr     x6, .Llit_x0            // byte 0
        fmov    x7, d1
        add     x0, x0, x7
        mov     x7, v1.d[1]
        add     x0, x0, x7
        fmov    x7, d2
        add     x0, x0, x7
        add     x0, x0, x3
        add     x0, x0, x4
        fmov    w7, s5
        add     x0, x0, x7
        add     x0, x0, x6
        ret
        .size   r_ld_prel_lo19, .-r_ld_prel_lo19

        .section .text.lit,"ax",@progbits
        .p2align 4
.Llit_q:
        .quad   0x0019000000000000, 0x0000190000000000
.Llit_x:
        .quad   0x1900000000000000
.Llit_d:
        .quad   0x0000001900000000
.Llit_w:
        .word   0x19000000
.Llit_sw:
        .word   0x00190000
.Llit_s:
        .word   0x00001900
        .word   0xeeeeeeee              // filler: .Llit_x0 is 8-aligned
.Llit_x0:
        .quad   0x19
        .text

// R_AARCH64_ADR_PREL_LO21: adr to a .data label, and to label+8.
// returns 0x2100 + 0x21 = 0x2121
        .globl  r_adr_prel_lo21
        .type   r_adr_prel_lo21,@function
        .p2align 2
r_adr_prel_lo21:
        adr     x1, adr_data            // R_AARCH64_ADR_PREL_LO21
        ldr     x0, [x1]
        adr     x2, adr_data+8          // R_AARCH64_ADR_PREL_LO21 (+8)
        ldr     x2, [x2]
        add     x0, x0, x2
        ret
        .size   r_adr_prel_lo21, .-r_adr_prel_lo21

// R_AARCH64_ADR_PREL_PG_HI21 + ADD_ABS_LO12_NC to main.c's c_value, and
// R_AARCH64_ADR_PREL_PG_HI21_NC + ADD_ABS_LO12_NC to this object's .data.
// returns c_value + 0x21000000 = 0x2100600d
        .globl  r_adrp_data
        .type   r_adrp_data,@function
        .p2align 2
r_adrp_data:
        adrp    x1, c_value             // R_AARCH64_ADR_PREL_PG_HI21
        add     x1, x1, :lo12:c_value   // R_AARCH64_ADD_ABS_LO12_NC
        ldrsw   x0, [x1]
        adrp    x2, :pg_hi21_nc:adrp_data       // R_AARCH64_ADR_PREL_PG_HI21_NC
        add     x2, x2, :lo12:adrp_data         // R_AARCH64_ADD_ABS_LO12_NC
        ldr     x2, [x2]
        add     x0, x0, x2
        ret
        .size   r_adrp_data, .-r_adrp_data

// R_AARCH64_ADR_PREL_PG_HI21 + ADD_ABS_LO12_NC to a function of main.c (its
// address, as taking &c_twice in C does), then a tail call through it.
// returns c_twice(21) = 42 = 0x2a
        .globl  r_adrp_func
        .type   r_adrp_func,@function
        .p2align 2
r_adrp_func:
        adrp    x16, c_twice            // R_AARCH64_ADR_PREL_PG_HI21
        add     x16, x16, :lo12:c_twice // R_AARCH64_ADD_ABS_LO12_NC
        mov     w0, #21
        br      x16
        .size   r_adrp_func, .-r_adrp_func

// R_AARCH64_LDST8/16/32/64/128_ABS_LO12_NC: ldrb, ldrh, ldr w, ldr x and ldr q
// from .rodata.ldst (each after its own adrp). The items sit at distinct
// nonzero offsets between 0xee fillers, so a wrongly scaled offset loads a
// filler. The values sum to 0x8128006400321608 ("128 64 32 16 8"; the top bit
// is the high half of the q load).
        .globl  r_ldst
        .type   r_ldst,@function
        .p2align 2
r_ldst:
        adrp    x8, ldst_b
        ldrb    w0, [x8, :lo12:ldst_b]  // R_AARCH64_LDST8_ABS_LO12_NC
        adrp    x8, ldst_h
        ldrh    w1, [x8, :lo12:ldst_h]  // R_AARCH64_LDST16_ABS_LO12_NC
        add     x0, x0, x1
        adrp    x8, ldst_w
        ldr     w1, [x8, :lo12:ldst_w]  // R_AARCH64_LDST32_ABS_LO12_NC
        add     x0, x0, x1
        adrp    x8, ldst_x
        ldr     x1, [x8, :lo12:ldst_x]  // R_AARCH64_LDST64_ABS_LO12_NC
        add     x0, x0, x1
        adrp    x8, ldst_q
        ldr     q0, [x8, :lo12:ldst_q]  // R_AARCH64_LDST128_ABS_LO12_NC
        fmov    x1, d0
        add     x0, x0, x1
        mov     x1, v0.d[1]
        add     x0, x0, x1
        ret
        .size   r_ldst, .-r_ldst

// R_AARCH64_PREL64/PREL32/PREL16 in data: slot + *slot is the target.
// r_prel64: .data -> main.c's c_long (0x0123456789abcdef)
// r_prel32: .data -> .rodata (0x3232)
// r_prel16: .rodata.prel16 -> .rodata (0x1616; within +-32 KiB)
        .globl  r_prel64
        .type   r_prel64,@function
        .p2align 2
r_prel64:
        adrp    x1, prel64_slot
        add     x1, x1, :lo12:prel64_slot
        ldr     x0, [x1]
        add     x0, x0, x1
        ldr     x0, [x0]
        ret
        .size   r_prel64, .-r_prel64

        .globl  r_prel32
        .type   r_prel32,@function
        .p2align 2
r_prel32:
        adrp    x1, prel32_slot
        add     x1, x1, :lo12:prel32_slot
        ldrsw   x0, [x1]
        add     x0, x0, x1
        ldr     x0, [x0]
        ret
        .size   r_prel32, .-r_prel32

        .globl  r_prel16
        .type   r_prel16,@function
        .p2align 2
r_prel16:
        adrp    x1, prel16_slot
        add     x1, x1, :lo12:prel16_slot
        ldrsh   x0, [x1]
        add     x0, x0, x1
        ldr     x0, [x0]
        ret
        .size   r_prel16, .-r_prel16

// R_AARCH64_PLT32 in data (`.word c_callback@PLT - .`): slot + *slot is
// c_callback (or a stub for it); tail-call it. returns c_callback(5) = 55 = 0x37
        .globl  r_plt32
        .type   r_plt32,@function
        .p2align 2
r_plt32:
        adrp    x1, plt32_slot
        add     x1, x1, :lo12:plt32_slot
        ldrsw   x16, [x1]
        add     x16, x16, x1
        mov     w0, #5
        br      x16
        .size   r_plt32, .-r_plt32

// ---------------------------------------------------------------- move wide

// R_AARCH64_MOVW_UABS_G3, G2_NC, G1_NC, G0_NC: the full 64-bit address of
// uabs_data with movz/movk, then the same for uabs_data+8 plus
// 0x1234567800000000, so that the top two groups are not zero wherever the
// data is loaded (the code takes the constant off again).
// returns uabs_data[0] + uabs_data[1] = 0x6400 + 0x64 = 0x6464
        .globl  r_movw_uabs64
        .type   r_movw_uabs64,@function
        .p2align 2
r_movw_uabs64:
        movz    x1, #:abs_g3:uabs_data          // R_AARCH64_MOVW_UABS_G3
        movk    x1, #:abs_g2_nc:uabs_data       // R_AARCH64_MOVW_UABS_G2_NC
        movk    x1, #:abs_g1_nc:uabs_data       // R_AARCH64_MOVW_UABS_G1_NC
        movk    x1, #:abs_g0_nc:uabs_data       // R_AARCH64_MOVW_UABS_G0_NC
        ldr     x0, [x1]
        movz    x1, #:abs_g3:uabs_data+8+0x1234567800000000
        movk    x1, #:abs_g2_nc:uabs_data+8+0x1234567800000000
        movk    x1, #:abs_g1_nc:uabs_data+8+0x1234567800000000
        movk    x1, #:abs_g0_nc:uabs_data+8+0x1234567800000000
        mov     x2, #0x1234000000000000
        movk    x2, #0x5678, lsl #32
        sub     x1, x1, x2
        ldr     x1, [x1]
        add     x0, x0, x1
        ret
        .size   r_movw_uabs64, .-r_movw_uabs64

// R_AARCH64_MOVW_UABS_G2 (checked: the address is below 2^48), G1_NC, G0_NC.
// returns uabs_data[2] = 0x48
        .globl  r_movw_uabs48
        .type   r_movw_uabs48,@function
        .p2align 2
r_movw_uabs48:
        movz    x1, #:abs_g2:uabs_data+16       // R_AARCH64_MOVW_UABS_G2
        movk    x1, #:abs_g1_nc:uabs_data+16    // R_AARCH64_MOVW_UABS_G1_NC
        movk    x1, #:abs_g0_nc:uabs_data+16    // R_AARCH64_MOVW_UABS_G0_NC
        ldr     x0, [x1]
        ret
        .size   r_movw_uabs48, .-r_movw_uabs48

// R_AARCH64_MOVW_UABS_G1 (checked, < 2^32) + G0_NC against ABS_POS32, and
// R_AARCH64_MOVW_UABS_G0 (checked, < 2^16) against ABS_POS16.
// returns (ABS_POS32 << 16) | ABS_POS16 = 0xfedcba98fedc
        .globl  r_movw_uabs_small
        .type   r_movw_uabs_small,@function
        .p2align 2
r_movw_uabs_small:
        movz    x1, #:abs_g1:ABS_POS32          // R_AARCH64_MOVW_UABS_G1
        movk    x1, #:abs_g0_nc:ABS_POS32       // R_AARCH64_MOVW_UABS_G0_NC
        movz    x0, #:abs_g0:ABS_POS16          // R_AARCH64_MOVW_UABS_G0
        orr     x0, x0, x1, lsl #16
        ret
        .size   r_movw_uabs_small, .-r_movw_uabs_small

// R_AARCH64_MOVW_SABS_G0/G1/G2 against negative and positive SHN_ABS symbols.
// The linker must make the instruction MOVN for a negative value and MOVZ for
// a positive one: the negative cases are written as movz and the positive ones
// as movn, so each has to be flipped. Lower groups come from UABS_G1_NC/G0_NC.
// Each returns its symbol's value.
        .globl  r_movw_sabs_g0_neg
        .type   r_movw_sabs_g0_neg,@function
        .p2align 2
r_movw_sabs_g0_neg:
        movz    x0, #:abs_g0_s:ABS_NEG16        // R_AARCH64_MOVW_SABS_G0 (-> MOVN)
        ret
        .size   r_movw_sabs_g0_neg, .-r_movw_sabs_g0_neg

        .globl  r_movw_sabs_g0_pos
        .type   r_movw_sabs_g0_pos,@function
        .p2align 2
r_movw_sabs_g0_pos:
        movn    x0, #:abs_g0_s:ABS_POS16        // R_AARCH64_MOVW_SABS_G0 (-> MOVZ)
        ret
        .size   r_movw_sabs_g0_pos, .-r_movw_sabs_g0_pos

        .globl  r_movw_sabs_g1_neg
        .type   r_movw_sabs_g1_neg,@function
        .p2align 2
r_movw_sabs_g1_neg:
        movz    x0, #:abs_g1_s:ABS_NEG32        // R_AARCH64_MOVW_SABS_G1 (-> MOVN)
        movk    x0, #:abs_g0_nc:ABS_NEG32       // R_AARCH64_MOVW_UABS_G0_NC
        ret
        .size   r_movw_sabs_g1_neg, .-r_movw_sabs_g1_neg

        .globl  r_movw_sabs_g1_pos
        .type   r_movw_sabs_g1_pos,@function
        .p2align 2
r_movw_sabs_g1_pos:
        movn    x0, #:abs_g1_s:ABS_POS32        // R_AARCH64_MOVW_SABS_G1 (-> MOVZ)
        movk    x0, #:abs_g0_nc:ABS_POS32
        ret
        .size   r_movw_sabs_g1_pos, .-r_movw_sabs_g1_pos

        .globl  r_movw_sabs_g2_neg
        .type   r_movw_sabs_g2_neg,@function
        .p2align 2
r_movw_sabs_g2_neg:
        movz    x0, #:abs_g2_s:ABS_NEG48        // R_AARCH64_MOVW_SABS_G2 (-> MOVN)
        movk    x0, #:abs_g1_nc:ABS_NEG48       // R_AARCH64_MOVW_UABS_G1_NC
        movk    x0, #:abs_g0_nc:ABS_NEG48       // R_AARCH64_MOVW_UABS_G0_NC
        ret
        .size   r_movw_sabs_g2_neg, .-r_movw_sabs_g2_neg

        .globl  r_movw_sabs_g2_pos
        .type   r_movw_sabs_g2_pos,@function
        .p2align 2
r_movw_sabs_g2_pos:
        movn    x0, #:abs_g2_s:ABS_POS48        // R_AARCH64_MOVW_SABS_G2 (-> MOVZ)
        movk    x0, #:abs_g1_nc:ABS_POS48
        movk    x0, #:abs_g0_nc:ABS_POS48
        ret
        .size   r_movw_sabs_g2_pos, .-r_movw_sabs_g2_pos

// R_AARCH64_MOVW_PREL_Gn: X = S + A - P, where P is the address of each move
// instruction, so the k-th instruction of a sequence adds 4k to the addend and
// every piece comes from the same X = S + A - (first instruction). adr gives
// that instruction's address; adding X and taking A off again gives S.
// Each function does this twice: towards prel_pos with A = +K (X > 0; written
// as movn, the linker must make it MOVZ) and towards prel_neg with A = -K
// (X < 0; written as movz, the linker must make it MOVN). K is 0x8000 for G0,
// 0x10000000 for G1, 0x1000000000 for G2 and 1 << 60 for G3, so X needs
// exactly the group that is checked. The targets are in .rodata, within
// 32 KiB of the code. Each returns prel_pos + prel_neg = 0x1100 + 0x22 = 0x1122.

// R_AARCH64_MOVW_PREL_G0 (checked: -2^16 <= X < 2^16)
        .globl  r_movw_prel_g0
        .type   r_movw_prel_g0,@function
        .p2align 2
r_movw_prel_g0:
.Lpg0p:
        movn    x0, #:prel_g0:prel_pos+0x8000   // R_AARCH64_MOVW_PREL_G0 (-> MOVZ)
        adr     x1, .Lpg0p
        add     x0, x0, x1
        sub     x0, x0, #0x8, lsl #12
        ldr     x0, [x0]
.Lpg0n:
        movz    x2, #:prel_g0:prel_neg-0x8000   // R_AARCH64_MOVW_PREL_G0 (-> MOVN)
        adr     x1, .Lpg0n
        add     x2, x2, x1
        add     x2, x2, #0x8, lsl #12
        ldr     x2, [x2]
        add     x0, x0, x2
        ret
        .size   r_movw_prel_g0, .-r_movw_prel_g0

// R_AARCH64_MOVW_PREL_G1 (checked: -2^32 <= X < 2^32) + MOVW_PREL_G0_NC
        .globl  r_movw_prel_g1
        .type   r_movw_prel_g1,@function
        .p2align 2
r_movw_prel_g1:
        mov     x3, #0x10000000
.Lpg1p:
        movn    x0, #:prel_g1:prel_pos+0x10000000               // R_AARCH64_MOVW_PREL_G1 (-> MOVZ)
        movk    x0, #:prel_g0_nc:prel_pos+0x10000000+4          // R_AARCH64_MOVW_PREL_G0_NC
        adr     x1, .Lpg1p
        add     x0, x0, x1
        sub     x0, x0, x3
        ldr     x0, [x0]
.Lpg1n:
        movz    x2, #:prel_g1:prel_neg-0x10000000               // R_AARCH64_MOVW_PREL_G1 (-> MOVN)
        movk    x2, #:prel_g0_nc:prel_neg-0x10000000+4
        adr     x1, .Lpg1n
        add     x2, x2, x1
        add     x2, x2, x3
        ldr     x2, [x2]
        add     x0, x0, x2
        ret
        .size   r_movw_prel_g1, .-r_movw_prel_g1

// R_AARCH64_MOVW_PREL_G2 (checked: -2^48 <= X < 2^48) + G1_NC + G0_NC
        .globl  r_movw_prel_g2
        .type   r_movw_prel_g2,@function
        .p2align 2
r_movw_prel_g2:
        mov     x3, #0x1000000000
.Lpg2p:
        movn    x0, #:prel_g2:prel_pos+0x1000000000             // R_AARCH64_MOVW_PREL_G2 (-> MOVZ)
        movk    x0, #:prel_g1_nc:prel_pos+0x1000000000+4        // R_AARCH64_MOVW_PREL_G1_NC
        movk    x0, #:prel_g0_nc:prel_pos+0x1000000000+8        // R_AARCH64_MOVW_PREL_G0_NC
        adr     x1, .Lpg2p
        add     x0, x0, x1
        sub     x0, x0, x3
        ldr     x0, [x0]
.Lpg2n:
        movz    x2, #:prel_g2:prel_neg-0x1000000000             // R_AARCH64_MOVW_PREL_G2 (-> MOVN)
        movk    x2, #:prel_g1_nc:prel_neg-0x1000000000+4
        movk    x2, #:prel_g0_nc:prel_neg-0x1000000000+8
        adr     x1, .Lpg2n
        add     x2, x2, x1
        add     x2, x2, x3
        ldr     x2, [x2]
        add     x0, x0, x2
        ret
        .size   r_movw_prel_g2, .-r_movw_prel_g2

// R_AARCH64_MOVW_PREL_G3 (no check) + G2_NC + G1_NC + G0_NC: a full 64-bit delta
        .globl  r_movw_prel_g3
        .type   r_movw_prel_g3,@function
        .p2align 2
r_movw_prel_g3:
        mov     x3, #0x1000000000000000
.Lpg3p:
        movn    x0, #:prel_g3:prel_pos+0x1000000000000000       // R_AARCH64_MOVW_PREL_G3 (-> MOVZ)
        movk    x0, #:prel_g2_nc:prel_pos+0x1000000000000000+4  // R_AARCH64_MOVW_PREL_G2_NC
        movk    x0, #:prel_g1_nc:prel_pos+0x1000000000000000+8  // R_AARCH64_MOVW_PREL_G1_NC
        movk    x0, #:prel_g0_nc:prel_pos+0x1000000000000000+12 // R_AARCH64_MOVW_PREL_G0_NC
        adr     x1, .Lpg3p
        add     x0, x0, x1
        sub     x0, x0, x3
        ldr     x0, [x0]
.Lpg3n:
        movz    x2, #:prel_g3:prel_neg-0x1000000000000000       // R_AARCH64_MOVW_PREL_G3 (-> MOVN)
        movk    x2, #:prel_g2_nc:prel_neg-0x1000000000000000+4
        movk    x2, #:prel_g1_nc:prel_neg-0x1000000000000000+8
        movk    x2, #:prel_g0_nc:prel_neg-0x1000000000000000+12
        adr     x1, .Lpg3n
        add     x2, x2, x1
        add     x2, x2, x3
        ldr     x2, [x2]
        add     x0, x0, x2
        ret
        .size   r_movw_prel_g3, .-r_movw_prel_g3

// ---------------------------------------------------------------- absolute data

// R_AARCH64_ABS64: a pointer to main.c's c_long. returns c_long = 0x0123456789abcdef
        .globl  r_abs64
        .type   r_abs64,@function
        .p2align 2
r_abs64:
        adrp    x1, abs64_slot
        ldr     x1, [x1, :lo12:abs64_slot]
        ldr     x0, [x1]
        ret
        .size   r_abs64, .-r_abs64

// R_AARCH64_ABS32: .word ABS_NEG16, ABS_POS32 (signed and unsigned 32-bit).
// returns (word0 << 32) | word1 = 0xffffedccfedcba98
        .globl  r_abs32
        .type   r_abs32,@function
        .p2align 2
r_abs32:
        adrp    x1, abs32_words
        add     x1, x1, :lo12:abs32_words
        ldr     w0, [x1]
        ldr     w2, [x1, #4]
        orr     x0, x2, x0, lsl #32
        ret
        .size   r_abs32, .-r_abs32

// R_AARCH64_ABS16: .hword ABS_NEG16, ABS_POS16 (signed and unsigned 16-bit).
// returns (half0 << 16) | half1 = 0xedccfedc
        .globl  r_abs16
        .type   r_abs16,@function
        .p2align 2
r_abs16:
        adrp    x1, abs16_halves
        add     x1, x1, :lo12:abs16_halves
        ldrh    w0, [x1]
        ldrh    w2, [x1, #2]
        orr     x0, x2, x0, lsl #16
        ret
        .size   r_abs16, .-r_abs16

// ---------------------------------------------------------------- GOT

// R_AARCH64_ADR_GOT_PAGE + R_AARCH64_LD64_GOT_LO12_NC: the addresses of main.c's
// c_value and of this object's got_data, loaded from their GOT slots.
// returns c_value + got_data = c_value + 0x70000000
        .globl  r_got
        .type   r_got,@function
        .p2align 2
r_got:
        adrp    x1, :got:c_value                // R_AARCH64_ADR_GOT_PAGE
        ldr     x1, [x1, :got_lo12:c_value]     // R_AARCH64_LD64_GOT_LO12_NC
        ldrsw   x0, [x1]
        adrp    x2, :got:got_data
        ldr     x2, [x2, :got_lo12:got_data]
        ldr     x2, [x2]
        add     x0, x0, x2
        ret
        .size   r_got, .-r_got

// R_AARCH64_LD64_GOTPAGE_LO15: the slot's offset from the page of the GOT
// (adrp x1, _GLOBAL_OFFSET_TABLE_ is R_AARCH64_ADR_PREL_PG_HI21), as gcc -fpic
// code does. returns c_value + got_data = c_value + 0x70000000
        .globl  r_gotpage_lo15
        .type   r_gotpage_lo15,@function
        .p2align 2
r_gotpage_lo15:
        adrp    x1, _GLOBAL_OFFSET_TABLE_
        ldr     x2, [x1, #:gotpage_lo15:c_value]        // R_AARCH64_LD64_GOTPAGE_LO15
        ldrsw   x0, [x2]
        ldr     x2, [x1, #:gotpage_lo15:got_data]       // R_AARCH64_LD64_GOTPAGE_LO15
        ldr     x2, [x2]
        add     x0, x0, x2
        ret
        .size   r_gotpage_lo15, .-r_gotpage_lo15

// ---------------------------------------------------------------- data

        .section .rodata,"a",@progbits
        .p2align 3
prel_pos:
        .quad   0x1100                  // MOVW_PREL, A > 0
prel_neg:
        .quad   0x22                    // MOVW_PREL, A < 0
prel_data:
        .quad   0x3232                  // PREL32 target
prel16_data:
        .quad   0x1616                  // PREL16 target

        .section .rodata.prel16,"a",@progbits
        .p2align 1
prel16_slot:
        .hword  prel16_data - .         // R_AARCH64_PREL16

        .section .rodata.ldst,"a",@progbits
        .p2align 4
        .quad   0xeeeeeeeeeeeeeeee, 0xeeeeeeeeeeeeeeee
ldst_q:
        .quad   0x0128000000000000, 0x8000000000000000
        .quad   0xeeeeeeeeeeeeeeee
ldst_x:
        .quad   0x0000006400000000
        .word   0xeeeeeeee
ldst_w:
        .word   0x00320000
        .hword  0xeeee
ldst_h:
        .hword  0x1600
        .byte   0xee
ldst_b:
        .byte   0x08
        .hword  0xeeee

        .data
        .p2align 3
adr_data:
        .quad   0x2100, 0x21            // ADR_PREL_LO21
adrp_data:
        .quad   0x21000000              // ADR_PREL_PG_HI21_NC
uabs_data:
        .quad   0x6400, 0x64, 0x48      // MOVW_UABS
abs64_slot:
        .xword  c_long                  // R_AARCH64_ABS64
prel64_slot:
        .xword  c_long - .              // R_AARCH64_PREL64
prel32_slot:
        .word   prel_data - .           // R_AARCH64_PREL32
// GNU ld 2.40 cannot link three of these relocations: it does not know
// R_AARCH64_PLT32 (type 314), and it checks ABS32/ABS16 as unsigned, where
// AAELF64 allows -2^31 <= X < 2^32 (-2^15 <= X < 2^16). build.sh's native links
// therefore use an object assembled with --defsym NATIVE_LD=1 that differs only
// here: PREL32 for PLT32 (the same S + A - P in an executable), and addends of
// 2^32 and 2^16 that give the same bytes without a negative X (with .reloc:
// GNU as refuses those addends in a .word). build.sh checks that nothing else
// differs.
        .ifdef  NATIVE_LD
plt32_slot:
        .word   c_callback - .
abs32_words:
        .reloc  ., R_AARCH64_ABS32, ABS_NEG16 + 0x100000000
        .word   0
        .word   ABS_POS32
abs16_halves:
        .reloc  ., R_AARCH64_ABS16, ABS_NEG16 + 0x10000
        .hword  0
        .hword  ABS_POS16
        .else
plt32_slot:
        .word   c_callback@PLT - .      // R_AARCH64_PLT32
abs32_words:
        .word   ABS_NEG16               // R_AARCH64_ABS32 (signed: -0x1234)
        .word   ABS_POS32               // R_AARCH64_ABS32 (unsigned: 0xfedcba98)
abs16_halves:
        .hword  ABS_NEG16               // R_AARCH64_ABS16 (signed: -0x1234)
        .hword  ABS_POS16               // R_AARCH64_ABS16 (unsigned: 0xfedc)
        .endif

        .globl  got_data
        .type   got_data,@object
        .p2align 3
got_data:
        .quad   0x70000000
        .size   got_data, 8

        .section .note.GNU-stack,"",@progbits
