int flavour(void) { return 2; }
