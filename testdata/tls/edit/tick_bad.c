/* A bad version of tick_v*.c (tests/watch.rs): it calls a function nothing
   defines, so `relink watch` must keep the running version. */
#include <stdio.h>
int total;
__thread int calls;
void not_defined_anywhere(void);
int tick(int argc, char **argv) {
  (void)argc; (void)argv;
  not_defined_anywhere();
  printf("tick bad total=%d calls=%d\n", ++total, ++calls);
  return 0;
}
