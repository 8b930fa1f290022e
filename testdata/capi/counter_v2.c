/* The next version of counter_v1.c: steps ten times as far. */
#include <stdio.h>
int counter = 200;
__attribute__((constructor)) static void hello(void) { printf("counter v2: constructor\n"); }
__attribute__((destructor)) static void bye(void) { printf("counter v2: destructor, counter %d\n", counter); }
int step(int by) {
  counter += 10 * by;
  printf("counter v2: step(%d) -> %d\n", by, counter);
  return counter;
}
