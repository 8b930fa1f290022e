/* Mutual recursion across objects: ping.c <-> pong.c. */
int pong(int n);
int ping(int n) { return n <= 0 ? 0 : 1 + pong(n - 1); }
