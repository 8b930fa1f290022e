/* vfork() and posix_spawn() from loaded code: the child execs at once (relink has
   nothing to do: no fork handlers run); the parent's loaded data is untouched. */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
int value = 7;

int main(void)
{
    fflush(stdout);
    pid_t p = vfork();
    if (p == 0) {
        execl("/bin/echo", "echo", "from vfork", (char *)0);
        _exit(127);
    }
    int status = -1;
    waitpid(p, &status, 0);
    value += 1;
    printf("after vfork: status=%d value=%d\n", status, value);
    fflush(stdout);
    char *argv[] = { "echo", "from posix_spawn", 0 };
    if (posix_spawn(&p, "/bin/echo", 0, 0, argv, environ) != 0)
        return 1;
    waitpid(p, &status, 0);
    value += 1;
    printf("after posix_spawn: status=%d value=%d\n", status, value);
    return 0;
}
