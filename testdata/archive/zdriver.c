/* `relink run zdriver.o libz.a` (x86-64): a zlib round trip; the test computes the
 * same line with the host's libz.so.1. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>
int main(void) {
    static unsigned char src[100000], comp[200000], back[100000];
    for (int i = 0; i < (int)sizeof src; i++)
        src[i] = (unsigned char)("relink archive "[i % 15] ^ (i / 1000));
    uLongf clen = sizeof comp, blen = sizeof back;
    int r1 = compress2(comp, &clen, src, sizeof src, 9);
    int r2 = uncompress(back, &blen, comp, clen);
    printf("%s %d %d %lu %lu %d crc %08lx adler %08lx compressed-crc %08lx\n", zlibVersion(), r1, r2,
           (unsigned long)clen, (unsigned long)blen, memcmp(src, back, sizeof src) == 0,
           crc32(0, src, sizeof src), adler32(1, src, sizeof src), crc32(0, comp, clen));
    return 0;
}
