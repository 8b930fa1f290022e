#include <stdio.h>
#include "ctors.h"

int derived_value = -1;
const char *late_status = "unset";

__attribute__((constructor(150)))
static void late_prio_init(void)
{
    derived_value = base_value * 2;      /* early.c's 101 constructor ran first */
    record_ctor(150);
    printf("ctor 150 (late.c): derived_value=%d\n", derived_value);
}

__attribute__((constructor))
static void late_default_init(void)
{
    late_status = "initialised";
    record_ctor(1);
    printf("ctor default (late.c): late_status=%s\n", late_status);
}

__attribute__((destructor))
static void late_fini(void)
{
    printf("dtor default (late.c)\n");
}

__attribute__((destructor(200)))
static void late_prio_fini(void)
{
    printf("dtor 200 (late.c)\n");
}
