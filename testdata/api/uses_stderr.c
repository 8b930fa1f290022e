/* gcc's PIE code reads `stderr` with R_X86_64_PC32: needs the region near libc. */
#include <stdio.h>
int say(const char *s) { return fputs(s, stderr) >= 0; }
