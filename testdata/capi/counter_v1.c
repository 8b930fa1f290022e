/* A hot-replaced object for the C API tests (tests/capi.rs): counter_v2.c is its
 * next version. Both print from constructors and destructors, so the expected
 * output shows when relink runs them. */
#include <stdio.h>
int counter = 100;
__attribute__((constructor)) static void hello(void) { printf("counter v1: constructor\n"); }
__attribute__((destructor)) static void bye(void) { printf("counter v1: destructor, counter %d\n", counter); }
int step(int by) {
  counter += by;
  printf("counter v1: step(%d) -> %d\n", by, counter);
  return counter;
}
