int shared = 7;
long b_get(void) { return shared + 1000; }
