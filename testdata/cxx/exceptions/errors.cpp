#include "common.h"
#include <stdexcept>

const char *DivError::what() const noexcept { return "division by zero"; }

int live_guards = 0;

namespace {
struct Guard {
  int id;
  explicit Guard(int i) : id(i) { live_guards++; }
  ~Guard() {
    live_guards--;
    std::printf("  ~Guard(%d)\n", id);
  }
};
} // namespace

int checked_div(int a, int b) {
  if (b == 0) throw DivError(a);
  return a / b;
}

long vector_at(int i) {
  std::vector<long> v{10, 20, 30};
  long s = sum_all(v);
  return v.at(i) + s;
}

void throw_int(int v) { throw v; }

int unwinding_destructors(int depth) {
  Guard g(depth);
  if (depth == 0) throw std::runtime_error("bottom reached");
  return unwinding_destructors(depth - 1) + 1;
}
