#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

int open_missing_errno(void)
{
    errno = 0;
    FILE *f = fopen("/nonexistent-relink-test-dir/missing-file.txt", "r");
    if (f) {
        fclose(f);
        return 0;
    }
    return errno;
}

int strtol_overflow(void)
{
    errno = 0;
    long v = strtol("123456789012345678901234567890", NULL, 10);
    return errno == ERANGE && v == LONG_MAX;
}

const char *errno_name(int e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ERANGE: return "ERANGE";
    default: return "other";
    }
}

void complain(const char *what)
{
    fprintf(stderr, "cli: complaint about %s (this goes to stderr)\n", what);
    fputs("cli: second stderr line\n", stderr);
}
