#include <stdint.h>
#include <stdio.h>
#include "globals.h"

int counter;                              /* COMMON */
static int local_state[16];               /* static .bss */
static const char *const local_msgs[] = { "first", "second", "third" };

int main(void)
{
    printf("g_int=%d *g_int_ptr=%d same=%d\n", g_int, *g_int_ptr, g_int_ptr == &g_int);
    g_int = 1000;
    printf("after write: *g_int_ptr=%d data_sum=%ld\n", *g_int_ptr, data_sum());

    printf("g_longs:");
    for (int i = 0; i < 8; i++)
        printf(" %ld", g_longs[i]);
    printf("\n*g_longs_mid=%ld mid-index=%ld\n", *g_longs_mid, (long)(g_longs_mid - g_longs));
    g_longs[4] = -5;
    printf("after write: *g_longs_mid=%ld data_sum=%ld\n", *g_longs_mid, data_sum());

    for (int i = 0; i < 3; i++)
        printf("point %d: (%d,%d) %s\n", i, g_points[i].x, g_points[i].y, g_points[i].label);
    util_move_point(1, 10, -10);
    g_points[2].label = local_msgs[2];
    printf("moved: (%d,%d) last=%s via ptr=(%d,%d)\n", g_points[1].x, g_points[1].y,
           g_last_point->label, g_last_point->x, g_last_point->y);

    printf("colors: %s %s %s %s cursor=%s util_color(6)=%s\n", g_colors[0], g_colors[1],
           g_colors[2], g_colors[3], *g_color_cursor, util_color(6));
    g_colors[1] = "chartreuse";
    printf("after write: cursor=%s util_color(1)=%s\n", *g_color_cursor, util_color(1));
    printf("weekdays:");
    for (int i = 0; i < 7; i++)
        printf(" %s", g_weekdays[i]);
    printf("\n");

    /* COMMON: one `counter` for all three objects. */
    printf("counter=%d same-address=%d\n", counter, g_counter_ptr == &counter);
    counter = 5;
    util_count(10);
    data_bump(100);
    *g_counter_ptr += 1000;
    printf("counter=%d data_counter=%d util_counter=%d\n", counter, data_counter(), util_counter());
    printf("shared_total=%d\n", shared_total);

    /* Multi-MiB zero-initialised memory. */
    printf("big nonzero before fill: %lu\n", big_zero_check());
    printf("big checksum: %lu\n", big_fill_and_checksum());
    printf("big_words[12345]=%u aligned64=%d\n", big_words[12345], (int)((uintptr_t)big_words % 64 == 0));
    printf("big checksum again: %lu\n", big_fill_and_checksum());

    for (int i = 0; i < 16; i++)
        local_state[i] = i * i;
    int s = 0;
    for (int i = 0; i < 16; i++)
        s += local_state[i];
    printf("local_state sum=%d %s %s\n", s, local_msgs[0], local_msgs[1]);
    return 0;
}
