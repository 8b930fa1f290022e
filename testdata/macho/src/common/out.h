/* Printing without variadic calls: arm64 Darwin passes variadic arguments on the
 * stack and Linux AArch64 in registers, so arm64 Mach-O code must not call glibc's
 * printf. These helpers format by hand and call fputs/fputc only. */
#ifndef OUT_H
#define OUT_H

void out_str(const char *s);
void out_int(long v);
void out_hex(unsigned long v);
/* v with `digits` digits after the point, rounded half away from zero. */
void out_fixed(double v, int digits);
void out_nl(void);
/* "key value\n" */
void out_kv(const char *key, long v);

#endif
