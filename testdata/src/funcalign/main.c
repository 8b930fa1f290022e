// The address of a function declared aligned(N) is a multiple of N, wherever it
// is taken (C code may keep tags in the low bits of such pointers).
#include <stdint.h>
#include <stdio.h>

int page_function(int x);
int line_function(int x);
uintptr_t page_function_here(void);
uintptr_t line_function_here(void);

static const char *yes(int b) { return b ? "yes" : "no"; }

int main(void) {
  printf("page_function(4) = %d, line_function(4) = %d\n", page_function(4), line_function(4));
  printf("page_function %% 4096 == 0: main %s, funcs.c %s\n",
         yes((uintptr_t)page_function % 4096 == 0), yes(page_function_here() % 4096 == 0));
  printf("line_function %% 64 == 0: main %s, funcs.c %s\n",
         yes((uintptr_t)line_function % 64 == 0), yes(line_function_here() % 64 == 0));
  printf("one address: %s %s\n", yes((uintptr_t)page_function == page_function_here()),
         yes((uintptr_t)line_function == line_function_here()));
  return 0;
}
