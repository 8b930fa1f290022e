/* Tentative definitions (-fcommon): SHN_COMMON symbols with their alignment. */
int shared_common;
__attribute__((aligned(64))) char big_common[40];
int strong_wins;                 /* common here; common_strong.c defines it */
int *addr_shared_a(void) { return &shared_common; }
char *addr_big_a(void) { return big_common; }
int read_strong_a(void) { return strong_wins; }
