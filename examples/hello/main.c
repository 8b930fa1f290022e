/* A two-object program: relink loads main.o and greet.o, links them in memory
   and calls main. */
#include <stdio.h>

extern const char *greeting(int i);
extern int (*const shout)(const char *);
extern int greetings;

int main(int argc, char **argv) {
    for (int i = 0; i < greetings; i++)
        printf("%s, %s\n", greeting(i), argc > 1 ? argv[1] : "world");
    return shout("linked in memory by relink") == 0 ? 0 : 1;
}
