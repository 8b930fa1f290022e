#include "globals.h"

int counter;                              /* COMMON (with -fcommon) */
int shared_total = 5;                     /* the one real definition */

int g_int = 42;
long g_longs[8] = { 1, -2, 3, -4, 500000000000L, 6, 7, 8 };
struct point g_points[3] = {
    { 0, 0, "origin" },
    { 3, 4, "three-four" },
    { -7, 11, "elsewhere" },
};
const char *g_colors[4] = { "red", "green", "blue", "cyan" };
const char *const g_weekdays[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

int *g_int_ptr = &g_int;
long *g_longs_mid = &g_longs[4];
struct point *g_last_point = &g_points[2];
int *g_counter_ptr = &counter;
const char **g_color_cursor = &g_colors[1];

long data_sum(void)
{
    long s = 0;
    for (int i = 0; i < 8; i++)
        s += g_longs[i];
    return s + g_int;
}

void data_bump(int by)
{
    counter += by;
    shared_total += by;
}

int data_counter(void) { return counter; }
