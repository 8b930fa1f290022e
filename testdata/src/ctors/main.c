#include <stdio.h>
#include <stdlib.h>
#include "ctors.h"

static int main_seen = -1;

__attribute__((constructor(120)))
static void main_prio_init(void)
{
    main_seen = base_value + 1;
    record_ctor(120);
    printf("ctor 120 (main.c): main_seen=%d\n", main_seen);
}

__attribute__((constructor))
static void main_default_init(void)
{
    record_ctor(2);
    printf("ctor default (main.c): after late.c's? %s\n",
           late_status[0] == 'i' ? "yes" : "no");
}

__attribute__((destructor))
static void main_fini(void)
{
    printf("dtor default (main.c): runs first\n");
}

/* atexit (in libc_nonshared.a since glibc 2.34, not in libc.so): handlers run in
 * reverse order of registration, before the destructors. */
static void first_registered(void) { printf("atexit: registered first, runs second\n"); }
static void second_registered(void) { printf("atexit: registered second, runs first\n"); }

int main(void)
{
    printf("main: base=%d derived=%d main_seen=%d status=%s\n", base_value, derived_value,
           main_seen, late_status);
    printf("main: constructor order:");
    for (int i = 0; i < ctor_count && i < 8; i++)
        printf(" %d", ctor_sequence[i]);
    printf(" (%d total)\n", ctor_count);
    atexit(first_registered);
    atexit(second_registered);
    /* exit() rather than return: the destructors still run. */
    exit(ctor_count == 5 ? 0 : 1);
}
