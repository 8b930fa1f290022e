#include <stdio.h>
int ticks;
int tick(void) { printf("tick v2 %d\n", ++ticks); return 0; }
