// Prints what the other objects' symbols and sections give. No raw addresses:
// only comparisons, alignments and values.
#include <stdio.h>
#include <string.h>
#include "emit.h"

extern int missing_function(void) __attribute__((weak));
extern int missing_data __attribute__((weak));

__attribute__((constructor(120))) static void m120(void) { log_ctor("m120 "); }
__attribute__((constructor(200))) static void m200(void) { log_ctor("m200 "); }
__attribute__((constructor)) static void mdef(void) { log_ctor("mdef "); }
__attribute__((destructor(120))) static void d120(void) { printf("dtor m120\n"); }
__attribute__((destructor)) static void ddef(void) { printf("dtor mdef\n"); }

int mul(int a, int b) { return a * b; }

const char *greet_other_object(void) { return "merged greeting"; }

static const char *yes(int b) { return b ? "yes" : "no"; }

static unsigned long align_of(const void *p) {
  uintptr_t a = (uintptr_t)p;
  unsigned long al = 1;
  while (al < 65536 && (a & al) == 0) al <<= 1;
  return al;   // the largest power of two up to 64 KiB dividing the address
}

static void tables(void) {
  for (const struct op *o = op_table; o->fn; o++)
    printf("relro: %s(7, 2) = %d\n", o->name, o->fn(7, 2));
  printf("relro: colors %s %s %s\n", color_names[0], color_names[1], color_names[2]);
  printf("relro: hidden_add from table is vis.c's: %s\n", yes(op_table[1].fn == hidden_add_in_vis()));
  printf("strings: %s / %s / %s; same in one object: %s\n", greet_a(), greet_b(),
         greet_other_object(), yes(greet_a() == greet_b()));
}

static void linkage(void) {
  printf("weak: weak_value %d (vis.c calls %d), weak_data %d, weak_alone %d\n", weak_value(),
         weak_value_from_vis(), weak_data, weak_alone);
  printf("weak undefined: function null %s, data null %s\n", yes(missing_function == 0),
         yes(&missing_data == 0));
  int before = hidden_counter;
  int sum = hidden_add(2, 3);
  printf("hidden: hidden_add(2, 3) = %d, counter %d -> %d, address same: %s\n", sum, before,
         hidden_counter, yes(hidden_add == hidden_add_in_vis()));
  protected_value += 1;
  printf("protected: value %d, same address: %s, twice(21) = %d\n", *protected_value_in_vis(),
         yes(&protected_value == protected_value_in_vis()), protected_twice(21));
}

static void layout(void) {
  common_pair[3] = 33;
  common_small[7] = 7;
  printf("common: common_pair align >= 128: %s, common_small align >= 32: %s, values %ld %d\n",
         yes(align_of(common_pair) >= 128), yes(align_of(common_small) >= 32), common_pair[3],
         common_small[7]);
  printf("aligned: page_data %s (%d %d %d), page_rodata %s (%s), big_bss %s (%d)\n",
         yes(align_of(page_data) >= 4096), page_data[0], page_data[1], page_data[2],
         yes(align_of(page_rodata) >= 4096), page_rodata, yes(align_of(big_bss) >= 8192),
         big_bss[31]);
  big_common[1] = 9;
  printf("aligned: big_common %s (%d %d)\n", yes(align_of(big_common) >= 65536), big_common[0],
         big_common[1]);
  printf("zero-size: markers non-null %s %s\n", yes(opaque(empty_marker) != 0),
         yes(opaque(empty_marker_end) != 0));
}

int main(void) {
  printf("constructors: %s\n", ctor_log);
  tables();
  linkage();
  layout();
  return 0;
}
