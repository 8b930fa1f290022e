/* fork() and hot replace: the parent replaces the library (lib_v1 -> lib_v2) and
   reclaims the old code while the child is blocked inside it; the child then
   replaces its own copy (-> lib_v3). Neither sees the other's replace.
   host_replace() is the host's (tests/fork.rs); natively it does nothing
   (host_stub.c), and build-fork.sh takes each line from the native build of the
   version that process should be running then. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

const char *version(void);
int work(int x);
int wait_then_work(int fd, int x);
void host_replace(int version);

int forks;

int main(void)
{
    int go[2];
    if (pipe(go) != 0)
        return 1;
    printf("before: %s work=%d\n", version(), work(1));
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        forks += 10;
        int r = wait_then_work(go[0], 2);
        printf("child: %s work=%d forks=%d\n", version(), r, forks);
        fflush(stdout);
        host_replace(3);
        printf("child after its replace: %s work=%d\n", version(), work(4));
        fflush(stdout);
        _exit(0);
    }
    forks += 1;
    host_replace(2);
    if (write(go[1], "x", 1) != 1)
        return 1;
    int status = -1;
    waitpid(p, &status, 0);
    printf("parent: %s work=%d forks=%d status=%d\n", version(), work(5), forks, status);
    return 0;
}
