#include "tables.h"

const struct op const_ops[] = {
    { "add", op_add },
    { "sub", op_sub },
    { "mul", op_mul },
    { 0, 0 },
};

struct op ops[] = {
    { "add", op_add },
    { "sub", op_sub },
    { "mul", op_mul },
    { 0, 0 },
};

op_fn *const op_cursor = &ops[1].fn;

int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int cmp_long_desc(const void *a, const void *b)
{
    return cmp_long(b, a);
}

int (*const comparators[2])(const void *, const void *) = { cmp_long, cmp_long_desc };
