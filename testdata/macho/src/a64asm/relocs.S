/* arm64 relocations that llc's C output does not produce (or not in every form),
 * each executed and checked by main.c. Built twice from this one file: as Mach-O
 * (clang -E, then llvm-mc -triple=arm64-apple-macosx) and, for the native
 * reference, as ELF (aarch64-linux-gnu-gcc -c). The macros hide the two syntaxes.
 *
 * Mach-O relocations produced: ADDEND + PAGE21/PAGEOFF12/BRANCH26, PAGEOFF12 on
 * ADD, LDRB, LDRH, LDRSW, LDR w/x/q and STR x (scales 0 to 4), GOT_LOAD_PAGE21 +
 * GOT_LOAD_PAGEOFF12, POINTER_TO_GOT, SUBTRACTOR + UNSIGNED 32/64, UNSIGNED 32/64
 * with addends. */
#ifdef __APPLE__
#define SYM(x) _##x
#define PAGE(x) x@PAGE
#define PAGEOFF(x) x@PAGEOFF
#define GOTPAGE(x) x@GOTPAGE
#define GOTPAGEOFF(x) x@GOTPAGEOFF
#define TEXT .section __TEXT,__text,regular,pure_instructions
#define TEXT2 .section __TEXT,__text_multi,regular,pure_instructions
#define DATA .section __DATA,__data
#define RODATA .section __TEXT,__const
#else
#define SYM(x) x
#define PAGE(x) x
#define PAGEOFF(x) :lo12:x
#define GOTPAGE(x) :got:x
#define GOTPAGEOFF(x) :got_lo12:x
#define TEXT .text
#define TEXT2 .section .text.multi,"ax",%progbits
#define DATA .data
#define RODATA .section .rodata
	.section .note.GNU-stack,"",%progbits
#endif

	TEXT
	.p2align 2
/* &longs[2] through ADRP/ADD with an addend of 16 (ADDEND pairs). */
	.globl SYM(addend_address)
SYM(addend_address):
	adrp x0, PAGE(SYM(longs)+16)
	add x0, x0, PAGEOFF(SYM(longs)+16)
	ret

/* Loads of every size from `mixed` with addends: byte 3, half at 6, word at 8,
 * doubleword at 16, quadword at 32 (its low half), signed word at 12. Returns
 * their sum. */
	.globl SYM(load_sizes)
SYM(load_sizes):
	adrp x1, PAGE(SYM(mixed)+3)
	ldrb w2, [x1, PAGEOFF(SYM(mixed)+3)]
	mov x0, x2
	adrp x1, PAGE(SYM(mixed)+6)
	ldrh w2, [x1, PAGEOFF(SYM(mixed)+6)]
	add x0, x0, x2
	adrp x1, PAGE(SYM(mixed)+8)
	ldr w2, [x1, PAGEOFF(SYM(mixed)+8)]
	add x0, x0, x2
	adrp x1, PAGE(SYM(mixed)+12)
	ldrsw x2, [x1, PAGEOFF(SYM(mixed)+12)]
	add x0, x0, x2
	adrp x1, PAGE(SYM(mixed)+16)
	ldr x2, [x1, PAGEOFF(SYM(mixed)+16)]
	add x0, x0, x2
	adrp x1, PAGE(SYM(mixed)+32)
	ldr q0, [x1, PAGEOFF(SYM(mixed)+32)]
	fmov x2, d0
	add x0, x0, x2
	ret

/* Stores x0 into slot[1] (STR x with an addend of 8). */
	.globl SYM(store_slot)
SYM(store_slot):
	adrp x1, PAGE(SYM(slot)+8)
	str x0, [x1, PAGEOFF(SYM(slot)+8)]
	ret

/* *counter through its GOT slot, plus 1000 * (value read through the
 * POINTER_TO_GOT word, Mach-O only; the native build reads the slot again). */
	.globl SYM(got_reads)
SYM(got_reads):
	adrp x0, GOTPAGE(SYM(counter))
	ldr x0, [x0, GOTPAGEOFF(SYM(counter))]
	ldr w0, [x0]
#ifdef __APPLE__
	adrp x1, PAGE(Lgot_word)
	add x1, x1, PAGEOFF(Lgot_word)
	ldrsw x2, [x1]
	add x1, x1, x2
	ldr x1, [x1]
#else
	adrp x1, GOTPAGE(SYM(counter))
	ldr x1, [x1, GOTPAGEOFF(SYM(counter))]
	nop /* keeps the code at the Mach-O build's offsets */
	nop
	nop
#endif
	ldr w1, [x1]
	mov w2, #1000
	madd w0, w1, w2, w0
	ret


/* Calls multi + 8 (ADDEND + BRANCH26) and multi, and c_triple in main.c. */
	.globl SYM(branch_addend)
SYM(branch_addend):
	stp x29, x30, [sp, #-32]!
	mov x29, sp
	str x19, [sp, #16]
	bl SYM(multi)+8
	mov x19, x0
	bl SYM(multi)
	add x19, x19, x0, lsl #4
	mov x0, x19
	bl SYM(c_triple)
	ldr x19, [sp, #16]
	ldp x29, x30, [sp], #32
	ret

/* The address rel32[i] (a relative table) points at. */
	.globl SYM(rel_target)
SYM(rel_target):
	adrp x1, PAGE(SYM(rel32))
	add x1, x1, PAGEOFF(SYM(rel32))
	ldrsw x2, [x1, x0, lsl #2]
	add x0, x1, x0, lsl #2
	add x0, x0, x2
	ret

	.globl SYM(rel64_target)
SYM(rel64_target):
	adrp x1, PAGE(SYM(rel64))
	add x1, x1, PAGEOFF(SYM(rel64))
	ldr x2, [x1]
	add x0, x1, x2
	ret

/* Two entry points: multi returns 1, multi + 8 returns 2. In a section of its own,
 * so that branches to it need relocations. */
	TEXT2
	.p2align 2
SYM(multi):
	mov x0, #1
	ret
	mov x0, #2
	ret

	DATA
	.p2align 4
	.globl SYM(mixed)
SYM(mixed):
	.byte 1, 2, 3, 4, 5, 6, 7, 8
	.long 1000, -20
	.quad 300000
	.quad 0
	.quad 77, 88

	.globl SYM(slot)
	.p2align 3
SYM(slot):
	.quad 0, 0

	.globl SYM(pointers)
	.p2align 3
SYM(pointers):
	.quad SYM(longs)+24      /* UNSIGNED 64 with an addend */
	.quad SYM(c_triple)      /* a function of main.c */
	.long SYM(longs)+8       /* UNSIGNED 32 with an addend */
	.long 0

#ifdef __APPLE__
	.p2align 2
Lgot_word:
	.long SYM(counter)@GOT - .
#endif

	RODATA
	.p2align 3
	.globl SYM(longs)
SYM(longs):
	.quad 10, 20, 30, 40, 50

	.globl SYM(rel32)
	.p2align 2
SYM(rel32):
	.long SYM(longs) + 32 - SYM(rel32)
	.long SYM(mixed) + 8 - (SYM(rel32) + 4)

	.globl SYM(rel64)
	.p2align 3
SYM(rel64):
	.quad SYM(longs) + 8 - SYM(rel64)
