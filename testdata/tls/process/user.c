/* A program whose object relink loads: it reads and writes thread-local
 * variables of shared libraries -- libptls.so's (dlopen'ed by relink: dynamic
 * TLS, or static once initial-exec code needs it), libstdc++'s
 * std::__once_callable / std::__once_call and glibc's errno (libraries in
 * static TLS) -- from the main thread and from several threads, and checks
 * each thread sees its own instance, the one the library's own code sees.
 * Compiled -fPIC (general dynamic), -mtls-dialect=gnu2 / AArch64's default
 * (descriptors) and -fPIE (initial exec); compared with the same source
 * linked natively against the same libraries. */
#include <pthread.h>
#include <stdio.h>

extern __thread int ptls_counter;
extern __thread long ptls_table[4];
int ptls_get(void);
int *ptls_addr(void);
void ptls_bump(int n);
long ptls_table_sum(void);

/* libstdc++: `std::__once_callable`, `std::__once_call`; `__once_proxy`
 * (libstdc++'s own code) calls __once_call, which reads __once_callable. */
extern __thread void *_ZSt15__once_callable;
extern __thread void (*_ZSt11__once_call)(void);
void __once_proxy(void);
/* glibc's errno variable (errno.h makes `errno` a macro; not included). */
extern __thread int errno;
int *__errno_location(void);

#define THREADS 4
static char lines[THREADS + 1][200];

static void once_body(void) {
    int *v = _ZSt15__once_callable;
    *v *= 3;
}

static void exercise(int k, char *out) {
    int initial = ptls_counter;
    int same = &ptls_counter == ptls_addr();
    ptls_counter += k;                 /* written by loaded code */
    ptls_bump(10 * k);                 /* written by the library */
    ptls_table[k % 4] += k;
    int value = k + 1;
    _ZSt15__once_callable = &value;
    _ZSt11__once_call = once_body;
    __once_proxy();                    /* libstdc++ reads both */
    errno = 40 + k;
    int errno_same = *__errno_location() == 40 + k && &errno == __errno_location();
    sprintf(out, "thread %d: initial %d same %d counter %d library %d table %ld once %d errno %d\n",
            k, initial, same, ptls_counter, ptls_get(), ptls_table_sum(), value, errno_same);
}

static void *work(void *arg) {
    long k = (long)arg;
    exercise((int)k, lines[k]);
    return 0;
}

int main(void) {
    pthread_t t[THREADS];
    exercise(0, lines[0]);
    for (long k = 1; k <= THREADS - 1; k++)
        pthread_create(&t[k], 0, work, (void *)k);
    for (long k = 1; k <= THREADS - 1; k++)
        pthread_join(t[k], 0);
    for (int k = 0; k < THREADS; k++)
        fputs(lines[k], stdout);
    printf("main again: counter %d library %d\n", ptls_counter, ptls_get());
    return ptls_counter % 200;
}
