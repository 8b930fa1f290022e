/* A thread-local variable main.c uses (extern __thread): its descriptor lives here.
 * tests/tls.rs also loads this object alone and calls shared_bump from threads. */
__thread int shared_counter = 100;
int shared_now(void) { return shared_counter; }
int shared_bump(int by) { return shared_counter += by; }
