// Functions with an alignment attribute (their .text sections are aligned
// too), and their addresses as this object sees them.
#include <stdint.h>

__attribute__((aligned(4096), noinline)) int page_function(int x) { return x * 3 + 1; }
__attribute__((aligned(64), noinline)) int line_function(int x) { return x + 64; }

uintptr_t page_function_here(void) { return (uintptr_t)page_function; }
uintptr_t line_function_here(void) { return (uintptr_t)line_function; }
