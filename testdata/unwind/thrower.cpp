// Loaded C++ code called through C ABI entry points by the host tests
// (tests/unwind.rs): exceptions leave loaded code and are caught by the host.
#include <stdexcept>

struct Overflow : std::exception {
  const char *what() const noexcept override { return "overflow in loaded code"; }
};

static int depth_left(int n) {
  if (n == 0) throw Overflow();
  return depth_left(n - 1) + 1; // frames between the throw and the host
}

extern "C" int loaded_div(int a, int b) {
  if (b == 0) throw std::invalid_argument("loaded_div: b is zero");
  return a / b;
}

extern "C" int loaded_deep(int n) { return depth_left(n); }
