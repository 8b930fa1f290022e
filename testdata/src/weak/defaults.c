#include <stdio.h>
#include "weak.h"

__attribute__((weak)) const char *backend_name(void) { return "default-backend"; }
__attribute__((weak)) int backend_version(void) { return 1; }
__attribute__((weak)) int tuning = 10;
__attribute__((weak)) int retries = 3;
__attribute__((weak)) const char *motto = "weak motto";

const char *describe(void)
{
    static char buf[96];
    snprintf(buf, sizeof buf, "%s v%d tuning=%d retries=%d", backend_name(), backend_version(),
             tuning, retries);
    return buf;
}

int defaults_tuning(void) { return tuning; }
const char *(*defaults_backend_ptr(void))(void) { return backend_name; }
