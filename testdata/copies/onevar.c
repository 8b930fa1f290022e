/* -fno-pic code that writes and reads libc's getopt variables (tests/copies.rs,
 * library API): with the region placed low, they are copies that libc and the
 * host also use. */
#include <unistd.h>

int set_optind(int v) { optind = v; return optind; }
int get_optind(void) { return optind; }
int *optind_address(void) { return &optind; }
