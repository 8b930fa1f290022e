/* probe() returns an address inside itself (its call's return address), for
 * relink_symbolize. */
#include <stdint.h>
volatile int probe_sink;
__attribute__((noinline)) static uintptr_t return_address(void) {
  return (uintptr_t)__builtin_return_address(0);
}
uintptr_t probe(void) {
  uintptr_t pc = return_address();
  probe_sink = 1; /* keeps the call above from being a tail call */
  return pc;
}
