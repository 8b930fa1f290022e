/* A member of libmath_capi.a: pulled in because sum_squares.c needs it. */
int square(int x) { return x * x; }
