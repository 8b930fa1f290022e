// Named to sort first: relink binds a thread-local reference when the object
// making it loads, so the definer of tracker and thread_index must come first.
#include <cstdio>
#include <mutex>
#include "emitxx.h"

std::string thread_logs[8];
int trackers_constructed;
// A mutex, not an atomic add: AArch64 compilers call libgcc's outline atomics
// (__aarch64_ldadd4_acq_rel) for that, a static helper relink cannot reach.
static std::mutex constructed_lock;
thread_local int thread_index = 0;

Tracker::Tracker() : name("tracker-" + std::to_string(thread_index)) {
  std::lock_guard<std::mutex> hold(constructed_lock);
  trackers_constructed++;
}

Tracker::~Tracker() {
  if (thread_index == 0)   // the main thread's: at exit
    std::printf("~%s uses=%d\n", name.c_str(), uses);
  else
    thread_logs[thread_index] += "~" + name + " uses=" + std::to_string(uses) + " ";
}

thread_local Tracker tracker;
