/* A version that cannot be linked: -fno-pic thread-local storage (local exec) is
 * refused. */
__thread int per_thread;
int version(void) { return per_thread; }
