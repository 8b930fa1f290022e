// Host-side C++ for relink's tests: C ABI wrappers that call a function of
// loaded code and catch what it throws.
#include <cstddef>
#include <cstring>
#include <exception>

static int caught(const char *text, char *what, size_t n) {
  if (n > 0) {
    std::strncpy(what, text, n - 1);
    what[n - 1] = '\0';
  }
  return -1;
}

// Calls `f` inside try/catch: its result, or -1 (std::exception, `what` set),
// -2/-3 (an int, zero or not), -11 (anything else).
template <typename F> static int guarded(F f, char *what, size_t n) {
  try {
    return f();
  } catch (const std::exception &e) {
    return caught(e.what(), what, n);
  } catch (int v) {
    return caught("int", what, n) - 1 - (v != 0);
  } catch (...) {
    return caught("unknown", what, n) - 10;
  }
}

extern "C" int cxxhost_try2(int (*f)(int, int), int a, int b, char *what, size_t n) {
  return guarded([&] { return f(a, b); }, what, n);
}

extern "C" int cxxhost_try1(int (*f)(int), int a, char *what, size_t n) {
  return guarded([&] { return f(a); }, what, n);
}
