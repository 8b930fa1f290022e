/* varargs: floating-point constants and double/float arithmetic printed with
 * %.6f, printf with many arguments of mixed types (some go on the stack),
 * snprintf, and user-defined variadic functions whose va_list is handed to
 * another object. Built with -ffp-contract=off so x86-64 and AArch64 round
 * identically. */
#ifndef VARARGS_H
#define VARARGS_H
#include <stdarg.h>
#include <stddef.h>

/* fmath.c */
extern const double k_consts[4];
extern double g_scale;
extern float g_scale_f;
double poly(double x);
double harmonic(int n);
double mean(const double *v, int n);
float lerp_f(float a, float b, float t);
double from_u64(unsigned long v);
unsigned long to_u64(double d);
long round_half_away(double d);

/* vfmt.c */
int sum_ints(int count, ...);
double sum_mixed(const char *types, ...);
int format_into(char *buf, size_t size, const char *fmt, ...);
void log_line(const char *tag, const char *fmt, ...);

/* vimpl.c */
int vformat_impl(char *buf, size_t size, const char *fmt, va_list ap);
void vlog_impl(const char *tag, const char *fmt, va_list ap);
extern int vimpl_calls;

#endif
