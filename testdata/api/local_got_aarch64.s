// A GOT entry for a local symbol: relink gives the object a local slot.
        .text
        .globl  local_got_value
        .type   local_got_value, %function
local_got_value:
        adrp    x0, :got:counter
        ldr     x0, [x0, :got_lo12:counter]
        ldr     w0, [x0]
        ret
        .data
counter:
        .word   42
        .section .note.GNU-stack,"",%progbits
