#include <string.h>
#include "../common/out.h"
#include "ctors.h"

int derived_value;
char late_status[16] = "unset";

__attribute__((constructor)) static void late_init(void)
{
    derived_value = base_value * 2;
    strcpy(late_status, "initialised");
    record(3);
    out_kv("ctor late.c: derived_value", derived_value);
}

__attribute__((destructor)) static void late_fini(void)
{
    out_str("dtor late.c: status ");
    out_str(late_status);
    out_nl();
}
