/* x86asm (x86-64 only): calls the functions of testdata/asm/x86_64/relocs.s,
 * each of which depends on one rare x86-64 relocation, and prints what they
 * return next to the value a correct link gives. The objects of this program
 * are this file (compiled per variant) plus relocs.o and consts.o (llvm-mc). */
#include <stdio.h>

int c_table[37] = { 1, 2, 3 };          /* r_size32 returns sizeof c_table via SIZE32 */
int c_value = 0x1000;                   /* read through GOT64 / GOTPCREL64 slots */

int c_callback(int x) { return x * 11; }  /* called through PLTOFF64 */

long r_abs16(void), r_abs8(void), r_pc8(void), r_pc16(void), r_pc64(void);
long r_size32(void), r_size64(void), r_gotpc32_gotoff64(void), r_gotpc64_got64(void);
long r_pltoff64(void), r_gotpcrel64(void), r_gotpcrel64_imm(void);

static int failures;

static void check(const char *name, const char *relocs, long got, long want)
{
    printf("%-20s %-34s 0x%lx %s\n", name, relocs, got, got == want ? "ok" : "WRONG");
    if (got != want) {
        printf("    expected 0x%lx\n", want);
        failures++;
    }
}

int main(void)
{
    check("r_abs16", "R_X86_64_16 (imm, data)", r_abs16(), 0x12341235);
    check("r_abs8", "R_X86_64_8 (imm, data)", r_abs8(), 0x5a5c);
    check("r_pc8", "R_X86_64_PC8 (jrcxz, loop)", r_pc8(), 0x88);
    check("r_pc16", "R_X86_64_PC16", r_pc16(), 0x1616);
    check("r_pc64", "R_X86_64_PC64", r_pc64(), 0x6464);
    check("r_size32", "R_X86_64_SIZE32 (extern)", r_size32(), (long)sizeof c_table);
    check("r_size64", "R_X86_64_SIZE64 (+1000)", r_size64(), 40 + 1000);
    check("r_gotpc32_gotoff64", "R_X86_64_GOTPC32, GOTOFF64", r_gotpc32_gotoff64(), 0x600df00d);
    check("r_gotpc64_got64", "R_X86_64_GOTPC64, GOT64", r_gotpc64_got64(), 0x600df00d + 0x1000);
    check("r_pltoff64", "R_X86_64_GOTPC64, PLTOFF64", r_pltoff64(), 55);
    check("r_gotpcrel64", "R_X86_64_GOTPCREL64 (data)", r_gotpcrel64(), 0x1000);
    check("r_gotpcrel64_imm", "R_X86_64_GOTPCREL64 (movabs)", r_gotpcrel64_imm(), 0x600df00d);
    c_value = 0x2000;
    check("after c_value=0x2000", "R_X86_64_GOTPCREL64 (data)", r_gotpcrel64(), 0x2000);
    printf("failures: %d\n", failures);
    return failures;
}
