/* -fno-pic main of the mixed program (tests/copies.rs): its 32-bit references to
 * stdout and the -fPIC half's GOT reference see one variable, in either load order. */
#include <stdio.h>
FILE **stdout_address_pic(void);
void set_stdout_pic(FILE *f);
int main(void) {
  printf("same address: %d\n", stdout_address_pic() == &stdout);
  FILE *saved = stdout;
  set_stdout_pic(stderr);
  printf("to stderr via printf\n");
  fflush(stderr);
  set_stdout_pic(saved);
  puts("back on stdout");
  return 0;
}
