// Zero-length FDEs (tests/eh_frame_empty.rs). g++ -O2 compiles a function whose
// whole body is undefined behaviour (a non-void function without `return`) to
// no instructions, in an empty `.text.unlikely` (or, for an inline function,
// `.text.unlikely.<name>` COMDAT) section, with an FDE of length zero. Nothing
// calls them. Their FDEs come before, between and after the live ones, and an
// exception thrown and caught in this object must still unwind (libgcc's search
// skipped live FDEs that started where an empty one did).
#include <cstdio>
#include <stdexcept>

int empty_first() {}
inline int empty_inline() {}
int (*volatile keep_inline)() = empty_inline;

__attribute__((noinline)) int thrower(int x) {
  if (x > 0) throw std::runtime_error("thrown");
  return -x;
}

int empty_middle(int x) { x++; }

__attribute__((noinline)) int catcher(int x) {
  try {
    return thrower(x);
  } catch (const std::exception& e) {
    std::printf("caught: %s\n", e.what());
    return 100 + x;
  }
}

int main(int argc, char**) {
  std::printf("%d\n", catcher(argc));
  std::printf("%d\n", catcher(-argc));
  return 0;
}

int empty_last() {}
