int ping(int n);
int pong(int n) { return n <= 0 ? 100 : 2 + ping(n - 1); }
