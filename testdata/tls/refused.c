/* Built with -fno-pic: initial-exec/local-exec TLS, which relink refuses. */
__thread int per_thread = 7;
extern __thread int elsewhere;
int read_tls(void) { return per_thread + elsewhere; }
