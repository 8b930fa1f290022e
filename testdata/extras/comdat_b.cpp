#include "comdat.h"
int b_count() { return counter(); }
long b_twice(long x) { return twice<long>(x) * 2; }
