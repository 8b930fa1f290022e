// Shared declarations of the C++ test program (testdata/cxx/README.md).
#pragma once
#include <cstdio>
#include <exception>
#include <vector>

// An exception type whose key function (what) lives in errors.cpp: its vtable
// and typeinfo are emitted there only, and thrown/caught from other objects.
class DivError : public std::exception {
public:
  explicit DivError(int n) : numerator(n) {}
  const char *what() const noexcept override;
  int numerator;
};

// A polymorphic hierarchy across objects: vtables, typeinfo, dynamic_cast.
struct Shape {
  virtual ~Shape();
  virtual long area() const = 0;
  virtual const char *name() const = 0;
};
Shape *make_shape(int kind, long size);

// An inline template instantiated in every object that uses it: COMDAT groups,
// one copy kept.
template <typename T> T sum_all(const std::vector<T> &v) {
  T s = T();
  for (const T &x : v) s += x;
  return s;
}

int checked_div(int a, int b);       // throws DivError when b == 0
long vector_at(int i);               // throws std::out_of_range when i is outside
void throw_int(int v);               // throws an int
int unwinding_destructors(int depth); // throws through frames with destructors
extern int live_guards;              // Guard objects alive (errors.cpp)
void report_statics();               // shapes.cpp
