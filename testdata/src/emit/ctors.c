// Constructors and destructors with priorities; main.c has more.
#include <stdio.h>
#include <string.h>
#include "emit.h"

char ctor_log[64];

void log_ctor(const char *what) {
  strncat(ctor_log, what, sizeof ctor_log - strlen(ctor_log) - 1);
}

__attribute__((constructor(101))) static void c101(void) { log_ctor("a101 "); }
__attribute__((constructor(300))) static void c300(void) { log_ctor("a300 "); }
__attribute__((constructor)) static void cdef(void) { log_ctor("adef "); }
__attribute__((destructor(101))) static void d101(void) { printf("dtor a101\n"); }
__attribute__((destructor(300))) static void d300(void) { printf("dtor a300\n"); }
__attribute__((destructor)) static void ddef(void) { printf("dtor adef\n"); }
