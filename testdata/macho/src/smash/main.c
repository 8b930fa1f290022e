/* The stack protector must catch an overflow in Mach-O code under relink as it
 * does natively: `victim`'s local array is overrun past the guard copy, so its
 * epilogue calls __stack_chk_fail, which aborts (SIGABRT) in both. */
#include <stdio.h>

#include "../common/out.h"

void spill(char *p, int n);

int victim(int n) {
  char buf[16];
  spill(buf, n);
  return buf[0] + buf[n / 2];
}

int main(void) {
  out_kv("in bounds", victim(16));
  fflush(stdout);
  out_kv("overrun", victim(16 + 48));
  return 0;
}
