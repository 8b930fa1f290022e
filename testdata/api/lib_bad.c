/* A version that cannot be linked: thread-local storage is refused. */
__thread int per_thread;
int version(void) { return per_thread; }
