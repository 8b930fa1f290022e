#include "calls.h"

const double ping_weights[4] = { 0.125, 1.5, -2.75, 100.0625 };

static long helper(long x)
{
    return x + 1;
}

int is_even(unsigned n)
{
    return n == 0 ? 1 : is_odd(n - 1);
}

long hof_f(long n)
{
    return n == 0 ? 1 : n - hof_m(hof_f(n - 1));
}

long ping_twice(long x)
{
    return apply(helper, apply(helper, x)) * 2;
}

struct pair pair_swap(struct pair p)
{
    return (struct pair){ p.b * 10, p.a * 10 };
}

double scaled(double x)
{
    return x * 3.141592653589793 + 0.5;
}

long checksum(const char *s)
{
    long h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h % 1000003;
}
