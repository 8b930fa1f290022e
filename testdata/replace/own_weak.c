// A weak definition read through the GOT: a strong one elsewhere wins, so these
// loads must stay loads through the slot (never relaxed to this copy).
__attribute__((weak)) long contested = 1;
long contested_read(void) { return contested; }
long *contested_addr(void) { return &contested; }
