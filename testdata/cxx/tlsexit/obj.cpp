#include <cstdio>

struct Noisy {
  explicit Noisy(const char *n) : name(n) { std::printf("construct %s\n", name); }
  ~Noisy() { std::printf("destroy %s\n", name); }
  const char *name;
};

Noisy &main_thread_local() {
  thread_local Noisy t("thread_local of obj.cpp");
  return t;
}

static Noisy static_in_obj("static in obj.cpp");
