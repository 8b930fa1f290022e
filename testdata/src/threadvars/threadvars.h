// defs.c's __thread variables and the function threads call (testdata/README.md).
#pragma once
#include <stddef.h>

extern __thread int tls_counter;
extern __thread long tls_gd __attribute__((tls_model("global-dynamic")));
int tls_work(int k, char *out, size_t n);
