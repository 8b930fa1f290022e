#include <stdio.h>
#include "varargs.h"

int sum_ints(int count, ...)
{
    va_list ap;
    int s = 0;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        s += va_arg(ap, int);
    va_end(ap);
    return s;
}

/* types: 'i' int, 'l' long, 'd' double, 's' string (adds its length) */
double sum_mixed(const char *types, ...)
{
    va_list ap;
    double s = 0.0;
    va_start(ap, types);
    for (const char *t = types; *t; t++) {
        switch (*t) {
        case 'i': s += va_arg(ap, int); break;
        case 'l': s += (double)va_arg(ap, long); break;
        case 'd': s += va_arg(ap, double); break;
        case 's': { const char *p = va_arg(ap, const char *); while (*p++) s += 1.0; } break;
        default: break;
        }
    }
    va_end(ap);
    return s;
}

/* The va_list crosses into vimpl.c. */
int format_into(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vformat_impl(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void log_line(const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_impl(tag, fmt, ap);
    va_end(ap);
}
