// replace_many: `shared` moves from mv_a to mv_b in version 2 (one edit, two files).
int shared = 5;
long a_version(void) { return 1; }
