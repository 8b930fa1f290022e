# A GOT entry for a local symbol: relink gives the object a local slot.
        .text
        .globl  local_got_value
        .type   local_got_value, @function
local_got_value:
        movq    counter@GOTPCREL(%rip), %rax
        movl    (%rax), %eax
        ret
        .data
counter:
        .long   42
        .section .note.GNU-stack,"",@progbits
