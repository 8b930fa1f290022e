/* Version 1 of a hot-replaced library (see lib_v2.c, lib_v3.c, lib_v4.c). */
int counter = 1;
int table[4] = { 10, 11, 12, 13 };
static int calls;
int version(void) { return 1; }
int bump(void) { return counter += 1; }
int calls_so_far(void) { return ++calls; }
