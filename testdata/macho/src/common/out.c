#include <stdio.h>
#include "out.h"

/* Written backwards into the end of buf; returns the first digit. */
static char *digits_of(unsigned long v, unsigned base, char *end)
{
    *end = 0;
    do {
        *--end = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    return end;
}

void out_str(const char *s)
{
    fputs(s, stdout);
}

void out_int(long v)
{
    char buf[24];
    unsigned long u = v < 0 ? 0 - (unsigned long)v : (unsigned long)v;
    char *p = digits_of(u, 10, buf + sizeof buf - 1);
    if (v < 0)
        *--p = '-';
    fputs(p, stdout);
}

void out_hex(unsigned long v)
{
    char buf[24];
    fputs("0x", stdout);
    fputs(digits_of(v, 16, buf + sizeof buf - 1), stdout);
}

void out_fixed(double v, int digits)
{
    double scale = 1;
    for (int i = 0; i < digits; i++)
        scale *= 10;
    if (v < 0) {
        fputc('-', stdout);
        v = -v;
    }
    unsigned long all = (unsigned long)(v * scale + 0.5);
    unsigned long whole = all / (unsigned long)scale;
    unsigned long frac = all % (unsigned long)scale;
    out_int((long)whole);
    if (digits > 0) {
        char buf[24];
        char *p = digits_of(frac, 10, buf + sizeof buf - 1);
        fputc('.', stdout);
        for (int pad = digits - (int)(buf + sizeof buf - 1 - p); pad > 0; pad--)
            fputc('0', stdout);
        fputs(p, stdout);
    }
}

void out_nl(void)
{
    fputc('\n', stdout);
}

void out_kv(const char *key, long v)
{
    out_str(key);
    fputc(' ', stdout);
    out_int(v);
    out_nl();
}
