/* A 64-byte thread-local array, version 2 (tests/tls_replace.rs): bump()
   returns 200 + the number of calls since this version's block was
   initialised. */
__thread char buf[64] = { 2 };
int version(void) { return 2; }
int bump(void) { return buf[0] * 100 + ++buf[63]; }
