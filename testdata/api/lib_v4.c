/* Version 4: drops `counter`, which user.c still reads. */
int table[4] = { 40, 41, 42, 43 };
int version(void) { return 4; }
int bump(void) { return 0; }
int calls_so_far(void) { return -1; }
