#include "../common/out.h"
#include "calls.h"

/* Same name as a static function in ping.c and pong.c: each object keeps its own. */
static long helper(long x)
{
    return x * 100;
}

int main(void)
{
    out_kv("is_even(1000)", is_even(1000));
    out_kv("is_odd(777)", is_odd(777));
    out_kv("is_even(31)", is_even(31));
    out_str("hofstadter F:");
    for (long i = 0; i < 12; i++) {
        out_str(" ");
        out_int(hof_f(i));
    }
    out_nl();
    out_kv("main helper(3)", helper(3));
    out_kv("ping_twice(21)", ping_twice(21));
    out_kv("apply(helper, 5)", apply(helper, 5));
    struct pair p = pair_swap((struct pair){ 3, -4 });
    out_kv("pair_swap a", p.a);
    out_kv("pair_swap b", p.b);
    struct big b = big_make(7);
    long sum = 0;
    for (int i = 0; i < 6; i++)
        sum += b.v[i] * (i + 1);
    out_kv("big_make(7) weighted sum", sum);
    for (int i = 0; i < 4; i++) {
        out_str(pong_name(i));
        out_str(" ");
    }
    out_nl();
    out_kv("checksum", checksum("the quick brown fox"));
    out_str("scaled(2.5) = ");
    out_fixed(scaled(2.5), 6);
    out_nl();
    out_str("halved(7.25f) = ");
    out_fixed(halved(7.25f), 4);
    out_nl();
    double w = 0;
    for (int i = 0; i < 4; i++)
        w += ping_weights[i];
    out_str("sum of ping_weights = ");
    out_fixed(w, 3);
    out_nl();
    return 0;
}
