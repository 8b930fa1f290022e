// Shared declarations of the `emit` program: symbols and sections compilers
// emit, used across objects (testdata/README.md).
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef int (*binop)(int, int);

// user.c: const tables of pointers, strings, strong definitions.
struct op {
  const char *name;
  binop fn;
};
extern const struct op op_table[];   // .data.rel.ro: pointers to functions and strings
extern const char *const color_names[];
int mul(int a, int b);   // main.c, in op_table
const char *greet_a(void);   // the same string literal in two functions (SHF_MERGE)
const char *greet_b(void);
const char *greet_other_object(void);   // main.c: the same literal there

// vis.c: weak, hidden, protected, commons, alignment, zero-size sections.
int weak_value(void);           // weak in vis.c, strong in user.c
int weak_value_from_vis(void);  // vis.c's own call of it
extern int weak_data;           // weak in vis.c, strong in user.c
extern int weak_alone;          // weak, nobody overrides
__attribute__((visibility("hidden"))) int hidden_add(int a, int b);
extern __attribute__((visibility("hidden"))) int hidden_counter;
extern __attribute__((visibility("protected"))) int protected_value;
__attribute__((visibility("protected"))) int protected_twice(int x);
const int *protected_value_in_vis(void);
binop hidden_add_in_vis(void);
extern char page_data[100];        // aligned(4096), .data
extern const char page_rodata[64]; // aligned(4096), .rodata
extern char big_bss[32];           // aligned(8192), .bss
extern char big_common[8];         // aligned(65536), COMMON
extern char empty_marker[];        // in a zero-size section
extern char empty_marker_end[];    // in another zero-size section
const char *opaque(const char *p); // returns its argument (hides it from the compiler)

// Commons (-fcommon): one name in two objects with different alignment.
extern long common_pair[4];
extern char common_small[8];

// ctors.c and main.c: constructors and destructors with priorities.
extern char ctor_log[64];
void log_ctor(const char *what);
