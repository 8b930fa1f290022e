// The good version ifunc_null.c replaces.
long chosen(void) { return 7; }
long ifunc_value(void) { return 2; }
