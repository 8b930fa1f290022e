/* A member of libmath_capi.a that nothing needs: never linked. */
int cube(int x) { return x * x * x; }
