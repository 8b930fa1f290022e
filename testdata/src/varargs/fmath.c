#include "varargs.h"

const double k_consts[4] = { 3.141592653589793, 2.718281828459045, 1.4142135623730951, 0.5772156649015329 };
double g_scale = 1.5;
float g_scale_f = 0.25f;

double poly(double x)
{
    /* 2.5x^3 - 1.25x^2 + 0.125x - 7.75 */
    return ((2.5 * x - 1.25) * x + 0.125) * x - 7.75;
}

double harmonic(int n)
{
    double s = 0.0;
    for (int i = 1; i <= n; i++)
        s += 1.0 / i;
    return s;
}

double mean(const double *v, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return n ? s / n : 0.0;
}

float lerp_f(float a, float b, float t) { return a + (b - a) * t * g_scale_f * 4.0f; }

double from_u64(unsigned long v) { return (double)v; }
unsigned long to_u64(double d) { return (unsigned long)d; }

long round_half_away(double d)
{
    return d < 0 ? -(long)(-d + 0.5) : (long)(d + 0.5);
}
