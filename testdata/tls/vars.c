/* A thread-local variable another object uses (extern __thread). */
__thread int shared_counter = 100;
int shared_now(void) { return shared_counter; }
