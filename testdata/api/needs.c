/* Needs two symbols nothing defines, and one the host defines. */
int missing_one(int);
int missing_two(int);
int host_add(int, int);
int uses_missing(int x) { return missing_one(x) + missing_two(x); }
int uses_host(int x) { return host_add(x, 1000); }
