int dup_fn(void) { return 2; }
int dup_only2(void) { return 22; }
