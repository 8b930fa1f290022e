/* globals: data defined in one object and read and written from others:
 * ints, arrays, structs, string tables, pointers to other objects' data in
 * initialised data, COMMON symbols (built with -fcommon: `int counter;` is a
 * tentative definition in three objects, `shared_total` is COMMON in one object
 * and defined with an initialiser in another), and multi-MiB .bss / COMMON
 * arrays that must start out zero. */
#ifndef GLOBALS_H
#define GLOBALS_H

struct point {
    int x, y;
    const char *label;
};

/* data.c */
extern int g_int;
extern long g_longs[8];
extern struct point g_points[3];
extern const char *g_colors[4];
extern const char *const g_weekdays[7];
extern int *g_int_ptr;
extern long *g_longs_mid;
extern struct point *g_last_point;
extern int *g_counter_ptr;           /* &counter, a COMMON symbol */
extern const char **g_color_cursor;
long data_sum(void);
void data_bump(int by);
int data_counter(void);

/* util.c */
extern unsigned int big_words[1 << 18];   /* 1 MiB, COMMON */
unsigned long big_zero_check(void);
unsigned long big_fill_and_checksum(void);
void util_count(int n);
int util_counter(void);
const char *util_color(int i);
void util_move_point(int i, int dx, int dy);

/* main.c, data.c and util.c each say `int counter;` */
extern int counter;
extern int shared_total;

#endif
