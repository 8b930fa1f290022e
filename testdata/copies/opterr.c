/* -fno-pic code that reads and writes libc's `opterr`, which the test host
 * refers to too (tests/copies.rs). set_opterr(v): stores v unless it is
 * negative; returns the value before, or v. */
#include <unistd.h>

int set_opterr(int v) {
  if (v < 0)
    return opterr;
  opterr = v;
  return opterr;
}
