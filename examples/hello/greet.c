#include <stdio.h>
#include <ctype.h>

int greetings = 3;
static const char *words[] = { "hello", "bonjour", "hallo" };

const char *greeting(int i) { return words[i % 3]; }

static int upper(const char *s) {
    while (*s) putchar(toupper((unsigned char)*s++));
    putchar('\n');
    return 0;
}
int (*const shout)(const char *) = upper;
