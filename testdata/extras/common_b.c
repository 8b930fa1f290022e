int shared_common;
__attribute__((aligned(128))) char big_common[100];
int *addr_shared_b(void) { return &shared_common; }
char *addr_big_b(void) { return big_common; }
