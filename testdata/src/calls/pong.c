#include "calls.h"

static int calls;
static const char name[] = "pong";

static int helper(int x) { return x * 3 - 1; }

int is_odd(unsigned n)
{
    calls++;
    if (n == 0)
        return 0;
    return is_even(n - 1);          /* ping.c */
}

/* Hofstadter male sequence; hof_f lives in ping.c. */
int hof_m(int n)
{
    calls++;
    return n == 0 ? 0 : n - hof_f(hof_m(n - 1));
}

int pong_helper(int x) { return helper(x) + helper(x + 1); }
int pong_calls(void) { return calls; }
const char *pong_name(void) { return name; }

struct big make_big(long seed)
{
    struct big b;
    for (int i = 0; i < 6; i++)
        b.v[i] = seed * (i + 1) + i;
    return b;
}

long sum_big(struct big b)
{
    long s = 0;
    for (int i = 0; i < 6; i++)
        s += b.v[i] * (i % 2 ? -1 : 1);
    return s;
}
