/* `relink run main_prog.o lib.a`: exit status and output come from archive members. */
#include <stdio.h>
extern int a_entry(int);
extern int a_ctor_seen;
extern int weak_target(void) __attribute__((weak));
int main(void) {
    printf("a_entry(5)=%d ctor=%d weak=%s\n", a_entry(5), a_ctor_seen, weak_target ? "pulled" : "null");
    return a_entry(2);
}
