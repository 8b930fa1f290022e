// own_v1.c's version with `own` grown to two words: it must move.
long own[2] = {7, 0};
long *volatile own_ptr = own;
long own_bump(void) { return own[0] += 100; }
long *own_addr(void) { return own; }
long *own_stored(void) { return own_ptr; }
