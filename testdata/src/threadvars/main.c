// __thread variables of defs.c (and one of main.c's own) used from several
// threads; results are printed after the threads are joined, in order.
#include <pthread.h>
#include <stdio.h>
#include "threadvars.h"

static __thread int local_scratch[4];   // .tbss of this object

static const char *yes(int b) { return b ? "yes" : "no"; }

#define THREADS 4
struct job {
  int k;
  int *counter_address;
  int scratch_sum;
  char text[96];
};

static void *worker(void *arg) {
  struct job *j = arg;
  local_scratch[j->k % 4] = j->k;
  tls_work(j->k, j->text, sizeof j->text);
  j->counter_address = &tls_counter;
  j->scratch_sum = local_scratch[0] + local_scratch[1] + local_scratch[2] + local_scratch[3];
  return 0;
}

static void threads(void) {
  pthread_t t[THREADS];
  struct job jobs[THREADS];
  for (int i = 0; i < THREADS; i++) {
    jobs[i].k = i + 1;
    if (pthread_create(&t[i], 0, worker, &jobs[i]) != 0) {
      printf("tls: pthread_create failed\n");
      return;
    }
  }
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], 0);
  int distinct = 1;
  for (int i = 0; i < THREADS; i++) {
    printf("tls: thread %d: %s scratch=%d\n", i + 1, jobs[i].text, jobs[i].scratch_sum);
    for (int k = 0; k < i; k++) distinct &= jobs[i].counter_address != jobs[k].counter_address;
    distinct &= jobs[i].counter_address != &tls_counter;
  }
  char text[96];
  tls_work(5, text, sizeof text);
  printf("tls: main: %s; main sees counter %d gd %ld; addresses distinct: %s\n", text,
         tls_counter, tls_gd, yes(distinct));
}

int main(void) {
  threads();
  return 0;
}
