// flags: -fPIE
// Reads `shared` directly (PC-relative, as PIE code reads extern variables).
extern int shared;
long c_get(void) { return shared; }
