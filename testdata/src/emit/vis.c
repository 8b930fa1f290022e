// Weak definitions (two overridden in user.c), weak undefined references,
// hidden and protected symbols, commons, over-aligned and zero-size sections.
#include "emit.h"

__attribute__((weak)) int weak_value(void) { return 1; }
int weak_value_from_vis(void) { return weak_value(); }
__attribute__((weak)) int weak_data = 10;
__attribute__((weak)) int weak_alone = 30;

__attribute__((visibility("hidden"))) int hidden_counter = 5;
__attribute__((visibility("hidden"))) int hidden_add(int a, int b) {
  hidden_counter++;
  return a + b;
}
binop hidden_add_in_vis(void) { return hidden_add; }

__attribute__((visibility("protected"))) int protected_value = 42;
__attribute__((visibility("protected"))) int protected_twice(int x) { return 2 * x; }
const int *protected_value_in_vis(void) { return &protected_value; }

__attribute__((aligned(4096))) char page_data[100] = {1, 2, 3};
__attribute__((aligned(4096))) const char page_rodata[64] = "page aligned rodata";
// .bss, not COMMON. (A 64 KiB-aligned section would pad every object to 64 KiB:
// tests/extras.rs has those; here 64 KiB is a COMMON symbol's alignment.)
__attribute__((aligned(8192))) char big_bss[32] = {0};
__attribute__((aligned(65536))) char big_common[8];

// Zero-size sections, each with a symbol others refer to.
__attribute__((section(".data.emit_empty"))) char empty_marker[0];
__attribute__((section("emit_empty_end"))) char empty_marker_end[0];

__attribute__((noinline)) const char *opaque(const char *p) {
  __asm__ volatile("" : "+r"(p));
  return p;
}

long common_pair[4] __attribute__((aligned(128)));
char common_small[8] __attribute__((aligned(32)));
