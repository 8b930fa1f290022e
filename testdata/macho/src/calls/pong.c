#include "calls.h"

static const char *const names[] = { "zero", "one", "two", "three" };

static long helper(long x)
{
    return x - 1;
}

int is_odd(unsigned n)
{
    return n == 0 ? 0 : is_even(n - 1);
}

long hof_m(long n)
{
    return n == 0 ? 0 : n - hof_f(hof_m(n - 1));
}

long apply(long (*f)(long), long x)
{
    return f(helper(x + 1));
}

struct big big_make(long seed)
{
    struct big b;
    for (int i = 0; i < 6; i++)
        b.v[i] = seed * (i + 3) - i;
    return b;
}

const char *pong_name(int i)
{
    return names[i & 3];
}

float halved(float x)
{
    return x * 0.5f + 0.25f;
}
