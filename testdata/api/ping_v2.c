/* A second version of ping.c for replacing one half of a mutual recursion. */
int pong(int n);
int ping(int n) { return n <= 0 ? 7 : 3 + pong(n - 1); }
