/* Version 3 of the library the parent replaces after fork() (driver.c). */
#include <unistd.h>

const char *version(void) { return "v3"; }
int work(int x) { return x * 10 + 3; }

/* Blocks in this version's code until a byte arrives on `fd`. */
int wait_then_work(int fd, int x)
{
    char c;
    if (read(fd, &c, 1) != 1)
        return -1;
    return work(x);
}
