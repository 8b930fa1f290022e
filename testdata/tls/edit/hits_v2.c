/* A thread-local int with gcc's default model (local exec), version 2
   (tests/tls_replace.rs): bump() returns 20 + the number of calls since
   this version's block was initialised. */
__thread int hits = 20;
int version(void) { return 2; }
int bump(void) { return ++hits; }
