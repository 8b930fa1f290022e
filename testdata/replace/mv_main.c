// The entry for `relink watch` over mv_a/mv_b (tests/watch.rs): prints both.
#include <stdio.h>
extern long a_version(void), b_get(void);
int mv_tick(int argc, char **argv) {
  (void)argc, (void)argv;
  printf("a%ld b%ld\n", a_version(), b_get());
  return 0;
}
