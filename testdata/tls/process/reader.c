/* `ptls_read`: one read of libptls.so's thread-local, in whichever model it is
 * compiled (tests/process_tls.rs: initial exec after general dynamic). */
extern __thread int ptls_counter;
int ptls_read(void) { return ptls_counter; }
