/* The -fPIC half of the mixed program (tests/copies.rs): reaches stdout through
 * its GOT entry, the same variable mixed_main.c reaches with 32-bit fields. */
#include <stdio.h>
FILE **stdout_address_pic(void) { return &stdout; }
void set_stdout_pic(FILE *f) { stdout = f; }
