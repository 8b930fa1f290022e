/* A thread-local int with gcc's default model (local exec), version 1
   (tests/tls_replace.rs): bump() returns 10 + the number of calls since
   this version's block was initialised. */
__thread int hits = 10;
int version(void) { return 1; }
int bump(void) { return ++hits; }
