#include "emitxx.h"

Seen seen_in_one() {
  Base *d = new Derived;
  Seen s{bump, add_one<int>, &Registry<int>::value, &Registry<double>::value,
         &inline_var, &typeid(Base), d->id()};
  delete d;
  return s;
}

int use_tracker_in_one() { return ++tracker.uses; }
