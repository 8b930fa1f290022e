// Prints what two objects see of the COMDAT entities (compared, never printed as
// addresses), then uses thread_local objects from several threads.
#include <cstdio>
#include <thread>
#include <vector>
#include "emitxx.h"

static const char *yes(bool b) { return b ? "yes" : "no"; }

static void comdat() {
  Seen a = seen_in_one(), b = seen_in_two();
  // One call per statement: the order of evaluation of arguments is unspecified.
  int n1 = a.bump_fn(), n2 = b.bump_fn(), n3 = bump();
  std::printf("comdat: bump same: %s; calls through a, b, main: %d %d %d\n",
              yes(a.bump_fn == b.bump_fn && a.bump_fn == &bump), n1, n2, n3);
  n1 = a.add_int();
  n2 = b.add_int();
  n3 = add_one<int>();
  int n4 = add_one<long>();
  std::printf("comdat: add_one<int> same: %s; %d %d %d; <long> %d\n",
              yes(a.add_int == b.add_int && a.add_int == &add_one<int>), n1, n2, n3, n4);
  std::printf("comdat: Registry<int>::value same: %s (%d), <double> same: %s (%.1f)\n",
              yes(a.registry_int == b.registry_int && a.registry_int == &Registry<int>::value),
              *a.registry_int, yes(a.registry_double == b.registry_double),
              *b.registry_double);
  *a.inline_var += 10;
  std::printf("comdat: inline_var same: %s (%d)\n",
              yes(a.inline_var == b.inline_var && a.inline_var == &inline_var), *b.inline_var);
  std::printf("comdat: typeid(Base) same object: %s; virtual ids %d %d\n",
              yes(a.base_type == b.base_type && a.base_type == &typeid(Base)), a.derived_id,
              b.derived_id);
}

static void worker(int k) {
  thread_index = k;
  for (int i = 0; i < k; i++) use_tracker_in_one();
  tracker.uses += 100;
  use_local_tracker();
  use_local_tracker();
  thread_logs[k] += tracker.name + " ";
}

static void threads() {
  std::vector<std::thread> pool;
  for (int k = 1; k <= 4; k++) pool.emplace_back(worker, k);
  for (auto &t : pool) t.join();
  for (int k = 1; k <= 4; k++) std::printf("thread %d: %s\n", k, thread_logs[k].c_str());
  int uses = use_tracker_in_one();
  int local_uses = use_local_tracker();
  std::printf("main: %s uses=%d, local uses=%d, trackers constructed %d\n",
              tracker.name.c_str(), uses, local_uses, trackers_constructed);
}

int main() {
  comdat();
  threads();
  std::printf("main returns\n");
  return 0;
}
