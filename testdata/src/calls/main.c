#include <stdio.h>
#include <string.h>
#include "calls.h"

static int calls;                  /* a third static of the same name */

static long triple_plus_one(long x) { calls++; return 3 * x + 1; }

int main(void)
{
    printf("is_even(10000)=%d is_odd(7777)=%d is_even(7)=%d\n",
           is_even(10000), is_odd(7777), is_even(7));
    printf("calls after parity: ping=%d pong=%d\n", ping_calls(), pong_calls());

    printf("F:");
    for (int i = 0; i < 16; i++)
        printf(" %d", hof_f(i));
    printf("\nM:");
    for (int i = 0; i < 16; i++)
        printf(" %d", hof_m(i));
    printf("\n");

    printf("helpers: ping(5)=%d pong(5)=%d\n", ping_helper(5), pong_helper(5));
    printf("names: %s %s (len %zu)\n", ping_name(), pong_name(),
           strlen(ping_name()) + strlen(pong_name()));

    struct vec3 a = { 1, -2, 300000000000L }, b = { 10, 20, 30 };
    struct vec3 c = vec_add(a, b);
    printf("vec_add: %ld %ld %ld\n", c.x, c.y, c.z);

    struct big g = make_big(1000);
    printf("big: %ld %ld %ld %ld %ld %ld sum=%ld\n",
           g.v[0], g.v[1], g.v[2], g.v[3], g.v[4], g.v[5], sum_big(g));

    long r = apply_twice(triple_plus_one, 5);
    printf("apply_twice(static cb, 5)=%ld, local calls=%d\n", r, calls);
    puts("calls: done");
    return 0;
}
