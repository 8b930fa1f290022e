/* calls: cross-object calls, mutual recursion across objects, static
 * functions and static data with the same names in several objects,
 * callbacks into static functions, structs passed and returned by value. */
#ifndef CALLS_H
#define CALLS_H

struct vec3 { long x, y, z; };
struct big { long v[6]; };  /* returned through a hidden pointer */

/* ping.c */
int is_even(unsigned n);
int hof_f(int n);
int ping_helper(int x);
int ping_calls(void);
const char *ping_name(void);
struct vec3 vec_add(struct vec3 a, struct vec3 b);
long apply_twice(long (*fn)(long), long x);

/* pong.c */
int is_odd(unsigned n);
int hof_m(int n);
int pong_helper(int x);
int pong_calls(void);
const char *pong_name(void);
struct big make_big(long seed);
long sum_big(struct big b);

#endif
