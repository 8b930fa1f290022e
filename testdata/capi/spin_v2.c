/* The other version of spin_v1.c. */
int spin(int x) { return x + 2; }
