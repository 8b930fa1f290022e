/* Version 2: same variables, new code and new initial values. */
int counter = 100;
int table[4] = { 20, 21, 22, 23 };
static int calls = 50;
int version(void) { return 2; }
int bump(void) { return counter += 10; }
int calls_so_far(void) { return ++calls; }
