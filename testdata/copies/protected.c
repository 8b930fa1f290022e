/* A shared library that reads its own variable directly (protected visibility:
 * no GOT entry), so no copy of it can be made one (tests/copies.rs). */
__attribute__((visibility("protected"))) int libvar = 5;
int libvar_get(void) { return libvar; }
