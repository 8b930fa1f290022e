#include <stdio.h>
#include "ctors.h"

int base_value;                 /* set by a constructor; .bss otherwise */
int ctor_sequence[8];
int ctor_count;

void record_ctor(int id)
{
    if (ctor_count < 8)
        ctor_sequence[ctor_count] = id;
    ctor_count++;
}

__attribute__((constructor(101)))
static void early_init(void)
{
    base_value = 100;
    record_ctor(101);
    printf("ctor 101 (early.c): base_value=%d\n", base_value);
}

__attribute__((destructor(101)))
static void early_fini(void)
{
    printf("dtor 101 (early.c): runs last, base_value=%d\n", base_value);
}
