// Counts its own lifecycle through the host (tests/lifecycle.rs): a static
// object (destroyed through __cxa_atexit and this object's __dso_handle), a
// constructor and a destructor function, and code that throws.
extern "C" void host_event(int kind);

namespace {
struct Static {
  Static() { host_event(1); }
  ~Static() { host_event(2); }
} instance;
} // namespace

__attribute__((constructor)) static void on_load() { host_event(3); }
__attribute__((destructor)) static void on_unload() { host_event(4); }

extern "C" int lifecycle_throw(int x) {
  if (x != 0) throw x;
  return 7;
}
