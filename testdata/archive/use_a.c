extern int a_entry(int);
extern int a_ctor_seen;
int use_a(int x) { return a_entry(x) * 100 + a_ctor_seen; }
