// flags: -fPIE
// Reaches own_v*.c's `own` directly (hidden: PC-relative on both architectures,
// x86-64 PC32, AArch64 adrp + add or ldr): sites relink re-patches.
extern long own __attribute__((visibility("hidden")));
long direct_bump(void) { return ++own; }
long *direct_addr(void) { return &own; }
