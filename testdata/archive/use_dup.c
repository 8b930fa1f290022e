extern int dup_fn(void);
int use_dup(void) { return dup_fn(); }
