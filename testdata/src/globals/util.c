#include <string.h>
#include "globals.h"

int counter;                              /* COMMON, merged with data.c's */
int shared_total;                         /* COMMON, resolved to data.c's definition */
unsigned int big_words[1 << 18] __attribute__((aligned(64)));  /* 1 MiB COMMON, 64-aligned */

static unsigned char big_buffer[4 << 20]; /* 4 MiB static .bss */
static int fills;                         /* static .bss */
static const char *const local_names[] = { "util-a", "util-b" };

unsigned long big_zero_check(void)
{
    unsigned long nonzero = 0;
    for (unsigned long i = 0; i < sizeof big_buffer; i++)
        nonzero += big_buffer[i] != 0;
    for (unsigned long i = 0; i < sizeof big_words / sizeof big_words[0]; i++)
        nonzero += big_words[i] != 0;
    return nonzero;
}

unsigned long big_fill_and_checksum(void)
{
    fills++;
    for (unsigned long i = 0; i < sizeof big_buffer; i++)
        big_buffer[i] = (unsigned char)(i * 7 + (i >> 12) + fills);
    for (unsigned long i = 0; i < sizeof big_words / sizeof big_words[0]; i++)
        big_words[i] = (unsigned int)(i * 2654435761u);
    unsigned long sum = 0;
    for (unsigned long i = 0; i < sizeof big_buffer; i += 4093)
        sum = sum * 31 + big_buffer[i];
    for (unsigned long i = 0; i < sizeof big_words / sizeof big_words[0]; i += 1021)
        sum ^= big_words[i];
    return sum + (unsigned long)strlen(local_names[fills % 2]);
}

void util_count(int n) { counter += n; }
int util_counter(void) { return counter; }
const char *util_color(int i) { return g_colors[i & 3]; }

void util_move_point(int i, int dx, int dy)
{
    g_points[i].x += dx;
    g_points[i].y += dy;
}
