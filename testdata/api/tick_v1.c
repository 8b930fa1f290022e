/* What `relink watch` calls in the CLI test; tick_v2.c is its next version. */
#include <stdio.h>
int ticks;
int tick(void) { printf("tick v1 %d\n", ++ticks); return 0; }
