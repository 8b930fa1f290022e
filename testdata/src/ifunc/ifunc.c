// A global ifunc: the resolver runs before any constructor and picks one of two
// static implementations. Its address is taken only in other objects: ld
// refuses the large code models' GOTOFF64 and MOVW_UABS_* against an ifunc,
// and in a PIE gives a PC-relative reference to a local ifunc the PLT entry
// while the GOT holds the implementation (the addresses would differ).
#include "ifunc.h"

int resolver_ran;

static int add_plain(int a, int b) { return a + b; }
static int add_scaled(int a, int b) { return 10 * a + b; }

static volatile int choice = 2;

static binop resolve_combine(void) {
  resolver_ran = 1;
  return choice == 2 ? add_scaled : add_plain;
}

int combine(int a, int b) __attribute__((ifunc("resolve_combine")));
