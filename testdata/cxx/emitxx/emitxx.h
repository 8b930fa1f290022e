// Shared declarations of the `emitxx` program: C++ COMDAT (inline functions,
// templates, inline variables, vtables and typeinfo of a class without a key
// function, static locals) instantiated in several objects, and thread_local
// objects with dynamic initialisation and destructors (testdata/README.md).
#pragma once
#include <string>
#include <typeinfo>

// Inline function with a static local: one copy, one counter.
inline int bump() {
  static int calls = 0;
  return ++calls;
}

// A class template with a static local and a static data member.
template <typename T> struct Registry {
  static int &count() {
    static int c = 0;
    return c;
  }
  static T value;
};
template <typename T> T Registry<T>::value = T(3);
template <typename T> int add_one() { return ++Registry<T>::count(); }

inline int inline_var = 5;   // C++17 inline variable

// Inline virtual functions only: vtable and typeinfo are COMDAT in every user.
struct Base {
  virtual ~Base() {}
  virtual int id() const { return 1; }
};
struct Derived : Base {
  int id() const override { return 2; }
};

using IntFn = int (*)();

struct Seen {   // what one object sees of the COMDAT entities
  IntFn bump_fn;
  IntFn add_int;
  int *registry_int;
  double *registry_double;
  int *inline_var;
  const std::type_info *base_type;
  int derived_id;
};
Seen seen_in_one();
Seen seen_in_two();

// defs.cpp: thread_local objects with constructors and destructors.
struct Tracker {
  Tracker();
  ~Tracker();
  std::string name;
  int uses = 0;
};
extern thread_local Tracker tracker;     // dynamic initialisation: TLS wrapper and init
extern thread_local int thread_index;    // 0 in main, 1.. in the threads
int use_tracker_in_one();                // one.cpp, through the wrapper
int use_local_tracker();                 // two.cpp: a function-local thread_local object
extern std::string thread_logs[8];       // destructors append here
extern int trackers_constructed;
