// An IFUNC whose resolver returns null, in an object that also refers to a name
// nothing defines yet (the resolver used to wait for it, until after commit).
extern long later(void);
static long (*pick(void))(void) { return 0; }
long chosen(void) __attribute__((ifunc("pick")));
long ifunc_value(void) { return 1; }
long use_later(void) { return later(); }
