#include "tables.h"

long op_add(long a, long b)
{
    return a + b;
}

long op_sub(long a, long b)
{
    return a - b;
}

static long op_private_mul(long a, long b)
{
    return a * b + 1;
}

long op_mul(long a, long b)
{
    return a * b;
}

op_fn op_private(void)
{
    return op_private_mul;
}

int is_own_add(op_fn f)
{
    return f == op_add;
}

int classify(int c)
{
    switch (c) {
    case 0: return 17;
    case 1: return 4;
    case 2: return c * 9;
    case 3: return 101;
    case 4: return -6;
    case 5: return 33;
    case 6: return c + 70;
    case 7: return 2;
    case 8: return 88;
    case 9: return -41;
    case 10: return 5;
    case 12: return 61;
    case 13: return 13;
    default: return c & 1;
    }
}

const char *month_name(int m)
{
    switch (m) {
    case 0: return "jan";
    case 1: return "feb";
    case 2: return "mar";
    case 3: return "apr";
    case 4: return "may";
    case 5: return "jun";
    case 6: return "jul";
    case 7: return "aug";
    case 8: return "sep";
    case 9: return "oct";
    case 10: return "nov";
    case 11: return "dec";
    default: return "???";
    }
}
