// ELF (g++) code that throws through the Mach-O frames of cleanup.c, and the
// opaque values those frames keep in callee-saved registers.
#include <stdexcept>

extern "C" void may_throw(int v) {
  if (v < 0) throw std::runtime_error("negative from ELF");
}

extern "C" long mix(int x, int k) { return x * 1000L + k; }
extern "C" double fmix(int x, int k) { return x * 0.5 + k; }
