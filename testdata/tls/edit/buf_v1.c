/* A 64-byte thread-local array, version 1 (tests/tls_replace.rs): bump()
   returns 100 + the number of calls since this version's block was
   initialised. */
__thread char buf[64] = { 1 };
int version(void) { return 1; }
int bump(void) { return buf[0] * 100 + ++buf[63]; }
