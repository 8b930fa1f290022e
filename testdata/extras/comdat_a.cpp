#include "comdat.h"
int a_count() { return counter(); }
long a_twice(long x) { return twice<long>(x); }
