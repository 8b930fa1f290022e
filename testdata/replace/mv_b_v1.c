extern int shared;
long b_get(void) { return shared; }
