/* Version 3: `table` grew (its storage moves; direct references are re-patched). */
int counter = 300;
int table[8] = { 30, 31, 32, 33, 34, 35, 36, 37 };
int version(void) { return 3; }
int bump(void) { return counter += 100; }
int calls_so_far(void) { return -1; }
