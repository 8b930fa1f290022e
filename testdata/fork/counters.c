/* fork() from loaded code: each child changes .data and .bss (globals, a static
   local, a table) and its own children do too; no process sees another's writes. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int counter;
int table[4] = { 1, 2, 3, 4 };

static int next_ticket(void)
{
    static int ticket = 100;
    return ++ticket;
}

static void show(const char *who, int k)
{
    printf("%s %d: counter=%d table0=%d ticket=%d\n", who, k, counter, table[0], next_ticket());
    fflush(stdout);
}

int main(void)
{
    for (int k = 0; k < 3; k++) {
        pid_t p = fork();
        if (p == 0) {
            counter++;
            table[0] += 10;
            show("child", k);
            pid_t q = fork();
            if (q == 0) {
                counter += 100;
                show("grandchild", k);
                _exit(0);
            }
            waitpid(q, 0, 0);
            show("child after grandchild", k);
            _exit(0);
        }
        int status = -1;
        waitpid(p, &status, 0);
        printf("status %d\n", status);
        fflush(stdout);
    }
    printf("parent: counter=%d table0=%d ticket=%d\n", counter, table[0], next_ticket());
    return 0;
}
