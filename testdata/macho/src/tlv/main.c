/* Thread-local variables (Mach-O __thread_vars/__thread_data/__thread_bss) used
 * from several threads: each thread sees its own initialised copy, whenever it was
 * started; one variable is defined by another object (vars.c). */
#include <pthread.h>
#include <string.h>
#include "../common/out.h"

__thread int counter = 7;
__thread long zeroed;
static __thread int hidden = 3;
__thread const char *name = "init";
__thread int big[64] = {1, 2, 3};
__thread double ratio = 0.5;
__thread char pad[3];
__thread long long aligned __attribute__((aligned(64))) = 64;
extern __thread int shared_counter; /* vars.c */
int shared_now(void);

struct job {
    int k;
    long first, fresh, shared0, counter, zeroed, hidden, big, shared, same, aligned;
    double ratio;
    int *where;
};

/* What this thread saw first, then changes it k times. */
static void work(struct job *j) {
    int k = j->k;
    j->first = counter * 1000 + zeroed * 100 + hidden * 10 + big[2];
    j->fresh = strcmp(name, "init") == 0 && pad[0] == 0 && pad[2] == 0;
    j->shared0 = shared_counter;
    j->aligned = aligned + ((unsigned long)&aligned % 64 == 0 ? 1000 : 0);
    for (int i = 0; i < k; i++) {
        counter += k;
        zeroed += 1;
        hidden += 2;
        big[63] += k;
        shared_counter += 1;
        ratio *= 2;
        pad[1] = (char)k;
    }
    name = "changed";
    j->counter = counter;
    j->zeroed = zeroed;
    j->hidden = hidden;
    j->big = big[63];
    j->shared = shared_counter;
    j->same = shared_now() == shared_counter;
    j->ratio = ratio;
    j->where = &counter;
}

static void *run_job(void *arg) {
    work(arg);
    return 0;
}

static void show(const char *who, long n, const struct job *j) {
    out_str(who);
    out_str(" ");
    out_int(n);
    out_str(": k=");
    out_int(j->k);
    out_str(" first=");
    out_int(j->first);
    out_str(" fresh=");
    out_int(j->fresh);
    out_str(" shared0=");
    out_int(j->shared0);
    out_str(" aligned=");
    out_int(j->aligned);
    out_str(" counter=");
    out_int(j->counter);
    out_str(" zeroed=");
    out_int(j->zeroed);
    out_str(" hidden=");
    out_int(j->hidden);
    out_str(" big=");
    out_int(j->big);
    out_str(" shared=");
    out_int(j->shared);
    out_str(" same=");
    out_int(j->same);
    out_str(" ratio=");
    out_fixed(j->ratio, 1);
    out_nl();
}

static int distinct = 1;

static void round_of(int n, int base) {
    pthread_t t[8];
    struct job jobs[8];
    for (int i = 0; i < n; i++) {
        jobs[i].k = base + i;
        pthread_create(&t[i], 0, run_job, &jobs[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], 0);
        show("thread", base + i, &jobs[i]);
        if (jobs[i].where == &counter)
            distinct = 0;
    }
}

int main(void) {
    struct job j = {5};
    round_of(4, 1);
    work(&j);
    show("main", 0, &j);
    j.k = 1;
    work(&j);
    show("main again", 0, &j);
    round_of(2, 10); /* started after main changed its copies: still initial values */
    out_kv("distinct addresses", distinct);
    out_kv("main counter", counter);
    return counter == 7 + 25 + 1 ? 0 : 1;
}
