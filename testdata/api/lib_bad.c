/* A version that cannot be linked: its thread-local variable is defined nowhere. */
extern __thread int per_thread;
int version(void) { return per_thread; }
