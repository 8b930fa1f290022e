// own_v1.c's next version: same variables, new code.
long own = 50;
long *volatile own_ptr = &own;
long own_bump(void) { return own += 10; }
long *own_addr(void) { return &own; }
long *own_stored(void) { return own_ptr; }
