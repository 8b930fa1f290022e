/* x86_64 only: Darwin and Linux pass variadic arguments alike on x86_64, so
 * Mach-O code may call glibc's printf family directly. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

double mean(int n, ...);
int format_into(char *buf, unsigned long size, const char *fmt, ...);
long sum_va(int n, va_list ap);

static long sum_list(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    long s = sum_va(n, ap);
    va_end(ap);
    return s;
}

int main(void)
{
    printf("ints %d %ld %u %x %c %s\n", -5, 1L << 40, 3000000000u, 0xbeef, 'q', "str");
    printf("doubles %.6f %e %g %.3f\n", 3.141592653589793, 6.02214076e23, 0.0001, -2.5);
    printf("twenty %d %d %d %d %d %d %d %d %d %d %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f\n",
           1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5);
    printf("mean %.4f\n", mean(5, 1.0, 2.0, 3.5, 4.25, 10.0));
    char buf[64];
    int n = format_into(buf, sizeof buf, "%s-%03d-%.2f", "id", 7, 0.125);
    printf("format_into %d [%s] len %zu\n", n, buf, strlen(buf));
    printf("sum_list %ld\n", sum_list(6, 10L, 20L, 30L, -5L, 1000L, 1L << 33));
    return 0;
}
