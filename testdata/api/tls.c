/* A thread-local variable that no loaded object defines: refused (relink cannot
 * reach the process's own TLS, nor an object's loaded later). */
extern __thread int per_thread;
int read_tls(void) { return per_thread; }
