/* A weak undefined reference is null; a weak definition yields to a strong one. */
extern int maybe(void) __attribute__((weak));
int has_maybe(void) { return maybe != 0; }
__attribute__((weak)) int flavour(void) { return 1; }
int which_flavour(void) { return flavour(); }
