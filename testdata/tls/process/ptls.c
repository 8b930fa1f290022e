/* libptls.so: a shared library with thread-local variables, built at test
 * time (tests/process_tls.rs). Its own code reads and writes them, so loaded
 * code's view can be compared with the library's. */
__thread int ptls_counter = 100;
__thread long ptls_table[4] = {1, 2, 3, 4};

int ptls_get(void) { return ptls_counter; }
int *ptls_addr(void) { return &ptls_counter; }
void ptls_bump(int n) { ptls_counter += n; }
long ptls_table_sum(void) { return ptls_table[0] + ptls_table[1] + ptls_table[2] + ptls_table[3]; }
