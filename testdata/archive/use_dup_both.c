/* Needs dup_only2 as well: m_dup2.o is pulled too, and its dup_fn is a duplicate. */
extern int dup_fn(void);
extern int dup_only2(void);
int use_dup_both(void) { return dup_fn() + dup_only2(); }
