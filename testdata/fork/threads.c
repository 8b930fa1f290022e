/* fork() while other threads run loaded code and write loaded data: the child's
   copy is taken at the fork and stays still; the parent's threads never see the
   child's writes. Once the main thread forks, once a worker thread. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

atomic_long ticks;
atomic_int stop;
int marker;

static void *spin(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        atomic_fetch_add(&ticks, 1);
    return 0;
}

/* Forks; the child checks that its copy of `ticks` does not move and writes
   `marker`; the parent checks that it never sees that write. */
static void fork_and_check(const char *who)
{
    while (atomic_load(&ticks) < 1000)
        ;
    pid_t p = fork();
    if (p == 0) {
        long a = atomic_load(&ticks);
        usleep(50000);
        long b = atomic_load(&ticks);
        marker = 42;
        printf("%s child: ticks stable=%d marker=%d\n", who, a == b && a >= 1000, marker);
        fflush(stdout);
        _exit(0);
    }
    long before = atomic_load(&ticks);
    int status = -1;
    waitpid(p, &status, 0);
    /* The spinner goes on in the parent, writing the parent's copy. */
    while (atomic_load(&ticks) == before)
        sched_yield();
    printf("%s parent: status=%d marker=%d\n", who, status, marker);
    fflush(stdout);
}

static void *forker(void *arg)
{
    fork_and_check(arg);
    return 0;
}

int main(void)
{
    pthread_t spinner, other;
    pthread_create(&spinner, 0, spin, 0);
    fork_and_check("main thread");
    pthread_create(&other, 0, forker, "worker thread");
    pthread_join(other, 0);
    atomic_store(&stop, 1);
    pthread_join(spinner, 0);
    printf("done: marker=%d\n", marker);
    return 0;
}
