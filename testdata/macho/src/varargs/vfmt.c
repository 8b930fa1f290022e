#include <stdarg.h>
#include <stdio.h>

double mean(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    double s = 0;
    for (int i = 0; i < n; i++)
        s += va_arg(ap, double);
    va_end(ap);
    return s / n;
}

/* Hands its va_list to glibc's vsnprintf, and a copy to vprintf-free code. */
int format_into(char *buf, unsigned long size, const char *fmt, ...)
{
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int n = vsnprintf(buf, size, fmt, ap);
    int again = vsnprintf(0, 0, fmt, copy);
    va_end(copy);
    va_end(ap);
    return n == again ? n : -1;
}

long sum_va(int n, va_list ap)
{
    long s = 0;
    for (int i = 0; i < n; i++)
        s += va_arg(ap, long);
    return s;
}
