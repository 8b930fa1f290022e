/* Prints the process id, through a helper: the perf map test (tests/debugger.rs)
   finds /tmp/perf-<pid>.map by it and looks for these functions and stubs. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int helper(int x) { return x + (int)getpid(); }

int print_pid(void) {
  printf("%d\n", helper(0));
  return 0;
}
