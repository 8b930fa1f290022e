/* Darwin C library names under relink: a stack-protected local array
 * (__stack_chk_guard), the stdio streams (__stdoutp, __stderrp, __stdinp), errno
 * (__error), fortified string functions (__strcpy_chk, __memcpy_chk), ctype
 * through Darwin's rune table (_DefaultRuneLocale, __maskrune, __toupper,
 * __tolower) and math LLVM lowers to Darwin names (__sincos_stret,
 * __sincosf_stret, __exp10, memset_pattern16, __bzero). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/out.h"
#include "darwin.h"

double wave(double x);
float wavef(float x);
double tens(double x);
void fill(int *p, int n);
void clear(char *p, int n);

/* A local array: stack-protected, so the function reads the guard twice. */
static int shout(const char *s, char *out, int cap) {
  char local[48];
  strcpy(local, s);
  int i;
  for (i = 0; local[i]; i++) local[i] = toupper((unsigned char)local[i]);
  memcpy(out, local, (size_t)(i + 1 < cap ? i + 1 : cap));
  return i;
}

static void classes(void) {
  int counts[8] = {0};
  long lowers = 0, uppers = 0;
  for (int c = -1; c < 256; c++) {
    counts[0] += !!isalpha(c);
    counts[1] += !!isdigit(c);
    counts[2] += !!isxdigit(c);
    counts[3] += !!isspace(c);
    counts[4] += !!ispunct(c);
    counts[5] += !!isupper(c);
    counts[6] += !!islower(c);
    counts[7] += !!iscntrl(c);
    if (c >= 0 && c < 128) {
      lowers = lowers * 31 + tolower(c);
      uppers = uppers * 31 + toupper(c);
    }
  }
  static const char *names[8] = {"alpha", "digit", "xdigit", "space", "punct", "upper", "lower", "cntrl"};
  for (int i = 0; i < 8; i++) out_kv(names[i], counts[i]);
  out_kv("tolower", lowers);
  out_kv("toupper", uppers);
  out_kv("toupper(EOF)", toupper(EOF));
}

static void errors(void) {
  errno = 0;
  long v = strtol("99999999999999999999999", NULL, 10);
  out_kv("strtol overflow", v == LONG_MAX);
  out_kv("ERANGE", errno == ERANGE);
  errno = 0;
  FILE *f = fopen("/nonexistent/relink-darwin", "r");
  out_kv("fopen", f == NULL);
  out_kv("ENOENT", errno == ENOENT);
}

static void math(void) {
  for (int i = 0; i < 4; i++) {
    double x = 0.37 * i + 0.1;
    out_str("wave "); out_fixed(wave(x), 12); out_nl();
    out_str("wavef "); out_fixed((double)wavef((float)x), 5); out_nl();
    out_str("tens "); out_fixed(tens(x), 9); out_nl();
  }
  int pat[37];
  fill(pat, 37);
  long sum = 0;
  for (int i = 0; i < 37; i++) sum = sum * 7 + pat[i];
  out_kv("pattern", sum);
  char z[100];
  memset(z, 'x', sizeof z);
  clear(z + 3, 90);
  out_kv("cleared", (long)strlen(z) * 1000 + z[93] + (z[50] == 0));
}

int main(void) {
  char buf[32];
  int n = shout("relink runs darwin code", buf, sizeof buf);
  fputs(buf, stdout);
  fputc('\n', stdout);
  out_kv("shout", n);
  fputs("to stderr\n", stderr);
  out_kv("stdin is not stdout", stdin != stdout && stdin != NULL);
  classes();
  errors();
  math();
  fflush(stdout);
  return 7;
}
