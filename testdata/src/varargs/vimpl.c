#include <stdio.h>
#include <string.h>
#include "varargs.h"

int vimpl_calls;

int vformat_impl(char *buf, size_t size, const char *fmt, va_list ap)
{
    va_list copy;
    vimpl_calls++;
    va_copy(copy, ap);
    int needed = vsnprintf(NULL, 0, fmt, copy);   /* measure with a copy */
    va_end(copy);
    int n = vsnprintf(buf, size, fmt, ap);
    return needed == n ? n : -1;
}

/* Formats into a buffer rather than calling vprintf(): glibc's headers inline
 * vprintf() as vfprintf(stdout, ...), and gcc-nopic code reads the libc
 * variable stdout with R_X86_64_PC32, which relink cannot combine with that
 * code's 32-bit absolute addresses (see the cli program and README.md). */
void vlog_impl(const char *tag, const char *fmt, va_list ap)
{
    char line[256];
    vimpl_calls++;
    vsnprintf(line, sizeof line, fmt, ap);
    printf("[%s] %s\n", tag, line);
}
