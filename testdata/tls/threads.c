/* Thread-local variables used from several threads: each thread sees its own,
 * initialised copy, whenever it was started. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

__thread int counter = 7;
__thread long zeroed;
static __thread int hidden = 3;
__thread const char *name = "init";
__thread int big[64] = {1, 2, 3};
extern __thread int shared_counter; /* vars.c */

/* What this thread saw first, then changes it k times; the summary goes to out. */
int work(int k, char *out, int len) {
  int first = counter * 1000 + (int)zeroed * 100 + hidden * 10 + big[2];
  int fresh_name = strcmp(name, "init") == 0;
  int first_shared = shared_counter;
  for (int i = 0; i < k; i++) {
    counter += k;
    zeroed += 1;
    hidden += 2;
    big[63] += k;
    shared_counter += 1;
  }
  name = "changed";
  snprintf(out, len, "k=%d first=%d fresh=%d shared0=%d counter=%d zeroed=%ld hidden=%d big=%d shared=%d",
           k, first, fresh_name, first_shared, counter, zeroed, hidden, big[63], shared_counter);
  return counter;
}

/* The address of this thread's `counter` (distinct per thread). */
int *counter_address(void) { return &counter; }

struct job { int k; char out[200]; };

static void *run_job(void *arg) {
  struct job *j = arg;
  work(j->k, j->out, sizeof j->out);
  return 0;
}

static void round_of(int n, int base) {
  pthread_t t[8];
  struct job jobs[8];
  for (int i = 0; i < n; i++) {
    jobs[i].k = base + i;
    pthread_create(&t[i], 0, run_job, &jobs[i]);
  }
  for (int i = 0; i < n; i++) {
    pthread_join(t[i], 0);
    printf("thread %d: %s\n", base + i, jobs[i].out);
  }
}

int main(void) {
  char out[200];
  round_of(4, 1);
  work(5, out, sizeof out);
  printf("main: %s\n", out);
  work(1, out, sizeof out);
  printf("main again: %s\n", out);
  round_of(2, 10); /* started after main changed its copies: still initial values */
  return counter == 7 + 25 + 1 ? 0 : 1;
}
