/* Another object calling the global ifunc. */
int scale(int x);
int other_scale(int x) { return scale(x) - 1; }
