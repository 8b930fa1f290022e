#include "common.h"

Shape::~Shape() {}

namespace {
struct Square : Shape {
  long side;
  explicit Square(long s) : side(s) {}
  long area() const override { return side * side; }
  const char *name() const override { return "square"; }
};
struct Rect : Shape {
  long w, h;
  Rect(long a, long b) : w(a), h(b) {}
  long area() const override { return w * h; }
  const char *name() const override { return "rect"; }
};

// A static object: constructed by this object's initialiser, destroyed through
// __cxa_atexit with this object's __dso_handle.
struct Registry {
  int made = 0;
  Registry() { std::printf("Registry constructed\n"); }
  ~Registry() { std::printf("Registry destroyed after %d shapes\n", made); }
} registry;
} // namespace

__attribute__((constructor(101))) static void early() { std::printf("constructor 101\n"); }
__attribute__((constructor(202))) static void later() { std::printf("constructor 202\n"); }
__attribute__((destructor(101))) static void last_out() { std::printf("destructor 101\n"); }

Shape *make_shape(int kind, long size) {
  registry.made++;
  if (kind == 0) return new Square(size);
  return new Rect(size, size + 1);
}

void report_statics() { std::printf("registry has made %d shapes\n", registry.made); }
