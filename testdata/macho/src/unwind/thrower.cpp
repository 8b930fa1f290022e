// ELF (g++) code that throws through the Mach-O frames of cleanup.c.
#include <stdexcept>

extern "C" void may_throw(int v) {
  if (v < 0) throw std::runtime_error("negative from ELF");
}
