/* `relink watch --entry tick --keep-state` (tests/watch.rs), version 1:
   `total` is kept across versions, the thread-local `calls` starts again
   from the new version's image. */
#include <stdio.h>
int total;
__thread int calls;
int tick(int argc, char **argv) {
  (void)argc; (void)argv;
  printf("tick v1 total=%d calls=%d\n", ++total, ++calls);
  return 0;
}
