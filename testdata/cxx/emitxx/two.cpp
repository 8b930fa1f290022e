#include "emitxx.h"

Seen seen_in_two() {
  Base *d = new Derived;
  Seen s{bump, add_one<int>, &Registry<int>::value, &Registry<double>::value,
         &inline_var, &typeid(Base), d->id()};
  delete d;
  return s;
}

struct Local {
  Local() : name("local-" + std::to_string(thread_index)) {}
  ~Local() { thread_logs[thread_index] += "~" + name + " "; }
  std::string name;
  int uses = 0;
};

int use_local_tracker() {
  thread_local Local local;
  return ++local.uses;
}
