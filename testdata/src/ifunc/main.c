// Calls the ifunc directly and through pointers taken in another object;
// compares those pointers (never prints addresses).
#include <stdio.h>
#include "ifunc.h"

static int resolver_ran_before_ctors = -1;

__attribute__((constructor(101))) static void first_constructor(void) {
  resolver_ran_before_ctors = resolver_ran;
}

static const char *yes(int b) { return b ? "yes" : "no"; }

int main(void) {
  binop here = combine;
  printf("resolver ran before constructors: %s\n", yes(resolver_ran_before_ctors == 1));
  printf("combine(3, 4) = %d, from user.c %d\n", combine(3, 4), call_combine(3, 4));
  printf("through pointers: main %d, user.c code %d, user.c data %d, user.c table %d %d\n",
         here(5, 6), combine_in_user_object()(5, 6), combine_in_user_data(5, 6),
         combine_table[0](5, 6), combine_table[1](5, 6));
  printf("one address: %s %s %s\n", yes(here == combine_in_user_object()),
         yes(here == combine_in_user_data), yes(here == combine_table[1]));
  return 0;
}
