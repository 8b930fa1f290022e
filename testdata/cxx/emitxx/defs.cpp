// Named to sort first: relink binds a thread-local reference when the object
// making it loads, so the definer of tracker and thread_index must come first.
#include <cstdio>
#include "emitxx.h"

std::string thread_logs[8];
int trackers_constructed;   // only changed under construction, one thread at a time
thread_local int thread_index = 0;

Tracker::Tracker() : name("tracker-" + std::to_string(thread_index)) {
  __atomic_fetch_add(&trackers_constructed, 1, __ATOMIC_SEQ_CST);
}

Tracker::~Tracker() {
  if (thread_index == 0)   // the main thread's: at exit
    std::printf("~%s uses=%d\n", name.c_str(), uses);
  else
    thread_logs[thread_index] += "~" + name + " uses=" + std::to_string(uses) + " ";
}

thread_local Tracker tracker;
