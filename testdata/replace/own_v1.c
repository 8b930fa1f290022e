// An object's own strong variables, which its code reaches through the GOT
// (gcc -fPIC: `own` may be interposed). relink relaxes those loads to compute
// the address (x86-64 `lea`, AArch64 `adrp` + `add`); a pointer to `own` is
// stored in data, and other objects reach it too (own_reader*.c).
long own = 5;
long *volatile own_ptr = &own;
long own_bump(void) { return ++own; }
long *own_addr(void) { return &own; }
long *own_stored(void) { return own_ptr; }
