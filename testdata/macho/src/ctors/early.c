/* Built with -fno-register-global-dtors-with-atexit: its destructor goes into
 * __mod_term_func (the others' are registered with __cxa_atexit). */
#include "../common/out.h"
#include "ctors.h"

int base_value;
int sequence[8];
int recorded;

void record(int id)
{
    if (recorded < 8)
        sequence[recorded] = id;
    recorded++;
}

__attribute__((constructor)) static void early_init(void)
{
    base_value = 100;
    record(1);
    out_kv("ctor early.c: base_value", base_value);
}

__attribute__((constructor)) static void early_init_second(void)
{
    base_value += 5;
    record(2);
    out_kv("ctor early.c (second): base_value", base_value);
}

__attribute__((destructor)) static void early_fini(void)
{
    out_kv("dtor early.c (__mod_term_func, runs last): base_value", base_value);
}
