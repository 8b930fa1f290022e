#include <string.h>
#include "tables.h"

int cmp_record_score(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;      /* descending */
    return strcmp(x->name, y->name);
}

int cmp_record_name(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int (*const default_cmp)(const void *, const void *) = cmp_record_name;
