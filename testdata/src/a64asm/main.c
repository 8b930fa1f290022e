/* a64asm (AArch64 only): calls the functions of testdata/asm/aarch64/relocs.s,
 * which between them depend on every AArch64 relocation relink supports, and
 * prints what they return next to the value a correct link gives. The objects
 * of this program are this file (compiled per variant) plus relocs.o and
 * consts.o (llvm-mc). */
#include <stdio.h>

int c_value = 0x600d;                   /* read via ADRP, the GOT, GOTPAGE_LO15 */
long c_long = 0x0123456789abcdefL;      /* read via ABS64 and PREL64 */

int c_callback(int x) { return x * 11; }  /* called via CALL26, PLT32 */
int c_twice(int x) { return x * 2; }      /* called via JUMP26, ADRP+ADD */

long r_condbr19(void), r_tstbr14(void), r_call26(void), r_ld_prel_lo19(void);
long r_adr_prel_lo21(void), r_adrp_data(void), r_adrp_func(void), r_ldst(void);
long r_prel64(void), r_prel32(void), r_prel16(void), r_plt32(void);
long r_movw_uabs64(void), r_movw_uabs48(void), r_movw_uabs_small(void);
long r_movw_sabs_g0_neg(void), r_movw_sabs_g0_pos(void), r_movw_sabs_g1_neg(void);
long r_movw_sabs_g1_pos(void), r_movw_sabs_g2_neg(void), r_movw_sabs_g2_pos(void);
long r_movw_prel_g0(void), r_movw_prel_g1(void), r_movw_prel_g2(void), r_movw_prel_g3(void);
long r_abs64(void), r_abs32(void), r_abs16(void), r_got(void), r_gotpage_lo15(void);

static int failures;

/* Hex, signed (-0x1234 rather than 0xffffffffffffedcc) or not. */
static const char *hex(long v, int is_signed, char *buf, size_t n)
{
    if (is_signed && v < 0)
        snprintf(buf, n, "-0x%lx", -(unsigned long)v);
    else
        snprintf(buf, n, "0x%lx", (unsigned long)v);
    return buf;
}

static void report(const char *name, const char *relocs, long got, long want, int is_signed)
{
    char b1[32], b2[32];
    printf("%-20s %-46s %s %s\n", name, relocs, hex(got, is_signed, b1, sizeof b1),
           got == want ? "ok" : "WRONG");
    if (got != want) {
        printf("    expected %s\n", hex(want, is_signed, b2, sizeof b2));
        failures++;
    }
}

static void check(const char *name, const char *relocs, long got, long want)
{
    report(name, relocs, got, want, 0);
}

static void check_signed(const char *name, const char *relocs, long got, long want)
{
    report(name, relocs, got, want, 1);
}

int main(void)
{
    /* A wrong branch or address usually crashes: keep the lines before it. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    check("r_condbr19", "CONDBR19 (b.eq, cbz, cbnz, b.lt; both ways)", r_condbr19(), 0x1111);
    check("r_tstbr14", "TSTBR14 (tbnz, tbz; both ways)", r_tstbr14(), 0x11);
    check("r_call26", "CALL26, JUMP26 (to main.c)", r_call26(), 2 * (3 * 11 + 1));
    check("r_ld_prel_lo19", "LD_PREL_LO19 (ldr x/w/q/d/s, ldrsw)", r_ld_prel_lo19(),
          0x1919191919191919L);
    check("r_adr_prel_lo21", "ADR_PREL_LO21 (+0, +8)", r_adr_prel_lo21(), 0x2121);
    check("r_adrp_data", "ADR_PREL_PG_HI21(_NC), ADD_ABS_LO12_NC", r_adrp_data(),
          0x21000000 + 0x600d);
    check("r_adrp_func", "ADR_PREL_PG_HI21, ADD_ABS_LO12_NC (function)", r_adrp_func(), 42);
    check("r_ldst", "LDST8/16/32/64/128_ABS_LO12_NC", r_ldst(), (long)0x8128006400321608UL);
    check("r_prel64", "PREL64 (to main.c)", r_prel64(), c_long);
    check("r_prel32", "PREL32", r_prel32(), 0x3232);
    check("r_prel16", "PREL16", r_prel16(), 0x1616);
    check("r_plt32", "PLT32 (data, to main.c)", r_plt32(), 5 * 11);
    check("r_movw_uabs64", "MOVW_UABS_G3, G2_NC, G1_NC, G0_NC", r_movw_uabs64(), 0x6464);
    check("r_movw_uabs48", "MOVW_UABS_G2, G1_NC, G0_NC", r_movw_uabs48(), 0x48);
    check("r_movw_uabs_small", "MOVW_UABS_G1, G0 (SHN_ABS)", r_movw_uabs_small(),
          0xfedcba98fedcL);
    check_signed("r_movw_sabs_g0_neg", "MOVW_SABS_G0 (MOVZ->MOVN)", r_movw_sabs_g0_neg(), -0x1234);
    check_signed("r_movw_sabs_g0_pos", "MOVW_SABS_G0 (MOVN->MOVZ)", r_movw_sabs_g0_pos(), 0xfedc);
    check_signed("r_movw_sabs_g1_neg", "MOVW_SABS_G1 (MOVZ->MOVN), UABS_G0_NC", r_movw_sabs_g1_neg(),
          -0x12345678);
    check_signed("r_movw_sabs_g1_pos", "MOVW_SABS_G1 (MOVN->MOVZ), UABS_G0_NC", r_movw_sabs_g1_pos(),
          0xfedcba98L);
    check_signed("r_movw_sabs_g2_neg", "MOVW_SABS_G2 (MOVZ->MOVN), UABS_G1/G0_NC",
          r_movw_sabs_g2_neg(), -0x123456789abcL);
    check_signed("r_movw_sabs_g2_pos", "MOVW_SABS_G2 (MOVN->MOVZ), UABS_G1/G0_NC",
          r_movw_sabs_g2_pos(), 0xfedcba987654L);
    check("r_movw_prel_g0", "MOVW_PREL_G0 (+, -)", r_movw_prel_g0(), 0x1122);
    check("r_movw_prel_g1", "MOVW_PREL_G1, G0_NC (+, -)", r_movw_prel_g1(), 0x1122);
    check("r_movw_prel_g2", "MOVW_PREL_G2, G1_NC, G0_NC (+, -)", r_movw_prel_g2(), 0x1122);
    check("r_movw_prel_g3", "MOVW_PREL_G3, G2_NC, G1_NC, G0_NC (+, -)", r_movw_prel_g3(),
          0x1122);
    check("r_abs64", "ABS64 (to main.c)", r_abs64(), c_long);
    check("r_abs32", "ABS32 (SHN_ABS, signed and unsigned)", r_abs32(),
          (long)0xffffedccfedcba98UL);
    check("r_abs16", "ABS16 (SHN_ABS, signed and unsigned)", r_abs16(), 0xedccfedc);
    check("r_got", "ADR_GOT_PAGE, LD64_GOT_LO12_NC", r_got(), 0x70000000 + 0x600d);
    check("r_gotpage_lo15", "LD64_GOTPAGE_LO15", r_gotpage_lo15(), 0x70000000 + 0x600d);
    c_value = 0x2000;
    check("after c_value=0x2000", "ADR_GOT_PAGE, LD64_GOT_LO12_NC", r_got(), 0x70002000);
    check("after c_value=0x2000", "LD64_GOTPAGE_LO15", r_gotpage_lo15(), 0x70002000);
    printf("failures: %d\n", failures);
    return failures;
}
