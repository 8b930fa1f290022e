/* x86_64 relocations that llc's C output does not produce, each executed and
 * checked by main.c. Built twice from this one file: as Mach-O (clang -E, then
 * llvm-mc -triple=x86_64-apple-macosx) and, for the native reference, as ELF
 * (gcc -c). The macros hide the two syntaxes; the instructions are the same.
 *
 * Mach-O relocations produced (see testdata/macho/README.md):
 *   SIGNED_1/2/4 against a symbol and against a section (r_extern = 0),
 *   SIGNED with an addend, GOT_LOAD, GOT (non-load use of a GOT slot), BRANCH,
 *   UNSIGNED 64/32 against a symbol and against a section, SUBTRACTOR+UNSIGNED
 *   32/64 with a section-relative UNSIGNED. */
#ifdef __APPLE__
#define SYM(x) _##x
#define LOCAL(x) L##x
#define TEXT .section __TEXT,__text,regular,pure_instructions
#define DATA .section __DATA,__data
#define RODATA .section __TEXT,__const
#define RODATA2 .section __TEXT,__const2
#else
#define SYM(x) x
#define LOCAL(x) .L##x
#define TEXT .text
#define DATA .data
#define RODATA .section .rodata
#define RODATA2 .section .rodata.two,"a"
	.section .note.GNU-stack,"",@progbits
#endif

	TEXT
/* Stores through RIP-relative operands followed by 1, 2 and 4 immediate bytes into
 * target_bytes (main.c) at offsets 1, 2, 4 and 8 (SIGNED, the assembler folds the
 * immediate's size into the stored displacement), and into target_b1, target_b2,
 * target_b4 at offset 0 (SIGNED_1, SIGNED_2, SIGNED_4). */
	.globl SYM(store_extern)
SYM(store_extern):
	movb $0x11, SYM(target_bytes)+1(%rip)
	movw $0x2222, SYM(target_bytes)+2(%rip)
	movl $0x44444444, SYM(target_bytes)+4(%rip)
	movq $0x88, SYM(target_bytes)+8(%rip)
	movb $0x31, SYM(target_b1)(%rip)
	movw $0x3232, SYM(target_b2)(%rip)
	movl $0x34343434, SYM(target_b4)(%rip)
	ret

/* The same into local_bytes, a label of this object's data without a symbol
 * (against the section: r_extern = 0). */
	.globl SYM(store_local)
SYM(store_local):
	movb $0x11, LOCAL(local_bytes)+1(%rip)
	movw $0x2222, LOCAL(local_bytes)+2(%rip)
	movl $0x44444444, LOCAL(local_bytes)+4(%rip)
	movq $0x88, LOCAL(local_bytes)+8(%rip)
	movb $0x51, LOCAL(local_b1)(%rip)
	movw $0x5252, LOCAL(local_b2)(%rip)
	movl $0x54545454, LOCAL(local_b4)(%rip)
	ret

/* local_b1 + local_b2 + local_b4 as bytes, read back with plain loads. */
	.globl SYM(sum_local_b)
SYM(sum_local_b):
	movzbl LOCAL(local_b1)(%rip), %eax
	movzwl LOCAL(local_b2)(%rip), %ecx
	addl %ecx, %eax
	addl LOCAL(local_b4)(%rip), %eax
	ret

/* Sum of the 16 bytes at local_bytes, read back with plain RIP-relative loads. */
	.globl SYM(sum_local)
SYM(sum_local):
	leaq LOCAL(local_bytes)(%rip), %rcx
	xorl %eax, %eax
	xorl %edx, %edx
1:	movzbl (%rcx,%rdx), %esi
	addq %rsi, %rax
	incq %rdx
	cmpq $16, %rdx
	jne 1b
	ret

/* target_bytes[12] through GOT_LOAD, then through GOT (an add from the slot). */
	.globl SYM(got_reads)
SYM(got_reads):
	movq SYM(target_bytes)@GOTPCREL(%rip), %rax
	movzbl 12(%rax), %eax
	xorl %ecx, %ecx
	addq SYM(target_bytes)@GOTPCREL(%rip), %rcx
	movzbl 13(%rcx), %ecx
	shll $8, %ecx
	orl %ecx, %eax
	ret

/* Calls c_twice (main.c) and tail-calls c_twice again: BRANCH. */
	.globl SYM(branch_twice)
SYM(branch_twice):
	pushq %rbx
	call SYM(c_twice)
	movq %rax, %rdi
	popq %rbx
	jmp SYM(c_twice)

/* Reads a word at a symbol plus an addend, and one from another section of this
 * object through a local label (SIGNED against the section). */
	.globl SYM(read_words)
SYM(read_words):
	movl SYM(words)+8(%rip), %eax
	addl LOCAL(far_word)(%rip), %eax
	ret

/* The address of element i of rel_table's targets (SUBTRACTOR pairs). */
	.globl SYM(rel_target)
SYM(rel_target):
	leaq SYM(rel_table)(%rip), %rax
	movslq (%rax,%rdi,4), %rcx
	addq %rcx, %rax
	ret

	.globl SYM(rel64_target)
SYM(rel64_target):
	leaq SYM(rel64_table)(%rip), %rax
	addq (%rax), %rax
	ret

	DATA
	.p2align 4
LOCAL(local_bytes):
	.quad 0, 0
LOCAL(local_b1):
	.byte 0
	.p2align 1
LOCAL(local_b2):
	.short 0
	.p2align 2
LOCAL(local_b4):
	.long 0

	.globl SYM(pointers)
	.p2align 3
SYM(pointers):
	.quad SYM(target_bytes)+3       /* UNSIGNED 64 against a symbol */
	.quad LOCAL(local_bytes)+5      /* UNSIGNED 64 against a section */
	.quad SYM(c_twice)              /* a function's address */
	.long LOCAL(far_word)           /* UNSIGNED 32 against a section */
	.long SYM(words)+4              /* UNSIGNED 32 against a symbol */

	RODATA
	.globl SYM(words)
	.p2align 2
SYM(words):
	.long 1000, 2000, 3000, 4000

	.globl SYM(rel_table)
SYM(rel_table):
	/* SUBTRACTOR (rel_table) + UNSIGNED (a section: far_word has no symbol) */
	.long LOCAL(far_word) - SYM(rel_table)
	.long SYM(words) + 12 - SYM(rel_table)

	.globl SYM(rel64_table)
	.p2align 3
SYM(rel64_table):
	.quad LOCAL(far_word) + 4 - SYM(rel64_table)

	RODATA2
	.p2align 2
	.long 7
LOCAL(far_word):
	.long 5, 6
