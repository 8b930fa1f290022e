#include <stdio.h>
#include <string.h>
#include "varargs.h"

int main(void)
{
    printf("consts: %.6f %.6f %.6f %.6f\n", k_consts[0], k_consts[1], k_consts[2], k_consts[3]);
    for (int i = -2; i <= 3; i++)
        printf("poly(%d/4)=%.6f\n", i, poly(i / 4.0));
    printf("harmonic(1000)=%.6f harmonic(10)=%.6f\n", harmonic(1000), harmonic(10));
    double v[] = { 1.5, -2.25, 1e-3, 12345.678, 0.1, 0.2 };
    printf("mean=%.6f scaled=%.6f\n", mean(v, 6), mean(v, 6) * g_scale);
    g_scale = 0.001;
    printf("rescaled=%.6f 0.1+0.2=%.17g\n", mean(v, 6) * g_scale, v[4] + v[5]);
    printf("lerp_f=%.6f\n", (double)lerp_f(1.0f, 3.0f, 0.375f));
    printf("u64: %.1f %lu %lu\n", from_u64(18446744073709551615UL),
           to_u64(9007199254740993.0), to_u64(1.8e19));
    printf("round: %ld %ld %ld %ld\n", round_half_away(2.5), round_half_away(-2.5),
           round_half_away(0.49999999999999994), round_half_away(-7.5000001));
    printf("sci: %e %g %g %.3e\n", 6.02214076e23, 1e-10, 123456789.0, -0.000123456);

    /* Many mixed arguments: more than fit in registers on either ABI. */
    printf("mixed: %d %ld %u %x %s %c %.2f %lld %.3f %s %d %.1f %lu %.4f %d %.5f %o %.6f %s %.2e\n",
           -1, 1234567890123L, 4000000000u, 0xbeefu, "str", 'Z', 3.14159, -9000000000000LL,
           2.0 / 3.0, "second", 42, 1e3, 18446744073709551615UL, 0.5, 7, 1.0 / 7.0, 8u,
           -1.0 / 3.0, "last", 12345.6789);

    char buf[128];
    int n = snprintf(buf, sizeof buf, "%s-%04d-%+.2f-%5s|%-5s|", "snp", 42, 2.345, "ab", "cd");
    printf("snprintf(%d): %s\n", n, buf);
    n = snprintf(buf, 8, "%s", "truncated-output");
    printf("snprintf truncated(%d): %s\n", n, buf);

    printf("sum_ints: %d %d %d\n", sum_ints(0), sum_ints(3, 1, 2, 3),
           sum_ints(12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1000));
    printf("sum_mixed: %.6f\n", sum_mixed("idldsiddddddddd", 1, 0.5, 100000000000L, 0.25, "four",
                                          -3, 0.125, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.5));
    n = format_into(buf, sizeof buf, "%d/%s/%.3f/%ld/%c", 7, "seven", 7.007, 70000000000L, 'q');
    printf("format_into(%d): %s\n", n, buf);
    n = format_into(buf, 6, "%s", "cut-here");
    printf("format_into short(%d): %s\n", n, buf);
    log_line("info", "%d apples and %.2f pears, %s", 3, 2.5, "ok");
    log_line("warn", "no args");
    printf("vimpl_calls=%d len=%zu\n", vimpl_calls, strlen(buf));
    return 0;
}
