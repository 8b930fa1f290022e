// What runs at exit, in C's order: the main thread's thread_local destructors
// (exit calls them first), then the handlers registered with __cxa_atexit
// (static objects) newest first, then .fini_array (destructor attributes).
#include <cstdio>

struct Noisy {
  explicit Noisy(const char *n) : name(n) { std::printf("construct %s\n", name); }
  ~Noisy() { std::printf("destroy %s\n", name); }
  const char *name;
};

Noisy &main_thread_local();   // obj.cpp: a thread_local Noisy

static Noisy static_in_main("static in main.cpp");

__attribute__((destructor)) static void fini() { std::printf("fini_array of main.cpp\n"); }

int main() {
  std::printf("main: %s\n", main_thread_local().name);
  return 0;
}
