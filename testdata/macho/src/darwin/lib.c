/* Functions whose code LLVM turns into Darwin library calls at -O2. */
#include <math.h>
#include <string.h>

double wave(double x) { return sin(x) * 3.0 + cos(x); }           /* __sincos_stret */
float wavef(float x) { return sinf(x) * 3.0f + cosf(x); }          /* __sincosf_stret */
double tens(double x) { return pow(10.0, x); }                     /* __exp10 */
void fill(int *p, int n) { for (int i = 0; i < n; i++) p[i] = 0x01020304; } /* memset_pattern16 */
void clear(char *p, int n) { memset(p, 0, n); }                    /* __bzero / bzero */
