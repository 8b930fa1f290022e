// Inline functions and a template both comdat_a.cpp and comdat_b.cpp use: each
// object has its own copy in a COMDAT group; the first loaded keeps it.
__attribute__((noinline)) inline int counter() {
    static int n = 0;   // one variable for every user (_ZZ7countervE1n, in its own group)
    return ++n;
}
template <typename T> __attribute__((noinline)) T twice(T x) { return x + x + T(1); }
const char *greeting();
