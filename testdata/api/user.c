/* Uses lib_v*.c: direct data references (gcc PIE assumes copy relocations and
   reads extern variables PC-relative), a stored function pointer, calls. */
extern int counter;
extern int table[];
extern int version(void);
int (*stored)(void) = version;
int user_version(void) { return version(); }
int user_via_pointer(void) { return stored(); }
int user_counter(void) { return counter; }
int user_table(int i) { return table[i]; }
int *user_counter_address(void) { return &counter; }
