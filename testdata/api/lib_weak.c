/* Version 5 of lib_v1.c: `counter` (same size) is only a weak definition, so a
   strong one elsewhere takes it over (see counter_strong.c). */
__attribute__((weak)) int counter = 5;
int table[4] = { 50, 51, 52, 53 };
int version(void) { return 5; }
int bump(void) { return counter += 5; }
int calls_so_far(void) { return -5; }
