// A version that needs a name nothing defines: refused, so the set is too.
int shared = 7;
extern long missing(void);
long b_get(void) { return missing(); }
