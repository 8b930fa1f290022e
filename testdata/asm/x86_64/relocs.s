# Rare x86-64 ELF relocations, one C-callable function per case. Each returns
# a value that proves the relocation was computed right (see x86asm/main.c for
# the expected numbers). Assemble with:
#   llvm-mc -filetype=obj -triple=x86_64-linux-gnu relocs.s -o relocs.o
        .text
        .globl  c_value                         # defined in main.c (needed by .reloc)

# R_X86_64_16 (instruction immediate and data): ABS_SMALL16 = 0x1234
# returns (imm16 << 16) | data16 = 0x12341235
        .globl  r_abs16
        .type   r_abs16,@function
r_abs16:
        movw    $ABS_SMALL16, %ax               # R_X86_64_16
        movzwl  %ax, %eax
        shll    $16, %eax
        movzwl  abs16_data(%rip), %ecx
        orl     %ecx, %eax
        ret
        .size   r_abs16, .-r_abs16

# R_X86_64_8 (instruction immediate and data): ABS_SMALL8 = 0x5a
# returns (imm8 << 8) | data8 = 0x5a5c
        .globl  r_abs8
        .type   r_abs8,@function
r_abs8:
        movb    $ABS_SMALL8, %al                # R_X86_64_8
        movzbl  %al, %eax
        shll    $8, %eax
        movzbl  abs8_data(%rip), %ecx
        orl     %ecx, %eax
        ret
        .size   r_abs8, .-r_abs8

# R_X86_64_PC8: jrcxz and loop have only an 8-bit displacement. The targets
# are global (hidden) labels, so the assembler must leave the displacements
# to the linker. returns 0x80 + 8 = 0x88 if both jumps land, else 0xdead.
        .globl  r_pc8
        .type   r_pc8,@function
r_pc8:
        xorl    %ecx, %ecx
        movl    $0xdead, %eax
        jrcxz   pc8_landing                     # R_X86_64_PC8
        ret
        .globl  pc8_landing
        .hidden pc8_landing
pc8_landing:
        movl    $0x80, %eax
        movl    $2, %ecx
        loop    pc8_landing2                    # R_X86_64_PC8 (rcx 2 -> 1: taken)
        movl    $0xdead, %eax
        ret
        .globl  pc8_landing2
        .hidden pc8_landing2
pc8_landing2:
        addl    $8, %eax
        ret
        .size   r_pc8, .-r_pc8

# R_X86_64_PC16: a 16-bit displacement stored in .text next to its use,
# pointing at a function in another code section of this object (an in-section
# difference would be folded by the assembler). The two sections must end up
# within +-32 KiB of each other. returns pc16_callee() = 0x1616
        .globl  r_pc16
        .type   r_pc16,@function
r_pc16:
        leaq    pc16_site(%rip), %rcx
        movswq  (%rcx), %rax
        addq    %rcx, %rax
        jmp     *%rax
pc16_site:
        .short  pc16_callee - .                 # R_X86_64_PC16
        .size   r_pc16, .-r_pc16

        .section .text.pc16,"ax",@progbits
        .globl  pc16_callee
        .type   pc16_callee,@function
pc16_callee:
        movl    $0x1616, %eax
        ret
        .size   pc16_callee, .-pc16_callee
        .text

# R_X86_64_PC64: .data holds (pc64_callee - .); add the slot's address and call.
# returns pc64_callee() = 0x6464
        .globl  r_pc64
        .type   r_pc64,@function
r_pc64:
        leaq    pc64_slot(%rip), %rcx
        movq    (%rcx), %rax
        addq    %rcx, %rax
        jmp     *%rax
        .size   r_pc64, .-r_pc64

        .globl  pc64_callee
        .type   pc64_callee,@function
pc64_callee:
        movl    $0x6464, %eax
        ret
        .size   pc64_callee, .-pc64_callee

# R_X86_64_SIZE32: st_size of c_table, an `int c_table[37]` defined in main.c.
# returns 37 * 4 = 148
        .globl  r_size32
        .type   r_size32,@function
r_size32:
        movl    $c_table@SIZE, %eax             # R_X86_64_SIZE32
        ret
        .size   r_size32, .-r_size32

# R_X86_64_SIZE64: st_size of asm_table (40 bytes) plus addend 1000.
# returns 1040
        .globl  r_size64
        .type   r_size64,@function
r_size64:
        movabsq $asm_table@SIZE+1000, %rax      # R_X86_64_SIZE64
        ret
        .size   r_size64, .-r_size64

# R_X86_64_GOTPC32 (rip-relative _GLOBAL_OFFSET_TABLE_) + R_X86_64_GOTOFF64.
# returns asm_data = 0x600df00d
        .globl  r_gotpc32_gotoff64
        .type   r_gotpc32_gotoff64,@function
r_gotpc32_gotoff64:
        leaq    _GLOBAL_OFFSET_TABLE_(%rip), %rdx   # R_X86_64_GOTPC32
        movabsq $asm_data@GOTOFF, %rcx              # R_X86_64_GOTOFF64
        movl    (%rdx,%rcx), %eax
        ret
        .size   r_gotpc32_gotoff64, .-r_gotpc32_gotoff64

# R_X86_64_GOTPC64 (large-model GOT base) + R_X86_64_GOT64 (GOT slot offset).
# returns asm_data + c_value = 0x600df00d + 0x1000 = 0x600e000d
        .globl  r_gotpc64_got64
        .type   r_gotpc64_got64,@function
r_gotpc64_got64:
.Lgot_base:
        leaq    .Lgot_base(%rip), %rdx
        movabsq $_GLOBAL_OFFSET_TABLE_-.Lgot_base, %rax   # R_X86_64_GOTPC64
        addq    %rax, %rdx                                 # rdx = GOT base
        movabsq $asm_data@GOT, %rcx                        # R_X86_64_GOT64
        movq    (%rdx,%rcx), %rcx                          # rcx = &asm_data
        movl    (%rcx), %eax
        movabsq $c_value@GOT, %rcx                         # R_X86_64_GOT64, extern (main.c)
        movq    (%rdx,%rcx), %rcx
        addl    (%rcx), %eax
        ret
        .size   r_gotpc64_got64, .-r_gotpc64_got64

# R_X86_64_GOTPC64 + R_X86_64_PLTOFF64: large-model PIC call of a C function.
# returns c_callback(5) = 5 * 11 = 55
        .globl  r_pltoff64
        .type   r_pltoff64,@function
r_pltoff64:
.Lplt_base:
        leaq    .Lplt_base(%rip), %rdx
        movabsq $_GLOBAL_OFFSET_TABLE_-.Lplt_base, %rax   # R_X86_64_GOTPC64
        addq    %rax, %rdx
        movabsq $c_callback@PLTOFF, %rax                   # R_X86_64_PLTOFF64
        addq    %rdx, %rax
        movl    $5, %edi
        jmp     *%rax
        .size   r_pltoff64, .-r_pltoff64

# R_X86_64_GOTPCREL64: .data holds (GOT slot of c_value) - (this slot).
# returns c_value = 0x1000 (read through the GOT slot)
        .globl  r_gotpcrel64
        .type   r_gotpcrel64,@function
r_gotpcrel64:
        leaq    gotpcrel_slot(%rip), %rcx
        movq    (%rcx), %rax
        movq    (%rcx,%rax), %rax                  # the GOT slot: &c_value
        movl    (%rax), %eax
        ret
        .size   r_gotpcrel64, .-r_gotpcrel64

# R_X86_64_GOTPCREL64 as an instruction immediate: movabs's 8-byte field is
# at .Lgpr+2, so the addend is +2 to make the value relative to .Lgpr.
# llvm-mc 14 has no operator for GOTPCREL64 (sym@GOTPCREL is 32-bit only), so
# the relocation is spelled out with .reloc (GNU as accepts the same text).
# returns asm_data = 0x600df00d
        .globl  r_gotpcrel64_imm
        .type   r_gotpcrel64_imm,@function
r_gotpcrel64_imm:
.Lgpr:
        movabsq $0, %rax
        .reloc  .Lgpr+2, R_X86_64_GOTPCREL64, asm_data+2
        leaq    .Lgpr(%rip), %rcx
        movq    (%rcx,%rax), %rax
        movl    (%rax), %eax
        ret
        .size   r_gotpcrel64_imm, .-r_gotpcrel64_imm

        .section .rodata
abs16_data:
        .short  ABS_SMALL16+1                   # R_X86_64_16 in data: 0x1235
abs8_data:
        .byte   ABS_SMALL8+2                    # R_X86_64_8 in data: 0x5c

        .globl  asm_table
        .type   asm_table,@object
        .p2align 3
asm_table:
        .quad   1, 2, 3, 4, 5
        .size   asm_table, 40

        .data
        .p2align 3
pc64_slot:
        .quad   pc64_callee - .                 # R_X86_64_PC64
gotpcrel_slot:
        .reloc  ., R_X86_64_GOTPCREL64, c_value # see r_gotpcrel64_imm
        .quad   0

        .globl  asm_data
        .type   asm_data,@object
        .p2align 2
asm_data:
        .long   0x600df00d
        .size   asm_data, 4

        .section .note.GNU-stack,"",@progbits
