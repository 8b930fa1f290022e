#include "calls.h"

/* Same names as in pong.c: each object must keep its own. */
static int calls;
static const char name[] = "ping";

static int helper(int x) { return x * 2 + 1; }

int is_even(unsigned n)
{
    calls++;
    if (n == 0)
        return 1;
    return is_odd(n - 1);          /* pong.c, which calls back into us */
}

/* Hofstadter female sequence; hof_m lives in pong.c. */
int hof_f(int n)
{
    calls++;
    return n == 0 ? 1 : n - hof_m(hof_f(n - 1));
}

int ping_helper(int x) { return helper(x) + helper(x + 1); }
int ping_calls(void) { return calls; }
const char *ping_name(void) { return name; }

struct vec3 vec_add(struct vec3 a, struct vec3 b)
{
    struct vec3 r = { a.x + b.x, a.y + b.y, a.z + b.z };
    return r;
}

long apply_twice(long (*fn)(long), long x)
{
    return fn(fn(x));
}
