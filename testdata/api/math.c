/* Plain functions and data, called from the host through Linker::function. */
int counter = 40;
int add(int a, int b) { return a + b; }
int sub(int a, int b) { return a - b; }
long fib(int n) { long a = 0, b = 1; for (int i = 0; i < n; i++) { long t = a + b; a = b; b = t; } return a; }
long sum(const int *v, int n) { long s = 0; for (int i = 0; i < n; i++) s += v[i]; return s; }
int bump(void) { return ++counter; }
int (*ops[2])(int, int) = { add, sub };
int apply(int which, int a, int b) { return ops[which](a, b); }
double scale(double x) { return x * 2.5 + 0.125; }
