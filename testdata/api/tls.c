__thread int per_thread = 7;
int read_tls(void) { return per_thread; }
