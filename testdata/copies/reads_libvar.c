extern int libvar;
int read_libvar(void) { return libvar; }
