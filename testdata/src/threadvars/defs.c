// (Named to sort before main.c: relink binds a thread-local reference when the
// object making it loads, so the definer must come first; runtime/tls.rs.)
// __thread variables: one global (also used by main.c), one static in .tbss and
// one forced to the global-dynamic model, used from several threads.
#include <stdio.h>
#include "threadvars.h"

__thread int tls_counter = 100;
__thread long tls_gd __attribute__((tls_model("global-dynamic"))) = 7;
static __thread char tls_name[16];

int tls_work(int k, char *out, size_t n) {
  int first = tls_counter;
  for (int i = 0; i < k; i++) tls_counter += i + 1;
  tls_gd *= k;
  snprintf(tls_name, sizeof tls_name, "t%d", k);
  return snprintf(out, n, "%s first=%d counter=%d gd=%ld", tls_name, first, tls_counter, tls_gd);
}
