// comdat_a.cpp without the inline function and the template: no COMDAT groups.
int a_count() { return -1; }
long a_twice(long x) { return x; }
