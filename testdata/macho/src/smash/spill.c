#include <string.h>

void spill(char *p, int n) { memset(p, 'A', (size_t)n); }
