// The `ifunc` program: a global STT_GNU_IFUNC defined in ifunc.c, used from
// other objects (testdata/README.md).
#pragma once

typedef int (*binop)(int, int);

int combine(int a, int b);   // ifunc.c: the ifunc
extern int resolver_ran;     // set by its resolver

// user.c: the ifunc called, and its address taken in code, in data and in a
// .data.rel.ro table.
int call_combine(int a, int b);
binop combine_in_user_object(void);
extern binop combine_in_user_data;
extern const binop combine_table[2];
