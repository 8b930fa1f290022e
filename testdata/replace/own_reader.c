// Reaches own_v*.c's `own` through the GOT (-fPIC): not its own, never relaxed.
extern long own;
long reader_bump(void) { return ++own; }
long *reader_addr(void) { return &own; }
