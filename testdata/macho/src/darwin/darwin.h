/* What Darwin's own headers make of stdio streams, errno and ctype, for the
 * Mach-O build (clang defines __APPLE__ for Apple targets); the native Linux
 * build uses glibc's headers. The objects then refer to the names code built
 * against the macOS SDK refers to: __stdoutp, __error, _DefaultRuneLocale,
 * __maskrune, __toupper, __tolower. */
#ifndef DARWIN_H
#define DARWIN_H

#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#ifdef __APPLE__
extern FILE *__stdinp, *__stdoutp, *__stderrp;
#undef stdin
#undef stdout
#undef stderr
#define stdin __stdinp
#define stdout __stdoutp
#define stderr __stderrp

extern int *__error(void);
#undef errno
#define errno (*__error())

/* <runetype.h>, <_ctype.h> */
typedef struct {
  char magic[8], encoding[32];
  void *sgetrune, *sputrune;
  int invalid_rune;
  unsigned int runetype[256];
  int maplower[256], mapupper[256];
} RuneLocaleHead;
extern RuneLocaleHead _DefaultRuneLocale;
extern int __maskrune(int c, unsigned long f);
extern int __toupper(int c);
extern int __tolower(int c);
#define CT_A 0x100L
#define CT_C 0x200L
#define CT_D 0x400L
#define CT_L 0x1000L
#define CT_P 0x2000L
#define CT_S 0x4000L
#define CT_U 0x8000L
#define CT_X 0x10000L
static inline int darwin_istype(int c, unsigned long f) {
  return (c >= 0 && c < 128) ? !!(_DefaultRuneLocale.runetype[c] & f) : !!__maskrune(c, f);
}
static inline int darwin_isctype(int c, unsigned long f) {
  return (c < 0 || c >= 256) ? 0 : !!(_DefaultRuneLocale.runetype[c] & f);
}
#undef isalpha
#undef isdigit
#undef isxdigit
#undef isspace
#undef ispunct
#undef isupper
#undef islower
#undef iscntrl
#undef toupper
#undef tolower
#define isalpha(c) darwin_istype((c), CT_A)
#define isdigit(c) darwin_isctype((c), CT_D)
#define isxdigit(c) darwin_isctype((c), CT_X)
#define isspace(c) darwin_istype((c), CT_S)
#define ispunct(c) darwin_istype((c), CT_P)
#define isupper(c) darwin_istype((c), CT_U)
#define islower(c) darwin_istype((c), CT_L)
#define iscntrl(c) darwin_istype((c), CT_C)
#define toupper(c) __toupper(c)
#define tolower(c) __tolower(c)
#endif

#endif
